import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { OAuthClientService } from '../../auth/oauth-clients.ts';
import { hashPassword, randomPassword } from '../../auth/passwords.ts';
import { Role } from '../../auth/token-service.ts';
import { VigilError } from '../../core/errors.ts';
import { newId } from '../../core/ids.ts';
import type { UserRow } from '../../store/user-repository.ts';
import { requireRoles } from '../auth-hooks.ts';
import type { ApiContext } from '../context.ts';
import { type AuditWhat, requestAudit } from '../request-audit.ts';
import { checkPasswordPolicy } from './auth.ts';

const personRoles = [Role.admin, Role.clinician, Role.nurse, Role.patient, Role.privacy] as const;
const RoleSchema = Type.Union(personRoles.map((r) => Type.Literal(r)));
const Id = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
const FhirId = Type.String({ pattern: '^[A-Za-z0-9.-]{1,64}$' });
const self = { auditSelf: true };

function publicUser(u: UserRow) {
  const { passwordHash: _h, ...rest } = u;
  return rest;
}

/**
 * Administration of people's accounts (roles, links to Practitioner/Patient, unlock, password
 * reset, sign-out everywhere, TOTP reset), the MFA policy, and integrations (OAuth2 clients).
 * Every change is an audit record.
 */
export async function userRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const sec = ctx.security;
  const admin = requireRoles(ctx, ['admin']);
  const { succeeded: auditSuccess } = requestAudit(sec.audit);
  const accountChange = (subtype: string): AuditWhat => ({ kind: 'user-security', subtype, action: 'U' });
  const clientChange = (subtype: string, action: AuditWhat['action']): AuditWhat => ({
    kind: 'object-security',
    subtype,
    action,
  });
  const aboutUser = (id: string) => ({ entities: [{ type: 'User', id }] });
  const mustGet = async (id: string) => {
    const u = await ctx.users.byId(id);
    if (!u) throw new VigilError('VIGIL_ERR_AUTH_USER_NOT_FOUND', `no user ${id}`, 404);
    return u;
  };

  app.get('/api/v1/users', { preValidation: admin }, async () => ({
    users: (await ctx.users.list()).map(publicUser),
  }));

  app.post(
    '/api/v1/users',
    {
      preValidation: admin,
      config: self,
      schema: {
        body: Type.Object(
          {
            username: Type.String({ pattern: '^[A-Za-z0-9._@-]{1,100}$' }),
            roles: Type.Array(RoleSchema, { minItems: 1, maxItems: 5 }),
            displayName: Type.Optional(Type.String({ maxLength: 200 })),
            practitionerId: Type.Optional(FhirId),
            patientId: Type.Optional(FhirId),
            password: Type.Optional(Type.String({ maxLength: 1000 })),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (request, reply) => {
      const b = request.body as {
        username: string;
        roles: Role[];
        displayName?: string;
        practitionerId?: string;
        patientId?: string;
        password?: string;
      };
      if (b.roles.includes('patient') && !b.patientId)
        throw new VigilError('VIGIL_ERR_API_VALIDATION', 'a patient account needs patientId', 400);
      if ((b.roles.includes('clinician') || b.roles.includes('nurse')) && !b.practitionerId) {
        throw new VigilError(
          'VIGIL_ERR_API_VALIDATION',
          'a clinician or nurse account needs practitionerId',
          400,
        );
      }
      const password = b.password ?? randomPassword();
      checkPasswordPolicy(password, b.username);
      const id = newId();
      const created = await ctx.users.insert({
        id,
        username: b.username,
        passwordHash: await hashPassword(password),
        roles: b.roles,
        displayName: b.displayName ?? null,
        practitionerId: b.practitionerId ?? null,
        patientId: b.patientId ?? null,
      });
      if (!created)
        throw new VigilError('VIGIL_ERR_AUTH_USER_EXISTS', `username ${b.username} is taken`, 409);
      await auditSuccess(
        request,
        { kind: 'user-security', subtype: 'user-create', action: 'C' },
        aboutUser(id),
      );
      return reply
        .status(201)
        .send({ user: publicUser(await mustGet(id)), ...(b.password ? {} : { password }) });
    },
  );

  app.patch(
    '/api/v1/users/:id',
    {
      preValidation: admin,
      config: self,
      schema: {
        params: Id,
        body: Type.Object(
          {
            roles: Type.Optional(Type.Array(RoleSchema, { minItems: 1, maxItems: 5 })),
            disabled: Type.Optional(Type.Boolean()),
            displayName: Type.Optional(Type.String({ maxLength: 200 })),
            practitionerId: Type.Optional(Type.Union([FhirId, Type.Null()])),
            patientId: Type.Optional(Type.Union([FhirId, Type.Null()])),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (request) => {
      const { id } = request.params as { id: string };
      const before = await mustGet(id);
      const b = request.body as {
        roles?: Role[];
        disabled?: boolean;
        displayName?: string;
        practitionerId?: string | null;
        patientId?: string | null;
      };
      if (id === request.principal?.id && (b.disabled || (b.roles && !b.roles.includes('admin')))) {
        throw new VigilError(
          'VIGIL_ERR_AUTH_SELF_LOCKOUT',
          'you cannot disable yourself or drop your own admin role',
          409,
        );
      }
      await ctx.db.query(
        `update app_user set roles = coalesce($2::jsonb, roles), disabled = coalesce($3, disabled), display_name = coalesce($4, display_name),
           practitioner_id = case when $5 then $6 else practitioner_id end, patient_id = case when $7 then $8 else patient_id end,
           updated_at = now() where id = $1::uuid`,
        [
          id,
          b.roles ? JSON.stringify(b.roles) : null,
          b.disabled ?? null,
          b.displayName ?? null,
          'practitionerId' in b,
          b.practitionerId ?? null,
          'patientId' in b,
          b.patientId ?? null,
        ],
      );
      if (b.disabled) await sec.sessions.revokeAllForUser(id, 'disabled');
      const rolesChanged =
        b.roles && JSON.stringify([...b.roles].sort()) !== JSON.stringify([...before.roles].sort());
      await auditSuccess(request, accountChange(rolesChanged ? 'roles-change' : 'user-update'), {
        outcomeDesc: Object.keys(b).join(','),
        ...aboutUser(id),
      });
      return { user: publicUser(await mustGet(id)) };
    },
  );

  app.post(
    '/api/v1/users/:id/password',
    {
      preValidation: admin,
      config: self,
      schema: {
        params: Id,
        body: Type.Optional(Type.Object({ password: Type.Optional(Type.String({ maxLength: 1000 })) })),
      },
    },
    async (request) => {
      const { id } = request.params as { id: string };
      const u = await mustGet(id);
      const given = (request.body as { password?: string } | undefined)?.password;
      const password = given ?? randomPassword();
      checkPasswordPolicy(password, u.username);
      await ctx.users.setPassword(id, await hashPassword(password));
      await sec.sessions.revokeAllForUser(id, 'password-reset');
      await auditSuccess(request, accountChange('password-reset'), aboutUser(id));
      return { id, ...(given ? {} : { password }) };
    },
  );

  app.post(
    '/api/v1/users/:id/unlock',
    { preValidation: admin, config: self, schema: { params: Id } },
    async (request) => {
      const { id } = request.params as { id: string };
      const u = await mustGet(id);
      await sec.throttle.unlock(u.username);
      await auditSuccess(request, accountChange('unlock'), aboutUser(id));
      return { id, unlocked: true };
    },
  );

  app.post(
    '/api/v1/users/:id/sign-out-everywhere',
    { preValidation: admin, config: self, schema: { params: Id } },
    async (request) => {
      const { id } = request.params as { id: string };
      await mustGet(id);
      const sessions = await sec.sessions.revokeAllForUser(id);
      await auditSuccess(
        request,
        { kind: 'authentication', subtype: 'logout', action: 'E' },
        { outcomeDesc: `administrator signed the user out everywhere (${sessions})`, ...aboutUser(id) },
      );
      return { id, sessions };
    },
  );

  app.post(
    '/api/v1/users/:id/mfa/reset',
    { preValidation: admin, config: self, schema: { params: Id } },
    async (request) => {
      const { id } = request.params as { id: string };
      await mustGet(id);
      await sec.accounts.disable(id);
      await sec.sessions.revokeAllForUser(id, 'mfa-reset');
      await auditSuccess(request, accountChange('totp-reset'), aboutUser(id));
      return { id, totpEnabled: false };
    },
  );

  app.get('/api/v1/security/mfa-policy', { preValidation: admin }, async () => ({
    requiredForRoles: await sec.accounts.mfaRequiredRoles(),
  }));

  app.put(
    '/api/v1/security/mfa-policy',
    {
      preValidation: admin,
      config: self,
      schema: {
        body: Type.Object(
          { requiredForRoles: Type.Array(RoleSchema, { maxItems: 5 }) },
          { additionalProperties: false },
        ),
      },
    },
    async (request) => {
      const { requiredForRoles } = request.body as { requiredForRoles: Role[] };
      await sec.accounts.setMfaRequiredRoles(requiredForRoles);
      await auditSuccess(request, accountChange('mfa-policy'), {
        outcomeDesc: `TOTP required for: ${requiredForRoles.join(',') || 'none'}`,
      });
      return { requiredForRoles };
    },
  );

  // Integrations: OAuth2 clients (client credentials) with SMART system scopes.
  app.get('/api/v1/integrations', { preValidation: admin }, async () => ({
    integrations: await sec.clients.list(),
  }));

  app.post(
    '/api/v1/integrations',
    {
      preValidation: admin,
      config: self,
      schema: {
        body: Type.Object(
          {
            id: Type.String({ minLength: 1, maxLength: 64 }),
            name: Type.String({ minLength: 1, maxLength: 200 }),
            scopes: Type.Array(Type.String({ maxLength: 100 }), { minItems: 1, maxItems: 50 }),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (request, reply) => {
      const b = request.body as { id: string; name: string; scopes: string[] };
      OAuthClientService.validateScopes(b.scopes);
      const r = await sec.clients.register(b.id, b.name, b.scopes);
      await auditSuccess(request, clientChange('client-register', 'C'), {
        outcomeDesc: `scopes ${b.scopes.join(' ')}`,
        entities: [{ type: 'Client', id: b.id }],
      });
      return reply.status(201).send({ integration: r.client, client_secret: r.secret });
    },
  );

  app.post(
    '/api/v1/integrations/:id/rotate',
    { preValidation: admin, config: self, schema: { params: Id } },
    async (request) => {
      const { id } = request.params as { id: string };
      const { secret } = await sec.clients.rotate(id);
      await auditSuccess(request, clientChange('client-rotate', 'U'), { entities: [{ type: 'Client', id }] });
      return { id, client_secret: secret };
    },
  );

  app.post(
    '/api/v1/integrations/:id/revoke',
    { preValidation: admin, config: self, schema: { params: Id } },
    async (request) => {
      const { id } = request.params as { id: string };
      await sec.clients.revoke(id);
      await auditSuccess(request, clientChange('client-revoke', 'U'), { entities: [{ type: 'Client', id }] });
      return { id, revoked: true };
    },
  );
}
