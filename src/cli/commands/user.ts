import { userInfo } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../config/config.ts';
import { systemClock } from '../../core/clock.ts';
import { createLogger } from '../../core/logger.ts';
import { configureSecretBox, loadSecretsKey, SecretBox } from '../../core/secret-box.ts';
import { openDatabase } from '../../store/open-database.ts';
import { usageError } from '../args.ts';
import { serverArgs } from '../client.ts';
import type { Command } from '../command.ts';
import { resetPasswordLocal } from '../local-reset.ts';
import { out, table } from '../output.ts';

const usage = `vigil user <action> [options]   (administrators; --url, --token, --json)
  list
  create USERNAME --role ROLE[,ROLE] [--practitioner ID] [--patient ID] [--display-name NAME]
                  a random password is printed once
  disable ID | enable ID
  roles ID --role ROLE[,ROLE]
  reset-password ID          new random password, printed once; every session ends
  reset-password --local [USERNAME]
                             offline recovery (default USERNAME admin): straight on the database of
                             VIGIL_DATA_DIR / VIGIL_DATABASE_URL, server stopped; new password printed
                             once, lockout cleared, account enabled, sessions ended, audited
  unlock ID                  clear a sign-in lockout
  sign-out-everywhere ID
  mfa-reset ID               remove the user's TOTP (they enrol again)
  mfa-policy [--require ROLE[,ROLE] | --none]   roles that must use TOTP`;

export const command: Command = {
  name: 'user',
  summary: "manage people's accounts, lockouts, sessions and the TOTP policy",
  usage,
  async run(args) {
    const [action, ...rest] = args;
    const { values, client, json, id } = serverArgs(
      rest,
      {
        role: { type: 'string' },
        practitioner: { type: 'string' },
        patient: { type: 'string' },
        'display-name': { type: 'string' },
        require: { type: 'string' },
        none: { type: 'boolean' },
        local: { type: 'boolean' },
      },
      usage,
    );
    const roles = values.role
      ?.split(',')
      .map((r) => r.trim())
      .filter(Boolean);
    const path = (suffix = '') => `/api/v1/users/${encodeURIComponent(id ?? '')}${suffix}`;
    switch (action) {
      case 'list': {
        const r = await client.request<{ users: Array<Record<string, unknown>> }>('GET', '/api/v1/users');
        out(json, r, () =>
          table(r.users, ['id', 'username', 'roles', 'practitionerId', 'patientId', 'disabled']),
        );
        return 0;
      }
      case 'create': {
        if (!id || !roles?.length) return usageError(usage);
        const r = await client.request<{ user: { id: string }; password?: string }>('POST', '/api/v1/users', {
          username: id,
          roles,
          ...(values.practitioner ? { practitionerId: values.practitioner } : {}),
          ...(values.patient ? { patientId: values.patient } : {}),
          ...(values['display-name'] ? { displayName: values['display-name'] } : {}),
        });
        out(json, r, () => `created user ${id} (${r.user.id}); password (shown only once):\n  ${r.password}`);
        return 0;
      }
      case 'disable':
      case 'enable':
      case 'roles': {
        if (!id || (action === 'roles' && !roles?.length)) return usageError(usage);
        const body = action === 'roles' ? { roles } : { disabled: action === 'disable' };
        const r = await client.request('PATCH', path(), body);
        out(json, r, () => `user ${id} updated`);
        return 0;
      }
      case 'reset-password': {
        if (values.local) return resetLocal(id ?? 'admin', json);
        if (!id) return usageError(usage);
        const r = await client.request<{ password: string }>('POST', path('/password'), {});
        out(json, r, () => `new password for ${id} (shown only once):\n  ${r.password}`);
        return 0;
      }
      case 'unlock':
      case 'sign-out-everywhere': {
        if (!id) return usageError(usage);
        const r = await client.request('POST', path(`/${action}`));
        out(json, r, () =>
          action === 'unlock' ? `user ${id} unlocked` : `user ${id} signed out everywhere`,
        );
        return 0;
      }
      case 'mfa-reset': {
        if (!id) return usageError(usage);
        const r = await client.request('POST', path('/mfa/reset'));
        out(json, r, () => `TOTP of ${id} removed`);
        return 0;
      }
      case 'mfa-policy': {
        const change = values.none || values.require;
        const r = change
          ? await client.request<{ requiredForRoles: string[] }>('PUT', '/api/v1/security/mfa-policy', {
              requiredForRoles: values.none
                ? []
                : (values.require ?? '')
                    .split(',')
                    .map((x) => x.trim())
                    .filter(Boolean),
            })
          : await client.request<{ requiredForRoles: string[] }>('GET', '/api/v1/security/mfa-policy');
        out(json, r, () => `TOTP required for: ${r.requiredForRoles.join(', ') || 'no role'}`);
        return 0;
      }
      default:
        return usageError(usage);
    }
  },
};

async function resetLocal(username: string, json: boolean): Promise<number> {
  const config = loadConfig();
  const db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    // the signing key and TOTP seeds are sealed: open them with the key the server uses
    const secretsKey = loadSecretsKey({
      key: config.secretsKey,
      keyFile: config.secretsKeyFile,
      defaultFile: config.databaseUrl ? undefined : join(`${config.dataDir}-keys`, 'secrets.key'),
    });
    if (secretsKey) configureSecretBox(db, new SecretBox(secretsKey.key));
    let operator: string | undefined;
    try {
      operator = userInfo().username;
    } catch {
      operator = undefined;
    }
    const r = await resetPasswordLocal({
      db,
      clock: systemClock,
      log: createLogger(config.logLevel),
      username,
      operator,
    });
    out(json, r, () =>
      [
        r.created
          ? `created user "${r.username}" (no account existed) with this password (shown only once):`
          : `new password for "${r.username}" (shown only once; ${r.sessionsEnded} session(s) ended${r.reenabled ? ', account enabled again' : ''}):`,
        `  ${r.password}`,
      ].join('\n'),
    );
    return 0;
  } finally {
    await db.close();
  }
}
