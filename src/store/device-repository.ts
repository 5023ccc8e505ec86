import { type Database, type Sql, toJsonParam } from './database.ts';

export interface DeviceRow {
  id: string;
  identifier: string | null;
  kind: string;
  manufacturer: string | null;
  model: string | null;
  serial: string | null;
  firmware: string | null;
  /** The device-model catalogue entry this device is (docs/device-models.md). */
  modelId: string | null;
  credentialIssuedAt: string | null;
  revokedAt: string | null;
  lastSeen: string | null;
  batteryPercent: number | null;
  clockOffsetSeconds: number | null;
  status: Record<string, unknown>;
  createdAt: string;
}

export interface AssignmentRow {
  id: string;
  deviceId: string;
  patientId: string;
  periodStart: string;
  periodEnd: string | null;
}

const iso = (d: unknown): string | null =>
  d instanceof Date ? d.toISOString() : d == null ? null : String(d);

function toDevice(r: Record<string, unknown>): DeviceRow {
  return {
    id: r['id'] as string,
    identifier: (r['identifier'] as string | null) ?? null,
    kind: r['kind'] as string,
    manufacturer: (r['manufacturer'] as string | null) ?? null,
    model: (r['model'] as string | null) ?? null,
    serial: (r['serial'] as string | null) ?? null,
    firmware: (r['firmware'] as string | null) ?? null,
    modelId: (r['model_id'] as string | null) ?? null,
    credentialIssuedAt: iso(r['credential_issued_at']),
    revokedAt: iso(r['revoked_at']),
    lastSeen: iso(r['last_seen']),
    batteryPercent: (r['battery_percent'] as number | null) ?? null,
    clockOffsetSeconds: (r['clock_offset_seconds'] as number | null) ?? null,
    status: (r['status'] as Record<string, unknown>) ?? {},
    createdAt: iso(r['created_at']) as string,
  };
}

function toAssignment(r: Record<string, unknown>): AssignmentRow {
  return {
    id: r['id'] as string,
    deviceId: r['device_id'] as string,
    patientId: r['patient_id'] as string,
    periodStart: iso(r['period_start']) as string,
    periodEnd: iso(r['period_end']),
  };
}

const deviceColumns = `id, identifier, kind, manufacturer, model, serial, firmware, model_id, credential_issued_at, revoked_at,
  last_seen, battery_percent, clock_offset_seconds, status, created_at`;

/** Device registry, credentials and time-bounded device↔patient assignments. */
export class DeviceRepository {
  readonly #db: Database;
  constructor(db: Database) {
    this.#db = db;
  }

