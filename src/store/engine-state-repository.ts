import type { Database, Sql } from './database.ts';

/** Rule-engine state per patient (plain JSON from the detect engine's snapshot). */
export class EngineStateRepository {
  readonly #db: Database;
  constructor(db: Database) {
    this.#db = db;
  }

  async save(states: ReadonlyArray<{ patientId: string; state: unknown }>, savedAt: string): Promise<void> {
    await this.saveIn(this.#db, states, savedAt);
  }

  /** The same inside a caller's transaction (with a partition checkpoint). */
  async saveIn(
    sql: Sql,
    states: ReadonlyArray<{ patientId: string; state: unknown }>,
    savedAt: string,
  ): Promise<void> {
    if (states.length === 0) return;
    const rows = states.map((s) => ({ patient_id: s.patientId, state: s.state }));
    await sql.query(
      `insert into engine_state (patient_id, state, saved_at)
       select x.patient_id, x.state, $2::timestamptz from jsonb_to_recordset($1::jsonb) as x(patient_id text, state jsonb)
       on conflict (patient_id) do update set state = excluded.state, saved_at = excluded.saved_at`,
      [JSON.stringify(rows), savedAt],
    );
  }

  async load(): Promise<Array<{ patientId: string; state: unknown }>> {
    const rows = await this.#db.query<{ patient_id: string; state: unknown }>(
      'select patient_id, state from engine_state',
    );
    return rows.map((r) => ({ patientId: r.patient_id, state: r.state }));
  }

  async remove(patientId: string): Promise<void> {
    await this.#db.query('delete from engine_state where patient_id = $1', [patientId]);
  }
}
