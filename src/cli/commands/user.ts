import { usageError } from '../args.ts';
import { serverArgs } from '../client.ts';
import type { Command } from '../command.ts';
import { out, table } from '../output.ts';

const usage = `vigil user <action> [options]   (administrators; --url, --token, --json)
  list
  create USERNAME --role ROLE[,ROLE] [--practitioner ID] [--patient ID] [--display-name NAME]
                  a random password is printed once
  disable ID | enable ID
  roles ID --role ROLE[,ROLE]
  reset-password ID          new random password, printed once; every session ends
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
