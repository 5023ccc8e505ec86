import type { Database, Sql } from './database.ts';

export const measurementRequestStatuses = ['open', 'fulfilled', 'expired', 'cancelled'] as const;
export type MeasurementRequestStatus = (typeof measurementRequestStatuses)[number];

/** A repeat home measurement detection asked a patient for (see src/detect/measurement-request.ts). */
export interface MeasurementRequest {
  id: string;
  patientId: string;
  /** repeat-bp | reweigh | spo2-at-rest */
  kind: string;
  /** LOINC code the repeat must carry. */
  code: string;
  ruleId: string | null;
  status: MeasurementRequestStatus;
  /** requested | confirmed | not-confirmed | no-repeat | cancelled */
  outcome: string;
  /** The reading that opened the request. */
  triggerReadingId: string;
  /** The reading that answered it (fulfilled). */
  fulfilledBy: string | null;
  requestedAt: string;
  /** The repeat counts from this time on … */
  notBefore: string;
  /** … until this time; then the request expires. */
  dueBy: string;
  closedAt: string | null;
  /** What the patient is asked to do (patient channel). */
  instruction: string | null;
  /** The latest summary (clinician-facing). */
  summary: string;
  createdAt: string;
  updatedAt: string;
}

/** Opening a request (idempotent on patient, kind and opening reading). */
export type NewMeasurementRequest = Omit<
  MeasurementRequest,
  'status' | 'outcome' | 'fulfilledBy' | 'closedAt' | 'createdAt' | 'updatedAt'
>;

/** How a detection closes a request (only an open request changes: a redelivered close is a no-op). */
export interface MeasurementRequestClose {
  status: Exclude<MeasurementRequestStatus, 'open'>;
  outcome: string;
  fulfilledBy: string | null;
  closedAt: string;
}

/** One detection's change: the request (every detection carries it whole) and, for a close, how. */
export interface MeasurementRequestChange {
  request: NewMeasurementRequest;
  close?: MeasurementRequestClose;
}

const iso = (v: unknown) => (v === null || v === undefined ? null : new Date(v as string).toISOString());

function fromRow(r: Record<string, unknown>): MeasurementRequest {
  return {
    id: String(r['id']),
    patientId: r['patient_id'] as string,
    kind: r['kind'] as string,
    code: r['code'] as string,
    ruleId: (r['rule_id'] as string | null) ?? null,
    status: r['status'] as MeasurementRequestStatus,
    outcome: r['outcome'] as string,
    triggerReadingId: r['trigger_reading_id'] as string,
    fulfilledBy: (r['fulfilled_by'] as string | null) ?? null,
    requestedAt: iso(r['requested_at']) as string,
    notBefore: iso(r['not_before']) as string,
    dueBy: iso(r['due_by']) as string,
    closedAt: iso(r['closed_at']),
    instruction: (r['instruction'] as string | null) ?? null,
    summary: r['summary'] as string,
    createdAt: iso(r['created_at']) as string,
    updatedAt: iso(r['updated_at']) as string,
  };
}

export class MeasurementRequestRepository {
  readonly db: Database;
  constructor(db: Database) {
    this.db = db;
  }

  /**
   * Opens and closes requests in one transaction, in the order given. A close whose open was never
   * recorded (a request opened before this table existed) records the request, then closes it.
   */
  async apply(changes: readonly MeasurementRequestChange[], now: string): Promise<void> {
    if (changes.length === 0) return;
    await this.db.transaction(async (sql) => {
      for (const c of changes) {
        await this.#insert(sql, c.request, now);
        if (c.close) await this.#close(sql, c.request, c.close, now);
      }
    });
  }

  async #insert(sql: Sql, r: NewMeasurementRequest, now: string): Promise<void> {
    await sql.query(
      `insert into measurement_request (id, patient_id, kind, code, rule_id, status, outcome, trigger_reading_id,
         requested_at, not_before, due_by, instruction, summary, created_at, updated_at)
       values ($1, $2, $3, $4, $5, 'open', 'requested', $6, $7, $8, $9, $10, $11, $12, $12)
       on conflict (patient_id, kind, trigger_reading_id) do nothing`,
      [
        r.id,
        r.patientId,
        r.kind,
        r.code,
        r.ruleId,
        r.triggerReadingId,
        r.requestedAt,
        r.notBefore,
        r.dueBy,
        r.instruction,
        r.summary,
        now,
      ],
    );
  }

  async #close(sql: Sql, r: NewMeasurementRequest, c: MeasurementRequestClose, now: string): Promise<void> {
    await sql.query(
      `update measurement_request set status = $4, outcome = $5, fulfilled_by = $6, closed_at = $7,
         summary = $8, updated_at = $9
       where patient_id = $1 and kind = $2 and trigger_reading_id = $3 and status = 'open'`,
      [
        r.patientId,
        r.kind,
        r.triggerReadingId,
        c.status,
        c.outcome,
        c.fulfilledBy,
        c.closedAt,
        r.summary,
        now,
      ],
    );
  }

  /** A patient's requests, newest first, optionally of some statuses. */
  async list(
    patientId: string,
    o: { status?: readonly MeasurementRequestStatus[]; limit?: number } = {},
  ): Promise<MeasurementRequest[]> {
    const rows = await this.db.query<Record<string, unknown>>(
      `select * from measurement_request where patient_id = $1
         and ($2::text[] is null or status = any($2::text[]))
       order by requested_at desc, id desc limit $3`,
      [patientId, o.status && o.status.length > 0 ? [...o.status] : null, o.limit ?? 100],
    );
    return rows.map(fromRow);
  }

  async get(id: string): Promise<MeasurementRequest | undefined> {
    const rows = await this.db.query<Record<string, unknown>>(
      'select * from measurement_request where id = $1',
      [id],
    );
    return rows[0] ? fromRow(rows[0]) : undefined;
  }

  /** Erasure step: a patient's requests go with the rest of their data. */
  static async erase(tx: Sql, patientId: string): Promise<Record<string, number>> {
    const r = await tx.query<{ n: number }>(
      `with d as (delete from measurement_request where patient_id = $1 returning 1) select count(*)::int as n from d`,
      [patientId],
    );
    return { measurementRequests: r[0]?.n ?? 0 };
  }
}
