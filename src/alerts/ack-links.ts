import { randomBytes } from 'node:crypto';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import type { Clock } from '../core/clock.ts';
import { VigilError } from '../core/errors.ts';
import type { Sql } from '../store/database.ts';
import { loadServerKey } from '../store/server-keys.ts';

/** What an acknowledge link stands for: this person may acknowledge this alert, until it expires. */
export interface AckGrant {
  alertId: string;
  userId: string;
  notificationId: string;
  expiresAt: string;
}

const purpose = 'vigil-alert-ack';
/** How long a link in a message works: long enough for a night shift, short enough to be stale. */
export const ackLinkTtlSeconds = 12 * 3600;

/**
 * Signed, expiring acknowledge links (HS256 JWTs under their own server key, not the access-token
 * key: a link can only acknowledge the one alert it names, for the one person it was sent to). The
 * link opens a confirmation page; only its POST acknowledges, because mail scanners and link
 * previews follow GETs.
 */
export class AckLinks {
  readonly #key: Uint8Array;
  readonly #clock: Clock;

  private constructor(key: Uint8Array, clock: Clock) {
    this.#key = key;
    this.#clock = clock;
  }

  static async load(db: Sql, clock: Clock): Promise<AckLinks> {
    const value = await loadServerKey(db, 'ack-link-hs256', () => randomBytes(32).toString('base64'));
    return new AckLinks(Buffer.from(value, 'base64'), clock);
  }

  async issue(g: Omit<AckGrant, 'expiresAt'>): Promise<string> {
    const now = Math.floor(this.#clock.now() / 1000);
    return new SignJWT({ alert: g.alertId, nid: g.notificationId })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setAudience(purpose)
      .setSubject(g.userId)
      .setIssuedAt(now)
      .setExpirationTime(now + ackLinkTtlSeconds)
      .sign(this.#key);
  }

  async verify(token: string): Promise<AckGrant> {
    if (token.length > 2048 || !/^[\w-]+\.[\w-]+\.[\w-]+$/.test(token)) throw invalid();
    try {
      const { payload } = await jwtVerify(token, this.#key, {
        audience: purpose,
        algorithms: ['HS256'],
        currentDate: new Date(this.#clock.now()),
      });
      if (typeof payload['alert'] !== 'string' || typeof payload.sub !== 'string') throw invalid();
      return {
        alertId: payload['alert'],
        userId: payload.sub,
        notificationId: typeof payload['nid'] === 'string' ? payload['nid'] : '',
        expiresAt: new Date((payload.exp ?? 0) * 1000).toISOString(),
      };
    } catch (e) {
      if (e instanceof joseErrors.JWTExpired)
        throw new VigilError(
          'VIGIL_ERR_ALERT_ACK_LINK_EXPIRED',
          'this acknowledge link has expired: acknowledge in Vigil',
          410,
        );
      if (e instanceof VigilError) throw e;
      throw invalid();
    }
  }
}

const invalid = () =>
  new VigilError('VIGIL_ERR_ALERT_ACK_LINK_INVALID', 'this acknowledge link is not valid', 400);
