import type { Clock } from '../core/clock.ts';
import { VigilError } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import type { Database, Sql } from '../store/database.ts';
import type { DeadLetter, DeadLetterRepository } from '../store/dead-letter-repository.ts';
import type {
  EquipmentAlertRow,
  EquipmentRepository,
  EquipmentRow,
  LocationRow,
  SightingRow,
} from '../store/equipment-repository.ts';
import { ancestry, checkLocation, descendants, enclosing, type Location } from './locations.ts';
import { observe, type SmoothingSettings, stateFromJson } from './rtls-smoothing.ts';

/**
 * Equipment and asset tracking (docs/equipment.md): zones, tags and receivers, RTLS sightings turned
 * into a smoothed "last seen in zone X at T", availability with its history, and the operational
 * "left-building" alert. Nothing here is about a patient: device ids and zone ids only.
 */

export const availabilities = ['in-use', 'free', 'cleaning', 'maintenance'] as const;
export type Availability = (typeof availabilities)[number];

export type SightingSource = 'ble' | 'vendor';

/** One sighting as a gateway (BLE) or a vendor RTLS webhook sends it, before checking. */
export interface RawSighting {
  tag?: unknown;
  rssi?: unknown;
  zone?: unknown;
  time?: unknown;
}

export type SightingResult =
  | { index: number; status: 'accepted'; deviceId: string }
  | { index: number; status: 'ignored'; reason: string; message: string }
  | { index: number; status: 'rejected'; reason: string; message: string };

export const tagIdPattern = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
/** BLE RSSI as radios report it, dBm (an advertisement is never received above +20 dBm). */
const RSSI_MIN = -127;
const RSSI_MAX = 20;
/** A sighting time further ahead of the receive time than this is refused (a gateway with a wrong clock). */
export const FUTURE_TOLERANCE_MS = 5 * 60_000;
/** A timestamp with an explicit UTC offset (Z or ±hh:mm), so device time is never local by accident. */
const utcTime = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

export interface EquipmentView extends EquipmentRow {
  location: { id: string; name: string; kind: string; exit: boolean } | null;
  /** Names from the site down to the zone. */
  path: Array<{ id: string; name: string; kind: string }>;
  unitId: string | null;
  floorId: string | null;
  activeAlert: EquipmentAlertRow | null;
}

const iso = (ms: number) => new Date(ms).toISOString();

export class EquipmentService {
  readonly repo: EquipmentRepository;
  readonly #db: Database;
  readonly #clock: Clock;
  readonly settings: SmoothingSettings;
  readonly #deviceKind: (id: string) => Promise<string | undefined>;
  readonly #deadLetters: Pick<DeadLetterRepository, 'insertBatch'>;

  constructor(o: {
    repo: EquipmentRepository;
    deadLetters: Pick<DeadLetterRepository, 'insertBatch'>;
    clock: Clock;
    settings: SmoothingSettings;
    /** The registered kind of a device (undefined: no such device). */
    deviceKind: (id: string) => Promise<string | undefined>;
  }) {
    this.repo = o.repo;
    this.#db = o.repo.db;
    this.#clock = o.clock;
    this.settings = o.settings;
    this.#deviceKind = o.deviceKind;
    this.#deadLetters = o.deadLetters;
  }

  // ── zones ──
  async saveLocation(input: {
    id: string;
    name: string;
    kind: string;
    partOf?: string | null;
    exit?: boolean;
    rtlsZone?: string | null;
  }): Promise<{ location: LocationRow; created: boolean }> {
    const parent = input.partOf ? await this.repo.location(input.partOf) : undefined;
    const l = checkLocation(input, parent);
    const existing = await this.repo.location(l.id);
    if (existing && existing.kind !== l.kind) {
      const uses = await this.repo.locationUses(l.id);
      if (uses.children > 0)
        throw new VigilError(
          'VIGIL_ERR_EQUIPMENT_LOCATION_IN_USE',
          `location ${l.id} has ${uses.children} locations below it: its kind cannot change`,
          409,
        );
    }
    if (l.rtlsZone) {
      const holder = await this.repo.zoneTaken(l.rtlsZone, l.id);
      if (holder)
        throw new VigilError(
          'VIGIL_ERR_EQUIPMENT_ZONE_TAKEN',
          `RTLS zone ${l.rtlsZone} names location ${holder}`,
          409,
        );
    }
    return this.#db.transaction((sql) => this.repo.upsertLocation(sql, l, iso(this.#clock.now())));
  }

