import { readFileSync } from 'node:fs';
import { usageError } from '../args.ts';
import { serverArgs } from '../client.ts';
import type { Command } from '../command.ts';
import { out, table } from '../output.ts';

const usage = `vigil smart-client <action> [options]   (administrators; --url, --token, --json)
  register ID --name NAME --kind public|confidential|backend --scope "SCOPES"
      [--redirect-uri URI ...] [--launch-url URL] [--jwks-file FILE | --jwks-uri URL]
      public: browser/native app with PKCE; confidential: a client secret (printed once) or keys;
      backend: SMART Backend Services (private_key_jwt against --jwks-file or --jwks-uri)
  list
  revoke ID     the app's tokens stop working at once`;

export const command: Command = {
  name: 'smart-client',
  summary: 'SMART App Launch apps and Backend Services clients (registration by an administrator)',
  usage,
  async run(args) {
    const [action, ...rest] = args;
    const { values, client, json, id } = serverArgs(
      rest,
      {
        name: { type: 'string' },
        kind: { type: 'string' },
        scope: { type: 'string' },
        'redirect-uri': { type: 'string', multiple: true },
        'launch-url': { type: 'string' },
        'jwks-file': { type: 'string' },
        'jwks-uri': { type: 'string' },
      },
      usage,
    );
    switch (action) {
      case 'list': {
        const r = await client.request<{ clients: Array<Record<string, unknown>> }>(
          'GET',
          '/api/v1/smart/clients',
        );
        out(json, r, () =>
          table(
            r.clients.map((c) => ({ ...c, redirectUris: (c['redirectUris'] as string[]).join(' ') })),
            ['id', 'name', 'kind', 'scopes', 'redirectUris', 'createdAt', 'revokedAt'],
          ),
        );
        return 0;
      }
      case 'register': {
        if (!id || !values.name || !values.kind || !values.scope) return usageError(usage);
        const jwksFile = values['jwks-file'];
        const r = await client.request<{ client: Record<string, unknown>; client_secret?: string }>(
          'POST',
          '/api/v1/smart/clients',
          {
            id,
            name: values.name,
            kind: values.kind,
            scopes: values.scope.split(/\s+/).filter(Boolean),
            ...(values['redirect-uri'] ? { redirectUris: values['redirect-uri'] } : {}),
            ...(values['launch-url'] ? { launchUrl: values['launch-url'] } : {}),
            ...(jwksFile ? { jwks: JSON.parse(readFileSync(jwksFile, 'utf8')) } : {}),
            ...(values['jwks-uri'] ? { jwksUri: values['jwks-uri'] } : {}),
          },
        );
        out(json, r, () =>
          [
            `registered SMART ${values.kind} client ${id}`,
            ...(r.client_secret
              ? [
                  'client secret (shown only once; client_secret_basic at /oauth/token):',
                  `  ${r.client_secret}`,
                ]
              : []),
            'discovery: GET /fhir/.well-known/smart-configuration',
          ].join('\n'),
        );
        return 0;
      }
      case 'revoke': {
        if (!id) return usageError(usage);
        const r = await client.request('POST', `/api/v1/smart/clients/${encodeURIComponent(id)}/revoke`);
        out(json, r, () => `SMART client ${id} revoked`);
        return 0;
      }
      default:
        return usageError(usage);
    }
  },
};
