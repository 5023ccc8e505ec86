import { type Database, type Sql, toJsonParam } from './database.ts';

/**
 * Equipment and asset tracking rows (migration 0520; docs/equipment.md): zones, RTLS receivers and
 * tags, sightings, the per-device equipment state, availability intervals and operational alerts.
 * Logic lives in src/devices/equipment-service.ts.
 */

export interface LocationRow {
  id: string;
  name: string;
  kind: 'site' | 'building' | 'floor' | 'unit' | 'room';
  partOf: string | null;
  exit: boolean;
  rtlsZone: string | null;
  version: number;
  updatedAt: string;
}

export interface EquipmentRow {
  deviceId: string;
  kind: string;
  manufacturer: string | null;
  model: string | null;
  serial: string | null;
  tagId: string | null;
  availability: 'in-use' | 'free' | 'cleaning' | 'maintenance';
  availabilitySince: string;
  locationId: string | null;
  locationSince: string | null;
  lastSeenAt: string | null;
  smoothing: unknown;
  version: number;
}

export interface EquipmentAlertRow {
  id: string;
  deviceId: string;
  kind: 'left-building';
  priority: 'low';
  class: 'operational';
  state: 'open' | 'acknowledged' | 'resolved';
  summary: string;
  locationId: string | null;
  raisedAt: string;
  acknowledgedAt: string | null;
  acknowledgedBy: string | null;
  resolvedAt: string | null;
  resolvedBy: string | null;
  resolution: string | null;
}

export interface SightingRow {
  id: string;
  tagId: string;
  deviceId: string;
  source: 'ble' | 'vendor';
  reporterId: string;
  locationId: string;
  rssi: number | null;
  seenAt: string;
  receivedAt: string;
}

export interface IntervalRow {
  deviceId: string;
  kind: string;
  availability: string;
  unitId: string | null;
  start: string;
  end: string | null;
}

const iso = (d: unknown): string | null =>
  d instanceof Date ? d.toISOString() : d == null ? null : new Date(String(d)).toISOString();

const toLocation = (r: Record<string, unknown>): LocationRow => ({
  id: r['id'] as string,
  name: r['name'] as string,
  kind: r['kind'] as LocationRow['kind'],
  partOf: (r['part_of'] as string | null) ?? null,
  exit: Boolean(r['exit']),
  rtlsZone: (r['rtls_zone'] as string | null) ?? null,
  version: Number(r['version']),
  updatedAt: iso(r['updated_at']) as string,
});

const toEquipment = (r: Record<string, unknown>): EquipmentRow => ({
  deviceId: r['device_id'] as string,
  kind: r['kind'] as string,
  manufacturer: (r['manufacturer'] as string | null) ?? null,
  model: (r['model'] as string | null) ?? null,
  serial: (r['serial'] as string | null) ?? null,
  tagId: (r['tag_id'] as string | null) ?? null,
  availability: r['availability'] as EquipmentRow['availability'],
  availabilitySince: iso(r['availability_since']) as string,
  locationId: (r['location_id'] as string | null) ?? null,
  locationSince: iso(r['location_since']),
  lastSeenAt: iso(r['last_seen_at']),
  smoothing: r['smoothing'],
  version: Number(r['version']),
});

const toAlert = (r: Record<string, unknown>): EquipmentAlertRow => ({
  id: r['id'] as string,
  deviceId: r['device_id'] as string,
  kind: r['kind'] as 'left-building',
  priority: 'low',
  class: 'operational',
  state: r['state'] as EquipmentAlertRow['state'],
  summary: r['summary'] as string,
  locationId: (r['location_id'] as string | null) ?? null,
  raisedAt: iso(r['raised_at']) as string,
  acknowledgedAt: iso(r['acknowledged_at']),
  acknowledgedBy: (r['acknowledged_by'] as string | null) ?? null,
  resolvedAt: iso(r['resolved_at']),
  resolvedBy: (r['resolved_by'] as string | null) ?? null,
  resolution: (r['resolution'] as string | null) ?? null,
});

const equipmentSelect = `select e.*, d.kind, d.manufacturer, d.model, d.serial, t.tag_id
  from equipment e join device d on d.id = e.device_id left join equipment_tag t on t.device_id = e.device_id`;

