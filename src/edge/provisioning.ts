import type { Clock } from '../core/clock.ts';
import { errorMessage } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { type Database, toJsonParam } from '../store/database.ts';
import type { ProvisionedMonitoring, ProvisionedPatient, ProvisioningDocument } from './wire.ts';

/**
 * What applying the centre's list needs of the hub besides its database (wired by `vigil edge`):
 * the device registry's caches, the FHIR Patient store and the monitoring configuration, so that
 * each change takes the same path (search index, validation, detection told) as a local one.
 */
export interface ProvisioningTarget {
  /** The devices' credentials or assignments changed: drop what is cached of them. */
  devicesChanged(deviceIds: string[]): void;
  /** Stores the centre's Patient resource when the hub's differs. */
  patient(p: ProvisionedPatient): Promise<void>;
  /** Sets the patient's enrolment when the hub's in force differs (validated as a local change). */
  monitoring(m: ProvisionedMonitoring): Promise<void>;
}

export interface ProvisioningStatus {
  /** The ETag of the list in force on the hub (from the centre), null before the first sync. */
  version: string | null;
  lastSyncAt: string | null;
  lastError: string | null;
  /** Syncs answered with a new list / answered unchanged (304). */
  applied: number;
  unchanged: number;
  failures: number;
}

interface StoredState {
  version: string;
  /** Devices the centre provisioned (a device no longer listed is revoked on the hub). */
  devices: string[];
  syncedAt: string;
}

const stateKey = 'provisioning';

export interface ProvisioningOptions {
  db: Database;
  centreUrl: string;
  gatewaySecret: string;
  /** Time between syncs, ms (VIGIL_EDGE_SYNC_SECONDS). */
  intervalMs: number;
  target: ProvisioningTarget;
  clock: Clock;
  log: Logger;
  /** Per-request timeout, ms. */
  timeoutMs?: number;
}

/**
 * Pulls the hub's device list from the centre (docs/edge.md, *Provisioning*): at start and every
 * `intervalMs`, over the gateway's own credential, with the last ETag (an unchanged list is a 304).
 * What it applies is kept in the hub's own tables, so with the centre unreachable the hub keeps
 * the last list it had, across restarts. The centre is authoritative for the devices it lists:
 * their credential verifier, revocation and assignments replace the hub's; a device it no longer
 * lists (revoked, unlinked or moved to another hub) is revoked on the hub.
 */
