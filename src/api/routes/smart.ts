// SMART App Launch 2 and Backend Services (docs/smart.md).
//
// Why hand-built on `jose` rather than `oidc-provider`: oidc-provider is a Koa application with its
// own account, session, interaction and storage model (an adapter per model); mounted in Fastify it
// would bring a second sign-in, a second session store and a second audit trail beside Vigil's
// (argon2 passwords, lockout, TOTP, sessions revoked at once, the hash-chained audit log, the one
// access policy). SMART's additions — launch context, patient/ and user/ scopes, private_key_jwt
// with jti replay protection — would all be custom code in it anyway. The OAuth parts here are
// small and each is tested against the spec's requirements; `jose` does every JWT and JWKS step.

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { AuditAgent } from '../../audit/audit-event.ts';
import {
  assertionAlgorithms,
  ClientAssertionVerifier,
  jwtBearerAssertionType,
} from '../../auth/client-assertion.ts';
import { hashPassword, randomPassword, verifyPassword } from '../../auth/passwords.ts';
import { parseSmartScope, smartScopeCovered } from '../../auth/scopes.ts';
import {
  type AuthorizationParams,
  codeChallengePattern,
  codeVerifierPattern,
  IdTokenSigner,
  pkceS256,
  SmartAuthorizationStore,
} from '../../auth/smart-authorization.ts';
import { type SmartClient, type SmartClientInput, smartContextScopes } from '../../auth/smart-clients.ts';
import { type Principal, principalOfAccount, type Role } from '../../auth/token-service.ts';
import { isVigilError, VigilError } from '../../core/errors.ts';
import type { RoutePlugin } from '../app.ts';
import { requireRoles } from '../auth-hooks.ts';
import type { ApiContext } from '../context.ts';
import { type AuditWhat, requestAudit } from '../request-audit.ts';
import { signInRateLimit } from '../security-plugin.ts';
import { consentPage, errorPage, pageCsp, signInPage } from './smart-pages.ts';

/** Access tokens of Backend Services: SHALL be short-lived, expires_in SHOULD NOT exceed 300. */
const backendTokenTtl = 300;

type Form = Record<string, string | undefined>;

export function publicOrigin(request: FastifyRequest): string {
  const configured = process.env['VIGIL_PUBLIC_URL'];
  if (configured) return configured.replace(/\/$/, '');
  return `${request.protocol}://${request.host}`;
}

const fhirBaseOf = (request: FastifyRequest) => `${publicOrigin(request)}/fhir`;
const sameUrl = (a: string, b: string) => a.replace(/\/+$/, '') === b.replace(/\/+$/, '');

/** The SMART configuration document (conformance.md: `.well-known/smart-configuration`). */
export function smartConfiguration(origin: string): Record<string, unknown> {
  return {
    issuer: origin,
    jwks_uri: `${origin}/oauth/jwks`,
    authorization_endpoint: `${origin}/oauth/authorize`,
    token_endpoint: `${origin}/oauth/token`,
    revocation_endpoint: `${origin}/auth/revoke`,
    grant_types_supported: ['authorization_code', 'client_credentials', 'refresh_token'],
    token_endpoint_auth_methods_supported: ['private_key_jwt', 'client_secret_basic', 'client_secret_post'],
    token_endpoint_auth_signing_alg_values_supported: [...assertionAlgorithms],
    response_types_supported: ['code'],
    code_challenge_methods_supported: ['S256'],
    id_token_signing_alg_values_supported: ['RS256'],
    subject_types_supported: ['public'],
    scopes_supported: [
      'openid',
      'fhirUser',
      'launch',
      'launch/patient',
      'offline_access',
      'online_access',
      'patient/*.rs',
      'patient/*.read',
      'user/*.rs',
      'user/*.read',
      'user/*.cruds',
      'system/*.rs',
      'system/*.read',
    ],
    capabilities: [
      'launch-ehr',
      'launch-standalone',
      'client-public',
      'client-confidential-symmetric',
      'client-confidential-asymmetric',
      'context-ehr-patient',
      'context-standalone-patient',
      'context-banner',
      'sso-openid-connect',
      'permission-offline',
      'permission-online',
      'permission-patient',
      'permission-user',
      'permission-v1',
      'permission-v2',
      'authorize-post',
    ],
  };
}

