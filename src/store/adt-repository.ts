import type { Database, Sql } from './database.ts';

/** A visit as ADT drives it (adt_visit); the FHIR Encounter with the same id is its record. */
export interface VisitRow {
  encounterId: string;
  patientId: string;
  bed: string | null;
  status: 'in-progress' | 'finished' | 'cancelled';
  startedAt: string;
  endedAt: string | null;
}

const iso = (d: unknown) => (d === null || d === undefined ? null : new Date(d as string).toISOString());

function toVisit(r: Record<string, unknown>): VisitRow {
  return {
    encounterId: r['encounter_id'] as string,
    patientId: r['patient_id'] as string,
    bed: (r['bed'] as string | null) ?? null,
    status: r['status'] as VisitRow['status'],
    startedAt: iso(r['started_at']) as string,
    endedAt: iso(r['ended_at']),
  };
}

const visitColumns = 'encounter_id, patient_id, bed, status, started_at, ended_at';

/** What a merge moved from one patient to another. */
export interface MergeCounts {
  readings: number;
  assignments: number;
  alerts: number;
  /** Active alerts left on the merged patient: the surviving one has an active alert of the same condition. */
  alertsLeft: number;
  visits: number;
  deviceIds: string[];
  encounterIds: string[];
}

/** Beds, visits and applied ADT messages (migration 0160), and the data a patient merge moves. */
export class AdtRepository {
  readonly #db: Database;
  constructor(db: Database) {
    this.#db = db;
  }

  /** Patient erasure (consent/patient-data.ts): the patient's visits; applied messages keep no patient. */
  static async erase(tx: Sql, patientId: string): Promise<Record<string, number>> {
    const r = await tx.query<{ n: number }>(
      `with d as (delete from adt_visit where patient_id = $1 returning 1) select count(*)::int as n from d`,
      [patientId],
    );
    await tx.query('update adt_message set patient_id = null where patient_id = $1', [patientId]);
    return { adtVisits: r[0]?.n ?? 0 };
  }

  async setBed(deviceId: string, bed: string | null): Promise<void> {
    if (bed === null) await this.#db.query('delete from bedside_device where device_id = $1', [deviceId]);
    else
      await this.#db.query(
        `insert into bedside_device (device_id, bed) values ($1, $2)
         on conflict (device_id) do update set bed = excluded.bed`,
        [deviceId, bed],
      );
  }

  async bedOf(deviceId: string): Promise<string | null> {
    const rows = await this.#db.query<{ bed: string }>(
      'select bed from bedside_device where device_id = $1',
      [deviceId],
    );
    return rows[0]?.bed ?? null;
  }

  async devicesAt(bed: string): Promise<string[]> {
    const rows = await this.#db.query<{ device_id: string }>(
      'select device_id from bedside_device where bed = $1 order by device_id',
      [bed],
    );
    return rows.map((r) => r.device_id);
  }

  async seen(sender: string, controlId: string): Promise<boolean> {
    const rows = await this.#db.query('select 1 from adt_message where sender = $1 and control_id = $2', [
      sender,
      controlId,
    ]);
    return rows.length > 0;
  }

  async record(m: {
    sender: string;
    controlId: string;
    event: string;
    patientId: string | null;
    receivedAt: string;
  }): Promise<void> {
    await this.#db.query(
      `insert into adt_message (sender, control_id, event, patient_id, received_at) values ($1, $2, $3, $4, $5)
       on conflict (sender, control_id) do nothing`,
      [m.sender, m.controlId, m.event, m.patientId, m.receivedAt],
    );
  }

  /** Patients (not deleted) with an identifier of this system (null = none) and value. */
  async patientsWithIdentifier(sql: Sql, system: string | null, value: string): Promise<string[]> {
    const rows = await sql.query<{ id: string }>(
      `select id from fhir_resource
       where resource_type = 'Patient' and not deleted
         and exists (select 1 from jsonb_array_elements(coalesce(content->'identifier', '[]'::jsonb)) i
                     where i->>'value' = $2 and (i->>'system') is not distinct from $1::text)`,
      [system, value],
    );
    return rows.map((r) => r.id);
  }

  async openVisit(sql: Sql, patientId: string): Promise<VisitRow | undefined> {
    const rows = await sql.query(
      `select ${visitColumns} from adt_visit where patient_id = $1 and status = 'in-progress'
       order by started_at desc limit 1`,
      [patientId],
    );
    return rows[0] ? toVisit(rows[0]) : undefined;
  }

  async lastVisit(sql: Sql, patientId: string): Promise<VisitRow | undefined> {
    const rows = await sql.query(
      `select ${visitColumns} from adt_visit where patient_id = $1 order by started_at desc, updated_at desc limit 1`,
      [patientId],
    );
    return rows[0] ? toVisit(rows[0]) : undefined;
  }

  async saveVisit(sql: Sql, v: VisitRow): Promise<void> {
    await sql.query(
      `insert into adt_visit (encounter_id, patient_id, bed, status, started_at, ended_at, updated_at)
       values ($1, $2, $3, $4, $5, $6, now())
       on conflict (encounter_id) do update set patient_id = excluded.patient_id, bed = excluded.bed,
         status = excluded.status, started_at = excluded.started_at, ended_at = excluded.ended_at, updated_at = now()`,
      [v.encounterId, v.patientId, v.bed, v.status, v.startedAt, v.endedAt],
    );
  }

  /**
   * Moves a merged patient's readings, device assignments, alerts and visits to the surviving
   * patient. An active alert whose condition the surviving patient also has active stays (one
   * active alert per patient and condition): counted in `alertsLeft` for review.
   */
  async moveData(sql: Sql, from: string, to: string): Promise<MergeCounts> {
    const count = async (text: string): Promise<number> => (await sql.query(text, [from, to])).length;
    const readings = await count('update observation set patient_id = $2 where patient_id = $1 returning id');
    const devices = await sql.query<{ device_id: string }>(
      'update device_assignment set patient_id = $2 where patient_id = $1 returning device_id',
      [from, to],
    );
    const alerts = await count(
      `update alert a set patient_id = $2 where a.patient_id = $1
         and (a.state = 'resolved' or not exists (
           select 1 from alert b where b.patient_id = $2 and b.condition_key = a.condition_key and b.state <> 'resolved'))
       returning a.id`,
    );
    const left = await sql.query<{ n: number }>(
      `select count(*)::int as n from alert where patient_id = $1 and state <> 'resolved'`,
      [from],
    );
    const visits = await sql.query<{ encounter_id: string }>(
      'update adt_visit set patient_id = $2, updated_at = now() where patient_id = $1 returning encounter_id',
      [from, to],
    );
    return {
      readings,
      assignments: devices.length,
      alerts,
      alertsLeft: left[0]?.n ?? 0,
      visits: visits.length,
      deviceIds: [...new Set(devices.map((d) => d.device_id))],
      encounterIds: visits.map((v) => v.encounter_id),
    };
  }
}
