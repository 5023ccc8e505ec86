import type { Database, Sql } from './database.ts';

/** One version of a patient's monitoring configuration. `enrolment` null = monitoring ended. */
export interface MonitoringVersion {
  patientId: string;
  version: number;
  /** The detect module's PatientEnrolment as plain JSON (validated before it is stored). */
  enrolment: Record<string, unknown> | null;
  changedBy: string;
  changedAt: string;
  reason: string | null;
}

export interface ProgramVersion {
  name: string;
  version: number;
  /** A program definition as plain JSON (validated before it is stored); null = deleted. */
  definition: Record<string, unknown> | null;
  changedBy: string;
  changedAt: string;
}

const iso = (v: unknown): string => new Date(v as string | Date).toISOString();

function toVersion(r: Record<string, unknown>): MonitoringVersion {
  return {
    patientId: r['patient_id'] as string,
    version: Number(r['version']),
    enrolment: (r['enrolment'] as Record<string, unknown> | null) ?? null,
    changedBy: r['changed_by'] as string,
    changedAt: iso(r['changed_at']),
    reason: (r['reason'] as string | null) ?? null,
  };
}

function toProgram(r: Record<string, unknown>): ProgramVersion {
  return {
    name: r['name'] as string,
    version: Number(r['version']),
    definition: (r['definition'] as Record<string, unknown> | null) ?? null,
    changedBy: r['changed_by'] as string,
    changedAt: iso(r['changed_at']),
  };
}

/**
 * Per-patient monitoring configuration and custom programs, versioned: every change is a new row
 * with who and when; the highest version is in force. Validation is the caller's (the detect
 * module's validators); this is storage only.
 */
export class MonitoringRepository {
  readonly #db: Database;
  constructor(db: Database) {
    this.#db = db;
  }

  async current(patientId: string, sql: Sql = this.#db): Promise<MonitoringVersion | undefined> {
    const rows = await sql.query(
      'select * from monitoring_config where patient_id = $1 order by version desc limit 1',
      [patientId],
    );
    return rows[0] ? toVersion(rows[0]) : undefined;
  }

  /** The version in force of each patient given (absent = never configured). */
  async currentVersions(patientIds: readonly string[]): Promise<Map<string, number>> {
    if (patientIds.length === 0) return new Map();
    const rows = await this.#db.query<{ patient_id: string; v: number }>(
      `select patient_id, max(version)::int as v from monitoring_config
       where patient_id in (select jsonb_array_elements_text($1::jsonb)) group by patient_id`,
      [JSON.stringify(patientIds)],
    );
    return new Map(rows.map((r) => [r.patient_id, Number(r.v)]));
  }

  /** Appends a version; `expectedVersion` (0 = none yet) refuses a change made on a stale read. */
  async append(
    patientId: string,
    enrolment: Record<string, unknown> | null,
    changedBy: string,
    changedAt: string,
    reason: string | null,
    expectedVersion?: number,
  ): Promise<MonitoringVersion | { conflict: number }> {
    return this.#db.transaction(async (sql) => {
      // Serialize writers of one patient: the row lock of the latest version (or the key below).
      const cur = await sql.query<{ v: number }>(
        'select coalesce(max(version), 0)::int as v from monitoring_config where patient_id = $1',
        [patientId],
      );
      const v = Number(cur[0]?.v ?? 0);
      if (expectedVersion !== undefined && expectedVersion !== v) return { conflict: v };
      const rows = await sql.query(
        `insert into monitoring_config (patient_id, version, enrolment, changed_by, changed_at, reason)
         values ($1, $2, $3::jsonb, $4, $5, $6) returning *`,
        [
          patientId,
          v + 1,
          enrolment === null ? null : JSON.stringify(enrolment),
          changedBy,
          changedAt,
          reason,
        ],
      );
      return toVersion(rows[0] as Record<string, unknown>);
    });
  }

  async history(patientId: string, limit = 100): Promise<MonitoringVersion[]> {
    const rows = await this.#db.query(
      'select * from monitoring_config where patient_id = $1 order by version desc limit $2',
      [patientId, limit],
    );
    return rows.map(toVersion);
  }

  /** Every patient's configuration in force (monitoring ended excluded). */
  async allCurrent(): Promise<MonitoringVersion[]> {
    const rows = await this.#db.query(
      `select distinct on (patient_id) * from monitoring_config order by patient_id, version desc`,
    );
    return rows.map(toVersion).filter((v) => v.enrolment !== null);
  }

  async programs(): Promise<ProgramVersion[]> {
    const rows = await this.#db.query(
      'select distinct on (name) * from monitoring_program order by name, version desc',
    );
    return rows.map(toProgram).filter((p) => p.definition !== null);
  }

  async appendProgram(
    name: string,
    definition: Record<string, unknown> | null,
    changedBy: string,
    changedAt: string,
  ): Promise<ProgramVersion> {
    return this.#db.transaction(async (sql) => {
      const cur = await sql.query<{ v: number }>(
        'select coalesce(max(version), 0)::int as v from monitoring_program where name = $1',
        [name],
      );
      const rows = await sql.query(
        `insert into monitoring_program (name, version, definition, changed_by, changed_at)
         values ($1, $2, $3::jsonb, $4, $5) returning *`,
        [
          name,
          Number(cur[0]?.v ?? 0) + 1,
          definition === null ? null : JSON.stringify(definition),
          changedBy,
          changedAt,
        ],
      );
      return toProgram(rows[0] as Record<string, unknown>);
    });
  }
}