export class EquipmentRepository {
  readonly db: Database;
  constructor(db: Database) {
    this.db = db;
  }

  // ── locations ──
  async locations(sql: Sql = this.db): Promise<LocationRow[]> {
    return (await sql.query('select * from location order by id')).map(toLocation);
  }
  async location(id: string, sql: Sql = this.db): Promise<LocationRow | undefined> {
    const [r] = await sql.query('select * from location where id = $1', [id]);
    return r ? toLocation(r) : undefined;
  }
  async locationByZone(zone: string, sql: Sql = this.db): Promise<LocationRow | undefined> {
    const [r] = await sql.query(
      'select * from location where id = $1 or rtls_zone = $1 order by (id = $1) desc limit 1',
      [zone],
    );
    return r ? toLocation(r) : undefined;
  }
  async upsertLocation(
    sql: Sql,
    l: Omit<LocationRow, 'version' | 'updatedAt'>,
    now: string,
  ): Promise<{ location: LocationRow; created: boolean }> {
    const [r] = await sql.query<Record<string, unknown>>(
      `insert into location (id, name, kind, part_of, exit, rtls_zone, created_at, updated_at)
       values ($1, $2, $3, $4, $5, $6, $7, $7)
       on conflict (id) do update set name = excluded.name, kind = excluded.kind, part_of = excluded.part_of,
         exit = excluded.exit, rtls_zone = excluded.rtls_zone, version = location.version + 1, updated_at = excluded.updated_at
       returning *, (xmax = 0) as inserted`,
      [l.id, l.name, l.kind, l.partOf, l.exit, l.rtlsZone, now],
    );
    return { location: toLocation(r as Record<string, unknown>), created: Boolean(r?.['inserted']) };
  }
  async zoneTaken(zone: string, exceptId: string): Promise<string | undefined> {
    const [r] = await this.db.query<{ id: string }>(
      'select id from location where rtls_zone = $1 and id <> $2',
      [zone, exceptId],
    );
    return r?.id;
  }
  /** What still refers to a location (children, receivers, equipment in it): refuse its deletion. */
  async locationUses(id: string): Promise<{ children: number; receivers: number; equipment: number }> {
    const [r] = await this.db.query<{ children: number; receivers: number; equipment: number }>(
      `select (select count(*)::int from location where part_of = $1) as children,
         (select count(*)::int from rtls_receiver where location_id = $1) as receivers,
         (select count(*)::int from equipment where location_id = $1) as equipment`,
      [id],
    );
    return r as { children: number; receivers: number; equipment: number };
  }
  async deleteLocation(id: string): Promise<boolean> {
    const rows = await this.db.query('delete from location where id = $1 returning id', [id]);
    return rows.length > 0;
  }

  // ── receivers and tags ──
  async setReceiver(gatewayId: string, locationId: string | null): Promise<void> {
    if (locationId === null)
      await this.db.query('delete from rtls_receiver where gateway_id = $1', [gatewayId]);
    else
      await this.db.query(
        `insert into rtls_receiver (gateway_id, location_id) values ($1, $2)
         on conflict (gateway_id) do update set location_id = excluded.location_id`,
        [gatewayId, locationId],
      );
  }
  async receiverLocation(gatewayId: string, sql: Sql = this.db): Promise<string | undefined> {
    const [r] = await sql.query<{ location_id: string }>(
      'select location_id from rtls_receiver where gateway_id = $1',
      [gatewayId],
    );
    return r?.location_id;
  }
  async receivers(): Promise<Array<{ gatewayId: string; locationId: string }>> {
    const rows = await this.db.query<{ gateway_id: string; location_id: string }>(
      'select gateway_id, location_id from rtls_receiver order by gateway_id',
    );
    return rows.map((r) => ({ gatewayId: r.gateway_id, locationId: r.location_id }));
  }
  async tagHolder(tagId: string): Promise<string | undefined> {
    const [r] = await this.db.query<{ device_id: string }>(
      'select device_id from equipment_tag where tag_id = $1',
      [tagId],
    );
    return r?.device_id;
  }
  async devicesOfTags(sql: Sql, tagIds: readonly string[]): Promise<Map<string, string>> {
    if (tagIds.length === 0) return new Map();
    const rows = await sql.query<{ tag_id: string; device_id: string }>(
      'select tag_id, device_id from equipment_tag where tag_id = any($1::text[])',
      [tagIds],
    );
    return new Map(rows.map((r) => [r.tag_id, r.device_id]));
  }
  async setTag(sql: Sql, deviceId: string, tagId: string | null): Promise<void> {
    await sql.query('delete from equipment_tag where device_id = $1', [deviceId]);
    if (tagId !== null)
      await sql.query('insert into equipment_tag (tag_id, device_id) values ($1, $2)', [tagId, deviceId]);
  }

