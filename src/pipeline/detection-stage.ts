import type { Clock } from '../core/clock.ts';
import type { Detection } from '../core/detection.ts';
import { errorMessage } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import type { Logger } from '../core/logger.ts';
import type { Metrics } from '../core/metrics.ts';
import type { DeviceStatusReport, Reading } from '../core/reading.ts';
import { createEngine, type Engine, type EngineSnapshot } from '../detect/engine.ts';
import type { PatientEnrolment, ProgramDefinition } from '../detect/program-config.ts';
import type { ReadingDraft } from '../detect/rule-kind.ts';
import type { EngineStateRepository } from '../store/engine-state-repository.ts';
import type { ReadingBatch } from './bus.ts';
import type { MonitoringService } from './monitoring-service.ts';
import { ratesFromStrip } from './waveform-rates.ts';

export interface DetectionStageOptions {
  monitoring: MonitoringService;
  states: EngineStateRepository;
  /** The alert manager's entry point (idempotent per patient and condition). */
  alerting: { onDetections(detections: readonly Detection[]): Promise<unknown> };
  /** Stores derived readings (the NEWS2 score) durably, idempotent on their key. */
  storeDerived: (readings: Reading[]) => Promise<void>;
  /** Finds the patient of a device status report that came without one. */
  attribution?: { patientAt(deviceId: string, effective: string): Promise<string | null> };
  clock: Clock;
  log: Logger;
  metrics?: Metrics;
  /**
   * Rules a patient's enrolment gains from elsewhere (the missed-dose rules of active scheduled
   * MedicationRequests, program/medication-schedule-rules.ts): the stored enrolment in, the one the
   * engine evaluates out. Re-read whenever the enrolment is (a `changed({patientId})` drops it).
   */
  scheduleRules?: (
    patientId: string,
    enrolment: PatientEnrolment,
    programs: readonly ProgramDefinition[],
  ) => Promise<PatientEnrolment>;
  /** How often time-based rules run (missing data), ms. Default 5 000. */
  tickMs?: number;
  /** Told after each batch is evaluated (service health: how far detection has got). */
  onEvaluated?: (batch: ReadingBatch) => void;
  /** How often changed engine state is saved, ms. Default 10 000. */
  saveMs?: number;
  /** How long a cached enrolment is trusted before its version is checked again, ms. Default 30 000. */
  configTtlMs?: number;
  /** The patients this worker evaluates (its partitions); default all. */
  owns?: (patientId: string) => boolean;
  /**
   * Acknowledge a batch only after the state that includes it is saved (NATS: a restart then
   * re-evaluates exactly what the saved state lacks). Default false (acknowledged when handled).
   */
  ackAfterSave?: boolean;
  /**
   * Parallel alert writers (patients are spread over them by hash; one patient's detections are
   * always applied in order by one). Default 1 (PGlite has a single connection anyway).
   */
  alertLanes?: number;
  /** Most detections applied in one alert transaction. Default 500. */
  maxAlertBatch?: number;
  /**
   * Partitioned (NATS): the stage evaluates only the partitions it was given (`claimPartitions`);
   * each save writes the changed patients' state and how far each partition is evaluated in one
   * transaction, through `commit`, which answers the partitions this worker still holds (only their
   * rows are written; the others are dropped from the engine: another worker took them over).
   */
  partitioned?: {
    partitionOf(patientId: string): number;
    commit(
      rows: ReadonlyArray<{ patientId: string; state: unknown }>,
      savedAt: string,
      evaluated: ReadonlyMap<number, number>,
    ): Promise<ReadonlySet<number>>;
  };
}

/** Position of a batch in a partitioned stream. */
export interface BatchPosition {
  partition: number;
  seq: number;
}

interface AlertJob {
  detections: Detection[];
  resolve: () => void;
  reject: (e: unknown) => void;
}

interface Lane {
  queue: AlertJob[];
  running: boolean;
}

interface Cached {
  version: number;
  checkedAt: number;
}

const NOT_ENROLLED: PatientEnrolment = { programs: [] };

/**
 * The detection stage: committed readings → the pure rule engine (src/detect) → the alert manager;
 * derived readings (NEWS2 score) → the store through the durable ingest path. Per-patient
 * enrolments come from the monitoring service (cached; dropped on change). Work is serialized on
 * one queue, so one patient's readings are evaluated in order; `tick()` runs on a timer so gaps
 * fire with no new data; engine state is saved periodically and at stop, restored at start.
 */
