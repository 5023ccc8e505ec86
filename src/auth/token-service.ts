import { randomBytes } from 'node:crypto';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import type { Clock } from '../core/clock.ts';
import { VigilError } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import type { Database } from '../store/database.ts';
import { loadServerKey } from '../store/server-keys.ts';

export const Role = {
  admin: 'admin',
  clinician: 'clinician',
  nurse: 'nurse',
  patient: 'patient',
  /** Privacy officer: reviews break-glass access and reads the audit log; no clinical access. */
  privacy: 'privacy',
  device: 'device',
  integration: 'integration',
} as const;
export type Role = (typeof Role)[keyof typeof Role];

/**
 * A stored account as the principal it acts as when no token carries it (an acknowledge link, a
 * SMART consent page): its current roles and links, no scopes.
 */
export function principalOfAccount(u: {
  id: string;
  username: string;
  roles: readonly string[];
  patientId: string | null;
  practitionerId: string | null;
}): Principal {
  return {
    kind: 'user',
    id: u.id,
    username: u.username,
    roles: [...u.roles] as Role[],
    scopes: [],
    patientId: u.patientId,
    practitionerId: u.practitionerId,
  };
}

/** Who is calling: a person, an integration or a device. */
export interface Principal {
  kind: 'user' | 'integration' | 'device';
  id: string;
  username?: string;
  roles: Role[];
  /** SMART-style scopes for integrations (e.g. system/Observation.read). */
  scopes: string[];
  patientId?: string | null;
  practitionerId?: string | null;
  /** Token id (jti), for revocation. */
  tokenId?: string;
  /** Sign-in session (refresh-token family) the token belongs to; revoking it ends the token. */
  sessionId?: string;
  /** Issued-at and expiry, epoch seconds (set on verified tokens). */
  issuedAt?: number;
  expiresAt?: number;
  /**
   * SMART App Launch: the app (client id) a person's token was issued to. Such a token carries the
   * granted patient/ and user/ scopes in `scopes`, works on the FHIR API only, and is limited by
   * those scopes on top of the person's own access (access-policy.ts).
   */
  smartClientId?: string;
  /** SMART launch context: the patient patient/ scopes are limited to. */
  launchPatient?: string;
}

const issuer = 'vigil';
const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
function isUuid(v: unknown): v is string {
  return typeof v === 'string' && uuidPattern.test(v);
}
const audience = 'vigil-api';

/**
 * Short-lived access tokens (JWT, HS256) signed with a key generated on first start and kept in the
 * database — never a built-in value.
 */
export class TokenService {
  readonly #key: Uint8Array;
  readonly #clock: Clock;
  readonly accessTtlSeconds: number;

  private constructor(key: Uint8Array, clock: Clock, ttl: number) {
    this.#key = key;
    this.#clock = clock;
    this.accessTtlSeconds = ttl;
  }

  static async load(db: Database, clock: Clock, accessTtlSeconds = 900): Promise<TokenService> {
    const value = await loadServerKey(db, 'jwt-hs256', () => randomBytes(32).toString('base64'));
    return new TokenService(Buffer.from(value, 'base64'), clock, accessTtlSeconds);
  }

  async issue(
    p: Principal,
    ttlSeconds = this.accessTtlSeconds,
  ): Promise<{ token: string; expiresIn: number; jti: string }> {
    const now = Math.floor(this.#clock.now() / 1000);
    const jti = newId();
    const token = await new SignJWT({
      kind: p.kind,
      roles: p.roles,
      scope: p.scopes.join(' '),
      ...(p.username ? { username: p.username } : {}),
      ...(p.patientId ? { patient: p.patientId } : {}),
      ...(p.practitionerId ? { practitioner: p.practitionerId } : {}),
      ...(p.sessionId ? { sid: p.sessionId } : {}),
      ...(p.smartClientId ? { cid: p.smartClientId } : {}),
      ...(p.launchPatient ? { lp: p.launchPatient } : {}),
    })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuer(issuer)
      .setAudience(audience)
      .setSubject(p.id)
      .setJti(jti)
      .setIssuedAt(now)
      .setExpirationTime(now + ttlSeconds)
      .sign(this.#key);
    return { token, expiresIn: ttlSeconds, jti };
  }

  async verify(token: string): Promise<Principal> {
    try {
      const { payload } = await jwtVerify(token, this.#key, {
        issuer,
        audience,
        algorithms: ['HS256'],
        currentDate: new Date(this.#clock.now()),
      });
      const kind = payload['kind'];
      if (kind !== 'user' && kind !== 'integration' && kind !== 'device') throw new Error('bad kind');
      if (typeof payload.sub !== 'string' || !Array.isArray(payload['roles'])) throw new Error('bad claims');
      // Vigil issues UUIDs for token ids, sessions and user ids (the database keys them as uuid): a
      // correctly signed token with anything else in them is invalid, never a database error.
      if (payload.jti !== undefined && !isUuid(payload.jti)) throw new Error('bad jti');
      if (payload['sid'] !== undefined && !isUuid(payload['sid'])) throw new Error('bad sid');
      if (kind === 'user' && !isUuid(payload.sub)) throw new Error('bad sub');
      return {
        kind,
        id: payload.sub as string,
        roles: (payload['roles'] as Role[]) ?? [],
        scopes:
          typeof payload['scope'] === 'string' && payload['scope']
            ? (payload['scope'] as string).split(' ')
            : [],
        ...(typeof payload['username'] === 'string' ? { username: payload['username'] } : {}),
        patientId: (payload['patient'] as string | undefined) ?? null,
        practitionerId: (payload['practitioner'] as string | undefined) ?? null,
        ...(payload.jti ? { tokenId: payload.jti } : {}),
        ...(typeof payload['sid'] === 'string' ? { sessionId: payload['sid'] } : {}),
        ...(typeof payload['cid'] === 'string' ? { smartClientId: payload['cid'] } : {}),
        ...(typeof payload['lp'] === 'string' ? { launchPatient: payload['lp'] } : {}),
        ...(typeof payload.iat === 'number' ? { issuedAt: payload.iat } : {}),
        ...(typeof payload.exp === 'number' ? { expiresAt: payload.exp } : {}),
      };
    } catch (e) {
      const expired = e instanceof joseErrors.JWTExpired;
      throw new VigilError(
        expired ? 'VIGIL_ERR_AUTH_TOKEN_EXPIRED' : 'VIGIL_ERR_AUTH_TOKEN_INVALID',
        expired ? 'access token expired' : 'access token is invalid',
        401,
      );
    }
  }
}