  // ── equipment state ──
  async ensure(sql: Sql, deviceId: string, now: string): Promise<void> {
    await sql.query(
      `insert into equipment (device_id, availability, availability_since, updated_at) values ($1, 'free', $2, $2)
       on conflict (device_id) do nothing`,
      [deviceId, now],
    );
  }
  async get(deviceId: string, sql: Sql = this.db, lock = false): Promise<EquipmentRow | undefined> {
    const [r] = await sql.query(
      `${equipmentSelect} where e.device_id = $1${lock ? ' for update of e' : ''}`,
      [deviceId],
    );
    return r ? toEquipment(r) : undefined;
  }
  async list(q: {
    kind?: string;
    availability?: string;
    locationIds?: string[];
    text?: string;
  }): Promise<EquipmentRow[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (q.kind) {
      params.push(q.kind);
      where.push(`d.kind = $${params.length}`);
    }
    if (q.availability) {
      params.push(q.availability);
      where.push(`e.availability = $${params.length}`);
    }
    if (q.locationIds) {
      params.push(q.locationIds);
      where.push(`e.location_id = any($${params.length}::text[])`);
    }
    if (q.text) {
      params.push(`%${q.text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
      const p = `$${params.length}`;
      where.push(
        `(lower(e.device_id) like ${p} or lower(coalesce(d.serial, '')) like ${p} or lower(coalesce(d.model, '')) like ${p}
          or lower(coalesce(d.manufacturer, '')) like ${p} or lower(coalesce(t.tag_id, '')) like ${p})`,
      );
    }
    const rows = await this.db.query(
      `${equipmentSelect}${where.length ? ` where ${where.join(' and ')}` : ''} order by d.kind, e.device_id limit 2000`,
      params,
    );
    return rows.map(toEquipment);
  }
  async saveAvailability(sql: Sql, deviceId: string, availability: string, now: string): Promise<void> {
    await sql.query(
      `update equipment set availability = $2, availability_since = $3, version = version + 1, updated_at = $3
       where device_id = $1`,
      [deviceId, availability, now],
    );
  }
  async savePosition(
    sql: Sql,
    deviceId: string,
    p: {
      locationId: string | null;
      locationSince: string | null;
      lastSeenAt: string | null;
      smoothing: unknown;
    },
    now: string,
  ): Promise<void> {
    await sql.query(
      `update equipment set location_id = $2, location_since = $3, last_seen_at = $4, smoothing = $5::jsonb,
         version = version + 1, updated_at = $6 where device_id = $1`,
      [deviceId, p.locationId, p.locationSince, p.lastSeenAt, toJsonParam(p.smoothing), now],
    );
  }
  async insertSightings(sql: Sql, rows: readonly SightingRow[]): Promise<void> {
    if (rows.length === 0) return;
    await sql.query(
      `insert into rtls_sighting (id, tag_id, device_id, source, reporter_id, location_id, rssi, seen_at, received_at)
       select x.id, x.tag_id, x.device_id, x.source, x.reporter_id, x.location_id, x.rssi, x.seen_at, x.received_at
       from jsonb_to_recordset($1::jsonb) as x(id uuid, tag_id text, device_id text, source text, reporter_id text,
         location_id text, rssi double precision, seen_at timestamptz, received_at timestamptz)`,
      [
        toJsonParam(
          rows.map((r) => ({
            id: r.id,
            tag_id: r.tagId,
            device_id: r.deviceId,
            source: r.source,
            reporter_id: r.reporterId,
            location_id: r.locationId,
            rssi: r.rssi,
            seen_at: r.seenAt,
            received_at: r.receivedAt,
          })),
        ),
      ],
    );
  }

  // ── intervals (utilisation) ──
  /** Closes the device's open interval at `at` (never before its start) and opens the next. */
  async nextInterval(
    sql: Sql,
    id: string,
    deviceId: string,
    availability: string,
    locationId: string | null,
    unitId: string | null,
    at: string,
  ): Promise<void> {
    await sql.query(
      `update equipment_interval set end_at = greatest(start_at, $2::timestamptz) where device_id = $1 and end_at is null`,
      [deviceId, at],
    );
    await sql.query(
      `insert into equipment_interval (id, device_id, availability, location_id, unit_id, start_at)
       values ($1, $2, $3, $4, $5,
         greatest($6::timestamptz, coalesce((select max(end_at) from equipment_interval where device_id = $2), $6::timestamptz)))`,
      [id, deviceId, availability, locationId, unitId, at],
    );
  }
  async intervals(since: string, until: string, kind?: string): Promise<IntervalRow[]> {
    const rows = await this.db.query<Record<string, unknown>>(
      `select i.device_id, d.kind, i.availability, i.unit_id, i.start_at, i.end_at
       from equipment_interval i join device d on d.id = i.device_id
       where i.start_at < $2 and (i.end_at is null or i.end_at > $1) ${kind ? 'and d.kind = $3' : ''}`,
      kind ? [since, until, kind] : [since, until],
    );
    return rows.map((r) => ({
      deviceId: r['device_id'] as string,
      kind: r['kind'] as string,
      availability: r['availability'] as string,
      unitId: (r['unit_id'] as string | null) ?? null,
      start: iso(r['start_at']) as string,
      end: iso(r['end_at']),
    }));
  }

  // ── operational alerts ──
  async activeAlert(sql: Sql, deviceId: string, kind: string): Promise<EquipmentAlertRow | undefined> {
    const [r] = await sql.query(
      `select * from equipment_alert where device_id = $1 and kind = $2 and state <> 'resolved'`,
      [deviceId, kind],
    );
    return r ? toAlert(r) : undefined;
  }
  async raiseAlert(
    sql: Sql,
    a: { id: string; deviceId: string; kind: string; summary: string; locationId: string | null; at: string },
  ): Promise<void> {
    await sql.query(
      `insert into equipment_alert (id, device_id, kind, state, summary, location_id, raised_at, updated_at)
       values ($1, $2, $3, 'open', $4, $5, $6, $6)`,
      [a.id, a.deviceId, a.kind, a.summary, a.locationId, a.at],
    );
  }
  async alerts(q: { state?: string; deviceId?: string }): Promise<EquipmentAlertRow[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (q.state === 'active') where.push(`state <> 'resolved'`);
    else if (q.state) {
      params.push(q.state);
      where.push(`state = $${params.length}`);
    }
    if (q.deviceId) {
      params.push(q.deviceId);
      where.push(`device_id = $${params.length}`);
    }
    const rows = await this.db.query(
      `select * from equipment_alert ${where.length ? `where ${where.join(' and ')}` : ''} order by raised_at desc limit 500`,
      params,
    );
    return rows.map(toAlert);
  }
  async alert(id: string): Promise<EquipmentAlertRow | undefined> {
    const [r] = await this.db.query('select * from equipment_alert where id = $1', [id]);
    return r ? toAlert(r) : undefined;
  }
  async acknowledgeAlert(id: string, by: string, at: string): Promise<EquipmentAlertRow | undefined> {
    const [r] = await this.db.query(
      `update equipment_alert set state = 'acknowledged', acknowledged_at = $3, acknowledged_by = $2, updated_at = $3
       where id = $1 and state = 'open' returning *`,
      [id, by, at],
    );
    return r ? toAlert(r) : undefined;
  }
  async resolveAlert(
    sql: Sql,
    id: string,
    by: string | null,
    resolution: string,
    at: string,
  ): Promise<EquipmentAlertRow | undefined> {
    const [r] = await sql.query(
      `update equipment_alert set state = 'resolved', resolved_at = $4, resolved_by = $2, resolution = $3, updated_at = $4
       where id = $1 and state <> 'resolved' returning *`,
      [id, by, resolution, at],
    );
    return r ? toAlert(r) : undefined;
  }
}
