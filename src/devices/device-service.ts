import type { Clock } from '../core/clock.ts';
import { VigilError } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import type { Database } from '../store/database.ts';
import type { AssignmentRow, DeviceRepository, DeviceRow } from '../store/device-repository.ts';
import { hashDeviceSecret, issueDeviceSecret, secretMatches } from './device-credentials.ts';

export const deviceKinds = [
  'blood-pressure-cuff',
  'pulse-oximeter',
  'scale',
  'thermometer',
  'glucose-meter',
  'cgm',
  'ecg-patch',
  'wearable',
  'bedside-monitor',
  'smart-inhaler',
  'pill-bottle',
  'gateway',
  // non-patient equipment, tracked by location (docs/equipment.md)
  'infusion-pump',
  'wheelchair',
  'other',
] as const;
export type DeviceKind = (typeof deviceKinds)[number];

export const deviceIdPattern = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;

export interface RegisterDevice {
  id: string;
  kind: string;
  identifier?: string | undefined;
  manufacturer?: string | undefined;
  model?: string | undefined;
  serial?: string | undefined;
  firmware?: string | undefined;
  /** The device-model catalogue entry (docs/device-models.md); must exist. */
  modelId?: string | undefined;
}

/** Whether a patient exists (the FHIR Patient store). */
export interface PatientDirectory {
  exists(patientId: string): Promise<boolean>;
}

export class SqlPatientDirectory implements PatientDirectory {
  readonly #db: Database;
  constructor(db: Database) {
    this.#db = db;
  }
  async exists(patientId: string): Promise<boolean> {
    const rows = await this.#db.query(
      `select 1 from fhir_resource where resource_type = 'Patient' and id = $1 and not deleted`,
      [patientId],
    );
    return rows.length > 0;
  }
}

const cacheTtlMs = 5_000;

/** The broker's side of device credentials (see src/ingest/mqtt/dynsec.ts). */
export interface BrokerCredentialSink {
  issued(deviceId: string, secret: string): Promise<void>;
  revoked(deviceId: string): Promise<void>;
}

/**
 * Device registry, credentials and device↔patient attribution. Attribution looks up the assignment
 * in force at the reading's own time, cached briefly per device (other workers' assignments are
 * seen within the cache TTL; this worker's own immediately).
 */
export class DeviceService {
  readonly #repo: DeviceRepository;
  readonly #patients: PatientDirectory;
  readonly #clock: Clock;
  readonly #assignmentCache = new Map<string, { at: number; rows: AssignmentRow[] }>();
  readonly #authCache = new Map<string, { at: number; hash: string | null; revoked: boolean }>();
  readonly #bearerCache = new Map<string, { at: number; id: string }>();
  readonly #authLoading = new Map<string, Promise<{ hash: string | null; revoked: boolean }>>();

  #broker: BrokerCredentialSink | undefined;

  /**
   * An external broker that enforces device credentials itself (Mosquitto dynamic security): told
   * every issued secret and every revocation, after the registry's own change.
   */
  setBrokerCredentials(sink: BrokerCredentialSink): void {
    this.#broker = sink;
  }

  constructor(repo: DeviceRepository, patients: PatientDirectory, clock: Clock) {
    this.#repo = repo;
    this.#patients = patients;
    this.#clock = clock;
  }

