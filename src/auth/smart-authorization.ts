import { createHash, randomBytes } from 'node:crypto';
import { exportJWK, generateKeyPair, importJWK, type JWK, SignJWT } from 'jose';
import type { Clock } from '../core/clock.ts';
import { newSecret } from '../core/ids.ts';
import { openSecret, sealSecret } from '../core/secret-box.ts';
import type { Database } from '../store/database.ts';

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

/** The parameters of an authorization request, checked (client, redirect URI, PKCE, aud). */
export interface AuthorizationParams {
  clientId: string;
  redirectUri: string;
  state: string;
  scopes: string[];
  codeChallenge: string;
  nonce?: string | undefined;
  /** EHR launch: the launch context's patient. */
  launchPatient?: string | undefined;
  launchUserId?: string | undefined;
}

export interface PendingAuthorization {
  params: AuthorizationParams;
  userId: string | null;
}

export interface IssuedCode {
  clientId: string;
  userId: string;
  redirectUri: string;
  codeChallenge: string;
  scopes: string[];
  patientId: string | null;
  nonce: string | null;
}

/** How long the steps last. */
export const smartLifetimes = {
  launchMs: 10 * 60_000,
  authorizationMs: 10 * 60_000,
  codeMs: 60_000,
};

/** PKCE S256 (RFC 7636 §4.6): BASE64URL(SHA256(ASCII(code_verifier))) == code_challenge. */
export function pkceS256(verifier: string): string {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url');
}

export const codeVerifierPattern = /^[A-Za-z0-9\-._~]{43,128}$/;
export const codeChallengePattern = /^[A-Za-z0-9_-]{43}$/;

/**
 * The state of SMART App Launch between its steps, in the database (every worker sees it): EHR
 * launch contexts, authorization requests awaiting the user's sign-in and consent, and single-use
 * authorization codes. Secrets handed to browsers are stored as SHA-256 only.
 */
export class SmartAuthorizationStore {
  readonly #db: Database;
  readonly #clock: Clock;

  constructor(db: Database, clock: Clock) {
    this.#db = db;
    this.#clock = clock;
  }

  #iso(offsetMs = 0): string {
    return new Date(this.#clock.now() + offsetMs).toISOString();
  }

  async createLaunch(userId: string, patientId: string, clientId?: string): Promise<string> {
    const id = newSecret(24);
    await this.#db.query(
      `insert into smart_launch (id, user_id, patient_id, client_id, created_at, expires_at)
       values ($1, $2, $3, $4, $5, $6)`,
      [id, userId, patientId, clientId ?? null, this.#iso(), this.#iso(smartLifetimes.launchMs)],
    );
    return id;
  }

  async launch(
    id: string,
  ): Promise<{ userId: string; patientId: string; clientId: string | null } | undefined> {
    if (typeof id !== 'string' || id.length > 100) return undefined;
    const r = (
      await this.#db.query<{ user_id: string; patient_id: string; client_id: string | null }>(
        'select user_id, patient_id, client_id from smart_launch where id = $1 and expires_at > $2',
        [id, this.#iso()],
      )
    )[0];
    return r ? { userId: r.user_id, patientId: r.patient_id, clientId: r.client_id } : undefined;
  }