  async mustLocation(id: string): Promise<LocationRow> {
    const l = await this.repo.location(id);
    if (!l) throw new VigilError('VIGIL_ERR_EQUIPMENT_LOCATION_NOT_FOUND', `no location ${id}`, 404);
    return l;
  }

  async deleteLocation(id: string): Promise<void> {
    await this.mustLocation(id);
    const uses = await this.repo.locationUses(id);
    if (uses.children + uses.receivers + uses.equipment > 0)
      throw new VigilError(
        'VIGIL_ERR_EQUIPMENT_LOCATION_IN_USE',
        `location ${id} is in use: ${uses.children} locations below it, ${uses.receivers} receivers, ${uses.equipment} devices in it`,
        409,
      );
    await this.repo.deleteLocation(id);
  }

  // ── receivers, tags ──
  async placeReceiver(gatewayId: string, locationId: string | null): Promise<void> {
    const kind = await this.#mustDevice(gatewayId);
    if (kind !== 'gateway')
      throw new VigilError(
        'VIGIL_ERR_EQUIPMENT_NOT_GATEWAY',
        `device ${gatewayId} is a ${kind}: only a gateway forwards BLE sightings`,
        400,
      );
    if (locationId !== null) await this.mustLocation(locationId);
    await this.repo.setReceiver(gatewayId, locationId);
  }