  async register(input: RegisterDevice): Promise<{ device: DeviceRow; secret: string }> {
    if (!deviceIdPattern.test(input.id)) {
      throw new VigilError(
        'VIGIL_ERR_DEVICE_INVALID_ID',
        'device id must be 1–64 characters: letters, digits, and . _ : - (not starting with a symbol)',
        400,
      );
    }
    if (!(deviceKinds as readonly string[]).includes(input.kind)) {
      throw new VigilError(
        'VIGIL_ERR_DEVICE_INVALID_KIND',
        `device kind must be one of ${deviceKinds.join(', ')}`,
        400,
      );
    }
    if (input.modelId !== undefined && !(await this.#repo.modelExists(input.modelId)))
      throw new VigilError('VIGIL_ERR_DEVICE_MODEL_NOT_FOUND', `no device model ${input.modelId}`, 404);
    const { secret, hash } = issueDeviceSecret();
    const device = await this.#repo.insert(
      {
        id: input.id,
        kind: input.kind,
        identifier: input.identifier ?? null,
        manufacturer: input.manufacturer ?? null,
        model: input.model ?? null,
        serial: input.serial ?? null,
        firmware: input.firmware ?? null,
        modelId: input.modelId ?? null,
      },
      hash,
    );
    if (!device)
      throw new VigilError('VIGIL_ERR_DEVICE_EXISTS', `device ${input.id} is already registered`, 409);
    await this.#broker?.issued(device.id, secret);
    return { device, secret };
  }

  async get(id: string): Promise<DeviceRow> {
    const d = await this.#repo.get(id);
    if (!d) throw new VigilError('VIGIL_ERR_DEVICE_NOT_FOUND', `device ${id} is not registered`, 404);
    return d;
  }

  list(opts?: { limit?: number; offset?: number; kind?: string }): Promise<DeviceRow[]> {
    return this.#repo.list(opts);
  }

  async rotate(id: string): Promise<{ secret: string }> {
    const { secret, hash } = issueDeviceSecret();
    if (!(await this.#repo.setSecretHash(id, hash))) {
      throw new VigilError('VIGIL_ERR_DEVICE_NOT_FOUND', `device ${id} is not registered`, 404);
    }
    this.#authCache.delete(id);
    this.#forgetBearer(id);
    await this.#broker?.issued(id, secret);
    return { secret };
  }

  async revoke(id: string): Promise<void> {
    if (!(await this.#repo.revoke(id))) {
      throw new VigilError('VIGIL_ERR_DEVICE_NOT_FOUND', `device ${id} is not registered`, 404);
    }
    this.#authCache.delete(id);
    this.#forgetBearer(id);
    await this.#broker?.revoked(id);
  }

  /**
   * Drops what this worker caches of a device (credential, assignments): its registry rows were
   * changed outside this service (an edge hub applying the centre's provisioning, docs/edge.md).
   */
  forget(deviceId: string): void {
    this.#authCache.delete(deviceId);
    this.#forgetBearer(deviceId);
    this.#assignmentCache.delete(deviceId);
  }

  /** MQTT: username = device id, password = secret. Revocation and rotation take effect at once on this worker. */
  async authenticate(deviceId: string, secret: string): Promise<boolean> {
    const entry = this.#authEntry(deviceId) ?? (await this.#loadAuth(deviceId));
    return !entry.revoked && secretMatches(secret, entry.hash);
  }

  /**
   * Registered and not revoked (external broker: the broker authenticated the device). Cached like
   * `authenticate` (5 s; this worker's own revocations at once); answered without I/O when cached.
   */
  isActive(deviceId: string): boolean | Promise<boolean> {
    const entry = this.#authEntry(deviceId);
    if (entry) return !entry.revoked;
    return this.#loadAuth(deviceId).then((e) => !e.revoked);
  }

  #authEntry(deviceId: string): { hash: string | null; revoked: boolean } | undefined {
    const entry = this.#authCache.get(deviceId);
    return entry && this.#clock.now() - entry.at <= cacheTtlMs ? entry : undefined;
  }

  #loadAuth(deviceId: string): Promise<{ hash: string | null; revoked: boolean }> {
    // one query per device however many of its messages are waiting for it
    let loading = this.#authLoading.get(deviceId);
    if (!loading) {
      const now = this.#clock.now();
      loading = this.#repo
        .getSecretHash(deviceId)
        .then((row) => {
          const entry = { at: now, hash: row?.hash ?? null, revoked: row?.revoked ?? true };
          if (this.#authCache.size >= 100_000) this.#authCache.clear(); // bounded under a flood of unknown ids
          this.#authCache.set(deviceId, entry);
          return entry;
        })
        .finally(() => this.#authLoading.delete(deviceId));
      this.#authLoading.set(deviceId, loading);
    }
    return loading;
  }

  /**
   * HTTP: the bearer secret alone identifies its device. A known secret is cached like the MQTT
   * check (5 s; rotation and revocation on this worker drop it at once); unknown ones are not.
   */
  async authenticateBearer(secret: string): Promise<string | undefined> {
    const hash = hashDeviceSecret(secret);
    const now = this.#clock.now();
    const cached = this.#bearerCache.get(hash);
    if (cached && now - cached.at <= cacheTtlMs) return cached.id;
    const found = await this.#repo.findBySecretHash(hash);
    if (!found || found.revoked) {
      this.#bearerCache.delete(hash);
      return undefined;
    }
    if (this.#bearerCache.size >= 100_000) this.#bearerCache.clear();
    this.#bearerCache.set(hash, { at: now, id: found.id });
    return found.id;
  }

  #forgetBearer(id: string): void {
    for (const [hash, e] of this.#bearerCache) if (e.id === id) this.#bearerCache.delete(hash);
  }

  /**
   * Assigns a device to a patient from `start` (default now) until `end` (open when absent). An
   * open assignment of the same device that began earlier is ended at `start`; any other overlap
   * is refused, so a reading is never attributed to two patients.
   */
  async assign(deviceId: string, patientId: string, start?: string, end?: string): Promise<AssignmentRow> {
    await this.get(deviceId);
    if (!(await this.#patients.exists(patientId))) {
      throw new VigilError('VIGIL_ERR_DEVICE_PATIENT_NOT_FOUND', `patient ${patientId} does not exist`, 404);
    }
    const startIso = start ? parseTime(start, 'start') : new Date(this.#clock.now()).toISOString();
    const endIso = end ? parseTime(end, 'end') : null;
    if (endIso && endIso <= startIso) {
      throw new VigilError('VIGIL_ERR_DEVICE_INVALID_PERIOD', 'assignment end must be after its start', 400);
    }
    const row: AssignmentRow = { id: newId(), deviceId, patientId, periodStart: startIso, periodEnd: endIso };
    await this.#repo.transaction(async (sql) => {
      const overlaps = await this.#repo.overlapping(sql, deviceId, startIso, endIso);
      for (const o of overlaps) {
        if (o.periodEnd === null && o.periodStart < startIso) {
          await this.#repo.endAssignment(sql, o.id, startIso);
        } else {
          throw new VigilError(
            'VIGIL_ERR_DEVICE_ASSIGNMENT_OVERLAP',
            `device ${deviceId} is already assigned for part of that period (assignment ${o.id})`,
            409,
          );
        }
      }
      await this.#repo.addAssignment(sql, row);
    });
    this.#assignmentCache.delete(deviceId);
    return row;
  }

  async unassign(deviceId: string, at?: string): Promise<AssignmentRow | undefined> {
    const endIso = at ? parseTime(at, 'at') : new Date(this.#clock.now()).toISOString();
    const open = (await this.#repo.assignments(deviceId)).find((a) => a.periodEnd === null);
    if (!open) return undefined;
    if (endIso <= open.periodStart) {
      throw new VigilError(
        'VIGIL_ERR_DEVICE_INVALID_PERIOD',
        'unassignment time is before the assignment start',
        400,
      );
    }
    await this.#repo.transaction((sql) => this.#repo.endAssignment(sql, open.id, endIso));
    this.#assignmentCache.delete(deviceId);
    return { ...open, periodEnd: endIso };
  }

  /** Drops the cached assignments of a device (changed outside this service: a patient merge). */
  forgetAssignments(deviceId: string): void {
    this.#assignmentCache.delete(deviceId);
  }

  assignments(deviceId: string): Promise<AssignmentRow[]> {
    return this.#repo.assignments(deviceId);
  }

  /** The patient the device was assigned to at `effective` (UTC ISO), or null. */
  /**
   * patientAt from the cache alone, without I/O: undefined when the device's assignments are not
   * cached (or stale) — then call patientAt. Lets ingest skip an await per reading.
   */
  patientAtCached(deviceId: string, effective: string): string | null | undefined {
    const entry = this.#assignmentCache.get(deviceId);
    if (!entry || this.#clock.now() - entry.at > cacheTtlMs) return undefined;
    const t = Date.parse(effective);
    for (const a of entry.rows) {
      if (Date.parse(a.periodStart) <= t && (a.periodEnd === null || t < Date.parse(a.periodEnd)))
        return a.patientId;
    }
    return null;
  }

  async patientAt(deviceId: string, effective: string): Promise<string | null> {
    const now = this.#clock.now();
    let entry = this.#assignmentCache.get(deviceId);
    if (!entry || now - entry.at > cacheTtlMs) {
      entry = { at: now, rows: await this.#repo.assignments(deviceId) };
      this.#assignmentCache.set(deviceId, entry);
    }
    const t = Date.parse(effective);
    for (const a of entry.rows) {
      if (Date.parse(a.periodStart) <= t && (a.periodEnd === null || t < Date.parse(a.periodEnd)))
        return a.patientId;
    }
    return null;
  }
}

function parseTime(v: string, field: string): string {
  const t = Date.parse(v);
  if (Number.isNaN(t) || !/[zZ]|[+-]\d\d:?\d\d$/.test(v)) {
    throw new VigilError(
      'VIGIL_ERR_DEVICE_INVALID_PERIOD',
      `${field} must be an ISO 8601 time with a zone`,
      400,
    );
  }
  return new Date(t).toISOString();
}