  async insert(
    d: Pick<DeviceRow, 'id' | 'identifier' | 'kind' | 'manufacturer' | 'model' | 'serial' | 'firmware'> & {
      modelId?: string | null;
    },
    secretHash: string | null,
  ): Promise<DeviceRow> {
    const rows = await this.#db.query(
      `insert into device (id, identifier, kind, manufacturer, model, serial, firmware, secret_hash, credential_issued_at, model_id)
       values ($1, $2, $3, $4, $5, $6, $7, $8, case when $8::text is null then null else now() end, $9)
       on conflict (id) do nothing returning ${deviceColumns}`,
      [
        d.id,
        d.identifier,
        d.kind,
        d.manufacturer,
        d.model,
        d.serial,
        d.firmware,
        secretHash,
        d.modelId ?? null,
      ],
    );
    return rows[0] ? toDevice(rows[0]) : (null as never);
  }

  async get(id: string): Promise<DeviceRow | undefined> {
    const rows = await this.#db.query(`select ${deviceColumns} from device where id = $1`, [id]);
    return rows[0] ? toDevice(rows[0]) : undefined;
  }

  /** Whether the device-model catalogue holds this model. */
  async modelExists(modelId: string): Promise<boolean> {
    const rows = await this.#db.query('select 1 from device_model where id = $1', [modelId]);
    return rows.length > 0;
  }

  async list(opts: { limit?: number; offset?: number; kind?: string } = {}): Promise<DeviceRow[]> {
    const rows = await this.#db.query(
      `select ${deviceColumns} from device where ($1::text is null or kind = $1) order by id limit $2 offset $3`,
      [opts.kind ?? null, opts.limit ?? 100, opts.offset ?? 0],
    );
    return rows.map(toDevice);
  }

  /** The device a secret hash belongs to, with its revocation state. */
  async findBySecretHash(hash: string): Promise<{ id: string; revoked: boolean } | undefined> {
    const rows = await this.#db.query<{ id: string; revoked_at: Date | null }>(
      'select id, revoked_at from device where secret_hash = $1',
      [hash],
    );
    const r = rows[0];
    return r ? { id: r.id, revoked: r.revoked_at !== null } : undefined;
  }

  async getSecretHash(id: string): Promise<{ hash: string | null; revoked: boolean } | undefined> {
    const rows = await this.#db.query<{ secret_hash: string | null; revoked_at: Date | null }>(
      'select secret_hash, revoked_at from device where id = $1',
      [id],
    );
    const r = rows[0];
    return r ? { hash: r.secret_hash, revoked: r.revoked_at !== null } : undefined;
  }

  /** Replaces the credential (rotation also lifts a revocation). */
  async setSecretHash(id: string, hash: string): Promise<boolean> {
    const rows = await this.#db.query(
      `update device set secret_hash = $2, credential_issued_at = now(), revoked_at = null, updated_at = now()
       where id = $1 returning id`,
      [id, hash],
    );
    return rows.length === 1;
  }

  async revoke(id: string): Promise<boolean> {
    const rows = await this.#db.query(
      'update device set revoked_at = now(), secret_hash = null, updated_at = now() where id = $1 returning id',
      [id],
    );
    return rows.length === 1;
  }

  async update(
    id: string,
    patch: Partial<Pick<DeviceRow, 'identifier' | 'manufacturer' | 'model' | 'serial' | 'firmware'>>,
  ): Promise<DeviceRow | undefined> {
    const rows = await this.#db.query(
      `update device set identifier = coalesce($2, identifier), manufacturer = coalesce($3, manufacturer),
        model = coalesce($4, model), serial = coalesce($5, serial), firmware = coalesce($6, firmware), updated_at = now()
       where id = $1 returning ${deviceColumns}`,
      [
        id,
        patch.identifier ?? null,
        patch.manufacturer ?? null,
        patch.model ?? null,
        patch.serial ?? null,
        patch.firmware ?? null,
      ],
    );
    return rows[0] ? toDevice(rows[0]) : undefined;
  }

  /** Last-seen, battery, clock offset and status (batched by ingest: one statement per device per batch). */
  async touch(
    sql: Sql,
    updates: Array<{
      id: string;
      lastSeen: string;
      battery?: number | undefined;
      clockOffsetSeconds?: number | undefined;
      firmware?: string | undefined;
    }>,
  ): Promise<void> {
    if (updates.length === 0) return;
    await sql.query(
      `update device d set last_seen = greatest(d.last_seen, u.last_seen),
         battery_percent = coalesce(u.battery, d.battery_percent),
         clock_offset_seconds = coalesce(u.clock_offset, d.clock_offset_seconds),
         firmware = coalesce(u.firmware, d.firmware)
       from jsonb_to_recordset($1::jsonb) as u(id text, last_seen timestamptz, battery integer, clock_offset double precision, firmware text)
       where d.id = u.id`,
      [
        toJsonParam(
          updates.map((u) => ({
            id: u.id,
            last_seen: u.lastSeen,
            battery: u.battery ?? null,
            clock_offset: u.clockOffsetSeconds ?? null,
            firmware: u.firmware ?? null,
          })),
        ),
      ],
    );
  }

  async addAssignment(sql: Sql, a: AssignmentRow): Promise<void> {
    await sql.query(
      'insert into device_assignment (id, device_id, patient_id, period_start, period_end) values ($1, $2, $3, $4, $5)',
      [a.id, a.deviceId, a.patientId, a.periodStart, a.periodEnd],
    );
  }

  async assignments(deviceId: string): Promise<AssignmentRow[]> {
    const rows = await this.#db.query(
      'select id, device_id, patient_id, period_start, period_end from device_assignment where device_id = $1 order by period_start',
      [deviceId],
    );
    return rows.map(toAssignment);
  }

  async assignmentsOfPatient(patientId: string): Promise<AssignmentRow[]> {
    const rows = await this.#db.query(
      'select id, device_id, patient_id, period_start, period_end from device_assignment where patient_id = $1 order by period_start',
      [patientId],
    );
    return rows.map(toAssignment);
  }

  /** Assignments that overlap [start, end) for a device (end null = open). */
  async overlapping(sql: Sql, deviceId: string, start: string, end: string | null): Promise<AssignmentRow[]> {
    const rows = await sql.query(
      `select id, device_id, patient_id, period_start, period_end from device_assignment
       where device_id = $1 and (period_end is null or period_end > $2::timestamptz)
         and ($3::timestamptz is null or period_start < $3::timestamptz)`,
      [deviceId, start, end],
    );
    return rows.map(toAssignment);
  }

  async endAssignment(sql: Sql, id: string, end: string): Promise<void> {
    await sql.query('update device_assignment set period_end = $2 where id = $1', [id, end]);
  }

  async transaction<T>(fn: (sql: Sql) => Promise<T>): Promise<T> {
    return this.#db.transaction(fn);
  }
}
