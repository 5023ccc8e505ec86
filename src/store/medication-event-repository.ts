import type { Database } from './database.ts';

/** Adherence devices' events (stored readings of the given codes) and a patient's MedicationRequests. */
export class MedicationEventRepository {
  readonly #db: Database;
  constructor(db: Database) {
    this.#db = db;
  }

  async events(
    patientId: string,
    codes: readonly string[],
    from: string,
    to: string,
  ): Promise<
    Array<{
      id: string;
      patientId: string;
      deviceId: string | null;
      code: string;
      value: number;
      effective: string;
    }>
  > {
    const rows = await this.#db.query<{
      id: string;
      patient_id: string;
      device_id: string | null;
      code: string;
      value: number;
      effective: string;
    }>(
      `select id::text as id, patient_id, device_id, code, value,
              to_char(effective at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as effective
         from observation
        where patient_id = $1 and code = any($2::text[]) and effective >= $3::timestamptz and effective < $4::timestamptz
        order by effective, id`,
      [patientId, codes, from, to],
    );
    return rows.map((r) => ({
      id: r.id,
      patientId: r.patient_id,
      deviceId: r.device_id,
      code: r.code,
      value: Number(r.value),
      effective: r.effective,
    }));
  }

  /** The patient's MedicationRequests as stored (FHIR JSON), current versions only. */
  async medicationRequests(patientId: string): Promise<Array<Record<string, unknown>>> {
    const rows = await this.#db.query<{ content: Record<string, unknown>; id: string }>(
      `select id, content from fhir_resource
        where resource_type = 'MedicationRequest' and not deleted
          and content -> 'subject' ->> 'reference' = $1`,
      [`Patient/${patientId}`],
    );
    return rows.map((r) => ({ ...r.content, id: r.id }));
  }
}
