import {
  createLocalJWKSet,
  decodeProtectedHeader,
  type JSONWebKeySet,
  type JWTPayload,
  jwtVerify,
} from 'jose';
import type { Clock } from '../core/clock.ts';
import { VigilError } from '../core/errors.ts';
import { isAllowedClientUrl, type SmartClient, type SmartClientService } from './smart-clients.ts';

export const jwtBearerAssertionType = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/** SMART asymmetric client authentication: the server validates at least one of RS384 / ES384; Vigil takes both. */
export const assertionAlgorithms = ['RS384', 'ES384'] as const;
/** An assertion's `exp` may be at most five minutes in the future (SMART client-confidential-asymmetric). */
export const maxAssertionLifetimeSeconds = 300;

const refuse = (message: string) => new VigilError('VIGIL_ERR_SMART_INVALID_CLIENT', message, 401);

interface CachedJwks {
  jwks: JSONWebKeySet;
  until: number;
}

/**
 * `private_key_jwt` (RFC 7523 §3, SMART client-confidential-asymmetric): verifies a client
 * assertion against the client's registered JWKS or JWKS URL, with `jti` replay protection kept in
 * the database (every worker sees it) until the assertion expires.
 */
export class ClientAssertionVerifier {
  readonly #clients: SmartClientService;
  readonly #clock: Clock;
  readonly #cache = new Map<string, CachedJwks>();

  constructor(clients: SmartClientService, clock: Clock) {
    this.#clients = clients;
    this.#clock = clock;
  }

  /**
   * The JWK Set at a registered JWKS URL: GET with `Accept: application/json`, no redirects, 5 s;
   * cached no longer than the response's Cache-Control allows (at most 5 minutes; `no-store` or
   * `no-cache`: not at all).
   */
  async #fetchJwks(url: string): Promise<JSONWebKeySet> {
    const hit = this.#cache.get(url);
    if (hit && hit.until > this.#clock.now()) return hit.jwks;
    if (!isAllowedClientUrl(url)) throw refuse('the registered JWKS URL is not allowed');
    let res: Response;
    try {
      res = await fetch(url, {
        headers: { accept: 'application/json' },
        redirect: 'error',
        signal: AbortSignal.timeout(5000),
      });
    } catch {
      throw refuse('the client JWKS URL could not be read');
    }
    if (!res.ok) throw refuse(`the client JWKS URL answered ${res.status}`);
    const text = await res.text();
    if (text.length > 100_000) throw refuse('the client JWK Set is too large');
    let jwks: JSONWebKeySet;
    try {
      jwks = JSON.parse(text) as JSONWebKeySet;
    } catch {
      throw refuse('the client JWKS URL did not answer a JWK Set');
    }
    if (!Array.isArray(jwks?.keys)) throw refuse('the client JWKS URL did not answer a JWK Set');
    const cc = res.headers.get('cache-control') ?? '';
    const maxAge = /max-age=(\d+)/i.exec(cc)?.[1];
    const seconds = /no-store|no-cache/i.test(cc) ? 0 : Math.min(maxAge ? Number(maxAge) : 0, 300);
    if (seconds > 0) this.#cache.set(url, { jwks, until: this.#clock.now() + seconds * 1000 });
    else this.#cache.delete(url);
    return jwks;
  }

  /**
   * The client the assertion authenticates, or VIGIL_ERR_SMART_INVALID_CLIENT (→ `invalid_client`).
   * `tokenEndpoints`: the URLs this server's token endpoint is reached at (the assertion's `aud`).
   */
  async verify(
    assertion: string,
    clientIdHint: string | undefined,
    tokenEndpoints: readonly string[],
  ): Promise<{ client: SmartClient; payload: JWTPayload }> {
    if (typeof assertion !== 'string' || assertion.length > 8192 || assertion.split('.').length !== 3)
      throw refuse('client_assertion is not a signed JWT');
    let header: ReturnType<typeof decodeProtectedHeader>;
    let claims: JWTPayload;
    try {
      header = decodeProtectedHeader(assertion);
      claims = JSON.parse(Buffer.from(assertion.split('.')[1] as string, 'base64url').toString('utf8'));
    } catch {
      throw refuse('client_assertion is not a signed JWT');
    }
    if (!assertionAlgorithms.includes(header.alg as (typeof assertionAlgorithms)[number]))
      throw refuse(`client assertion alg must be RS384 or ES384 (got ${String(header.alg)})`);
    if (typeof header.kid !== 'string' || !header.kid) throw refuse('client assertion header needs a kid');
    const iss = claims.iss;
    if (typeof iss !== 'string' || (clientIdHint !== undefined && clientIdHint !== iss))
      throw refuse('client assertion iss must be the client_id');
    const client = await this.#clients.get(iss);
    if (!client || (!client.jwks && !client.jwksUri)) throw refuse('unknown client or no registered keys');
    let jwks: JSONWebKeySet;
    if (header.jku !== undefined) {
      // A jku is followed only when it is the JWKS URL registered for the client.
      if (header.jku !== client.jwksUri) throw refuse('jku is not the JWKS URL registered for the client');
      jwks = await this.#fetchJwks(header.jku);
    } else if (client.jwksUri) {
      jwks = await this.#fetchJwks(client.jwksUri);
    } else jwks = client.jwks as JSONWebKeySet;
    const kty = header.alg === 'RS384' ? 'RSA' : 'EC';
    const candidates = jwks.keys.filter((k) => k.kid === header.kid && k.kty === kty);
    if (candidates.length !== 1) throw refuse('no single registered key matches the assertion kid');
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(assertion, createLocalJWKSet({ keys: candidates }), {
        algorithms: [...assertionAlgorithms],
        issuer: client.id,
        subject: client.id,
        audience: [...tokenEndpoints],
        requiredClaims: ['exp', 'jti'],
        currentDate: new Date(this.#clock.now()),
      }));
    } catch (e) {
      const code = (e as { code?: string }).code ?? '';
      throw refuse(
        code === 'ERR_JWT_EXPIRED'
          ? 'client assertion expired'
          : code === 'ERR_JWT_CLAIM_VALIDATION_FAILED'
            ? `client assertion claim invalid: ${(e as { claim?: string }).claim ?? ''} (aud must be the token endpoint)`
            : 'client assertion signature invalid',
      );
    }
    const now = Math.floor(this.#clock.now() / 1000);
    if (typeof payload.exp !== 'number' || payload.exp > now + maxAssertionLifetimeSeconds)
      throw refuse('client assertion exp must be at most five minutes in the future');
    if (typeof payload.jti !== 'string' || !payload.jti || payload.jti.length > 256)
      throw refuse('client assertion needs a jti');
    if (!(await this.#clients.consumeJti(client.id, payload.jti, payload.exp)))
      throw refuse('client assertion jti was already used');
    return { client, payload };
  }
}