  async setTag(deviceId: string, tagId: string | null): Promise<EquipmentView> {
    await this.#mustDevice(deviceId);
    if (tagId !== null && !tagIdPattern.test(tagId))
      throw new VigilError(
        'VIGIL_ERR_EQUIPMENT_INVALID_TAG',
        'tag id must be 1–128 of letters, digits, . _ : - (a MAC address, an iBeacon uuid:major:minor, …)',
        400,
      );
    if (tagId !== null) {
      const holder = await this.repo.tagHolder(tagId);
      if (holder && holder !== deviceId)
        throw new VigilError('VIGIL_ERR_EQUIPMENT_TAG_TAKEN', `tag ${tagId} is on device ${holder}`, 409);
    }
    await this.#db.transaction(async (sql) => {
      await this.#ensure(sql, deviceId);
      await this.repo.setTag(sql, deviceId, tagId);
    });
    return this.view(deviceId);
  }

  // ── availability, manual placement ──
  async setAvailability(deviceId: string, availability: Availability): Promise<EquipmentView> {
    await this.#mustDevice(deviceId);
    const now = iso(this.#clock.now());
    const locations = await this.#locationMap();
    await this.#db.transaction(async (sql) => {
      await this.#ensure(sql, deviceId);
      const e = (await this.repo.get(deviceId, sql, true)) as EquipmentRow;
      if (e.availability === availability) return;
      await this.repo.saveAvailability(sql, deviceId, availability, now);
      await this.repo.nextInterval(
        sql,
        newId(),
        deviceId,
        availability,
        e.locationId,
        enclosing(e.locationId, 'unit', locations)?.id ?? null,
        now,
      );
    });
    return this.view(deviceId);
  }

  /** A device put in a zone by hand (equipment without a tag, or a correction): smoothing starts afresh. */
  async place(deviceId: string, locationId: string): Promise<EquipmentView> {
    await this.#mustDevice(deviceId);
    await this.mustLocation(locationId);
    const now = this.#clock.now();
    const locations = await this.#locationMap();
    await this.#db.transaction(async (sql) => {
      await this.#ensure(sql, deviceId);
      const e = (await this.repo.get(deviceId, sql, true)) as EquipmentRow;
      await this.#moved(sql, e, locationId, now, locations, {
        zoneId: locationId,
        zoneSince: now,
        lastSeenAt: now,
        candidateId: null,
        candidateWins: 0,
        candidateSince: null,
        recent: [],
      });
    });
    return this.view(deviceId);
  }

  // ── RTLS ingest ──
  /**
   * Sightings from one reporter (a gateway: BLE; an RTLS server registered as a gateway: vendor), in
   * one transaction with their dead letters: answered only once durable. Sightings are smoothed per
   * device in event-time order.
   */
  async ingest(
    reporterId: string,
    source: SightingSource,
    items: readonly RawSighting[],
    raw: { payload: Buffer; contentType: string | null },
  ): Promise<{ results: SightingResult[]; moved: number }> {
    const receivedAt = this.#clock.now();
    const receiverZone = source === 'ble' ? await this.repo.receiverLocation(reporterId) : undefined;
    if (source === 'ble' && !receiverZone) {
      const message = `gateway ${reporterId} is not placed in a zone (PUT /api/v1/rtls/receivers/${reporterId})`;
      await this.#deadLetter([
        this.#letter(reporterId, source, raw, 'VIGIL_ERR_EQUIPMENT_RECEIVER_UNPLACED', message),
      ]);
      throw new VigilError('VIGIL_ERR_EQUIPMENT_RECEIVER_UNPLACED', message, 409);
    }
    const zones = new Map<string, LocationRow | undefined>();
    const results: SightingResult[] = [];
    const accepted: Array<{ index: number; tag: string; rssi: number | null; at: number; zone: string }> = [];
    const letters: DeadLetter[] = [];
    for (const [index, it] of items.entries()) {
      const bad = (reason: string, message: string) => {
        results.push({ index, status: 'rejected', reason, message });
        letters.push(
          this.#letter(
            reporterId,
            source,
            { payload: Buffer.from(JSON.stringify(it ?? null)), contentType: 'application/json' },
            reason,
            message,
          ),
        );
      };
      if (!it || typeof it !== 'object') {
        bad('VIGIL_ERR_EQUIPMENT_SIGHTING_INVALID', 'a sighting is an object');
        continue;
      }
      if (typeof it.tag !== 'string' || !tagIdPattern.test(it.tag)) {
        bad(
          'VIGIL_ERR_EQUIPMENT_SIGHTING_INVALID',
          'tag must be a tag id (1–128 of letters, digits, . _ : -)',
        );
        continue;
      }
      if (typeof it.time !== 'string' || !utcTime.test(it.time) || Number.isNaN(Date.parse(it.time))) {
        bad('VIGIL_ERR_EQUIPMENT_SIGHTING_INVALID', 'time must be an ISO 8601 timestamp with Z or an offset');
        continue;
      }
      const at = Date.parse(it.time);
      if (at > receivedAt + FUTURE_TOLERANCE_MS) {
        bad(
          'VIGIL_ERR_EQUIPMENT_FUTURE_TIME',
          `time is more than ${FUTURE_TOLERANCE_MS / 60_000} min after it was received`,
        );
        continue;
      }
      let rssi: number | null = null;
      let zone: string;
      if (source === 'ble') {
        if (
          typeof it.rssi !== 'number' ||
          !Number.isFinite(it.rssi) ||
          it.rssi < RSSI_MIN ||
          it.rssi > RSSI_MAX
        ) {
          bad(
            'VIGIL_ERR_EQUIPMENT_SIGHTING_INVALID',
            `rssi must be a number of dBm from ${RSSI_MIN} to ${RSSI_MAX}`,
          );
          continue;
        }
        rssi = it.rssi;
        zone = receiverZone as string;
      } else {
        if (typeof it.zone !== 'string' || it.zone.length === 0 || it.zone.length > 200) {
          bad('VIGIL_ERR_EQUIPMENT_SIGHTING_INVALID', 'zone must be the location id or RTLS zone name');
          continue;
        }
        if (!zones.has(it.zone)) zones.set(it.zone, await this.repo.locationByZone(it.zone));
        const l = zones.get(it.zone);
        if (!l) {
          bad('VIGIL_ERR_EQUIPMENT_UNKNOWN_ZONE', 'no location has this id or RTLS zone name');
          continue;
        }
        zone = l.id;
      }
      accepted.push({ index, tag: it.tag, rssi, at, zone });
    }
    const locations = await this.#locationMap();
    let moved = 0;
    await this.#db.transaction(async (sql) => {
      const holders = await this.repo.devicesOfTags(sql, [...new Set(accepted.map((a) => a.tag))]);
      const rows: SightingRow[] = [];
      const byDevice = new Map<string, typeof accepted>();
      for (const a of accepted) {
        const deviceId = holders.get(a.tag);
        if (!deviceId) {
          // Not dead-lettered: gateways hear every beacon around them (phones, other systems' tags).
          results.push({
            index: a.index,
            status: 'ignored',
            reason: 'VIGIL_ERR_EQUIPMENT_UNKNOWN_TAG',
            message: 'no device carries this tag',
          });
          continue;
        }
        results.push({ index: a.index, status: 'accepted', deviceId });
        rows.push({
          id: newId(),
          tagId: a.tag,
          deviceId,
          source,
          reporterId,
          locationId: a.zone,
          rssi: a.rssi,
          seenAt: iso(a.at),
          receivedAt: iso(receivedAt),
        });
        byDevice.set(deviceId, [...(byDevice.get(deviceId) ?? []), a]);
      }
      await this.repo.insertSightings(sql, rows);
      await this.#deadLetterIn(sql, letters);
      for (const [deviceId, seen] of [...byDevice].sort(([a], [b]) => a.localeCompare(b))) {
        await this.#ensure(sql, deviceId);
        const e = (await this.repo.get(deviceId, sql, true)) as EquipmentRow;
        let state = stateFromJson(e.smoothing);
        let lastMove: { to: string; at: number } | undefined;
        for (const s of seen.sort((x, y) => x.at - y.at)) {
          const r = observe(state, { zoneId: s.zone, rssi: s.rssi, at: s.at }, this.settings);
          state = r.state;
          if (r.kind === 'moved') lastMove = { to: r.to, at: r.at };
        }
        if (lastMove && lastMove.to !== e.locationId) {
          moved++;
          await this.#moved(sql, e, lastMove.to, lastMove.at, locations, state);
        } else {
          await this.repo.savePosition(
            sql,
            deviceId,
            {
              locationId: e.locationId,
              locationSince: e.locationSince,
              lastSeenAt: state.lastSeenAt === null ? e.lastSeenAt : iso(state.lastSeenAt),
              smoothing: state,
            },
            iso(receivedAt),
          );
        }
      }
    });
    results.sort((a, b) => a.index - b.index);
    return { results, moved };
  }

  /** Refuses a whole body (unreadable JSON, wrong shape) and keeps it as a dead letter. */
  async refuse(
    reporterId: string,
    source: SightingSource,
    raw: { payload: Buffer; contentType: string | null },
    code: string,
    message: string,
  ) {
    await this.#deadLetter([this.#letter(reporterId, source, raw, code, message)]);
  }

  // ── reads ──
  async view(deviceId: string): Promise<EquipmentView> {
    const e = await this.repo.get(deviceId);
    if (!e)
      throw new VigilError(
        'VIGIL_ERR_EQUIPMENT_NOT_FOUND',
        `device ${deviceId} is not tracked equipment`,
        404,
      );
    const [v] = await this.#views([e]);
    return v as EquipmentView;
  }

  async find(q: {
    kind?: string;
    availability?: string;
    locationId?: string;
    text?: string;
  }): Promise<EquipmentView[]> {
    let locationIds: string[] | undefined;
    if (q.locationId) {
      await this.mustLocation(q.locationId);
      locationIds = [...descendants(q.locationId, await this.repo.locations())];
    }
    const rows = await this.repo.list({
      ...(q.kind ? { kind: q.kind } : {}),
      ...(q.availability ? { availability: q.availability } : {}),
      ...(locationIds ? { locationIds } : {}),
      ...(q.text ? { text: q.text } : {}),
    });
    return this.#views(rows);
  }

  async utilisationIntervals(since: number, until: number, kind?: string) {
    const rows = await this.repo.intervals(iso(since), iso(until), kind);
    return rows.map((r) => ({
      ...r,
      start: Date.parse(r.start),
      end: r.end === null ? null : Date.parse(r.end),
    }));
  }

  async acknowledgeAlert(id: string, by: string): Promise<EquipmentAlertRow> {
    const a = await this.#mustAlert(id);
    if (a.state !== 'open')
      throw new VigilError('VIGIL_ERR_EQUIPMENT_ALERT_STATE', `the alert is ${a.state}, not open`, 409);
    const r = await this.repo.acknowledgeAlert(id, by, iso(this.#clock.now()));
    if (!r) throw new VigilError('VIGIL_ERR_EQUIPMENT_ALERT_STATE', 'the alert changed meanwhile', 409);
    return r;
  }

  async resolveAlert(id: string, by: string): Promise<EquipmentAlertRow> {
    const a = await this.#mustAlert(id);
    if (a.state === 'resolved')
      throw new VigilError('VIGIL_ERR_EQUIPMENT_ALERT_STATE', 'the alert is resolved already', 409);
    const r = await this.repo.resolveAlert(this.#db, id, by, 'manual', iso(this.#clock.now()));
    if (!r) throw new VigilError('VIGIL_ERR_EQUIPMENT_ALERT_STATE', 'the alert changed meanwhile', 409);
    return r;
  }

  // ── internals ──
  async #mustAlert(id: string) {
    const a = await this.repo.alert(id);
    if (!a) throw new VigilError('VIGIL_ERR_EQUIPMENT_ALERT_NOT_FOUND', `no equipment alert ${id}`, 404);
    return a;
  }

  async #mustDevice(id: string): Promise<string> {
    const kind = await this.#deviceKind(id);
    if (!kind) throw new VigilError('VIGIL_ERR_DEVICE_NOT_FOUND', `no device ${id}`, 404);
    return kind;
  }

  async #locationMap(): Promise<Map<string, Location>> {
    return new Map((await this.repo.locations()).map((l) => [l.id, l]));
  }

  /** The equipment row, created (free, nowhere) with its first interval when the device had none. */
  async #ensure(sql: Sql, deviceId: string): Promise<void> {
    if (await this.repo.get(deviceId, sql)) return;
    const now = iso(this.#clock.now());
    await this.repo.ensure(sql, deviceId, now);
    await this.repo.nextInterval(sql, newId(), deviceId, 'free', null, null, now);
  }

  /** The smoothed zone changed: position, interval, and the left-building alert raised or cleared. */
  async #moved(
    sql: Sql,
    e: EquipmentRow,
    to: string,
    at: number,
    locations: ReadonlyMap<string, Location>,
    smoothing: unknown,
  ): Promise<void> {
    const now = iso(this.#clock.now());
    await this.repo.savePosition(
      sql,
      e.deviceId,
      {
        locationId: to,
        locationSince: iso(at),
        lastSeenAt: iso(Math.max(at, Date.parse(e.lastSeenAt ?? iso(at)))),
        smoothing,
      },
      now,
    );
    await this.repo.nextInterval(
      sql,
      newId(),
      e.deviceId,
      e.availability,
      to,
      enclosing(to, 'unit', locations)?.id ?? null,
      iso(at),
    );
    const zone = locations.get(to);
    const active = await this.repo.activeAlert(sql, e.deviceId, 'left-building');
    if (zone?.exit && e.tagId && !active) {
      const before = e.locationId ? locations.get(e.locationId) : undefined;
      await this.repo.raiseAlert(sql, {
        id: newId(),
        deviceId: e.deviceId,
        kind: 'left-building',
        summary: `${e.kind.replaceAll('-', ' ')} ${e.deviceId} seen at building exit zone "${zone.name}" at ${iso(at)}${
          before ? ` (zone before: "${before.name}")` : ''
        }`,
        locationId: to,
        at: iso(at),
      });
    } else if (zone && !zone.exit && active) {
      await this.repo.resolveAlert(sql, active.id, null, `automatic: seen in zone "${zone.name}"`, now);
    }
  }

  async #views(rows: readonly EquipmentRow[]): Promise<EquipmentView[]> {
    const locations = await this.#locationMap();
    const alerts = new Map(
      (await this.repo.alerts({ state: 'active' })).map((a) => [a.deviceId, a] as const),
    );
    return rows.map((e) => {
      const l = e.locationId ? locations.get(e.locationId) : undefined;
      const chain = e.locationId ? ancestry(e.locationId, locations) : [];
      return {
        ...e,
        smoothing: undefined,
        location: l ? { id: l.id, name: l.name, kind: l.kind, exit: l.exit } : null,
        path: chain.map((c) => ({ id: c.id, name: c.name, kind: c.kind })),
        unitId: enclosing(e.locationId, 'unit', locations)?.id ?? null,
        floorId: enclosing(e.locationId, 'floor', locations)?.id ?? null,
        activeAlert: alerts.get(e.deviceId) ?? null,
      };
    });
  }

  #letter(
    reporterId: string,
    source: SightingSource,
    raw: { payload: Buffer; contentType: string | null },
    reasonCode: string,
    reason: string,
  ): DeadLetter {
    return {
      id: newId(),
      received: iso(this.#clock.now()),
      transport: source === 'ble' ? 'rtls-ble' : 'rtls-vendor',
      deviceId: reporterId,
      topic: null,
      reasonCode,
      reason,
      contentType: raw.contentType,
      format: 'rtls',
      payload: raw.payload,
      replayedAt: null,
      replayResult: null,
    };
  }

  async #deadLetter(letters: DeadLetter[]) {
    await this.#db.transaction((sql) => this.#deadLetterIn(sql, letters));
  }
  async #deadLetterIn(sql: Sql, letters: DeadLetter[]) {
    await this.#deadLetters.insertBatch(sql, letters);
  }
}
