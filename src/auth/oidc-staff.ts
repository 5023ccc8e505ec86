import { createHash } from 'node:crypto';
import { createRemoteJWKSet, type JWTPayload, jwtVerify } from 'jose';
import type { Clock } from '../core/clock.ts';
import { VigilError } from '../core/errors.ts';
import { newId, newSecret } from '../core/ids.ts';
import type { Database } from '../store/database.ts';
import { hashPassword, randomPassword } from './passwords.ts';
import { pkceS256 } from './smart-authorization.ts';
import type { Role } from './token-service.ts';

/** The identity provider settings (VIGIL_OIDC_*, parsed in src/config/config.ts). */
export interface OidcConfig {
  issuer: string;
  clientId: string;
  clientSecret: string;
  groupRoles: Record<string, string[]>;
  groupsClaim: string;
  practitionerClaim: string | undefined;
}

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');
const loginMs = 10 * 60_000;

interface Discovery {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  jwks_uri: string;
  userinfo_endpoint?: string;
}

export interface StaffIdentity {
  subject: string;
  username: string;
  displayName: string | null;
  groups: string[];
  roles: Role[];
  practitionerId: string | null;
}

const fail = (code: string, message: string, status = 401) => new VigilError(code, message, status);

/**
 * Staff sign-in through the hospital's OpenID Connect provider (authorization code flow with PKCE
 * and nonce, client_secret_basic). Roles come from the IdP's groups (VIGIL_OIDC_GROUP_ROLES) at
 * every sign-in; a person none of whose groups maps to a role is refused. Accounts are provisioned
 * on first sign-in and bound to the IdP's issuer and subject; a local account of the same username
 * is never taken over.
 */
export class OidcStaffSignIn {
  readonly #db: Database;
  readonly #clock: Clock;
  readonly #cfg: OidcConfig;
  #discovery: Promise<Discovery> | undefined;
  #jwks: ReturnType<typeof createRemoteJWKSet> | undefined;

  constructor(db: Database, clock: Clock, cfg: OidcConfig) {
    this.#db = db;
    this.#clock = clock;
    this.#cfg = cfg;
  }

  #iso(offset = 0): string {
    return new Date(this.#clock.now() + offset).toISOString();
  }