export class DetectionStage {
  readonly #o: DetectionStageOptions;
  readonly #log: Logger;
  #engine: Engine;
  readonly #cache = new Map<string, Cached>();
  readonly #dirty = new Set<string>();
  #pendingAcks: Array<() => void> = [];
  #chain: Promise<unknown> = Promise.resolve();
  /** Side effects (alerts, derived readings) of evaluated batches not yet done. */
  readonly #inflight = new Set<Promise<void>>();
  readonly #lanes: Lane[];
  #saving: Promise<void> = Promise.resolve();
  #timers: NodeJS.Timeout[] = [];
  #programsStale = false;
  #programs: ProgramDefinition[] = [];
  /** Patients whose configuration changed since: re-applied before the next tick too (no reading needed). */
  readonly #changed = new Set<string>();
  /** Partitioned: the partitions this worker holds, and the stream sequence evaluated in each. */
  readonly #owned = new Set<number>();
  readonly #evaluated = new Map<number, number>();
  #evaluatedChanged = false;
  #stopping = false;
  #started = false;

  constructor(o: DetectionStageOptions) {
    this.#o = o;
    this.#log = o.log.child({ component: 'detect' });
    this.#engine = createEngine({ programs: [], patients: {} }, o.clock);
    this.#lanes = Array.from({ length: Math.max(1, o.alertLanes ?? 1) }, () => ({
      queue: [],
      running: false,
    }));
    o.monitoring.onChange((c) => {
      if (c.programs) this.#programsStale = true;
      if (c.patientId) {
        this.#cache.delete(c.patientId);
        this.#changed.add(c.patientId);
      }
    });
  }

  /** Restores saved state and every current enrolment of the patients this worker owns; starts timers. */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    await this.#enqueue(async () => {
      await this.#rebuildEngine(true);
    });
    const tickMs = this.#o.tickMs ?? 5000;
    const saveMs = this.#o.saveMs ?? 10_000;
    this.#timers.push(setInterval(() => void this.tick().catch(() => {}), tickMs));
    this.#timers.push(setInterval(() => void this.save().catch(() => {}), saveMs));
    for (const t of this.#timers) t.unref();
  }

  /** Evaluates one batch; resolves once its detections are applied to alerts and derived readings stored. */
  async submit(batch: ReadingBatch, ack: () => void = () => {}): Promise<void> {
    const { done } = await this.accept(batch, ack);
    await done;
  }

  /**
   * Evaluates one batch on the stage's queue and resolves as soon as it is evaluated: its side
   * effects (alert transactions, derived readings) run off the queue, so the next batch is evaluated
   * meanwhile; `done` resolves when they are finished. The batch is acknowledged then (or, with
   * `ackAfterSave`, at the next save after that).
   */
  accept(
    batch: ReadingBatch,
    ack: () => void = () => {},
    at?: BatchPosition,
  ): Promise<{ done: Promise<void> }> {
    return this.#enqueue(async () => {
      if (at && this.#o.partitioned && !this.#owned.has(at.partition)) return { done: Promise.resolve() };
      const { done } = await this.#process(batch);
      this.#o.onEvaluated?.(batch);
      if (at) {
        this.#evaluated.set(at.partition, at.seq);
        this.#evaluatedChanged = true;
      }
      return {
        done: done.then(() => {
          if (this.#o.ackAfterSave) this.#pendingAcks.push(ack);
          else ack();
        }),
      };
    });
  }

  /** Runs time-based rules now (the timer calls it; tests call it after advancing a fake clock). */
  async tick(): Promise<void> {
    const { done } = await this.#enqueue(async () => {
      if (this.#changed.size > 0 || this.#programsStale) {
        const ids = [...this.#changed].filter((id) => this.#owns(id));
        this.#changed.clear();
        await this.#ensure(ids);
      }
      const out = this.#engine.tick(this.#o.clock.now());
      for (const d of out.detections) this.#dirty.add(d.patientId);
      return this.#emit(out.detections, out.derived);
    });
    await done;
  }

  /** Saves the state of patients changed since the last save; then acknowledges the batches it covers. */
  save(): Promise<void> {
    return this.#enqueue(() => this.#save()).then((written) => written.done);
  }

  /** Resolves when everything submitted so far is evaluated and its side effects are done. */
  async idle(): Promise<void> {
    for (;;) {
      const c = this.#chain;
      await c;
      if (this.#inflight.size > 0) await Promise.allSettled([...this.#inflight]);
      if (c === this.#chain && this.#inflight.size === 0) return;
    }
  }

  /** The engine's counters (readings, ignored, detections per patient per day). */
  stats() {
    return this.#engine.stats();
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    for (const t of this.#timers) clearInterval(t);
    this.#timers = [];
    const written = await this.#enqueue(() => this.#save());
    await written.done;
  }

  /** The partitions this worker evaluates (partitioned). */
  ownedPartitions(): number[] {
    return [...this.#owned].sort((a, b) => a - b);
  }

  /**
   * Partitioned: takes partitions over. On the queue, before any of their batches: the saved state
   * of their patients is loaded from the store (whatever worker saved it) and their enrolments.
   */
  claimPartitions(claims: ReadonlyArray<BatchPosition>): Promise<void> {
    const part = this.#o.partitioned;
    if (!part || claims.length === 0) return Promise.resolve();
    return this.#enqueue(async () => {
      const ps = new Set(claims.map((c) => c.partition));
      const snap = this.#engine.snapshot();
      for (const row of await this.#o.states.load())
        if (ps.has(part.partitionOf(row.patientId)))
          snap.patients[row.patientId] = row.state as EngineSnapshot['patients'][string];
      this.#engine.restore(snap);
      for (const c of claims) {
        this.#owned.add(c.partition);
        this.#evaluated.set(c.partition, c.seq);
      }
      const now = this.#o.clock.now();
      for (const v of await this.#o.monitoring.repo.allCurrent()) {
        if (!ps.has(part.partitionOf(v.patientId))) continue;
        await this.#setEnrolment(v.patientId, v.enrolment as PatientEnrolment | null);
        this.#cache.set(v.patientId, { version: v.version, checkedAt: now });
      }
    });
  }

  /**
   * Partitioned: hands partitions over. On the queue: waits for the side effects of what was
   * evaluated, saves (state and checkpoint), then forgets their patients. The caller stopped their
   * consumers first and releases the leases after.
   */
  releasePartitions(ps: readonly number[]): Promise<void> {
    if (!this.#o.partitioned || ps.length === 0) return Promise.resolve();
    return this.#enqueue(async () => {
      const written = await this.#save(true);
      await written.done.catch(() => {});
      this.#forget(new Set(ps));
    });
  }

  /** Partitioned: the lease on these partitions was lost (another worker holds it): forget them unsaved. */
  dropPartitions(ps: readonly number[]): Promise<void> {
    if (!this.#o.partitioned || ps.length === 0) return Promise.resolve();
    return this.#enqueue(async () => this.#forget(new Set(ps)));
  }

  #forget(ps: Set<number>): void {
    const part = this.#o.partitioned;
    if (!part) return;
    for (const p of ps) {
      this.#owned.delete(p);
      this.#evaluated.delete(p);
    }
    const snap = this.#engine.snapshot();
    for (const id of [...this.#cache.keys()])
      if (ps.has(part.partitionOf(id))) {
        // Handed over: the next owner decides this patient's open measurement requests.
        this.#engine.setEnrolment(id, NOT_ENROLLED, { handover: true });
        this.#cache.delete(id);
      }
    for (const id of Object.keys(snap.patients))
      if (ps.has(part.partitionOf(id))) {
        delete snap.patients[id];
        this.#dirty.delete(id);
      }
    this.#engine.restore(snap);
  }

  #owns(patientId: string): boolean {
    const part = this.#o.partitioned;
    if (part) return this.#owned.has(part.partitionOf(patientId));
    return this.#o.owns?.(patientId) ?? true;
  }

  #enqueue<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#chain.then(fn);
    this.#chain = run.catch((e) => this.#log.error({ err: e }, 'detection stage step failed'));
    return run;
  }

  async #rebuildEngine(restoreFromStore: boolean): Promise<void> {
    const programs = await this.#o.monitoring.programs();
    let snap: EngineSnapshot;
    if (restoreFromStore) {
      const patients: EngineSnapshot['patients'] = {};
      // Partitioned: nothing is owned at start; claimPartitions loads the state of what is claimed.
      if (!this.#o.partitioned)
        for (const row of await this.#o.states.load()) {
          if (this.#owns(row.patientId))
            patients[row.patientId] = row.state as EngineSnapshot['patients'][string];
        }
      snap = { version: 1, patients, stats: { readings: 0, ignored: 0, detectionsPerPatientDay: {} } };
    } else {
      snap = this.#engine.snapshot();
    }
    this.#engine = createEngine({ programs, patients: {} }, this.#o.clock);
    this.#programs = programs;
    this.#engine.restore(snap);
    this.#cache.clear();
    this.#programsStale = false;
    // Every enrolled patient this worker owns: their gap timers run even before their next reading.
    const now = this.#o.clock.now();
    for (const v of await this.#o.monitoring.repo.allCurrent()) {
      if (!this.#owns(v.patientId)) continue;
      await this.#setEnrolment(v.patientId, v.enrolment as PatientEnrolment | null);
      this.#cache.set(v.patientId, { version: v.version, checkedAt: now });
    }
    if (restoreFromStore && Object.keys(snap.patients).length > 0)
      this.#log.info({ patients: Object.keys(snap.patients).length }, 'engine state restored');
  }

  async #setEnrolment(patientId: string, stored: PatientEnrolment | null): Promise<void> {
    let e = stored ?? NOT_ENROLLED;
    if (this.#o.scheduleRules && e.programs.length > 0)
      try {
        e = await this.#o.scheduleRules(patientId, e, this.#programs);
      } catch (err) {
        // The requests could not be read: the stored enrolment alone; retried on the next change.
        this.#log.warn({ patientId, err: errorMessage(err) }, 'schedule rules not read');
      }
    try {
      this.#engine.setEnrolment(patientId, e);
    } catch (err) {
      // A configuration that no longer resolves (a custom program removed): evaluate nothing, say so.
      this.#log.error(
        { patientId, err: errorMessage(err) },
        'monitoring configuration does not resolve; patient not evaluated',
      );
      this.#engine.setEnrolment(patientId, NOT_ENROLLED);
    }
  }

  /**
   * Loads the enrolments of patients not cached yet (evaluation waits for those). Cached entries
   * older than the TTL are re-checked by version in the background: evaluation goes on with the
   * cached enrolment (a change made through the monitoring service drops the entry at once anyway;
   * the TTL only catches what was missed), and a changed version is applied on the queue.
   */
  async #ensure(patientIds: Iterable<string>): Promise<void> {
    if (this.#programsStale) await this.#rebuildEngine(false);
    const now = this.#o.clock.now();
    const ttl = this.#o.configTtlMs ?? 30_000;
    const missing: string[] = [];
    const stale: string[] = [];
    for (const id of patientIds) {
      const c = this.#cache.get(id);
      if (c === undefined) missing.push(id);
      else if (now - c.checkedAt >= ttl || now < c.checkedAt) {
        c.checkedAt = now; // one background check at a time per entry
        stale.push(id);
      }
    }
    if (stale.length > 0) this.#recheck(stale);
    if (missing.length === 0) return;
    const versions = await this.#o.monitoring.repo.currentVersions(missing);
    await Promise.all(missing.map((id) => this.#apply(id, versions.get(id) ?? 0, now)));
  }

  /** Sets a patient's enrolment to the stored version `v` (0 = none) unless the cache has it already. */
  async #apply(id: string, v: number, now: number): Promise<void> {
    const c = this.#cache.get(id);
    if (c === undefined || c.version !== v) {
      const cur = v === 0 ? undefined : await this.#o.monitoring.repo.current(id);
      await this.#setEnrolment(id, (cur?.enrolment as PatientEnrolment | null | undefined) ?? null);
    }
    this.#cache.set(id, { version: v, checkedAt: now });
  }

  #recheck(ids: string[]): void {
    void this.#o.monitoring.repo
      .currentVersions(ids)
      .then((versions) => {
        const changed = ids.filter((id) => {
          const c = this.#cache.get(id);
          return c !== undefined && c.version !== (versions.get(id) ?? 0);
        });
        if (changed.length === 0) return;
        // Applied between two evaluations, like any enrolment change.
        return this.#enqueue(async () => {
          const now = this.#o.clock.now();
          for (const id of changed)
            if (this.#cache.has(id)) await this.#apply(id, versions.get(id) ?? 0, now);
        });
      })
      .catch((e) => {
        for (const id of ids) this.#cache.delete(id); // checked (blocking) with the next reading instead
        this.#log.warn({ err: errorMessage(e) }, 'enrolment version check failed');
      });
  }

  async #process(batch: ReadingBatch): Promise<{ done: Promise<void> }> {
    // Derived readings (our own NEWS2 scores), readings an edge gateway evaluated already and
    // unattributed readings are not evaluated.
    const evaluated = batch.readings.filter(
      (r) => r.patientId !== null && r.transport !== 'derived' && r.transport !== 'edge',
    );
    // Rates derived from waveform strips are evaluated with the batch and stored as derived readings.
    const fromStrips = this.#ratesFromStrips(evaluated);
    const readings = fromStrips.length > 0 ? [...evaluated, ...fromStrips] : evaluated;
    const statuses: DeviceStatusReport[] = [];
    for (const s of batch.statuses) {
      if (s.patientId !== null) {
        statuses.push(s); // attributed by the pipeline before it was published
        continue;
      }
      const patientId = (await this.#o.attribution?.patientAt(s.deviceId, s.effective)) ?? null;
      if (patientId !== null) statuses.push({ ...s, patientId });
    }
    if (readings.length === 0 && statuses.length === 0) return { done: Promise.resolve() };
    const patients = new Set<string>();
    for (const r of readings) patients.add(r.patientId as string);
    for (const s of statuses) patients.add(s.patientId as string);
    await this.#ensure(patients);
    // Event order within the batch (a batch mixes devices and requests); stable for equal times.
    const ordered = readings
      .map((r, i) => ({ r, i, t: Date.parse(r.effective) }))
      .sort((a, b) => a.t - b.t || a.i - b.i);
    const detections: Detection[] = [];
    const derived: ReadingDraft[] = [];
    for (const { r } of ordered) {
      const out = this.#engine.onReading(r);
      detections.push(...out.detections);
      derived.push(...out.derived);
    }
    for (const s of statuses) {
      const out = this.#engine.onStatus(s);
      detections.push(...out.detections);
      derived.push(...out.derived);
    }
    for (const p of patients) this.#dirty.add(p);
    return this.#emit(detections, derived, fromStrips);
  }

  #ratesFromStrips(readings: readonly Reading[]): Reading[] {
    const strips = readings.filter((r) => r.waveform !== undefined);
    if (strips.length === 0) return [];
    const received = new Date(this.#o.clock.now()).toISOString();
    return strips.flatMap((s) => ratesFromStrip(s, received).map((r) => ({ ...r, id: newId() })));
  }

  /**
   * Hands detections to alerting and stores derived readings, off the stage's queue; `done` resolves
   * when both are done (each retried until it succeeds, or the stage stops).
   */
  #emit(detections: Detection[], derived: ReadingDraft[], ready: Reading[] = []): { done: Promise<void> } {
    if (detections.length === 0 && derived.length === 0 && ready.length === 0)
      return { done: Promise.resolve() };
    const received = new Date(this.#o.clock.now()).toISOString();
    const rows: Reading[] = [
      ...ready,
      ...derived.map((d): Reading => ({ ...d, id: newId(), received, transport: 'derived' })),
    ];
    for (const d of detections) this.#o.metrics?.detections.inc({ rule: d.rule, state: d.state });
    const done = Promise.all([
      rows.length > 0 ? this.#retry('store derived readings', () => this.#o.storeDerived(rows)) : undefined,
      detections.length > 0 ? this.#toAlerting(detections) : undefined,
    ]).then(() => {});
    this.#inflight.add(done);
    const forget = () => this.#inflight.delete(done);
    done.then(forget, (e) => {
      forget();
      this.#log.error({ err: errorMessage(e) }, 'detections not applied to alerts');
    });
    return { done };
  }

  /**
   * Queues detections for their patients' alert lanes. A lane applies everything queued while its
   * previous transaction ran in one transaction (group commit for alerts), in queue order, so one
   * patient's detections are applied in the order they were evaluated.
   */
  #toAlerting(detections: Detection[]): Promise<void> {
    const lanes = this.#lanes.length;
    const parts = new Map<number, Detection[]>();
    for (const d of detections) {
      const l = lanes === 1 ? 0 : laneOf(d.patientId, lanes);
      const list = parts.get(l);
      if (list) list.push(d);
      else parts.set(l, [d]);
    }
    return Promise.all(
      [...parts].map(
        ([l, ds]) =>
          new Promise<void>((resolve, reject) => {
            const lane = this.#lanes[l] as Lane;
            lane.queue.push({ detections: ds, resolve, reject });
            if (!lane.running) void this.#runLane(lane);
          }),
      ),
    ).then(() => {});
  }

  async #runLane(lane: Lane): Promise<void> {
    lane.running = true;
    const max = this.#o.maxAlertBatch ?? 500;
    try {
      while (lane.queue.length > 0) {
        const jobs: AlertJob[] = [];
        let n = 0;
        while (
          lane.queue.length > 0 &&
          (jobs.length === 0 || n + (lane.queue[0]?.detections.length ?? 0) <= max)
        ) {
          const j = lane.queue.shift() as AlertJob;
          jobs.push(j);
          n += j.detections.length;
        }
        const all = jobs.flatMap((j) => j.detections);
        try {
          await this.#retry('hand detections to alerting', () => this.#o.alerting.onDetections(all));
          for (const j of jobs) j.resolve();
        } catch (e) {
          for (const j of jobs) j.reject(e);
        }
      }
    } finally {
      lane.running = false;
    }
  }

  async #retry(what: string, fn: () => Promise<unknown>): Promise<void> {
    let delay = 100;
    for (;;) {
      try {
        await fn();
        return;
      } catch (e) {
        if (this.#stopping) throw e;
        this.#log.warn({ err: errorMessage(e), retryInMs: delay }, `could not ${what}; retrying`);
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 5000);
      }
    }
  }

  /**
   * On the queue: copies the state of the changed patients only (with `ackAfterSave`, after the
   * side effects of everything evaluated so far are done). The write itself runs off the queue (saves are serialized among themselves); `done`
   * resolves once it is stored and the batches it covers are acknowledged.
   */
  async #save(force = false): Promise<{ done: Promise<void> }> {
    const part = this.#o.partitioned;
    // With acknowledgements after the save (NATS), a saved state must not include a detection not
    // yet applied (a redelivery after a crash would not raise it again): wait for the side effects.
    // In-process there is no redelivery, so evaluation is not held up.
    if (this.#inflight.size > 0 && (this.#o.ackAfterSave || part || this.#stopping))
      await Promise.allSettled([...this.#inflight]);
    const acks = this.#pendingAcks;
    this.#pendingAcks = [];
    const dirty = [...this.#dirty];
    this.#dirty.clear();
    const states = dirty.length > 0 ? this.#engine.snapshotPatients(dirty) : {};
    const rows = Object.entries(states).map(([patientId, state]) => ({ patientId, state }));
    const savedAt = new Date(this.#o.clock.now()).toISOString();
    const evaluated = new Map(this.#evaluated);
    const evaluatedChanged = this.#evaluatedChanged;
    this.#evaluatedChanged = false;
    const write = async () => {
      try {
        if (part) {
          // State and checkpoint in one transaction: the next owner of a partition restores exactly
          // this state and reads the stream from the message after the checkpoint.
          if (rows.length > 0 || evaluatedChanged || force) {
            // Partitions whose lease was lost are not written; the coordinator drops them.
            await part.commit(rows, savedAt, evaluated);
          }
        } else
          for (let i = 0; i < rows.length; i += 500)
            await this.#o.states.save(rows.slice(i, i + 500), savedAt);
      } catch (e) {
        // Not stored: these patients are saved with the next pass, and their batches acknowledged then.
        for (const id of dirty) this.#dirty.add(id);
        if (evaluatedChanged) this.#evaluatedChanged = true;
        this.#pendingAcks.unshift(...acks);
        throw e;
      }
      for (const a of acks) a();
    };
    const done = this.#saving.then(write, write);
    this.#saving = done.catch(() => {});
    done.catch((e) => this.#log.error({ err: errorMessage(e) }, 'engine state not saved; retried next time'));
    return { done };
  }
}

/** Stable lane of a patient (FNV-1a of the id). */
function laneOf(patientId: string, lanes: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < patientId.length; i++) {
    h ^= patientId.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % lanes;
}
