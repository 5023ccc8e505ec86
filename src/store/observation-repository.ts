import type { Reading } from '../core/reading.ts';
import { type Database, type Sql, toJsonParam } from './database.ts';

/** Columns kept out of `data` because they are searched. */
type ReadingData = Omit<
  Reading,
  | 'id'
  | 'patientId'
  | 'deviceId'
  | 'code'
  | 'category'
  | 'effective'
  | 'received'
  | 'value'
  | 'unit'
  | 'idempotencyKey'
>;

function dataOf(r: Reading): ReadingData {
  const {
    id,
    patientId,
    deviceId,
    code,
    category,
    effective,
    received,
    value,
    unit,
    idempotencyKey,
    ...data
  } = r;
  return data;
}

export function rowToReading(row: Record<string, unknown>): Reading {
  const data = (row['data'] ?? {}) as ReadingData;
  const iso = (d: unknown) => (d instanceof Date ? d.toISOString() : String(d));
  return {
    ...data,
    id: row['id'] as string,
    patientId: (row['patient_id'] as string | null) ?? null,
    deviceId: (row['device_id'] as string) ?? '',
    code: row['code'] as string,
    category: (row['category'] as string) ?? 'vital-signs',
    effective: iso(row['effective']),
    received: iso(row['received']),
    value: (row['value'] as number | null) ?? null,
    unit: (row['unit'] as string | null) ?? null,
    idempotencyKey: row['idem_key'] as string,
    codings: data.codings ?? [],
    components: data.components ?? [],
    flags: data.flags ?? [],
  };
}

export const readingColumns =
  'id, patient_id, device_id, code, category, effective, received, value, unit, data, idem_key';

/** Readings, one narrow row each. Insert is idempotent on the idempotency key. */
export class ObservationRepository {
  readonly #db: Database;
  constructor(db: Database) {
    this.#db = db;
  }

  /**
   * Inserts the readings in one statement; returns the ids actually inserted (a reading whose
   * idempotency key is already stored is a duplicate and is not returned).
   */
  async insertBatch(sql: Sql, readings: readonly Reading[]): Promise<Set<string>> {
    if (readings.length === 0) return new Set();
    // Rows in idempotency-key order: concurrent batches (PostgreSQL, several commits in flight) that
    // share a key then take its unique-index lock in the same order instead of deadlocking.
    const ordered = [...readings].sort((a, b) =>
      a.idempotencyKey < b.idempotencyKey ? -1 : a.idempotencyKey > b.idempotencyKey ? 1 : 0,
    );
    const rows = ordered.map((r) => ({
      id: r.id,
      patient_id: r.patientId,
      device_id: r.deviceId,
      code: r.code,
      category: r.category,
      effective: r.effective,
      received: r.received,
      value: r.value,
      unit: r.unit,
      data: dataOf(r),
      idem_key: r.idempotencyKey,
    }));
    const inserted = await sql.query<{ id: string }>(
      `insert into observation (id, patient_id, device_id, code, category, effective, received, value, unit, data, idem_key, last_updated)
       select x.id, x.patient_id, x.device_id, x.code, x.category, x.effective, x.received, x.value, x.unit, x.data, x.idem_key, now()
       from jsonb_to_recordset($1::jsonb) as x(id uuid, patient_id text, device_id text, code text, category text,
         effective timestamptz, received timestamptz, value double precision, unit text, data jsonb, idem_key text)
       on conflict (idem_key) do nothing
       returning id`,
      [toJsonParam(rows)],
    );
    return new Set(inserted.map((r) => r.id));
  }

  /** The stored id for each idempotency key given (used to answer duplicates with the original id). */
  async idsByKey(keys: readonly string[]): Promise<Map<string, string>> {
    if (keys.length === 0) return new Map();
    const rows = await this.#db.query<{ id: string; idem_key: string }>(
      'select id, idem_key from observation where idem_key in (select jsonb_array_elements_text($1::jsonb))',
      [toJsonParam(keys)],
    );
    return new Map(rows.map((r) => [r.idem_key, r.id]));
  }

  async get(id: string): Promise<Reading | undefined> {
    if (!/^[0-9a-f-]{36}$/i.test(id)) return undefined;
    const rows = await this.#db.query(`select ${readingColumns} from observation where id = $1`, [id]);
    return rows[0] ? rowToReading(rows[0]) : undefined;
  }

  async latestForDevice(deviceId: string, limit = 50): Promise<Reading[]> {
    const rows = await this.#db.query(
      `select ${readingColumns} from observation where device_id = $1 order by effective desc limit $2`,
      [deviceId, limit],
    );
    return rows.map(rowToReading);
  }

  async forPatient(
    patientId: string,
    opts: { code?: string; since?: string; until?: string; limit?: number } = {},
  ): Promise<Reading[]> {
    const rows = await this.#db.query(
      `select ${readingColumns} from observation
       where patient_id = $1 and ($2::text is null or code = $2)
         and ($3::timestamptz is null or effective >= $3) and ($4::timestamptz is null or effective < $4)
       order by effective desc limit $5`,
      [patientId, opts.code ?? null, opts.since ?? null, opts.until ?? null, opts.limit ?? 1000],
    );
    return rows.map(rowToReading);
  }

  /** Attributes a device's unattributed readings within [start, end) to a patient; returns them. */
  async attribute(
    deviceId: string,
    patientId: string,
    start: string,
    end: string | null,
  ): Promise<Reading[]> {
    const rows = await this.#db.query(
      `update observation set patient_id = $2, version_id = version_id + 1, last_updated = now()
       where device_id = $1 and patient_id is null and effective >= $3::timestamptz
         and ($4::timestamptz is null or effective < $4::timestamptz)
       returning ${readingColumns}`,
      [deviceId, patientId, start, end],
    );
    return rows.map(rowToReading);
  }

  async countUnattributed(deviceId?: string): Promise<number> {
    const rows = await this.#db.query<{ n: number }>(
      'select count(*)::int as n from observation where patient_id is null and ($1::text is null or device_id = $1)',
      [deviceId ?? null],
    );
    return rows[0]?.n ?? 0;
  }

  async count(): Promise<number> {
    const rows = await this.#db.query<{ n: number }>('select count(*)::int as n from observation');
    return rows[0]?.n ?? 0;
  }
}
