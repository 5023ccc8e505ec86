import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { type AuditAgent, agentOf } from '../../audit/audit-event.ts';
import { hashPassword, randomPassword, verifyPassword } from '../../auth/passwords.ts';
import { scopeCovered } from '../../auth/scopes.ts';
import { isRefreshToken } from '../../auth/session-service.ts';
import type { Role } from '../../auth/token-service.ts';
import { isVigilError, VigilError } from '../../core/errors.ts';
import { requireSignedIn } from '../auth-hooks.ts';
import type { ApiContext } from '../context.ts';
import { type AuditWhat, requestAudit } from '../request-audit.ts';
import { mfaEnrollScope } from '../security.ts';
import { signInRateLimit } from '../security-plugin.ts';

const s = (max: number) => Type.Optional(Type.String({ maxLength: max }));
const TokenBody = Type.Object(
  {
    grant_type: s(40),
    username: s(200),
    password: s(1000),
    totp: s(10),
    refresh_token: s(200),
    client_id: s(64),
    client_secret: s(200),
    scope: s(2000),
  },
  { additionalProperties: true },
);
type TokenBody = {
  [K in
    | 'grant_type'
    | 'username'
    | 'password'
    | 'totp'
    | 'refresh_token'
    | 'client_id'
    | 'client_secret'
    | 'scope']?: string;
};

export const minPasswordLength = 12;

export function checkPasswordPolicy(password: string, username: string): void {
  if (password.length < minPasswordLength || password.length > 1000) {
    throw new VigilError(
      'VIGIL_ERR_AUTH_WEAK_PASSWORD',
      `password must be ${minPasswordLength} to 1000 characters`,
      400,
    );
  }
  if (password.toLowerCase().includes(username.toLowerCase())) {
    throw new VigilError('VIGIL_ERR_AUTH_WEAK_PASSWORD', 'password must not contain the username', 400);
  }
}

let dummyHash: Promise<string> | undefined;

/**
 * Sign-in and tokens:
 * - POST /auth/token — JSON {username, password, totp?} (Vigil's own form) or any OAuth2 grant below;
 * - POST /auth/oauth2/token — OAuth2 token endpoint (form or JSON): grant_type=password,
 *   refresh_token, client_credentials (integrations; client_secret_basic or _post; SMART scopes);
 *   errors in RFC 6749 form;
 * - POST /auth/revoke (RFC 7009), /auth/logout, /auth/logout-all, GET /auth/me,
 *   POST /auth/password, TOTP enrolment under /auth/mfa/totp/….
 */
