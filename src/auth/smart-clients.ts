import { createHash, timingSafeEqual } from 'node:crypto';
import type { JSONWebKeySet } from 'jose';
import type { Clock } from '../core/clock.ts';
import { VigilError } from '../core/errors.ts';
import { newSecret } from '../core/ids.ts';
import type { Database } from '../store/database.ts';
import { clientIdPattern } from './oauth-clients.ts';
import { parseSmartScope } from './scopes.ts';

/**
 * SMART clients, registered by an administrator:
 * - `public`: a browser or native app (no secret; PKCE protects the code);
 * - `confidential`: an app with a client secret (`client_secret_basic` at the token endpoint) or a
 *   registered JWKS (`private_key_jwt`);
 * - `backend`: SMART Backend Services — `client_credentials` with a `private_key_jwt` assertion
 *   against the registered JWKS or JWKS URL; its tokens are integration tokens (system/ scopes,
 *   consent applies as for every integration).
 */
export type SmartClientKind = 'public' | 'confidential' | 'backend';

export interface SmartClient {
  id: string;
  name: string;
  kind: SmartClientKind;
  redirectUris: string[];
  scopes: string[];
  jwks: JSONWebKeySet | null;
  jwksUri: string | null;
  launchUrl: string | null;
  hasSecret: boolean;
  createdAt: string;
  revokedAt: string | null;
}

export interface SmartClientInput {
  id: string;
  name: string;
  kind: SmartClientKind;
  redirectUris?: string[];
  scopes: string[];
  jwks?: JSONWebKeySet;
  jwksUri?: string;
  launchUrl?: string;
}

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');
const kinds: ReadonlySet<string> = new Set(['public', 'confidential', 'backend']);
/** Scopes an app may be allowed besides resource scopes. */
export const smartContextScopes: ReadonlySet<string> = new Set([
  'openid',
  'fhirUser',
  'profile',
  'launch',
  'launch/patient',
  'offline_access',
  'online_access',
]);

const loopbackHosts = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/** https, or http on this machine's loopback (a developer's app, tests). */
export function isAllowedClientUrl(raw: string): boolean {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return false;
  }
  if (u.hash || u.username || u.password) return false;
  if (u.protocol === 'https:') return true;
  return u.protocol === 'http:' && (loopbackHosts.has(u.hostname) || /^127\.\d+\.\d+\.\d+$/.test(u.hostname));
}

function invalid(message: string): VigilError {
  return new VigilError('VIGIL_ERR_SMART_INVALID_CLIENT_METADATA', message, 400);
}

function checkJwks(jwks: unknown): JSONWebKeySet {
  const keys = (jwks as { keys?: unknown })?.keys;
  if (!Array.isArray(keys) || keys.length === 0 || keys.length > 20)
    throw invalid('jwks must be a JWK Set with 1–20 public keys');
  for (const k of keys as Array<Record<string, unknown>>) {
    if (typeof k !== 'object' || k === null) throw invalid('jwks: each key must be an object');
    if ('d' in k || 'p' in k || 'q' in k) throw invalid('jwks must hold public keys only');
    if (typeof k['kid'] !== 'string' || !k['kid']) throw invalid('jwks: each key needs a kid');
    if (k['kty'] === 'RSA') {
      if (typeof k['n'] !== 'string' || typeof k['e'] !== 'string')
        throw invalid('jwks: RSA keys need n and e');
    } else if (k['kty'] === 'EC') {
      if (typeof k['crv'] !== 'string' || typeof k['x'] !== 'string' || typeof k['y'] !== 'string')
        throw invalid('jwks: EC keys need crv, x and y');
    } else throw invalid('jwks: keys must be RSA or EC');
  }
  return { keys: keys as JSONWebKeySet['keys'] };
}

function toClient(r: Record<string, unknown>): SmartClient {
  const iso = (v: unknown) => (v ? new Date(v as string).toISOString() : null);
  return {
    id: r['id'] as string,
    name: r['name'] as string,
    kind: r['kind'] as SmartClientKind,
    redirectUris: (r['redirect_uris'] as string[]) ?? [],
    scopes: (r['scopes'] as string[]) ?? [],
    jwks: (r['jwks'] as JSONWebKeySet | null) ?? null,
    jwksUri: (r['jwks_uri'] as string | null) ?? null,
    launchUrl: (r['launch_url'] as string | null) ?? null,
    hasSecret: typeof r['secret_hash'] === 'string',
    createdAt: iso(r['created_at']) as string,
    revokedAt: iso(r['revoked_at']),
  };
}

export class SmartClientService {
  readonly #db: Database;
  readonly #clock: Clock;
  /** Origins of the registered apps' redirect URIs: CORS for the token endpoint and the FHIR API. */
  #origins: Set<string> | undefined;
  #originsAt = 0;

  constructor(db: Database, clock: Clock) {
    this.#db = db;
    this.#clock = clock;
  }

