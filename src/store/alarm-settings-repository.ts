import type { Reading } from '../core/reading.ts';
import { type Database, type Sql, toJsonParam } from './database.ts';
import { readingColumns, rowToReading } from './observation-repository.ts';

export type ProposalStatus = 'proposed' | 'approved' | 'rejected' | 'withdrawn';

/** One applied version of a program's alarm settings (the highest is in force). */
export interface AlarmSettingsVersion {
  program: string;
  version: number;
  /** Every override in force: { <rule id>: { <field>: value } }. */
  overrides: Record<string, Record<string, unknown>>;
  /** What this version changed: [{ rule, field, before, after }]. */
  diff: unknown[];
  proposalId: string | null;
  appliedBy: string;
  appliedAt: string;
  reason: string;
}

export interface AlarmSettingsProposal {
  id: string;
  program: string;
  baseVersion: number;
  changes: Record<string, Record<string, unknown>>;
  reason: string;
  status: ProposalStatus;
  proposedBy: string;
  proposedAt: string;
  replay: Record<string, unknown> | null;
  replayedAt: string | null;
  replayedBy: string | null;
  reviewedBy: string | null;
  reviewedAt: string | null;
  reviewNote: string | null;
  appliedVersion: number | null;
}

/** A stored alert of a patient and condition (for the replay's removed alerts). */
export interface StoredAlertRef {
  id: string;
  patientId: string;
  conditionKey: string;
  raisedAt: string;
  acknowledged: boolean;
  resolution: string | null;
}

const iso = (v: unknown): string => new Date(v as string | Date).toISOString();
const isoOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : iso(v));

function toVersion(r: Record<string, unknown>): AlarmSettingsVersion {
  return {
    program: r['program'] as string,
    version: Number(r['version']),
    overrides: r['overrides'] as AlarmSettingsVersion['overrides'],
    diff: r['diff'] as unknown[],
    proposalId: (r['proposal_id'] as string | null) ?? null,
    appliedBy: r['applied_by'] as string,
    appliedAt: iso(r['applied_at']),
    reason: r['reason'] as string,
  };
}

function toProposal(r: Record<string, unknown>): AlarmSettingsProposal {
  return {
    id: r['id'] as string,
    program: r['program'] as string,
    baseVersion: Number(r['base_version']),
    changes: r['changes'] as AlarmSettingsProposal['changes'],
    reason: r['reason'] as string,
    status: r['status'] as ProposalStatus,
    proposedBy: r['proposed_by'] as string,
    proposedAt: iso(r['proposed_at']),
    replay: (r['replay'] as Record<string, unknown> | null) ?? null,
    replayedAt: isoOrNull(r['replayed_at']),
    replayedBy: (r['replayed_by'] as string | null) ?? null,
    reviewedBy: (r['reviewed_by'] as string | null) ?? null,
    reviewedAt: isoOrNull(r['reviewed_at']),
    reviewNote: (r['review_note'] as string | null) ?? null,
    appliedVersion: r['applied_version'] === null ? null : Number(r['applied_version']),
  };
}

/**
 * Alarm settings under change control (docs/alarm-settings.md): proposals and applied versions.
 * Validation and the four-eyes rule are the service's; this is storage only.
 */
export class AlarmSettingsRepository {
  readonly #db: Database;
  constructor(db: Database) {
    this.#db = db;
  }

