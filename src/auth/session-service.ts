import { createHash } from 'node:crypto';
import type { Clock } from '../core/clock.ts';
import { VigilError } from '../core/errors.ts';
import { newId, newSecret } from '../core/ids.ts';
import type { Database } from '../store/database.ts';
import type { Principal, Role, TokenService } from './token-service.ts';

export interface SessionPolicy {
  /** A refresh token unused this long expires. */
  idleMs: number;
  /** A sign-in lasts at most this long, however often it is refreshed. */
  absoluteMs: number;
}

export const defaultSessionPolicy: SessionPolicy = { idleMs: 12 * 3600_000, absoluteMs: 7 * 24 * 3600_000 };

export interface TokenPair {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  refresh_token: string;
}

const refreshPrefix = 'vgr_';
const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

export function isRefreshToken(t: string): boolean {
  return t.startsWith(refreshPrefix);
}

/** The SMART app context of a session started through /oauth/authorize. */
export interface SmartSessionContext {
  clientId: string;
  scopes: string[];
  patientId?: string | undefined;
}

interface UserRow {
  id: string;
  username: string;
  roles: Role[];
  patient_id: string | null;
  practitioner_id: string | null;
  disabled: boolean;
}

/**
 * Sign-in sessions: each sign-in is a session with a rotating refresh token (stored hashed; the
 * previous one kept so that its reuse — a stolen token — revokes the whole session). Access tokens
 * carry the session id; every request checks that the session, the token id and the account are
 * still valid, so revocation and sign-out everywhere take effect at once on every worker.
 */
export class SessionService {
  readonly #db: Database;
  readonly #clock: Clock;
  readonly #tokens: TokenService;
  readonly policy: SessionPolicy;

  constructor(
    db: Database,
    clock: Clock,
    tokens: TokenService,
    policy: SessionPolicy = defaultSessionPolicy,
  ) {
    this.#db = db;
    this.#clock = clock;
    this.#tokens = tokens;
    this.policy = policy;
  }

  #iso(offsetMs = 0): string {
    return new Date(this.#clock.now() + offsetMs).toISOString();
  }