export class ProvisioningSync {
  readonly #o: ProvisioningOptions;
  readonly #status: ProvisioningStatus = {
    version: null,
    lastSyncAt: null,
    lastError: null,
    applied: 0,
    unchanged: 0,
    failures: 0,
  };
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;
  #chain: Promise<void> = Promise.resolve();
  readonly #abort = new AbortController();

  constructor(o: ProvisioningOptions) {
    this.#o = o;
  }

  get status(): ProvisioningStatus {
    return { ...this.#status };
  }

  start(): void {
    const tick = () => {
      if (this.#stopped) return;
      this.#running = this.syncOnce().finally(() => {
        this.#running = undefined;
        if (!this.#stopped) this.#timer = setTimeout(tick, this.#o.intervalMs);
      });
    };
    tick();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#abort.abort();
    await this.#running;
  }

  /** One sync (after one in progress); never throws (a failure leaves the hub's list as it was). */
  syncOnce(): Promise<void> {
    const next = this.#chain.then(() => this.#sync());
    this.#chain = next;
    return next;
  }

  async #sync(): Promise<void> {
    const o = this.#o;
    try {
      const state = await this.#state();
      this.#status.version = state?.version ?? null;
      const res = await fetch(`${o.centreUrl}/ingest/v1/edge/provisioning`, {
        headers: {
          authorization: `Bearer ${o.gatewaySecret}`,
          ...(state ? { 'if-none-match': state.version } : {}),
        },
        signal: AbortSignal.any([AbortSignal.timeout(o.timeoutMs ?? 30_000), this.#abort.signal]),
      });
      if (res.status === 304) {
        await res.body?.cancel();
        this.#status.unchanged += 1;
      } else if (res.status === 200) {
        await this.#apply((await res.json()) as ProvisioningDocument, state);
        this.#status.applied += 1;
      } else {
        await res.body?.cancel();
        throw new Error(`centre answered ${res.status}`);
      }
      this.#status.lastSyncAt = new Date(o.clock.now()).toISOString();
      this.#status.lastError = null;
      this.#status.failures = 0;
    } catch (e) {
      if (this.#stopped) return;
      this.#status.failures += 1;
      this.#status.lastError = errorMessage(e);
      if (this.#status.failures === 1)
        o.log.warn(
          { err: this.#status.lastError, event: 'edge-provisioning-failed' },
          'provisioning from the centre failed: the last list stays in force',
        );
    }
  }

  async #state(): Promise<StoredState | undefined> {
    const rows = await this.#o.db.query<{ value: StoredState }>(
      'select value from edge_state where key = $1',
      [stateKey],
    );
    return rows[0]?.value;
  }

  async #apply(doc: ProvisioningDocument, previous: StoredState | undefined): Promise<void> {
    const o = this.#o;
    if (!Array.isArray(doc.devices) || !Array.isArray(doc.assignments) || typeof doc.version !== 'string')
      throw new Error('provisioning answer is malformed');
    const listed = new Set(doc.devices.map((d) => d.id));
    const dropped = (previous?.devices ?? []).filter((id) => !listed.has(id));
    const touched = [...listed, ...dropped];
    const now = new Date(o.clock.now()).toISOString();
    // Patients first (an assignment names one), then devices and assignments in one transaction.
    for (const p of doc.patients ?? []) await o.target.patient(p);
    await o.db.transaction(async (sql) => {
      await sql.query(
        `insert into device (id, identifier, kind, manufacturer, model, serial, secret_hash, credential_issued_at, revoked_at, status)
         select x.id, x.identifier, x.kind, x.manufacturer, x.model, x.serial, x.secret_hash,
                case when x.secret_hash is null then null else $2::timestamptz end,
                case when x.revoked then $2::timestamptz else null end,
                jsonb_build_object('provisionedBy', 'centre')
         from jsonb_to_recordset($1::jsonb) as x(id text, identifier text, kind text, manufacturer text, model text,
              serial text, secret_hash text, revoked boolean)
         on conflict (id) do update set
           identifier = excluded.identifier, kind = excluded.kind, manufacturer = excluded.manufacturer,
           model = excluded.model, serial = excluded.serial,
           credential_issued_at = case when device.secret_hash is distinct from excluded.secret_hash
                                       then excluded.credential_issued_at else device.credential_issued_at end,
           secret_hash = excluded.secret_hash,
           revoked_at = case when excluded.revoked_at is null then null else coalesce(device.revoked_at, excluded.revoked_at) end,
           status = device.status || excluded.status, updated_at = now()`,
        [
          toJsonParam(
            doc.devices.map((d) => ({
              id: d.id,
              identifier: d.identifier,
              kind: d.kind,
              manufacturer: d.manufacturer,
              model: d.model,
              serial: d.serial,
              secret_hash: d.revoked ? null : d.secretHash,
              revoked: d.revoked || d.secretHash === null,
            })),
          ),
          now,
        ],
      );
      // no longer listed for this hub (revoked, unlinked or moved to another hub): revoked here
      if (dropped.length > 0)
        await sql.query(
          `update device set secret_hash = null, revoked_at = coalesce(revoked_at, $2::timestamptz), updated_at = now()
           where id in (select jsonb_array_elements_text($1::jsonb))`,
          [toJsonParam(dropped), now],
        );
      // the centre's assignments replace the hub's for every device it provisions (or provisioned)
      await sql.query(
        'delete from device_assignment where device_id in (select jsonb_array_elements_text($1::jsonb))',
        [toJsonParam(touched)],
      );
      const kept = doc.assignments.filter((a) => listed.has(a.deviceId));
      if (kept.length > 0)
        await sql.query(
          `insert into device_assignment (id, device_id, patient_id, period_start, period_end)
           select x.id, x.device_id, x.patient_id, x.period_start, x.period_end
           from jsonb_to_recordset($1::jsonb) as x(id uuid, device_id text, patient_id text, period_start timestamptz, period_end timestamptz)`,
          [
            toJsonParam(
              kept.map((a) => ({
                id: a.id,
                device_id: a.deviceId,
                patient_id: a.patientId,
                period_start: a.periodStart,
                period_end: a.periodEnd,
              })),
            ),
          ],
        );
      const state: StoredState = { version: doc.version, devices: [...listed].sort(), syncedAt: now };
      await sql.query(
        `insert into edge_state (key, value) values ($1, $2::jsonb)
         on conflict (key) do update set value = excluded.value`,
        [stateKey, toJsonParam(state)],
      );
    });
    o.target.devicesChanged(touched);
    let notApplied = 0;
    for (const m of doc.monitoring ?? [])
      await o.target.monitoring(m).catch((e) => {
        notApplied += 1;
        o.log.warn(
          { err: errorMessage(e), event: 'edge-provisioning-monitoring' },
          'monitoring configuration from the centre not applied',
        );
      });
    // an enrolment not applied is tried again at the next sync: the full list, not a 304
    if (notApplied > 0)
      await o.db.query(
        `update edge_state set value = jsonb_set(value, '{version}', '"retry"'::jsonb) where key = $1`,
        [stateKey],
      );
    this.#status.version = doc.version;
    o.log.info(
      {
        event: 'edge-provisioned',
        devices: listed.size,
        revoked: dropped.length,
        assignments: doc.assignments.length,
        patients: doc.patients?.length ?? 0,
      },
      'provisioned from the centre',
    );
  }
}