  async #fetchJson(url: string, init?: RequestInit): Promise<Record<string, unknown>> {
    let res: Response;
    try {
      res = await fetch(url, { ...init, redirect: 'error', signal: AbortSignal.timeout(10_000) });
    } catch {
      throw fail('VIGIL_ERR_AUTH_OIDC_PROVIDER', 'the identity provider could not be reached', 502);
    }
    const text = await res.text();
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw fail(
        'VIGIL_ERR_AUTH_OIDC_PROVIDER',
        `the identity provider answered ${res.status} without JSON`,
        502,
      );
    }
    if (!res.ok)
      throw fail(
        'VIGIL_ERR_AUTH_OIDC_REFUSED',
        `the identity provider refused: ${String(body['error'] ?? res.status)}`,
      );
    return body;
  }

  discovery(): Promise<Discovery> {
    this.#discovery ??= this.#fetchJson(`${this.#cfg.issuer}/.well-known/openid-configuration`).then((d) => {
      if (String(d['issuer']).replace(/\/$/, '') !== this.#cfg.issuer)
        throw fail('VIGIL_ERR_AUTH_OIDC_PROVIDER', 'the discovery document names another issuer', 502);
      for (const k of ['authorization_endpoint', 'token_endpoint', 'jwks_uri'])
        if (typeof d[k] !== 'string')
          throw fail('VIGIL_ERR_AUTH_OIDC_PROVIDER', `discovery without ${k}`, 502);
      return d as unknown as Discovery;
    });
    this.#discovery.catch(() => {
      this.#discovery = undefined;
    });
    return this.#discovery;
  }

  /** Starts a sign-in: the IdP URL to redirect to and the browser binding to set as a cookie. */
  async begin(redirectUri: string): Promise<{ url: string; browser: string }> {
    const d = await this.discovery();
    const state = newSecret(24);
    const browser = newSecret(24);
    const nonce = newSecret(24);
    const verifier = newSecret(48);
    await this.#db.query('delete from oidc_login where expires_at < $1', [this.#iso()]);
    await this.#db.query(
      `insert into oidc_login (state_hash, browser_hash, nonce, code_verifier, created_at, expires_at)
       values ($1, $2, $3, $4, $5, $6)`,
      [sha256(state), sha256(browser), nonce, verifier, this.#iso(), this.#iso(loginMs)],
    );
    const u = new URL(d.authorization_endpoint);
    u.searchParams.set('response_type', 'code');
    u.searchParams.set('client_id', this.#cfg.clientId);
    u.searchParams.set('redirect_uri', redirectUri);
    u.searchParams.set('scope', 'openid profile email');
    u.searchParams.set('state', state);
    u.searchParams.set('nonce', nonce);
    u.searchParams.set('code_challenge', pkceS256(verifier));
    u.searchParams.set('code_challenge_method', 'S256');
    return { url: u.toString(), browser };
  }

  /** Completes a sign-in: checks state and browser, exchanges the code, verifies the id_token, maps groups. */
  async complete(
    q: { state?: string; code?: string; browser?: string },
    redirectUri: string,
  ): Promise<StaffIdentity> {
    if (!q.state || !q.code || !q.browser || q.state.length > 200 || q.code.length > 2000)
      throw fail('VIGIL_ERR_AUTH_OIDC_STATE', 'the sign-in could not be matched: start again');
    const row = (
      await this.#db.query<{ nonce: string; code_verifier: string; browser_hash: string }>(
        'delete from oidc_login where state_hash = $1 and expires_at > $2 returning nonce, code_verifier, browser_hash',
        [sha256(q.state), this.#iso()],
      )
    )[0];
    if (!row || row.browser_hash !== sha256(q.browser))
      throw fail('VIGIL_ERR_AUTH_OIDC_STATE', 'the sign-in could not be matched: start again');
    const d = await this.discovery();
    const basic = Buffer.from(
      `${encodeURIComponent(this.#cfg.clientId)}:${encodeURIComponent(this.#cfg.clientSecret)}`,
    ).toString('base64');
    const tokens = await this.#fetchJson(d.token_endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${basic}` },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code: q.code,
        redirect_uri: redirectUri,
        code_verifier: row.code_verifier,
      }).toString(),
    });
    if (typeof tokens['id_token'] !== 'string')
      throw fail('VIGIL_ERR_AUTH_OIDC_REFUSED', 'no id_token from the identity provider');
    this.#jwks ??= createRemoteJWKSet(new URL(d.jwks_uri));
    let claims: JWTPayload;
    try {
      ({ payload: claims } = await jwtVerify(tokens['id_token'], this.#jwks, {
        issuer: d.issuer,
        audience: this.#cfg.clientId,
        currentDate: new Date(this.#clock.now()),
      }));
    } catch {
      throw fail('VIGIL_ERR_AUTH_OIDC_TOKEN', 'the id_token did not verify');
    }
    if (claims['nonce'] !== row.nonce)
      throw fail('VIGIL_ERR_AUTH_OIDC_TOKEN', 'the id_token nonce does not match');
    if (typeof claims.sub !== 'string' || !claims.sub)
      throw fail('VIGIL_ERR_AUTH_OIDC_TOKEN', 'the id_token has no subject');
    let all: Record<string, unknown> = claims;
    if (
      !(this.#cfg.groupsClaim in claims) &&
      d.userinfo_endpoint &&
      typeof tokens['access_token'] === 'string'
    ) {
      const info = await this.#fetchJson(d.userinfo_endpoint, {
        headers: { authorization: `Bearer ${tokens['access_token']}` },
      });
      if (info['sub'] === claims.sub) all = { ...info, ...claims };
    }
    const rawGroups = all[this.#cfg.groupsClaim];
    const groups = Array.isArray(rawGroups)
      ? rawGroups.filter((g): g is string => typeof g === 'string')
      : [];
    const roles = [...new Set(groups.flatMap((g) => this.#cfg.groupRoles[g] ?? []))] as Role[];
    const username = String(all['preferred_username'] ?? all['email'] ?? claims.sub).slice(0, 200);
    const pr = this.#cfg.practitionerClaim ? all[this.#cfg.practitionerClaim] : undefined;
    return {
      subject: `${d.issuer}|${claims.sub}`,
      username,
      displayName: typeof all['name'] === 'string' ? all['name'] : null,
      groups,
      roles,
      practitionerId: typeof pr === 'string' && /^[A-Za-z0-9.-]{1,64}$/.test(pr) ? pr : null,
    };
  }

  /**
   * When the IdP also provisions accounts over SCIM (docs/scim.md): the SCIM account of this
   * identity — bound at its first sign-in by username, by subject afterwards — and its roles, which
   * SCIM keeps (group claims do not change them). Undefined: not a SCIM account.
   */
  async scimRoles(id: StaffIdentity): Promise<Role[] | undefined> {
    const rows = await this.#db.query<{ roles: Role[] }>(
      `update app_user set external_subject = $2
        where provisioned_by = 'scim' and scim_deleted_at is null
          and (external_subject = $2 or (external_subject is null and lower(username) = lower($1)))
        returning roles`,
      [id.username, id.subject],
    );
    return rows[0]?.roles;
  }

  /**
   * The Vigil account of an IdP identity: created on first sign-in, roles and practitioner link
   * updated from the IdP at every sign-in.
   */
  async provision(
    id: StaffIdentity,
  ): Promise<{ userId: string; created: boolean; previousRoles: Role[] | null; disabled: boolean }> {
    const existing = (
      await this.#db.query<{ id: string; roles: Role[]; disabled: boolean }>(
        'select id, roles, disabled from app_user where external_subject = $1',
        [id.subject],
      )
    )[0];
    if (existing) {
      await this.#db.query(
        // an account the IdP provisions over SCIM keeps the roles SCIM gave it (scimRoles below)
        `update app_user set roles = case when provisioned_by = 'scim' then roles else $2::jsonb end,
           practitioner_id = coalesce($3, practitioner_id),
           display_name = coalesce($4, display_name), updated_at = now() where id = $1`,
        [existing.id, JSON.stringify(id.roles), id.practitionerId, id.displayName],
      );
      return {
        userId: existing.id,
        created: false,
        previousRoles: existing.roles,
        disabled: existing.disabled,
      };
    }
    const userId = newId();
    const rows = await this.#db.query(
      `insert into app_user (id, username, password_hash, roles, display_name, practitioner_id, external_subject)
       values ($1, $2, $3, $4::jsonb, $5, $6, $7) on conflict do nothing returning id`,
      [
        userId,
        id.username,
        // No password: sign-in goes through the IdP. A random, never-shown one keeps the column's rule.
        await hashPassword(randomPassword()),
        JSON.stringify(id.roles),
        id.displayName,
        id.practitionerId,
        id.subject,
      ],
    );
    if (!rows[0])
      throw fail(
        'VIGIL_ERR_AUTH_OIDC_ACCOUNT_CONFLICT',
        `a local account named ${id.username} exists: an administrator must link or rename it`,
        409,
      );
    return { userId, created: true, previousRoles: null, disabled: false };
  }
}