  async #accessFor(
    user: UserRow,
    sessionId: string,
    smart?: SmartSessionContext,
  ): Promise<{ token: string; expiresIn: number }> {
    return this.#tokens.issue({
      kind: 'user',
      id: user.id,
      username: user.username,
      roles: user.roles,
      scopes: smart?.scopes ?? [],
      patientId: user.patient_id,
      practitionerId: user.practitioner_id,
      sessionId,
      ...(smart ? { smartClientId: smart.clientId } : {}),
      ...(smart?.patientId ? { launchPatient: smart.patientId } : {}),
    });
  }

  /**
   * A new session for a user who has just proven who they are; with `smart`, a session of a SMART
   * app (its tokens carry the app, its scopes and the launch patient).
   */
  async start(
    userId: string,
    address?: string,
    smart?: SmartSessionContext,
  ): Promise<TokenPair & { sessionId: string }> {
    const user = await this.#user(userId);
    if (!user || user.disabled)
      throw new VigilError('VIGIL_ERR_AUTH_BAD_CREDENTIALS', 'wrong username or password', 401);
    const id = newId();
    const refresh = `${refreshPrefix}${newSecret(32)}`;
    await this.#db.query(
      `insert into auth_session (id, user_id, refresh_hash, created_at, last_used_at, expires_at, address,
         smart_client_id, smart_scopes, smart_patient_id)
       values ($1, $2, $3, $4, $4, $5, $6, $7, $8::jsonb, $9)`,
      [
        id,
        user.id,
        sha256(refresh),
        this.#iso(),
        this.#iso(this.policy.absoluteMs),
        address ?? null,
        smart?.clientId ?? null,
        smart ? JSON.stringify(smart.scopes) : null,
        smart?.patientId ?? null,
      ],
    );
    const access = await this.#accessFor(user, id, smart);
    return {
      access_token: access.token,
      token_type: 'Bearer',
      expires_in: access.expiresIn,
      refresh_token: refresh,
      sessionId: id,
    };
  }

  /**
   * Exchanges a refresh token for a new pair (the old refresh token stops working). Presenting an
   * already-rotated refresh token revokes the session: `reuse` tells the caller to raise an alert.
   */
  async refresh(
    refreshToken: string,
    /** SMART token endpoint: the authenticated app; a session of another app (or none) is refused. */
    smartClientId?: string,
  ): Promise<
    | { ok: true; pair: TokenPair; userId: string; sessionId: string }
    | { ok: false; reuse: boolean; userId?: string; sessionId?: string }
  > {
    if (!isRefreshToken(refreshToken) || refreshToken.length > 200) return { ok: false, reuse: false };
    const h = sha256(refreshToken);
    const rows = await this.#db.query<{
      id: string;
      user_id: string;
      refresh_hash: string | null;
      previous_refresh_hash: string | null;
      last_used_at: Date;
      expires_at: Date;
      revoked_at: Date | null;
      smart_client_id: string | null;
      smart_scopes: string[] | null;
      smart_patient_id: string | null;
    }>(
      `select id, user_id, refresh_hash, previous_refresh_hash, last_used_at, expires_at, revoked_at,
              smart_client_id, smart_scopes, smart_patient_id from auth_session
       where refresh_hash = $1 or previous_refresh_hash = $1`,
      [h],
    );
    const s = rows[0];
    if (!s) return { ok: false, reuse: false };
    if (smartClientId !== undefined && s.smart_client_id !== smartClientId)
      return { ok: false, reuse: false, userId: s.user_id, sessionId: s.id };
    const smart: SmartSessionContext | undefined = s.smart_client_id
      ? {
          clientId: s.smart_client_id,
          scopes: s.smart_scopes ?? [],
          ...(s.smart_patient_id ? { patientId: s.smart_patient_id } : {}),
        }
      : undefined;
    if (s.refresh_hash !== h) {
      await this.revokeSession(s.id, 'refresh-token-reuse');
      return { ok: false, reuse: true, userId: s.user_id, sessionId: s.id };
    }
    const now = this.#clock.now();
    const idleExpired = new Date(s.last_used_at).getTime() + this.policy.idleMs <= now;
    if (s.revoked_at || new Date(s.expires_at).getTime() <= now || idleExpired) {
      return { ok: false, reuse: false, userId: s.user_id, sessionId: s.id };
    }
    const user = await this.#user(s.user_id);
    if (!user || user.disabled) return { ok: false, reuse: false, userId: s.user_id, sessionId: s.id };
    const next = `${refreshPrefix}${newSecret(32)}`;
    const updated = await this.#db.query(
      `update auth_session set previous_refresh_hash = refresh_hash, refresh_hash = $2, last_used_at = $3
       where id = $1 and refresh_hash = $4 and revoked_at is null returning id`,
      [s.id, sha256(next), this.#iso(), h],
    );
    if (updated.length === 0) return { ok: false, reuse: true, userId: s.user_id, sessionId: s.id };
    const access = await this.#accessFor(user, s.id, smart);
    return {
      ok: true,
      pair: {
        access_token: access.token,
        token_type: 'Bearer',
        expires_in: access.expiresIn,
        refresh_token: next,
      },
      userId: s.user_id,
      sessionId: s.id,
    };
  }

  /** A session whose refresh token must not work (a SMART app granted no offline/online access). */
  async revokeRefreshOnly(sessionId: string): Promise<void> {
    await this.#db.query('update auth_session set refresh_hash = null where id = $1', [sessionId]);
  }

  async revokeSession(sessionId: string, reason: string): Promise<boolean> {
    const rows = await this.#db.query(
      'update auth_session set revoked_at = $2, revoked_reason = $3 where id = $1 and revoked_at is null returning id',
      [sessionId, this.#iso(), reason],
    );
    return rows.length > 0;
  }

  /** Revokes by refresh token; returns the session's user when one was revoked. */
  async revokeRefreshToken(refreshToken: string): Promise<{ userId: string; sessionId: string } | undefined> {
    const rows = await this.#db.query<{ id: string; user_id: string }>(
      'select id, user_id from auth_session where refresh_hash = $1 or previous_refresh_hash = $1',
      [sha256(refreshToken)],
    );
    const s = rows[0];
    if (!s) return undefined;
    await this.revokeSession(s.id, 'revoked');
    return { userId: s.user_id, sessionId: s.id };
  }

  /** Revokes one access token until it would have expired anyway. */
  async revokeAccessToken(jti: string, expiresAtSeconds: number): Promise<void> {
    await this.#db.query(
      'insert into revoked_token (jti, expires_at) values ($1, $2) on conflict (jti) do nothing',
      [jti, new Date(expiresAtSeconds * 1000).toISOString()],
    );
  }

  /** Sign out everywhere: every session of the user ends, and every access token issued before now. */
  async revokeAllForUser(userId: string, reason = 'sign-out-everywhere'): Promise<number> {
    const now = this.#iso();
    await this.#db.query(
      `update app_user set tokens_valid_after = date_trunc('second', $2::timestamptz) where id = $1`,
      [userId, now],
    );
    const rows = await this.#db.query(
      'update auth_session set revoked_at = $2, revoked_reason = $3 where user_id = $1 and revoked_at is null returning id',
      [userId, now, reason],
    );
    return rows.length;
  }

  async activeSessions(
    userId: string,
  ): Promise<Array<{ id: string; createdAt: string; lastUsedAt: string; address: string | null }>> {
    const rows = await this.#db.query<{
      id: string;
      created_at: Date;
      last_used_at: Date;
      address: string | null;
    }>(
      `select id, created_at, last_used_at, address from auth_session
       where user_id = $1 and revoked_at is null and expires_at > $2 order by created_at desc`,
      [userId, this.#iso()],
    );
    return rows.map((r) => ({
      id: r.id,
      createdAt: new Date(r.created_at).toISOString(),
      lastUsedAt: new Date(r.last_used_at).toISOString(),
      address: r.address,
    }));
  }

  /**
   * Per-request check of a verified user token against the database (one round trip): the account
   * is enabled, the session and the token are not revoked, the token is newer than the last
   * sign-out everywhere. Returns the principal with the account's current roles and links.
   */
  async check(p: Principal): Promise<Principal> {
    const rows = await this.#db.query<{
      disabled: boolean;
      roles: Role[];
      patient_id: string | null;
      practitioner_id: string | null;
      tokens_valid_after: Date | null;
      session_revoked: Date | null;
      session_expires: Date | null;
      session_found: boolean;
      jti_revoked: boolean;
    }>(
      `select u.disabled, u.roles, u.patient_id, u.practitioner_id, u.tokens_valid_after,
              s.revoked_at as session_revoked, s.expires_at as session_expires, s.id is not null as session_found,
              exists (select 1 from revoked_token r where r.jti = $3) as jti_revoked
       from app_user u left join auth_session s on s.id = $2::uuid and s.user_id = u.id
       where u.id = $1::uuid`,
      [p.id, p.sessionId ?? null, p.tokenId ?? ''],
    );
    const r = rows[0];
    const revoked = (msg: string) => new VigilError('VIGIL_ERR_AUTH_TOKEN_REVOKED', msg, 401);
    if (!r || r.disabled) throw revoked('account disabled or removed');
    if (r.jti_revoked) throw revoked('access token was revoked');
    if (!p.sessionId || !r.session_found) throw revoked('session not found');
    if (r.session_revoked) throw revoked('session was signed out');
    if (r.session_expires && new Date(r.session_expires).getTime() <= this.#clock.now())
      throw revoked('session expired');
    if (r.tokens_valid_after && (p.issuedAt ?? 0) * 1000 < new Date(r.tokens_valid_after).getTime()) {
      throw revoked('signed out everywhere');
    }
    return { ...p, roles: r.roles ?? [], patientId: r.patient_id, practitionerId: r.practitioner_id };
  }

  async #user(id: string): Promise<UserRow | undefined> {
    const rows = await this.#db.query<UserRow>(
      'select id, username, roles, patient_id, practitioner_id, disabled from app_user where id = $1::uuid',
      [id],
    );
    return rows[0];
  }

  /** Retention: sessions ended (revoked or expired) before `before`, and expired revoked-token rows. */
  async purge(before: string, dryRun: boolean): Promise<number> {
    const cond = `(revoked_at is not null and revoked_at < $1) or expires_at < $1`;
    const n =
      (
        await this.#db.query<{ n: number }>(`select count(*)::int as n from auth_session where ${cond}`, [
          before,
        ])
      )[0]?.n ?? 0;
    if (!dryRun) {
      await this.#db.query(`delete from auth_session where ${cond}`, [before]);
      await this.#db.query('delete from revoked_token where expires_at < $1', [this.#iso()]);
    }
    return n;
  }
}