  /** A new authorization request; the returned handle goes into the sign-in form. */
  async begin(params: AuthorizationParams): Promise<string> {
    const handle = newSecret(32);
    await this.#db.query('delete from smart_authorization where expires_at < $1', [this.#iso()]);
    await this.#db.query(
      `insert into smart_authorization (id_hash, client_id, params, created_at, expires_at)
       values ($1, $2, $3::jsonb, $4, $5)`,
      [
        sha256(handle),
        params.clientId,
        JSON.stringify(params),
        this.#iso(),
        this.#iso(smartLifetimes.authorizationMs),
      ],
    );
    return handle;
  }

  async pending(handle: string): Promise<PendingAuthorization | undefined> {
    if (typeof handle !== 'string' || handle.length > 200) return undefined;
    const r = (
      await this.#db.query<{ params: AuthorizationParams; user_id: string | null }>(
        'select params, user_id from smart_authorization where id_hash = $1 and expires_at > $2',
        [sha256(handle), this.#iso()],
      )
    )[0];
    return r ? { params: r.params, userId: r.user_id } : undefined;
  }

  /** The user signed in: returns the consent ticket the consent form must post back. */
  async signedIn(handle: string, userId: string): Promise<string> {
    const ticket = newSecret(32);
    await this.#db.query(
      'update smart_authorization set user_id = $2, consent_hash = $3 where id_hash = $1',
      [sha256(handle), userId, sha256(ticket)],
    );
    return ticket;
  }

  /** Ends the request when the ticket matches (single use); returns it with the user. */
  async finish(
    handle: string,
    ticket: string,
  ): Promise<(PendingAuthorization & { userId: string }) | undefined> {
    if (typeof handle !== 'string' || typeof ticket !== 'string') return undefined;
    const r = (
      await this.#db.query<{ params: AuthorizationParams; user_id: string }>(
        `delete from smart_authorization where id_hash = $1 and consent_hash = $2 and user_id is not null
         and expires_at > $3 returning params, user_id`,
        [sha256(handle), sha256(ticket), this.#iso()],
      )
    )[0];
    return r ? { params: r.params, userId: r.user_id } : undefined;
  }

  async issueCode(c: IssuedCode): Promise<string> {
    const code = newSecret(32);
    await this.#db.query('delete from smart_code where expires_at < $1', [this.#iso(-3600_000)]);
    await this.#db.query(
      `insert into smart_code (code_hash, client_id, user_id, redirect_uri, code_challenge, scopes, patient_id, nonce,
         created_at, expires_at)
       values ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9, $10)`,
      [
        sha256(code),
        c.clientId,
        c.userId,
        c.redirectUri,
        c.codeChallenge,
        JSON.stringify(c.scopes),
        c.patientId,
        c.nonce,
        this.#iso(),
        this.#iso(smartLifetimes.codeMs),
      ],
    );
    return code;
  }

  /**
   * Redeems a code once. A second use answers `reused` with the session the first use started
   * (RFC 6749 §4.1.2: the tokens issued from it should be revoked).
   */
  async redeem(
    code: string,
  ): Promise<
    | { ok: true; code: IssuedCode; markSession(sessionId: string): Promise<void> }
    | { ok: false; reusedSessionId?: string | null }
  > {
    if (typeof code !== 'string' || code.length > 200) return { ok: false };
    const h = sha256(code);
    const rows = await this.#db.query<{
      client_id: string;
      user_id: string;
      redirect_uri: string;
      code_challenge: string;
      scopes: string[];
      patient_id: string | null;
      nonce: string | null;
    }>(
      `update smart_code set used_at = $2 where code_hash = $1 and used_at is null and expires_at > $2
       returning client_id, user_id, redirect_uri, code_challenge, scopes, patient_id, nonce`,
      [h, this.#iso()],
    );
    const r = rows[0];
    if (!r) {
      const used = (
        await this.#db.query<{ session_id: string | null }>(
          'select session_id from smart_code where code_hash = $1 and used_at is not null',
          [h],
        )
      )[0];
      return used ? { ok: false, reusedSessionId: used.session_id } : { ok: false };
    }
    return {
      ok: true,
      code: {
        clientId: r.client_id,
        userId: r.user_id,
        redirectUri: r.redirect_uri,
        codeChallenge: r.code_challenge,
        scopes: r.scopes,
        patientId: r.patient_id,
        nonce: r.nonce,
      },
      markSession: async (sessionId) => {
        await this.#db.query('update smart_code set session_id = $2 where code_hash = $1', [h, sessionId]);
      },
    };
  }
}

/**
 * The key that signs OpenID Connect id_tokens (RS256, the OIDC default): generated on first start,
 * kept in the database like the access-token key, published at /oauth/jwks — never a built-in key.
 */
export class IdTokenSigner {
  readonly #key: CryptoKey;
  readonly publicJwk: JWK;
  readonly #clock: Clock;

  private constructor(key: CryptoKey, publicJwk: JWK, clock: Clock) {
    this.#key = key;
    this.publicJwk = publicJwk;
    this.#clock = clock;
  }

  static async load(db: Database, clock: Clock): Promise<IdTokenSigner> {
    const name = 'smart-id-token-rs256';
    const existing = await db.query<{ value: string }>('select value from server_key where name = $1', [
      name,
    ]);
    if (!existing[0]) {
      const { privateKey } = await generateKeyPair('RS256', { modulusLength: 2048, extractable: true });
      const jwk = await exportJWK(privateKey);
      jwk.kid = randomBytes(12).toString('base64url');
      await db.query(`insert into server_key (name, value) values ($1, $2) on conflict (name) do nothing`, [
        name,
        sealSecret(db, JSON.stringify(jwk), 'server_key'),
      ]);
    }
    const stored = (
      await db.query<{ value: string }>('select value from server_key where name = $1', [name])
    )[0]?.value;
    const value = stored === undefined ? undefined : openSecret(db, stored, 'server_key');
    if (!value) throw new Error('id_token signing key missing');
    const jwk = JSON.parse(value) as JWK;
    const key = (await importJWK(jwk, 'RS256')) as CryptoKey;
    const { kid, kty, n, e } = jwk;
    return new IdTokenSigner(key, { kid, kty, n, e, alg: 'RS256', use: 'sig' } as JWK, clock);
  }

  async sign(claims: {
    issuer: string;
    subject: string;
    audience: string;
    fhirUser?: string | undefined;
    nonce?: string | null | undefined;
    name?: string | undefined;
    ttlSeconds?: number;
  }): Promise<string> {
    const now = Math.floor(this.#clock.now() / 1000);
    return new SignJWT({
      ...(claims.fhirUser ? { fhirUser: claims.fhirUser } : {}),
      ...(claims.nonce ? { nonce: claims.nonce } : {}),
      ...(claims.name ? { preferred_username: claims.name } : {}),
    })
      .setProtectedHeader({ alg: 'RS256', kid: this.publicJwk.kid as string, typ: 'JWT' })
      .setIssuer(claims.issuer)
      .setSubject(claims.subject)
      .setAudience(claims.audience)
      .setIssuedAt(now)
      .setExpirationTime(now + (claims.ttlSeconds ?? 900))
      .sign(this.#key);
  }
}
