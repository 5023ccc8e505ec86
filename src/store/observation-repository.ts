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

/**
 * Renders a stored reading as the FHIR version it was (the store knows no FHIR: the composition
 * root passes normalize's renderer) — kept in observation_history when a correction replaces it.
 */
export type RenderVersion = (
  reading: Reading,
  version: { versionId: number; lastUpdated: string },
) => Record<string, unknown>;

/** Readings, one narrow row each. Insert is idempotent on the idempotency key. */
export class ObservationRepository {
  readonly #db: Database;
  readonly #render: RenderVersion | undefined;
  constructor(db: Database, opts: { renderVersion?: RenderVersion } = {}) {
    this.#db = db;
    this.#render = opts.renderVersion;
  }

  /**
   * Inserts the readings in one statement; returns the ids actually inserted (a reading whose
   * idempotency key is already stored is a duplicate and is not returned).
   */
  async insertBatch(sql: Sql, readings: readonly Reading[]): Promise<Set<string>> {
    if (readings.length === 0) return new Set();
    const corrections = readings.filter((r) => r.resultStatus === 'corrected');
    if (corrections.length === 0) return this.#insert(sql, readings);
    const amended = new Set<string>();
    const fresh: Reading[] = [];
    for (const c of corrections) {
      const id = await this.#amend(sql, c);
      if (id === undefined) fresh.push(c);
      else if (id !== null) amended.add(id);
    }
    const inserted = await this.#insert(sql, [
      ...readings.filter((r) => r.resultStatus !== 'corrected'),
      ...fresh,
    ]);
    for (const id of amended) inserted.add(id);
    return inserted;
  }

  /**
   * A correction (OBX-11 `C`) replaces the device's earlier ingest reading of the same code and
   * effective time: same row and id, version + 1, the earlier version kept in observation_history,
   * the row now holding the correction's idempotency key (so a resent correction is a duplicate).
   * The reading takes the amended row's id. Returns that id; null for a correction stored already
   * (a resend); undefined when there is nothing to amend (the correction is stored as new).
   */
  async #amend(sql: Sql, c: Reading): Promise<string | null | undefined> {
    const dup = await sql.query('select 1 from observation where idem_key = $1', [c.idempotencyKey]);
    if (dup.length) return null;
    const prior = await sql.query(
      `select ${readingColumns}, version_id, last_updated from observation
       where device_id = $1 and code = $2 and effective = $3::timestamptz and resource is null
       order by (right(idem_key, length($4::text)) = $4::text) desc, received desc limit 1 for update`,
      [c.deviceId, c.code, c.effective, c.amends ?? ''],
    );
    const row = prior[0];
    if (!row) return undefined;
    const id = row['id'] as string;
    const versionId = row['version_id'] as number;
    const lastUpdated =
      row['last_updated'] instanceof Date ? row['last_updated'].toISOString() : String(row['last_updated']);
    if (this.#render)
      await sql.query(
        `insert into observation_history (id, version_id, last_updated, deleted, resource) values ($1, $2, $3, false, $4::jsonb)
         on conflict do nothing`,
        [
          id,
          versionId,
          lastUpdated,
          JSON.stringify(this.#render(rowToReading(row), { versionId, lastUpdated })),
        ],
      );
    c.id = id;
    await sql.query(
      `update observation set patient_id = $2, value = $3, unit = $4, data = $5::jsonb, received = $6, idem_key = $7,
         version_id = version_id + 1, last_updated = now()
       where id = $1`,
      [id, c.patientId, c.value, c.unit, toJsonParam(dataOf(c)), c.received, c.idempotencyKey],
    );
    return id;
  }

  async #insert(sql: Sql, readings: readonly Reading[]): Promise<Set<string>> {
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
