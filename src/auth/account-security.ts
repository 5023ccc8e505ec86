import type { Clock } from '../core/clock.ts';
import { VigilError } from '../core/errors.ts';
import { openSecret, sealSecret } from '../core/secret-box.ts';
import type { Database } from '../store/database.ts';
import type { Role } from './token-service.ts';
import { matchTotp, newTotpSecret, totpUri } from './totp.ts';

/**
 * TOTP second factor of people's accounts and the administrator's MFA policy (roles that must use
 * it). The TOTP secret is kept in the database because the server must compute codes; it is never
 * logged or returned after enrolment.
 */
export class AccountSecurity {
  readonly #db: Database;
  readonly #clock: Clock;

  constructor(db: Database, clock: Clock) {
    this.#db = db;
    this.#clock = clock;
  }

  async mfaRequiredRoles(): Promise<Role[]> {
    const r = (
      await this.#db.query<{ value: Role[] }>(
        `select value from security_setting where name = 'mfa_required_roles'`,
      )
    )[0];
    return r?.value ?? [];
  }

  async setMfaRequiredRoles(roles: Role[]): Promise<void> {
    await this.#db.query(
      `insert into security_setting (name, value, updated_at) values ('mfa_required_roles', $1::jsonb, now())
       on conflict (name) do update set value = $1::jsonb, updated_at = now()`,
      [JSON.stringify([...new Set(roles)])],
    );
  }

  async totpEnabled(userId: string): Promise<boolean> {
    const r = (
      await this.#db.query<{ totp_enabled: boolean }>(
        'select totp_enabled from app_user where id = $1::uuid',
        [userId],
      )
    )[0];
    return r?.totp_enabled ?? false;
  }

  /** Starts enrolment: a new secret to show the person (QR of the otpauth URI); active after `activate`. */
  async enroll(userId: string, username: string): Promise<{ secret: string; otpauthUri: string }> {
    if (await this.totpEnabled(userId)) {
      throw new VigilError(
        'VIGIL_ERR_AUTH_MFA_ALREADY_ENABLED',
        'TOTP is already enabled; disable it first',
        409,
      );
    }
    const secret = newTotpSecret();
    await this.#db.query(
      'update app_user set totp_pending_secret = $2, updated_at = now() where id = $1::uuid',
      [userId, sealSecret(this.#db, secret, 'totp')],
    );
    return { secret, otpauthUri: totpUri(secret, username) };
  }

  async activate(userId: string, code: string): Promise<void> {
    const r = (
      await this.#db.query<{ totp_pending_secret: string | null }>(
        'select totp_pending_secret from app_user where id = $1::uuid',
        [userId],
      )
    )[0];
    if (!r?.totp_pending_secret)
      throw new VigilError('VIGIL_ERR_AUTH_MFA_NOT_ENROLLING', 'start with POST /auth/mfa/totp/enroll', 409);
    const step = matchTotp(openSecret(this.#db, r.totp_pending_secret, 'totp'), code, this.#clock.now());
    if (step === undefined) throw new VigilError('VIGIL_ERR_AUTH_MFA_INVALID', 'wrong or expired code', 401);
    await this.#db.query(
      `update app_user set totp_secret = totp_pending_secret, totp_pending_secret = null, totp_enabled = true,
         totp_last_step = $2, updated_at = now() where id = $1::uuid`,
      [userId, step],
    );
  }

  /** Checks a code at sign-in; each code is accepted once (replay of a seen step is refused). */
  async verify(userId: string, code: string): Promise<boolean> {
    return this.#db.transaction(async (tx) => {
      const r = (
        await tx.query<{ totp_secret: string | null; totp_last_step: string | number | null }>(
          'select totp_secret, totp_last_step from app_user where id = $1::uuid for update',
          [userId],
        )
      )[0];
      if (!r?.totp_secret) return false;
      const step = matchTotp(openSecret(this.#db, r.totp_secret, 'totp'), code, this.#clock.now());
      if (step === undefined || (r.totp_last_step !== null && step <= Number(r.totp_last_step))) return false;
      await tx.query('update app_user set totp_last_step = $2 where id = $1::uuid', [userId, step]);
      return true;
    });
  }

  async disable(userId: string): Promise<void> {
    await this.#db.query(
      `update app_user set totp_secret = null, totp_pending_secret = null, totp_enabled = false, totp_last_step = null,
         updated_at = now() where id = $1::uuid`,
      [userId],
    );
  }
}
