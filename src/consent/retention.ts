import type { Clock } from '../core/clock.ts';
import { VigilError } from '../core/errors.ts';
import type { Database } from '../store/database.ts';

export const dataClasses = [
  'observation',
  'dead_letter',
  'auth_session',
  'login_throttle',
  'audit_event',
] as const;
export type DataClass = (typeof dataClasses)[number];

export interface RetentionRule {
  dataClass: DataClass;
  /** Days to keep; null = keep forever. */
  days: number | null;
}

/** Minimum for the audit log: HIPAA keeps security documentation six years (45 CFR 164.316(b)(2)). */
export const minimumAuditDays = 2190;

export interface PurgeResult {
  dryRun: boolean;
  at: string;
  classes: Array<{ dataClass: DataClass; days: number | null; cutoff: string | null; count: number }>;
}

/** Another module's purge step for its data (e.g. resolved alerts): count or delete before `cutoff`. */
export type PurgeStep = (cutoff: string, dryRun: boolean) => Promise<number>;

/**
 * Retention per data class and the purge job. The audit log is purged from its oldest end only,
 * moving the chain's verified base forward so the rest still verifies.
 */
export class RetentionService {
  readonly #db: Database;
  readonly #clock: Clock;
  readonly #sessionPurge: PurgeStep;

  constructor(db: Database, clock: Clock, sessionPurge: PurgeStep) {
    this.#db = db;
    this.#clock = clock;
    this.#sessionPurge = sessionPurge;
  }

  async rules(): Promise<RetentionRule[]> {
    const rows = await this.#db.query<{ data_class: DataClass; days: number | null }>(
      'select data_class, days from retention_policy order by data_class',
    );
    return rows.map((r) => ({ dataClass: r.data_class, days: r.days }));
  }

  async setRule(dataClass: string, days: number | null): Promise<RetentionRule> {
    if (!(dataClasses as readonly string[]).includes(dataClass)) {
      throw new VigilError(
        'VIGIL_ERR_RETENTION_UNKNOWN_CLASS',
        `data class must be one of ${dataClasses.join(', ')}`,
        400,
      );
    }
    if (days !== null && (!Number.isInteger(days) || days < 1))
      throw new VigilError('VIGIL_ERR_RETENTION_INVALID', 'days must be a positive integer or null', 400);
    if (dataClass === 'audit_event' && (days === null ? false : days < minimumAuditDays)) {
      throw new VigilError(
        'VIGIL_ERR_RETENTION_AUDIT_MINIMUM',
        `the audit log is kept at least ${minimumAuditDays} days`,
        400,
      );
    }
    await this.#db.query(
      `insert into retention_policy (data_class, days, updated_at) values ($1, $2, now())
       on conflict (data_class) do update set days = $2, updated_at = now()`,
      [dataClass, days],
    );
    return { dataClass: dataClass as DataClass, days };
  }

  async purge(dryRun: boolean): Promise<PurgeResult> {
    const now = this.#clock.now();
    const result: PurgeResult = { dryRun, at: new Date(now).toISOString(), classes: [] };
    for (const rule of await this.rules()) {
      if (rule.days === null) {
        result.classes.push({ dataClass: rule.dataClass, days: null, cutoff: null, count: 0 });
        continue;
      }
      const cutoff = new Date(now - rule.days * 86_400_000).toISOString();
      const count = await this.#purgeClass(rule.dataClass, cutoff, dryRun);
      result.classes.push({ dataClass: rule.dataClass, days: rule.days, cutoff, count });
    }
    return result;
  }

  async #purgeClass(c: DataClass, cutoff: string, dryRun: boolean): Promise<number> {
    const countDelete = async (table: string, where: string) => {
      const n =
        (
          await this.#db.query<{ n: number }>(`select count(*)::int as n from ${table} where ${where}`, [
            cutoff,
          ])
        )[0]?.n ?? 0;
      if (!dryRun && n > 0) await this.#db.query(`delete from ${table} where ${where}`, [cutoff]);
      return n;
    };
    switch (c) {
      case 'observation':
        return countDelete('observation', 'effective < $1');
      case 'dead_letter':
        return countDelete('dead_letter', 'received < $1');
      case 'login_throttle':
        return countDelete(
          'login_throttle',
          'last_failure < $1 and (locked_until is null or locked_until < $1)',
        );
      case 'auth_session':
        return this.#sessionPurge(cutoff, dryRun);
      case 'audit_event':
        return this.#purgeAudit(cutoff, dryRun);
      default: {
        const never: never = c;
        return never;
      }
    }
  }

  async #purgeAudit(cutoff: string, dryRun: boolean): Promise<number> {
    return this.#db.transaction(async (tx) => {
      await tx.query('select last_seq from audit_chain_head where id = 1 for update');
      const last = (
        await tx.query<{ seq: string | number; hash: string }>(
          'select seq, hash from audit_event where recorded < $1 order by seq desc limit 1',
          [cutoff],
        )
      )[0];
      if (!last) return 0;
      const n =
        (
          await tx.query<{ n: number }>('select count(*)::int as n from audit_event where seq <= $1', [
            last.seq,
          ])
        )[0]?.n ?? 0;
      if (dryRun) return n;
      await tx.query(`select set_config('vigil.audit_purge', 'on', true)`);
      await tx.query('delete from audit_event where seq <= $1', [last.seq]);
      await tx.query(`select set_config('vigil.audit_purge', 'off', true)`);
      await tx.query('update audit_chain_head set base_seq = $1, base_hash = $2 where id = 1', [
        last.seq,
        last.hash,
      ]);
      return n;
    });
  }
}