export async function authRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const sec = ctx.security;
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: 16 * 1024 },
    (_req, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body as string)));
    },
  );
  const {
    record: audit,
    succeeded: auditSuccess,
    failed: auditFailure,
    action: auditedAction,
  } = requestAudit(sec.audit);
  const login: AuditWhat = { kind: 'authentication', subtype: 'login', action: 'E' };
  const lockout: AuditWhat = { kind: 'security-alert', subtype: 'lockout', action: 'E' };
  const tokenRefresh: AuditWhat = { kind: 'authentication', subtype: 'token-refresh', action: 'E' };
  const tokenRevoke: AuditWhat = { kind: 'authentication', subtype: 'token-revoke', action: 'E' };
  const logout: AuditWhat = { kind: 'authentication', subtype: 'logout', action: 'E' };
  const accountChange = (subtype: string): AuditWhat => ({ kind: 'user-security', subtype, action: 'U' });

  async function passwordGrant(request: FastifyRequest, b: TokenBody) {
    const username = b.username ?? '';
    const password = b.password ?? '';
    if (!username || !password)
      throw new VigilError('VIGIL_ERR_API_VALIDATION', 'username and password are required', 400);
    const anon: AuditAgent = { kind: 'anonymous', name: username.slice(0, 200), address: request.ip };
    const lock = await sec.throttle.state(username);
    if (lock.locked) {
      await auditFailure(request, login, 'account locked', anon);
      throw new VigilError(
        'VIGIL_ERR_AUTH_LOCKED',
        'too many failed sign-ins: account locked for a while',
        423,
        {
          retryAfterSeconds: Math.ceil(lock.retryAfterMs / 1000),
        },
      );
    }
    const user = await ctx.users.byUsername(username);
    dummyHash ??= hashPassword(randomPassword());
    const ok = user
      ? await verifyPassword(user.passwordHash, password)
      : await verifyPassword(await dummyHash, password).then(() => false);
    const failed = async (
      why: string,
      code = 'VIGIL_ERR_AUTH_BAD_CREDENTIALS',
      message = 'wrong username or password',
    ) => {
      const r = await sec.throttle.fail(username);
      const agent = user ? { ...anon, kind: 'user' as const, id: user.id } : anon;
      await auditFailure(request, login, why, agent);
      if (r.lockedNow) {
        await auditFailure(
          request,
          lockout,
          `locked for ${Math.round(r.lockMs / 60000)} min after repeated failures`,
          agent,
        );
      }
      return new VigilError(code, message, 401);
    };
    if (!user || !ok) throw await failed(user ? 'wrong password' : 'unknown username');
    if (user.disabled) throw await failed('account disabled');
    const totpOn = await sec.accounts.totpEnabled(user.id);
    if (totpOn) {
      if (!b.totp)
        throw new VigilError('VIGIL_ERR_AUTH_MFA_REQUIRED', 'a TOTP code is required (field totp)', 401, {
          mfaRequired: true,
        });
      if (!(await sec.accounts.verify(user.id, b.totp)))
        throw await failed(
          'wrong TOTP code',
          'VIGIL_ERR_AUTH_MFA_INVALID',
          'wrong or already used TOTP code',
        );
    } else {
      const required = await sec.accounts.mfaRequiredRoles();
      if (user.roles.some((r) => (required as string[]).includes(r))) {
        await sec.throttle.succeed(username);
        const { token, expiresIn } = await ctx.tokens.issue(
          { kind: 'user', id: user.id, username: user.username, roles: [], scopes: [mfaEnrollScope] },
          600,
        );
        request.auditRecorded = true;
        await auditFailure(request, login, 'TOTP enrolment required by policy', {
          ...anon,
          kind: 'user',
          id: user.id,
        });
        throw new VigilError(
          'VIGIL_ERR_AUTH_MFA_ENROLLMENT_REQUIRED',
          'your role requires a TOTP second factor: enrol with the enrollment token',
          403,
          {
            enrollmentToken: token,
            expiresIn,
          },
        );
      }
    }
    await sec.throttle.succeed(username);
    const pair = await sec.sessions.start(user.id, request.ip);
    const agent: AuditAgent = {
      kind: 'user',
      id: user.id,
      name: user.username,
      roles: user.roles,
      practitionerId: user.practitionerId,
      patientId: user.patientId,
      address: request.ip,
    };
    await auditSuccess(request, login, { entities: [{ type: 'Session', id: pair.sessionId }] }, agent);
    const { sessionId: _sid, ...body } = pair;
    return body;
  }

  async function refreshGrant(request: FastifyRequest, b: TokenBody) {
    if (!b.refresh_token) throw new VigilError('VIGIL_ERR_API_VALIDATION', 'refresh_token is required', 400);
    const r = await sec.sessions.refresh(b.refresh_token);
    const agent: AuditAgent = { kind: r.userId ? 'user' : 'anonymous', id: r.userId, address: request.ip };
    if (!r.ok) {
      if (r.reuse) {
        await audit(
          request,
          {
            kind: 'security-alert',
            subtype: 'refresh-token-reuse',
            action: 'E',
            outcome: 'serious',
            outcomeDesc: 'rotated refresh token presented again: session revoked',
            entities: [{ type: 'Session', id: r.sessionId }],
          },
          agent,
        );
      } else {
        await auditFailure(request, tokenRefresh, 'refresh token invalid, expired or revoked', agent);
      }
      throw new VigilError(
        'VIGIL_ERR_AUTH_REFRESH_INVALID',
        'refresh token is invalid, expired or revoked',
        401,
      );
    }
    await auditSuccess(request, tokenRefresh, { entities: [{ type: 'Session', id: r.sessionId }] }, agent);
    return r.pair;
  }

  async function clientCredentialsGrant(request: FastifyRequest, b: TokenBody) {
    let id = b.client_id;
    let secret = b.client_secret;
    const basic = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(request.headers.authorization ?? '');
    if (basic?.[1]) {
      const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
      const i = decoded.indexOf(':');
      if (i > 0) {
        id = decodeURIComponent(decoded.slice(0, i));
        secret = decodeURIComponent(decoded.slice(i + 1));
      }
    }
    if (!id || !secret)
      throw new VigilError('VIGIL_ERR_AUTH_CLIENT_INVALID', 'client authentication is required', 401);
    const key = `client:${id}`;
    const agent: AuditAgent = { kind: 'integration', id: id.slice(0, 64), address: request.ip };
    const lock = await sec.throttle.state(key);
    if (lock.locked) {
      await auditFailure(request, login, 'client locked', agent);
      throw new VigilError(
        'VIGIL_ERR_AUTH_LOCKED',
        'too many failed attempts: client locked for a while',
        423,
        { retryAfterSeconds: Math.ceil(lock.retryAfterMs / 1000) },
      );
    }
    const client = await sec.clients.authenticate(id, secret);
    if (!client) {
      const r = await sec.throttle.fail(key);
      await auditFailure(request, login, 'bad client credentials', agent);
      if (r.lockedNow) await auditFailure(request, lockout, 'client locked', agent);
      throw new VigilError('VIGIL_ERR_AUTH_CLIENT_INVALID', 'unknown client or wrong secret', 401);
    }
    await sec.throttle.succeed(key);
    const requested = (b.scope ?? '').split(/\s+/).filter(Boolean);
    const scopes = requested.length ? requested : client.scopes;
    const refused = scopes.filter((sc) => !scopeCovered(client.scopes, sc));
    if (refused.length) {
      await auditFailure(request, login, `scope not allowed: ${refused.join(' ')}`, agent);
      throw new VigilError(
        'VIGIL_ERR_AUTH_INVALID_SCOPE',
        `scope not allowed for this client: ${refused.join(' ')}`,
        400,
      );
    }
    const { token, expiresIn } = await ctx.tokens.issue(
      { kind: 'integration', id: client.id, username: client.name, roles: ['integration'], scopes },
      600,
    );
    await auditSuccess(
      request,
      login,
      { outcomeDesc: `scope ${scopes.join(' ')}` },
      { ...agent, name: client.name, roles: ['integration'] },
    );
    return { access_token: token, token_type: 'Bearer', expires_in: expiresIn, scope: scopes.join(' ') };
  }

  const grant = async (request: FastifyRequest) => {
    const b = (request.body ?? {}) as TokenBody;
    const type = b.grant_type ?? 'password';
    switch (type) {
      case 'password':
        return passwordGrant(request, b);
      case 'refresh_token':
        return refreshGrant(request, b);
      case 'client_credentials':
        return clientCredentialsGrant(request, b);
      default:
        throw new VigilError(
          'VIGIL_ERR_AUTH_UNSUPPORTED_GRANT',
          'grant_type must be password, refresh_token or client_credentials',
          400,
        );
    }
  };
  const tokenRoute = {
    config: { auditSelf: 'all' as const, rateLimit: { ...signInRateLimit } },
    bodyLimit: 16 * 1024,
    schema: { body: TokenBody },
  };

  app.post('/auth/token', tokenRoute, async (request) => grant(request));

  // The OAuth2 endpoint answers errors as RFC 6749 §5.2 says ({error, error_description}).
  await app.register(async (oauth) => {
    oauth.setErrorHandler((error, request, reply) => {
      const code = isVigilError(error)
        ? error.code
        : (error as { validation?: unknown }).validation
          ? 'VIGIL_ERR_API_VALIDATION'
          : 'VIGIL_ERR_INTERNAL';
      const status = isVigilError(error)
        ? error.status
        : ((error as { statusCode?: number }).statusCode ?? 500);
      const oauthError: Record<string, string> = {
        VIGIL_ERR_AUTH_CLIENT_INVALID: 'invalid_client',
        VIGIL_ERR_AUTH_INVALID_SCOPE: 'invalid_scope',
        VIGIL_ERR_AUTH_UNSUPPORTED_GRANT: 'unsupported_grant_type',
        VIGIL_ERR_API_VALIDATION: 'invalid_request',
        VIGIL_ERR_API_RATE_LIMITED: 'slow_down',
      };
      if (status >= 500) request.log.error({ err: error }, 'token endpoint error');
      if (code === 'VIGIL_ERR_AUTH_CLIENT_INVALID') reply.header('www-authenticate', 'Basic realm="vigil"');
      return reply.status(status >= 500 ? 500 : status).send({
        error: oauthError[code] ?? (status >= 500 ? 'server_error' : 'invalid_grant'),
        error_description: status >= 500 ? 'internal error' : (error as Error).message,
        code,
        ...(isVigilError(error) && error.details ? { details: error.details } : {}),
      });
    });
    oauth.post('/auth/oauth2/token', tokenRoute, async (request, reply) => {
      reply.header('pragma', 'no-cache');
      return grant(request);
    });
  });

  app.post(
    '/auth/revoke',
    {
      config: { auditSelf: 'all' as const, rateLimit: { ...signInRateLimit } },
      bodyLimit: 16 * 1024,
      schema: {
        body: Type.Object({ token: Type.String({ minLength: 1, maxLength: 4096 }), token_type_hint: s(40) }),
      },
    },
    async (request) => {
      const { token } = request.body as { token: string };
      if (isRefreshToken(token)) {
        const r = await sec.sessions.revokeRefreshToken(token);
        if (r)
          await auditSuccess(
            request,
            tokenRevoke,
            { entities: [{ type: 'Session', id: r.sessionId }] },
            { kind: 'user', id: r.userId, address: request.ip },
          );
      } else {
        const p = await ctx.tokens.verify(token).catch(() => undefined);
        if (p?.tokenId && p.expiresAt) {
          await sec.sessions.revokeAccessToken(p.tokenId, p.expiresAt);
          await auditSuccess(
            request,
            tokenRevoke,
            { entities: [{ type: 'AccessToken', id: p.tokenId }] },
            agentOf(p, request.ip),
          );
        }
      }
      return { revoked: true }; // RFC 7009: the same answer whether or not the token was known
    },
  );

  const signedIn = requireSignedIn(ctx);
  const selfAudited = { auditSelf: true };

  app.post('/auth/logout', { preValidation: signedIn, config: selfAudited }, async (request) => {
    const p = request.principal!;
    if (p.sessionId) await sec.sessions.revokeSession(p.sessionId, 'logout');
    if (p.tokenId && p.expiresAt) await sec.sessions.revokeAccessToken(p.tokenId, p.expiresAt);
    await auditSuccess(request, logout, { entities: [{ type: 'Session', id: p.sessionId }] });
    return { signedOut: true };
  });

  app.post('/auth/logout-all', { preValidation: signedIn, config: selfAudited }, async (request) => {
    const p = request.principal!;
    if (p.kind !== 'user') throw new VigilError('VIGIL_ERR_AUTH_FORBIDDEN', 'only people have sessions', 403);
    const sessions = await sec.sessions.revokeAllForUser(p.id);
    await auditSuccess(request, logout, { outcomeDesc: `signed out everywhere (${sessions} sessions)` });
    return { signedOut: true, sessions };
  });

  app.get('/auth/me', { preValidation: signedIn }, async (request) => {
    const p = request.principal!;
    return {
      kind: p.kind,
      id: p.id,
      username: p.username ?? null,
      roles: p.roles,
      scopes: p.scopes,
      patientId: p.patientId ?? null,
      practitionerId: p.practitionerId ?? null,
      ...(p.kind === 'user'
        ? {
            totpEnabled: await sec.accounts.totpEnabled(p.id),
            sessions: await sec.sessions.activeSessions(p.id),
          }
        : {}),
    };
  });

  app.post(
    '/auth/password',
    {
      preValidation: signedIn,
      config: { auditSelf: 'all' as const, rateLimit: { ...signInRateLimit } },
      schema: {
        body: Type.Object(
          {
            currentPassword: Type.String({ maxLength: 1000 }),
            newPassword: Type.String({ maxLength: 1000 }),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (request) => {
      const p = request.principal!;
      const b = request.body as { currentPassword: string; newPassword: string };
      const user = p.kind === 'user' ? await ctx.users.byId(p.id) : undefined;
      if (!user) throw new VigilError('VIGIL_ERR_AUTH_FORBIDDEN', 'only people have passwords', 403);
      if (!(await verifyPassword(user.passwordHash, b.currentPassword))) {
        await auditFailure(request, accountChange('password-change'), 'current password wrong');
        throw new VigilError('VIGIL_ERR_AUTH_BAD_CREDENTIALS', 'current password is wrong', 401);
      }
      checkPasswordPolicy(b.newPassword, user.username);
      await ctx.users.setPassword(user.id, await hashPassword(b.newPassword));
      const ended = await sec.sessions.revokeAllForUser(user.id, 'password-change');
      await auditSuccess(request, accountChange('password-change'), {
        entities: [{ type: 'User', id: user.id }],
      });
      return { changed: true, sessionsEnded: ended };
    },
  );

  const enrolling = requireSignedIn(ctx, { allowEnrollment: true });
  app.post('/auth/mfa/totp/enroll', { preValidation: enrolling, config: selfAudited }, async (request) => {
    const p = request.principal!;
    const user = p.kind === 'user' ? await ctx.users.byId(p.id) : undefined;
    if (!user || user.disabled)
      throw new VigilError('VIGIL_ERR_AUTH_FORBIDDEN', 'only people enrol a second factor', 403);
    const r = await sec.accounts.enroll(user.id, user.username);
    await auditSuccess(
      request,
      accountChange('totp-enroll'),
      { entities: [{ type: 'User', id: user.id }] },
      { kind: 'user', id: user.id, name: user.username, address: request.ip },
    );
    return { secret: r.secret, otpauth_uri: r.otpauthUri };
  });

  app.post(
    '/auth/mfa/totp/activate',
    {
      preValidation: enrolling,
      config: { auditSelf: 'all' as const, rateLimit: { ...signInRateLimit } },
      schema: { body: Type.Object({ code: Type.String({ maxLength: 10 }) }) },
    },
    async (request) => {
      const p = request.principal!;
      if (p.kind !== 'user')
        throw new VigilError('VIGIL_ERR_AUTH_FORBIDDEN', 'only people enrol a second factor', 403);
      const { code } = request.body as { code: string };
      const agent: AuditAgent = { kind: 'user', id: p.id, name: p.username, address: request.ip };
      await auditedAction(
        request,
        accountChange('totp-activate'),
        agent,
        () => sec.accounts.activate(p.id, code),
        {
          failure: 'wrong code',
          success: { entities: [{ type: 'User', id: p.id }] },
        },
      );
      return { totpEnabled: true };
    },
  );

  app.post(
    '/auth/mfa/totp/disable',
    {
      preValidation: signedIn,
      config: { auditSelf: 'all' as const, rateLimit: { ...signInRateLimit } },
      schema: { body: Type.Object({ code: Type.String({ maxLength: 10 }) }) },
    },
    async (request) => {
      const p = request.principal!;
      if (p.kind !== 'user')
        throw new VigilError('VIGIL_ERR_AUTH_FORBIDDEN', 'only people have a second factor', 403);
      const required = await sec.accounts.mfaRequiredRoles();
      if (p.roles.some((r) => (required as Role[]).includes(r))) {
        throw new VigilError(
          'VIGIL_ERR_AUTH_MFA_POLICY',
          'your role requires TOTP; an administrator can reset it',
          403,
        );
      }
      if (!(await sec.accounts.verify(p.id, (request.body as { code: string }).code))) {
        await auditFailure(request, accountChange('totp-disable'), 'wrong code');
        throw new VigilError('VIGIL_ERR_AUTH_MFA_INVALID', 'wrong or already used TOTP code', 401);
      }
      await sec.accounts.disable(p.id);
      await auditSuccess(request, accountChange('totp-disable'), { entities: [{ type: 'User', id: p.id }] });
      return { totpEnabled: false };
    },
  );
}