  static validate(input: SmartClientInput): void {
    if (!clientIdPattern.test(input.id ?? '')) throw invalid('client id: 1–64 letters, digits, . _ -');
    if (!kinds.has(input.kind)) throw invalid('kind must be public, confidential or backend');
    if (typeof input.name !== 'string' || !input.name || input.name.length > 200)
      throw invalid('name: 1–200 characters');
    if (!Array.isArray(input.scopes) || input.scopes.length === 0) throw invalid('scopes are required');
    for (const s of input.scopes) {
      const p = typeof s === 'string' ? parseSmartScope(s) : undefined;
      const ok =
        input.kind === 'backend'
          ? p?.context === 'system'
          : smartContextScopes.has(s) || (p !== undefined && p.context !== 'system');
      if (!ok)
        throw invalid(
          input.kind === 'backend'
            ? `backend clients take system/ scopes (bad: ${s})`
            : `apps take patient/, user/ and launch/openid scopes (bad: ${s})`,
        );
    }
    const uris = input.redirectUris ?? [];
    if (!Array.isArray(uris) || uris.length > 20) throw invalid('redirectUris: at most 20');
    if (input.kind !== 'backend' && uris.length === 0) throw invalid('apps need at least one redirect URI');
    for (const u of uris)
      if (typeof u !== 'string' || !isAllowedClientUrl(u))
        throw invalid(`redirect URI must be https (http only on loopback), without fragment: ${u}`);
    if (input.launchUrl !== undefined && !isAllowedClientUrl(input.launchUrl))
      throw invalid('launchUrl must be https (http only on loopback)');
    if (input.jwksUri !== undefined && !isAllowedClientUrl(input.jwksUri))
      throw invalid('jwksUri must be https (http only on loopback)');
    if (input.jwks !== undefined) checkJwks(input.jwks);
    if (input.kind === 'backend' && !input.jwks && !input.jwksUri)
      throw invalid('backend clients need jwks or jwksUri (private_key_jwt)');
    if (input.kind === 'public' && (input.jwks || input.jwksUri))
      throw invalid('a client with keys is confidential, not public');
  }

  /** Registers a client; a confidential client without keys gets a secret, shown once. */
  async register(input: SmartClientInput): Promise<{ client: SmartClient; secret?: string }> {
    SmartClientService.validate(input);
    const secret =
      input.kind === 'confidential' && !input.jwks && !input.jwksUri ? `vgc_${newSecret(32)}` : undefined;
    const rows = await this.#db.query(
      `insert into oauth_client (id, name, secret_hash, scopes, created_at, kind, redirect_uris, jwks, jwks_uri, launch_url)
       values ($1, $2, $3, $4::jsonb, $5, $6, $7::jsonb, $8::jsonb, $9, $10)
       on conflict (id) do nothing returning *`,
      [
        input.id,
        input.name,
        secret ? sha256(secret) : null,
        JSON.stringify([...new Set(input.scopes)]),
        new Date(this.#clock.now()).toISOString(),
        input.kind,
        JSON.stringify(input.redirectUris ?? []),
        input.jwks ? JSON.stringify(checkJwks(input.jwks)) : null,
        input.jwksUri ?? null,
        input.launchUrl ?? null,
      ],
    );
    if (!rows[0])
      throw new VigilError('VIGIL_ERR_AUTH_CLIENT_EXISTS', `client ${input.id} already exists`, 409);
    this.#origins = undefined;
    return { client: toClient(rows[0]), ...(secret ? { secret } : {}) };
  }

  async list(): Promise<SmartClient[]> {
    return (await this.#db.query(`select * from oauth_client where kind <> 'integration' order by id`)).map(
      toClient,
    );
  }

  /** An active (not revoked) SMART client. */
  async get(id: string): Promise<SmartClient | undefined> {
    if (typeof id !== 'string' || !clientIdPattern.test(id)) return undefined;
    const r = (
      await this.#db.query(
        `select * from oauth_client where id = $1 and kind <> 'integration' and revoked_at is null`,
        [id],
      )
    )[0];
    return r ? toClient(r) : undefined;
  }

  async revoke(id: string): Promise<void> {
    const rows = await this.#db.query(
      `update oauth_client set revoked_at = coalesce(revoked_at, $2) where id = $1 and kind <> 'integration' returning id`,
      [id, new Date(this.#clock.now()).toISOString()],
    );
    if (!rows[0]) throw new VigilError('VIGIL_ERR_AUTH_CLIENT_NOT_FOUND', `no SMART client ${id}`, 404);
    this.#origins = undefined;
  }

  /** client_secret_basic / _post of a confidential app. */
  async checkSecret(id: string, secret: string): Promise<SmartClient | undefined> {
    const r = (
      await this.#db.query(
        `select * from oauth_client where id = $1 and kind = 'confidential' and revoked_at is null`,
        [id],
      )
    )[0];
    if (!r || typeof r['secret_hash'] !== 'string') return undefined;
    const a = Buffer.from(sha256(secret), 'hex');
    const b = Buffer.from(r['secret_hash'] as string, 'hex');
    return a.length === b.length && timingSafeEqual(a, b) ? toClient(r) : undefined;
  }

  /** Origins of active apps' redirect URIs (cached 30 s; registration and revocation here refresh it). */
  async origins(): Promise<Set<string>> {
    if (this.#origins && this.#clock.now() - this.#originsAt < 30_000) return this.#origins;
    const set = new Set<string>();
    for (const c of await this.list()) {
      if (c.revokedAt) continue;
      for (const u of c.redirectUris) set.add(new URL(u).origin);
    }
    this.#origins = set;
    this.#originsAt = this.#clock.now();
    return set;
  }

  /** Jti replay protection: false when this client already used `jti` (kept until the assertion expires). */
  async consumeJti(clientId: string, jti: string, expiresAtSeconds: number): Promise<boolean> {
    const now = new Date(this.#clock.now()).toISOString();
    await this.#db.query('delete from smart_assertion_jti where expires_at < $1', [now]);
    const rows = await this.#db.query(
      `insert into smart_assertion_jti (client_id, jti, expires_at) values ($1, $2, $3)
       on conflict (client_id, jti) do nothing returning jti`,
      [clientId, jti, new Date(expiresAtSeconds * 1000).toISOString()],
    );
    return rows.length === 1;
  }
}
