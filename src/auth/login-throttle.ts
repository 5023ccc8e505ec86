import type { Clock } from '../core/clock.ts';
import type { Database } from '../store/database.ts';

export interface ThrottlePolicy {
  /** Consecutive failures that lock the account. */
  maxFailures: number;
  /** First lock, ms; each further lock before a successful sign-in doubles it … */
  lockMs: number;
  /** … up to this. */
  maxLockMs: number;
}

export const defaultThrottlePolicy: ThrottlePolicy = {
  maxFailures: 5,
  lockMs: 15 * 60_000,
  maxLockMs: 24 * 3600_000,
};

export interface ThrottleState {
  locked: boolean;
  /** When locked: ms until the lock ends. */
  retryAfterMs: number;
}

/**
 * Account lockout after repeated failed sign-ins, kept in the database (so every worker sees it)
 * and keyed by the username as typed — also for names that do not exist, so the answers do not
 * reveal which accounts exist. Integrations' client ids are throttled the same way ('client:<id>').
 */
export class LoginThrottle {
  readonly #db: Database;
  readonly #clock: Clock;
  readonly policy: ThrottlePolicy;

  constructor(db: Database, clock: Clock, policy: ThrottlePolicy = defaultThrottlePolicy) {
    this.#db = db;
    this.#clock = clock;
    this.policy = policy;
  }

  async state(key: string): Promise<ThrottleState> {
    const row = (
      await this.#db.query<{ locked_until: Date | null }>(
        'select locked_until from login_throttle where username = $1',
        [norm(key)],
      )
    )[0];
    const until = row?.locked_until ? new Date(row.locked_until).getTime() : 0;
    const left = until - this.#clock.now();
    return left > 0 ? { locked: true, retryAfterMs: left } : { locked: false, retryAfterMs: 0 };
  }

  /** Counts a failure; returns whether this failure locked the account (and for how long). */
  async fail(key: string): Promise<{ lockedNow: boolean; lockMs: number; failures: number }> {
    const now = this.#clock.now();
    return this.#db.transaction(async (tx) => {
      const row = (
        await tx.query<{ failures: number; lockouts: number; locked_until: Date | null }>(
          'select failures, lockouts, locked_until from login_throttle where username = $1 for update',
          [norm(key)],
        )
      )[0];
      let failures = (row?.failures ?? 0) + 1;
      let lockouts = row?.lockouts ?? 0;
      let lockedUntil: number | null = null;
      let lockMs = 0;
      if (failures >= this.policy.maxFailures) {
        lockouts += 1;
        lockMs = Math.min(this.policy.lockMs * 2 ** (lockouts - 1), this.policy.maxLockMs);
        lockedUntil = now + lockMs;
        failures = 0;
      }
      await tx.query(
        `insert into login_throttle (username, failures, lockouts, locked_until, last_failure) values ($1, $2, $3, $4, $5)
         on conflict (username) do update set failures = $2, lockouts = $3, locked_until = coalesce($4, login_throttle.locked_until), last_failure = $5`,
        [
          norm(key),
          failures,
          lockouts,
          lockedUntil === null ? null : new Date(lockedUntil).toISOString(),
          new Date(now).toISOString(),
        ],
      );
      return { lockedNow: lockedUntil !== null, lockMs, failures };
    });
  }

  async succeed(key: string): Promise<void> {
    await this.#db.query('delete from login_throttle where username = $1', [norm(key)]);
  }

  /** Administrator unlock. */
  unlock(key: string): Promise<void> {
    return this.succeed(key);
  }
}

function norm(key: string): string {
  return key.normalize('NFKC').toLowerCase().slice(0, 200);
}
