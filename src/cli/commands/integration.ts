import { usageError } from '../args.ts';
import { serverArgs } from '../client.ts';
import type { Command } from '../command.ts';
import { out, table } from '../output.ts';

const usage = `vigil integration <action> [options]   (administrators; --url, --token, --json)
  register ID --name NAME --scope "system/Observation.read system/Patient.read"   secret printed once
  list
  rotate ID     new client secret (tokens issued before stop working at once)
  revoke ID`;

export const command: Command = {
  name: 'integration',
  summary: 'OAuth2 clients (client credentials, SMART system scopes) for EHRs and analytics jobs',
  usage,
  async run(args) {
    const [action, ...rest] = args;
    const { values, client, json, id } = serverArgs(
      rest,
      { name: { type: 'string' }, scope: { type: 'string' } },
      usage,
    );
    switch (action) {
      case 'list': {
        const r = await client.request<{ integrations: Array<Record<string, unknown>> }>(
          'GET',
          '/api/v1/integrations',
        );
        out(json, r, () =>
          table(r.integrations, ['id', 'name', 'scopes', 'createdAt', 'rotatedAt', 'revokedAt']),
        );
        return 0;
      }
      case 'register': {
        if (!id || !values.name || !values.scope) return usageError(usage);
        const r = await client.request<{ client_secret: string }>('POST', '/api/v1/integrations', {
          id,
          name: values.name,
          scopes: values.scope.split(/\s+/).filter(Boolean),
        });
        out(json, r, () =>
          [
            `registered integration ${id}`,
            'client secret (shown only once; token endpoint POST /auth/oauth2/token):',
            `  ${r.client_secret}`,
          ].join('\n'),
        );
        return 0;
      }
      case 'rotate':
      case 'revoke': {
        if (!id) return usageError(usage);
        const r = await client.request<{ client_secret?: string }>(
          'POST',
          `/api/v1/integrations/${encodeURIComponent(id)}/${action}`,
        );
        out(json, r, () =>
          action === 'rotate'
            ? `new client secret for ${id} (shown only once):\n  ${r.client_secret}`
            : `integration ${id} revoked`,
        );
        return 0;
      }
      default:
        return usageError(usage);
    }
  },
};
