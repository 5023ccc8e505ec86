import type { Database, Sql } from './database.ts';

export type ErasureRequestStatus = 'open' | 'declined';

/** A patient's request that their data be erased (migration 0254); an administrator answers it. */
export interface ErasureRequest {
  id: string;
  patientId: string;
  /** The account that asked (a user id). */
  requestedBy: string;
  requestedAt: string;
  /** The patient's own words, if any. */
  reason: string | null;
  status: ErasureRequestStatus;
  closedBy: string | null;
  closedAt: string | null;
  /** The administrator's answer when declined. */
  response: string | null;
}

const iso = (d: unknown): string | null =>
  d instanceof Date ? d.toISOString() : d == null ? null : new Date(String(d)).toISOString();
const columns =
  'id::text as id, patient_id, requested_by, requested_at, reason, status, closed_by, closed_at, response';

function toRequest(r: Record<string, unknown>): ErasureRequest {
  return {
    id: r['id'] as string,
    patientId: r['patient_id'] as string,
    requestedBy: r['requested_by'] as string,
    requestedAt: iso(r['requested_at']) as string,
    reason: (r['reason'] as string | null) ?? null,
    status: r['status'] as ErasureRequestStatus,
    closedBy: (r['closed_by'] as string | null) ?? null,
    closedAt: iso(r['closed_at']),
    response: (r['response'] as string | null) ?? null,
  };
}

export class ErasureRequestRepository {
  readonly #db: Database;
  constructor(db: Database) {
    this.#db = db;
  }

  /** The open request of the patient, else a new one: asking twice does not queue twice. */
  async openOrCreate(r: {
    id: string;
    patientId: string;
    requestedBy: string;
    requestedAt: string;
    reason: string | null;
  }): Promise<{ request: ErasureRequest; created: boolean }> {
    return this.#db.transaction(async (tx) => {
      // one open request per patient, also with concurrent clicks (serialised on the patient)
      await tx.query('select pg_advisory_xact_lock(hashtext($1))', [`erasure-request:${r.patientId}`]);
      const open = await tx.query(
        `select ${columns} from patient_erasure_request where patient_id = $1 and status = 'open'`,
        [r.patientId],
      );
      if (open[0]) return { request: toRequest(open[0]), created: false };
      const rows = await tx.query(
        `insert into patient_erasure_request (id, patient_id, requested_by, requested_at, reason)
         values ($1, $2, $3, $4, $5) returning ${columns}`,
        [r.id, r.patientId, r.requestedBy, r.requestedAt, r.reason],
      );
      return { request: toRequest(rows[0] as Record<string, unknown>), created: true };
    });
  }

  async ofPatient(patientId: string): Promise<ErasureRequest[]> {
    const rows = await this.#db.query(
      `select ${columns} from patient_erasure_request where patient_id = $1 order by requested_at desc`,
      [patientId],
    );
    return rows.map(toRequest);
  }

  async list(status: ErasureRequestStatus | undefined, limit: number): Promise<ErasureRequest[]> {
    const rows = await this.#db.query(
      `select ${columns} from patient_erasure_request where ($1::text is null or status = $1)
        order by requested_at limit $2`,
      [status ?? null, limit],
    );
    return rows.map(toRequest);
  }

  async get(id: string): Promise<ErasureRequest | undefined> {
    const rows = await this.#db.query(`select ${columns} from patient_erasure_request where id = $1`, [id]);
    return rows[0] ? toRequest(rows[0]) : undefined;
  }

  /** Declines an open request; undefined when it is not open (answered already, or unknown). */
  async decline(id: string, by: string, at: string, response: string): Promise<ErasureRequest | undefined> {
    const rows = await this.#db.query(
      `update patient_erasure_request set status = 'declined', closed_by = $2, closed_at = $3, response = $4
        where id = $1 and status = 'open' returning ${columns}`,
      [id, by, at, response],
    );
    return rows[0] ? toRequest(rows[0]) : undefined;
  }

  /**
   * Erasure step (PatientDataService.erasureSteps): the patient's requests go with the rest of
   * their data; patient_erasure and the audit trail are the record that it was asked and honoured.
   */
  static async erase(tx: Sql, patientId: string): Promise<Record<string, number>> {
    const rows = await tx.query('delete from patient_erasure_request where patient_id = $1 returning id', [
      patientId,
    ]);
    return { erasure_request: rows.length };
  }
}