  /** The version in force of every program that has one. */
  async inForce(): Promise<AlarmSettingsVersion[]> {
    const rows = await this.#db.query(
      'select distinct on (program) * from alarm_settings_version order by program, version desc',
    );
    return rows.map(toVersion);
  }

  async current(program: string, sql: Sql = this.#db): Promise<AlarmSettingsVersion | undefined> {
    const rows = await sql.query(
      'select * from alarm_settings_version where program = $1 order by version desc limit 1',
      [program],
    );
    return rows[0] ? toVersion(rows[0]) : undefined;
  }

  async versions(program: string, limit = 100): Promise<AlarmSettingsVersion[]> {
    const rows = await this.#db.query(
      'select * from alarm_settings_version where program = $1 order by version desc limit $2',
      [program, limit],
    );
    return rows.map(toVersion);
  }

  async insertProposal(p: AlarmSettingsProposal): Promise<AlarmSettingsProposal> {
    const rows = await this.#db.query(
      `insert into alarm_settings_proposal (id, program, base_version, changes, reason, status, proposed_by, proposed_at)
       values ($1, $2, $3, $4::jsonb, $5, $6, $7, $8) returning *`,
      [
        p.id,
        p.program,
        p.baseVersion,
        toJsonParam(p.changes),
        p.reason,
        p.status,
        p.proposedBy,
        p.proposedAt,
      ],
    );
    return toProposal(rows[0] as Record<string, unknown>);
  }

  async proposal(program: string, id: string): Promise<AlarmSettingsProposal | undefined> {
    if (!/^[0-9a-f-]{36}$/i.test(id)) return undefined;
    const rows = await this.#db.query(
      'select * from alarm_settings_proposal where program = $1 and id = $2',
      [program, id],
    );
    return rows[0] ? toProposal(rows[0]) : undefined;
  }

  async proposals(program: string, status?: ProposalStatus, limit = 100): Promise<AlarmSettingsProposal[]> {
    const rows = await this.#db.query(
      `select * from alarm_settings_proposal where program = $1 and ($2::text is null or status = $2)
       order by proposed_at desc, id desc limit $3`,
      [program, status ?? null, limit],
    );
    return rows.map(toProposal);
  }

  /** Attaches a replay result to a proposal still open; false when it is no longer `proposed`. */
  async saveReplay(id: string, replay: unknown, by: string, at: string): Promise<boolean> {
    const rows = await this.#db.query(
      `update alarm_settings_proposal set replay = $2::jsonb, replayed_by = $3, replayed_at = $4
       where id = $1 and status = 'proposed' returning id`,
      [id, toJsonParam(replay), by, at],
    );
    return rows.length === 1;
  }

  /** Closes an open proposal without applying it (rejected or withdrawn); false when no longer open. */
  async close(
    id: string,
    status: 'rejected' | 'withdrawn',
    by: string,
    at: string,
    note: string,
  ): Promise<boolean> {
    const rows = await this.#db.query(
      `update alarm_settings_proposal set status = $2, reviewed_by = $3, reviewed_at = $4, review_note = $5
       where id = $1 and status = 'proposed' returning id`,
      [id, status, by, at, note],
    );
    return rows.length === 1;
  }

  /**
   * Approves an open proposal and applies it as the next version, in one transaction. Refused
   * (returns the reason) when the proposal is no longer open or the version in force is no longer
   * the one it was proposed (and replayed) against.
   */
  async approveAndApply(
    p: AlarmSettingsProposal,
    next: { overrides: unknown; diff: unknown },
    by: string,
    at: string,
    note: string,
  ): Promise<AlarmSettingsVersion | { refused: 'not-open' | 'stale'; version: number }> {
    return this.#db.transaction(async (sql) => {
      // The proposal row lock serializes two reviewers of one proposal.
      const locked = await sql.query<{ status: string }>(
        'select status from alarm_settings_proposal where id = $1 for update',
        [p.id],
      );
      const cur = await sql.query<{ v: number }>(
        'select coalesce(max(version), 0)::int as v from alarm_settings_version where program = $1',
        [p.program],
      );
      const v = Number(cur[0]?.v ?? 0);
      if (locked[0]?.status !== 'proposed') return { refused: 'not-open' as const, version: v };
      if (v !== p.baseVersion) return { refused: 'stale' as const, version: v };
      const rows = await sql.query(
        `insert into alarm_settings_version (program, version, overrides, diff, proposal_id, applied_by, applied_at, reason)
         values ($1, $2, $3::jsonb, $4::jsonb, $5, $6, $7, $8) returning *`,
        [p.program, v + 1, toJsonParam(next.overrides), toJsonParam(next.diff), p.id, by, at, p.reason],
      );
      await sql.query(
        `update alarm_settings_proposal set status = 'approved', reviewed_by = $2, reviewed_at = $3,
           review_note = $4, applied_version = $5 where id = $1`,
        [p.id, by, at, note, v + 1],
      );
      return toVersion(rows[0] as Record<string, unknown>);
    });
  }

  /**
   * Stored readings of these patients in [since, until), in event time, at most `limit` (one more
   * is asked for so the caller knows the window was cut). Derived readings (the NEWS2 score) are
   * left out: the engine derives them again.
   */
  async readings(
    patientIds: readonly string[],
    since: string,
    until: string,
    limit: number,
  ): Promise<Reading[]> {
    if (patientIds.length === 0) return [];
    const rows = await this.#db.query(
      `select ${readingColumns} from observation
       where patient_id in (select jsonb_array_elements_text($1::jsonb))
         and effective >= $2::timestamptz and effective < $3::timestamptz
         and coalesce(data->>'transport', '') <> 'derived'
       order by effective, id limit $4`,
      [toJsonParam(patientIds), since, until, limit],
    );
    return rows.map(rowToReading);
  }

  /** Stored alerts of one patient and condition raised in [from, to]. */
  async alertsOf(
    patientId: string,
    conditionKey: string,
    from: string,
    to: string,
  ): Promise<StoredAlertRef[]> {
    const rows = await this.#db.query(
      `select id, patient_id, condition_key, raised_at, first_acknowledged_at, resolution from alert
       where patient_id = $1 and condition_key = $2 and raised_at >= $3::timestamptz and raised_at <= $4::timestamptz
       order by raised_at limit 20`,
      [patientId, conditionKey, from, to],
    );
    return rows.map((r) => ({
      id: r['id'] as string,
      patientId: r['patient_id'] as string,
      conditionKey: r['condition_key'] as string,
      raisedAt: iso(r['raised_at']),
      acknowledged: r['first_acknowledged_at'] !== null,
      resolution: (r['resolution'] as string | null) ?? null,
    }));
  }
}