/** OAuth2 errors of the token endpoint (RFC 6749 §5.2). */
class OAuthError extends Error {
  readonly error: string;
  readonly status: number;
  constructor(error: string, description: string, status = 400) {
    super(description);
    this.error = error;
    this.status = status;
  }
}

export const smartRoutes: RoutePlugin = async (app: FastifyInstance, ctx: ApiContext) => {
  const sec = ctx.security;
  const clients = sec.smartClients;
  const store = new SmartAuthorizationStore(ctx.db, ctx.clock);
  const signer = await IdTokenSigner.load(ctx.db, ctx.clock);
  const assertions = new ClientAssertionVerifier(clients, ctx.clock);
  const { record: audit, succeeded, failed } = requestAudit(sec.audit);
  const login: AuditWhat = { kind: 'authentication', subtype: 'login', action: 'E' };
  const tokenIssue: AuditWhat = { kind: 'authentication', subtype: 'smart-token', action: 'E' };
  const authorize: AuditWhat = { kind: 'user-security', subtype: 'smart-authorize', action: 'E' };
  const clientChange = (subtype: string): AuditWhat => ({ kind: 'user-security', subtype, action: 'U' });

  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: 16 * 1024 },
    (_req, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body as string)));
    },
  );

  // ── discovery ──────────────────────────────────────────────────────────────────────────────
  const discovery = async (request: FastifyRequest, reply: FastifyReply) =>
    reply
      .type('application/json')
      .header('cache-control', 'public, max-age=300')
      .send(smartConfiguration(publicOrigin(request)));
  app.get('/.well-known/smart-configuration', discovery);
  app.get('/fhir/.well-known/smart-configuration', discovery);
  app.get('/.well-known/openid-configuration', discovery);
  app.get('/oauth/jwks', async (_request, reply) =>
    reply
      .type('application/json')
      .header('cache-control', 'public, max-age=300')
      .send({ keys: [signer.publicJwk] }),
  );

  // ── authorization endpoint ─────────────────────────────────────────────────────────────────
  const html = (reply: FastifyReply, status: number, body: string, redirectUri?: string) =>
    reply
      .status(status)
      .header('content-security-policy', pageCsp(redirectUri))
      .header('cache-control', 'no-store')
      .type('text/html; charset=utf-8')
      .send(body);

  const redirectWith = (
    reply: FastifyReply,
    redirectUri: string,
    params: Record<string, string | undefined>,
  ) => {
    const u = new URL(redirectUri);
    for (const [k, v] of Object.entries(params)) if (v !== undefined) u.searchParams.set(k, v);
    return reply.header('cache-control', 'no-store').redirect(u.toString(), 302);
  };

  /** Scopes granted: those requested that the client may have (resource scopes covered by its allowed ones). */
  const grantable = (client: SmartClient, requested: string[]) =>
    [...new Set(requested)].filter((s) => {
      if (smartContextScopes.has(s)) return client.scopes.includes(s);
      const p = parseSmartScope(s);
      return p !== undefined && p.context !== 'system' && smartScopeCovered(client.scopes, s);
    });

  const startAuthorization = async (request: FastifyRequest, reply: FastifyReply, q: Form) => {
    // Until the client and its redirect URI are known good, errors are shown, never redirected.
    const client = q['client_id'] ? await clients.get(q['client_id']) : undefined;
    if (!client || client.kind === 'backend')
      return html(reply, 400, errorPage('Unknown or revoked app (client_id).'));
    const redirectUri = q['redirect_uri'];
    if (!redirectUri || !client.redirectUris.includes(redirectUri)) {
      await failed(request, authorize, 'redirect_uri does not match the registration', {
        kind: 'integration',
        id: client.id,
        address: request.ip,
      });
      return html(reply, 400, errorPage('The redirect URI does not match the one registered for this app.'));
    }
    const state = q['state'];
    const fail = (error: string, description: string) =>
      redirectWith(reply, redirectUri, { error, error_description: description, state });
    if (q['response_type'] !== 'code') return fail('unsupported_response_type', 'response_type must be code');
    if (!state || state.length > 1024) return fail('invalid_request', 'state is required');
    if (q['code_challenge_method'] !== 'S256')
      return fail(
        'invalid_request',
        'PKCE with code_challenge_method S256 is required (plain is not supported)',
      );
    if (!q['code_challenge'] || !codeChallengePattern.test(q['code_challenge']))
      return fail('invalid_request', 'code_challenge must be a base64url SHA-256 (43 characters)');
    const aud = q['aud'] ?? q['resource'];
    if (!aud || !sameUrl(aud, fhirBaseOf(request)))
      return fail('invalid_request', `aud must be this server's FHIR base URL ${fhirBaseOf(request)}`);
    const requested = (q['scope'] ?? '').split(/\s+/).filter(Boolean);
    let launch: { userId: string; patientId: string; clientId: string | null } | undefined;
    if (q['launch'] !== undefined) {
      launch = await store.launch(q['launch']);
      if (!launch || (launch.clientId && launch.clientId !== client.id))
        return fail('invalid_request', 'unknown or expired launch');
      if (!requested.includes('launch')) return fail('invalid_scope', 'an EHR launch needs the launch scope');
    } else if (requested.includes('launch')) {
      return fail('invalid_request', 'the launch scope needs a launch parameter (EHR launch)');
    }
    const scopes = grantable(client, requested);
    if (scopes.length === 0)
      return fail('invalid_scope', 'none of the requested scopes is allowed for this app');
    const params: AuthorizationParams = {
      clientId: client.id,
      redirectUri,
      state,
      scopes,
      codeChallenge: q['code_challenge'],
      ...(q['nonce'] && q['nonce'].length <= 512 ? { nonce: q['nonce'] } : {}),
      ...(launch ? { launchPatient: launch.patientId, launchUserId: launch.userId } : {}),
    };
    const handle = await store.begin(params);
    return html(reply, 200, signInPage({ appName: client.name, clientId: client.id, handle }), redirectUri);
  };

  const authorizeConfig = { config: { auditSelf: 'all' as const, rateLimit: { ...signInRateLimit } } };
  app.get('/oauth/authorize', authorizeConfig, async (request, reply) =>
    startAuthorization(request, reply, request.query as Form),
  );
  // SMART: servers SHALL support GET and POST at the authorization endpoint.
  app.post('/oauth/authorize', { ...authorizeConfig, bodyLimit: 16 * 1024 }, async (request, reply) =>
    startAuthorization(request, reply, (request.body ?? {}) as Form),
  );

  let dummyHash: Promise<string> | undefined;
  /** Password (+ TOTP) of Vigil's own accounts, with the same throttling, lockout and audit as /auth/token. */
  const checkSignIn = async (
    request: FastifyRequest,
    b: Form,
  ): Promise<{ ok: true; userId: string } | { ok: false; message: string }> => {
    const username = (b['username'] ?? '').slice(0, 200);
    const password = (b['password'] ?? '').slice(0, 1000);
    const anon: AuditAgent = { kind: 'anonymous', name: username, address: request.ip };
    if (!username || !password) return { ok: false, message: 'Enter your username and password.' };
    const lock = await sec.throttle.state(username);
    if (lock.locked) {
      await failed(request, login, 'account locked', anon);
      return { ok: false, message: 'Too many failed sign-ins: try again later.' };
    }
    const user = await ctx.users.byUsername(username);
    dummyHash ??= hashPassword(randomPassword());
    const ok = user
      ? await verifyPassword(user.passwordHash, password)
      : await verifyPassword(await dummyHash, password).then(() => false);
    const refuse = async (why: string, message = 'Wrong username or password.') => {
      const r = await sec.throttle.fail(username);
      const agent = user ? { ...anon, kind: 'user' as const, id: user.id } : anon;
      await failed(request, login, why, agent);
      if (r.lockedNow)
        await failed(request, { kind: 'security-alert', subtype: 'lockout', action: 'E' }, 'locked', agent);
      return { ok: false as const, message };
    };
    if (!user || !ok) return refuse(user ? 'wrong password' : 'unknown username');
    if (user.disabled) return refuse('account disabled');
    if (await sec.accounts.totpEnabled(user.id)) {
      if (!b['totp']) return { ok: false, message: 'Enter the one-time code of your second factor.' };
      if (!(await sec.accounts.verify(user.id, b['totp'].slice(0, 10))))
        return refuse('wrong TOTP code', 'Wrong or already used one-time code.');
    } else {
      const required = await sec.accounts.mfaRequiredRoles();
      if (user.roles.some((r) => (required as string[]).includes(r)))
        return { ok: false, message: 'Your role requires a second factor: enrol TOTP in Vigil first.' };
    }
    await sec.throttle.succeed(username);
    await succeeded(
      request,
      login,
      { outcomeDesc: 'SMART authorization sign-in' },
      {
        kind: 'user',
        id: user.id,
        name: user.username,
        roles: user.roles,
        address: request.ip,
      },
    );
    return { ok: true, userId: user.id };
  };

  const principalOfUser = async (userId: string): Promise<Principal | undefined> => {
    const u = await ctx.users.byId(userId);
    return !u || u.disabled ? undefined : principalOfAccount(u);
  };

  const patientNames = async (ids: string[] | 'all'): Promise<Array<{ id: string; name: string }>> => {
    const rows =
      ids === 'all'
        ? await ctx.db.query<{ id: string; content: Record<string, unknown> }>(
            `select id, content from fhir_resource where resource_type = 'Patient' and not deleted order by id limit 200`,
          )
        : ids.length === 0
          ? []
          : await ctx.db.query<{ id: string; content: Record<string, unknown> }>(
              `select id, content from fhir_resource where resource_type = 'Patient' and not deleted and id = any($1::text[]) order by id`,
              [ids],
            );
    const nameOf = (c: Record<string, unknown>) => {
      const n = (c['name'] as Array<{ text?: string; given?: string[]; family?: string }> | undefined)?.[0];
      return n?.text ?? ([...(n?.given ?? []), n?.family ?? ''].join(' ').trim() || 'Patient');
    };
    const found = rows.map((r) => ({ id: r.id, name: nameOf(r.content) }));
    if (ids !== 'all')
      for (const id of ids) if (!found.some((f) => f.id === id)) found.push({ id, name: 'Patient' });
    return found;
  };

  /** Which patient the grant is for: fixed (EHR launch, own record), a choice (picker), or none needed. */
  const patientContext = async (
    p: Principal,
    params: AuthorizationParams,
  ): Promise<
    | { kind: 'none' }
    | { kind: 'fixed'; id: string }
    | { kind: 'choose'; ids: string[] }
    | { kind: 'error'; message: string }
  > => {
    if (params.launchPatient) {
      const d = await sec.policy.canAccessPatient(p, params.launchPatient, 'read', 'Patient');
      return d.allowed ? { kind: 'fixed', id: params.launchPatient } : { kind: 'error', message: d.reason };
    }
    const needs =
      params.scopes.includes('launch/patient') ||
      params.scopes.some((s) => parseSmartScope(s)?.context === 'patient');
    if (!needs) return { kind: 'none' };
    if (p.roles.includes('patient') && !p.roles.includes('admin')) {
      return p.patientId
        ? { kind: 'fixed', id: p.patientId }
        : { kind: 'error', message: 'no patient record' };
    }
    const readable = await sec.policy.readablePatients(p, 'Patient');
    if (readable === 'all') {
      const rows = await ctx.db.query<{ id: string }>(
        `select id from fhir_resource where resource_type = 'Patient' and not deleted order by id limit 200`,
      );
      return { kind: 'choose', ids: rows.map((r) => r.id) };
    }
    const ids = [...readable].sort();
    return ids.length ? { kind: 'choose', ids } : { kind: 'error', message: 'you have no patients to open' };
  };

  app.post(
    '/oauth/authorize/sign-in',
    { ...authorizeConfig, bodyLimit: 16 * 1024 },
    async (request, reply) => {
      const b = (request.body ?? {}) as Form;
      const pending = await store.pending(b['handle'] ?? '');
      if (!pending)
        return html(reply, 400, errorPage('This authorization request expired: start again from the app.'));
      const { params } = pending;
      const client = await clients.get(params.clientId);
      if (!client) return html(reply, 400, errorPage('The app was revoked.'));
      const r = await checkSignIn(request, b);
      if (!r.ok)
        return html(
          reply,
          401,
          signInPage({
            appName: client.name,
            clientId: client.id,
            handle: b['handle'] as string,
            error: r.message,
          }),
          params.redirectUri,
        );
      const p = await principalOfUser(r.userId);
      if (!p) return html(reply, 403, errorPage('Account disabled.'));
      if (params.launchUserId && params.launchUserId !== p.id)
        return redirectWith(reply, params.redirectUri, {
          error: 'access_denied',
          error_description: 'the launch belongs to another user',
          state: params.state,
        });
      const pc = await patientContext(p, params);
      if (pc.kind === 'error')
        return redirectWith(reply, params.redirectUri, {
          error: 'access_denied',
          error_description: pc.message,
          state: params.state,
        });
      const ticket = await store.signedIn(b['handle'] as string, p.id);
      const page = consentPage({
        appName: client.name,
        clientId: client.id,
        username: p.username ?? '',
        handle: b['handle'] as string,
        ticket,
        scopes: params.scopes,
        ...(pc.kind === 'choose' ? { patients: await patientNames(pc.ids) } : {}),
        ...(pc.kind === 'fixed'
          ? { fixedPatient: (await patientNames([pc.id]))[0] as { id: string; name: string } }
          : {}),
      });
      return html(reply, 200, page, params.redirectUri);
    },
  );

  app.post(
    '/oauth/authorize/consent',
    { ...authorizeConfig, bodyLimit: 16 * 1024 },
    async (request, reply) => {
      const b = (request.body ?? {}) as Form;
      const done = await store.finish(b['handle'] ?? '', b['ticket'] ?? '');
      if (!done)
        return html(reply, 400, errorPage('This authorization request expired: start again from the app.'));
      const { params, userId } = done;
      const p = await principalOfUser(userId);
      const client = await clients.get(params.clientId);
      if (!p || !client) return html(reply, 400, errorPage('The app or the account is no longer active.'));
      const agent: AuditAgent = {
        kind: 'user',
        id: p.id,
        name: p.username,
        roles: p.roles,
        address: request.ip,
      };
      if (b['decision'] !== 'allow') {
        await failed(request, authorize, `denied ${client.id}`, agent);
        return redirectWith(reply, params.redirectUri, {
          error: 'access_denied',
          error_description: 'the user denied access',
          state: params.state,
        });
      }
      const pc = await patientContext(p, params);
      let patientId: string | null = null;
      if (pc.kind === 'fixed') patientId = pc.id;
      else if (pc.kind === 'choose') {
        if (!b['patient'] || !pc.ids.includes(b['patient']))
          return redirectWith(reply, params.redirectUri, {
            error: 'access_denied',
            error_description: 'no patient chosen',
            state: params.state,
          });
        patientId = b['patient'];
      } else if (pc.kind === 'error')
        return redirectWith(reply, params.redirectUri, {
          error: 'access_denied',
          error_description: pc.message,
          state: params.state,
        });
      // patient/ scopes without a patient are not granted.
      const scopes = patientId
        ? params.scopes
        : params.scopes.filter((s) => parseSmartScope(s)?.context !== 'patient');
      const code = await store.issueCode({
        clientId: client.id,
        userId: p.id,
        redirectUri: params.redirectUri,
        codeChallenge: params.codeChallenge,
        scopes,
        patientId,
        nonce: params.nonce ?? null,
      });
      await succeeded(
        request,
        authorize,
        {
          outcomeDesc: `${client.id}: ${scopes.join(' ')}`,
          patientId,
          entities: [{ type: 'Client', id: client.id }],
        },
        agent,
      );
      return redirectWith(reply, params.redirectUri, { code, state: params.state });
    },
  );

  // ── token endpoint ─────────────────────────────────────────────────────────────────────────
  const tokenEndpoints = (request: FastifyRequest) => {
    const urls = new Set([
      `${publicOrigin(request)}/oauth/token`,
      `${request.protocol}://${request.host}/oauth/token`,
    ]);
    return [...urls];
  };

  /** Client authentication: private_key_jwt, client_secret_basic/_post, or a public client's client_id. */
  const authenticateClient = async (request: FastifyRequest, b: Form): Promise<SmartClient> => {
    if (b['client_assertion_type'] !== undefined || b['client_assertion'] !== undefined) {
      if (b['client_assertion_type'] !== jwtBearerAssertionType)
        throw new OAuthError(
          'invalid_client',
          `client_assertion_type must be ${jwtBearerAssertionType}`,
          401,
        );
      try {
        return (await assertions.verify(b['client_assertion'] ?? '', b['client_id'], tokenEndpoints(request)))
          .client;
      } catch (e) {
        throw new OAuthError(
          'invalid_client',
          isVigilError(e) ? e.message : 'client authentication failed',
          401,
        );
      }
    }
    let id = b['client_id'];
    let secret = b['client_secret'];
    const basic = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(request.headers.authorization ?? '');
    if (basic?.[1]) {
      const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
      const i = decoded.indexOf(':');
      if (i > 0) {
        id = decodeURIComponent(decoded.slice(0, i));
        secret = decodeURIComponent(decoded.slice(i + 1));
      }
    }
    if (!id) throw new OAuthError('invalid_client', 'client authentication is required', 401);
    if (secret !== undefined) {
      const c = await clients.checkSecret(id, secret.slice(0, 200));
      if (!c) throw new OAuthError('invalid_client', 'unknown client or wrong secret', 401);
      return c;
    }
    const c = await clients.get(id);
    if (!c) throw new OAuthError('invalid_client', 'unknown or revoked client', 401);
    if (c.kind !== 'public') throw new OAuthError('invalid_client', 'this client must authenticate', 401);
    return c;
  };

  const fhirUserOf = (
    request: FastifyRequest,
    u: { patientId: string | null; practitionerId: string | null },
  ) =>
    u.practitionerId
      ? `${fhirBaseOf(request)}/Practitioner/${u.practitionerId}`
      : u.patientId
        ? `${fhirBaseOf(request)}/Patient/${u.patientId}`
        : undefined;

  const authorizationCodeGrant = async (request: FastifyRequest, b: Form, client: SmartClient) => {
    if (client.kind === 'backend')
      throw new OAuthError('unauthorized_client', 'backend clients use client_credentials');
    const code = b['code'];
    const verifier = b['code_verifier'];
    if (!code || !b['redirect_uri'])
      throw new OAuthError('invalid_request', 'code and redirect_uri are required');
    if (!verifier || !codeVerifierPattern.test(verifier))
      throw new OAuthError('invalid_grant', 'code_verifier is required (PKCE, 43–128 characters)');
    const r = await store.redeem(code);
    if (!r.ok) {
      if (r.reusedSessionId) await sec.sessions.revokeSession(r.reusedSessionId, 'authorization-code-reuse');
      throw new OAuthError('invalid_grant', 'the code is invalid, expired or already used');
    }
    const c = r.code;
    if (c.clientId !== client.id)
      throw new OAuthError('invalid_grant', 'the code was issued to another client');
    if (c.redirectUri !== b['redirect_uri'])
      throw new OAuthError('invalid_grant', 'redirect_uri differs from the authorization request');
    if (pkceS256(verifier) !== c.codeChallenge)
      throw new OAuthError('invalid_grant', 'code_verifier does not match');
    const user = await ctx.users.byId(c.userId);
    if (!user || user.disabled) throw new OAuthError('invalid_grant', 'the account is disabled');
    const resourceScopes = c.scopes.filter((s) => parseSmartScope(s) !== undefined);
    const pair = await sec.sessions.start(user.id, request.ip, {
      clientId: client.id,
      scopes: resourceScopes,
      ...(c.patientId ? { patientId: c.patientId } : {}),
    });
    await r.markSession(pair.sessionId);
    const refresh = c.scopes.includes('offline_access') || c.scopes.includes('online_access');
    if (!refresh) await sec.sessions.revokeRefreshOnly(pair.sessionId);
    const body: Record<string, unknown> = {
      access_token: pair.access_token,
      token_type: 'Bearer',
      expires_in: pair.expires_in,
      scope: c.scopes.join(' '),
      ...(c.patientId ? { patient: c.patientId, need_patient_banner: true } : {}),
      ...(refresh ? { refresh_token: pair.refresh_token } : {}),
    };
    if (c.scopes.includes('openid')) {
      body['id_token'] = await signer.sign({
        issuer: publicOrigin(request),
        subject: user.id,
        audience: client.id,
        fhirUser: c.scopes.includes('fhirUser') ? fhirUserOf(request, user) : undefined,
        nonce: c.nonce,
        name: c.scopes.includes('profile') ? user.username : undefined,
      });
    }
    await succeeded(
      request,
      tokenIssue,
      {
        outcomeDesc: `authorization_code ${client.id}: ${c.scopes.join(' ')}`,
        patientId: c.patientId,
        entities: [
          { type: 'Session', id: pair.sessionId },
          { type: 'Client', id: client.id },
        ],
      },
      { kind: 'user', id: user.id, name: user.username, roles: user.roles, address: request.ip },
    );
    return body;
  };

  const refreshGrant = async (request: FastifyRequest, b: Form, client: SmartClient) => {
    if (!b['refresh_token']) throw new OAuthError('invalid_request', 'refresh_token is required');
    const r = await sec.sessions.refresh(b['refresh_token'].slice(0, 200), client.id);
    const agent: AuditAgent = { kind: r.userId ? 'user' : 'anonymous', id: r.userId, address: request.ip };
    if (!r.ok) {
      if (r.reuse)
        await audit(
          request,
          {
            kind: 'security-alert',
            subtype: 'refresh-token-reuse',
            action: 'E',
            outcome: 'serious',
            outcomeDesc: `rotated refresh token of ${client.id} presented again: session revoked`,
            entities: [{ type: 'Session', id: r.sessionId }],
          },
          agent,
        );
      else await failed(request, tokenIssue, `refresh_token refused (${client.id})`, agent);
      throw new OAuthError('invalid_grant', 'refresh token is invalid, expired or revoked');
    }
    const s = (
      await ctx.db.query<{ smart_scopes: string[]; smart_patient_id: string | null }>(
        'select smart_scopes, smart_patient_id from auth_session where id = $1',
        [r.sessionId],
      )
    )[0];
    await succeeded(
      request,
      tokenIssue,
      {
        outcomeDesc: `refresh_token ${client.id}`,
        patientId: s?.smart_patient_id ?? null,
        entities: [
          { type: 'Session', id: r.sessionId },
          { type: 'Client', id: client.id },
        ],
      },
      agent,
    );
    return {
      ...r.pair,
      scope: (s?.smart_scopes ?? []).join(' '),
      ...(s?.smart_patient_id ? { patient: s.smart_patient_id } : {}),
    };
  };

  const clientCredentialsGrant = async (request: FastifyRequest, b: Form, client: SmartClient) => {
    if (client.kind !== 'backend' || b['client_assertion'] === undefined)
      throw new OAuthError(
        'unauthorized_client',
        'client_credentials is for backend clients with private_key_jwt',
      );
    const requested = (b['scope'] ?? '').split(/\s+/).filter(Boolean);
    const scopes = requested.length ? requested : client.scopes;
    const refused = scopes.filter(
      (s) => parseSmartScope(s)?.context !== 'system' || !smartScopeCovered(client.scopes, s),
    );
    const agent: AuditAgent = { kind: 'integration', id: client.id, name: client.name, address: request.ip };
    if (refused.length) {
      await failed(request, tokenIssue, `scope not allowed: ${refused.join(' ')}`, agent);
      throw new OAuthError('invalid_scope', `scope not allowed for this client: ${refused.join(' ')}`);
    }
    const { token, expiresIn } = await ctx.tokens.issue(
      { kind: 'integration', id: client.id, username: client.name, roles: ['integration'], scopes },
      backendTokenTtl,
    );
    await succeeded(
      request,
      tokenIssue,
      { outcomeDesc: `client_credentials: ${scopes.join(' ')}` },
      {
        ...agent,
        roles: ['integration'],
      },
    );
    return { access_token: token, token_type: 'Bearer', expires_in: expiresIn, scope: scopes.join(' ') };
  };

  app.post('/oauth/token', { ...authorizeConfig, bodyLimit: 16 * 1024 }, async (request, reply) => {
    reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
    const b = (request.body ?? {}) as Form;
    try {
      if (typeof b !== 'object' || Array.isArray(b))
        throw new OAuthError('invalid_request', 'form body expected');
      const grant = b['grant_type'];
      if (grant !== 'authorization_code' && grant !== 'refresh_token' && grant !== 'client_credentials')
        throw new OAuthError(
          'unsupported_grant_type',
          'grant_type must be authorization_code, refresh_token or client_credentials',
        );
      let client: SmartClient;
      try {
        client = await authenticateClient(request, b);
      } catch (e) {
        await failed(request, login, `client authentication failed: ${(e as Error).message}`, {
          kind: 'integration',
          id: (b['client_id'] ?? '').slice(0, 64) || undefined,
          address: request.ip,
        });
        throw e;
      }
      const body =
        grant === 'authorization_code'
          ? await authorizationCodeGrant(request, b, client)
          : grant === 'refresh_token'
            ? await refreshGrant(request, b, client)
            : await clientCredentialsGrant(request, b, client);
      return reply.send(body);
    } catch (e) {
      if (e instanceof OAuthError) {
        if (e.status === 401 && !(request.headers.authorization ?? '').startsWith('Basic'))
          reply.header('www-authenticate', 'Bearer realm="vigil"');
        return reply.status(e.status).send({ error: e.error, error_description: e.message });
      }
      throw e;
    }
  });

  // ── EHR launch and client registration (management API) ────────────────────────────────────
  const staffOnly = requireRoles(ctx, ['admin', 'clinician', 'nurse']);
  app.post(
    '/api/v1/smart/launch',
    {
      preValidation: staffOnly,
      config: { audit: { entity: 'Patient', subtype: 'smart-launch', action: 'E' as const } },
      schema: {
        body: Type.Object(
          {
            patientId: Type.String({ minLength: 1, maxLength: 64 }),
            clientId: Type.Optional(Type.String({ maxLength: 64 })),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (request, reply) => {
      const p = request.principal as Principal;
      const { patientId, clientId } = request.body as { patientId: string; clientId?: string };
      request.auditPatientId = patientId;
      await sec.policy.assertPatientAccess(p, patientId, 'read', 'Patient');
      const client = clientId ? await clients.get(clientId) : undefined;
      if (clientId && (!client || client.kind === 'backend'))
        throw new VigilError('VIGIL_ERR_AUTH_CLIENT_NOT_FOUND', `no SMART app ${clientId}`, 404);
      const launch = await store.createLaunch(p.id, patientId, clientId);
      const iss = fhirBaseOf(request);
      const url = client?.launchUrl
        ? `${client.launchUrl}${client.launchUrl.includes('?') ? '&' : '?'}iss=${encodeURIComponent(iss)}&launch=${encodeURIComponent(launch)}`
        : undefined;
      return reply.status(201).send({ launch, iss, ...(url ? { launchUrl: url } : {}) });
    },
  );

  const adminOnly = requireRoles(ctx, ['admin']);
  app.get('/api/v1/smart/clients', { preValidation: adminOnly }, async () => ({
    clients: await clients.list(),
  }));
  app.post(
    '/api/v1/smart/clients',
    {
      preValidation: adminOnly,
      config: { auditSelf: true },
      schema: {
        body: Type.Object(
          {
            id: Type.String({ maxLength: 64 }),
            name: Type.String({ maxLength: 200 }),
            kind: Type.Union([Type.Literal('public'), Type.Literal('confidential'), Type.Literal('backend')]),
            redirectUris: Type.Optional(Type.Array(Type.String({ maxLength: 2000 }), { maxItems: 20 })),
            scopes: Type.Array(Type.String({ maxLength: 200 }), { minItems: 1, maxItems: 100 }),
            jwks: Type.Optional(
              Type.Object({ keys: Type.Array(Type.Record(Type.String(), Type.Unknown()), { maxItems: 20 }) }),
            ),
            jwksUri: Type.Optional(Type.String({ maxLength: 2000 })),
            launchUrl: Type.Optional(Type.String({ maxLength: 2000 })),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (request, reply) => {
      const input = request.body as SmartClientInput;
      const r = await clients.register(input);
      await succeeded(request, clientChange('smart-client-register'), {
        outcomeDesc: `${r.client.kind}: ${r.client.scopes.join(' ')}`,
        entities: [{ type: 'Client', id: r.client.id }],
      });
      return reply.status(201).send({ client: r.client, ...(r.secret ? { client_secret: r.secret } : {}) });
    },
  );
  app.post(
    '/api/v1/smart/clients/:id/revoke',
    { preValidation: adminOnly, config: { auditSelf: true } },
    async (request) => {
      const { id } = request.params as { id: string };
      await clients.revoke(id);
      await succeeded(request, clientChange('smart-client-revoke'), { entities: [{ type: 'Client', id }] });
      return { revoked: true };
    },
  );
};
