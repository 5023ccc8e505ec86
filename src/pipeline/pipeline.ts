import type { Clock } from '../core/clock.ts';
import type { Detection } from '../core/detection.ts';
import { VigilError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { Metrics } from '../core/metrics.ts';
import type { DeviceStatusReport, Reading } from '../core/reading.ts';
import { AlarmSettingsRepository } from '../store/alarm-settings-repository.ts';
import type { Database } from '../store/database.ts';
import { EngineStateRepository } from '../store/engine-state-repository.ts';
import { MonitoringRepository } from '../store/monitoring-repository.ts';
import { PartitionLeaseRepository } from '../store/partition-lease-repository.ts';
import { InProcessBus, type ReadingBatch, type ReadingBus } from './bus.ts';
import { DetectionStage, type DetectionStageOptions } from './detection-stage.ts';
import { MonitoringService } from './monitoring-service.ts';
import type { NatsBus } from './nats-bus.ts';
import { PartitionCoordinator } from './partition-coordinator.ts';

export interface PipelineOptions {
  role: 'all' | 'ingest' | 'detect' | 'api';
  natsUrl?: string | undefined;
  /** NATS partitions (fixed for the life of the stream). */
  partitions?: number;
  /** Deployment prefix of the NATS names (VIGIL_NATS_PREFIX). Default `vigil`. */
  natsPrefix?: string;
  /** Detect workers: a partition lease not renewed for this long moves to another worker, ms. */
  leaseMs?: number;
  db: Database;
  clock: Clock;
  log: Logger;
  metrics?: Metrics;
  alerting: { onDetections(detections: readonly Detection[]): Promise<unknown> };
  /** Stores derived readings through the durable ingest path (idempotent on their key). */
  storeDerived: (readings: Reading[]) => Promise<void>;
  attribution: {
    patientAt(deviceId: string, effective: string): Promise<string | null>;
    /** The same answer from a cache without I/O; undefined when not cached (then patientAt is asked). */
    patientAtCached?(deviceId: string, effective: string): string | null | undefined;
  };
  tickMs?: number;
  saveMs?: number;
  /** Told after each batch is evaluated (service health). */
  onEvaluated?: (batch: ReadingBatch) => void;
  /** Rules a patient gains from their MedicationRequests (DetectionStageOptions.scheduleRules). */
  scheduleRules?: DetectionStageOptions['scheduleRules'];
  /** A ready bus instead of the one the options name (tests). */
  bus?: ReadingBus;
}

export interface Pipeline {
  monitoring: MonitoringService;
  bus: ReadingBus;
  /** The detection stage of this process (roles all and detect). */
  stage: DetectionStage | undefined;
  /** BatchWriter listener: committed readings → bus (in commit order). */
  onCommitted(readings: Reading[], statuses: DeviceStatusReport[]): void;
  /** Readings attributed to a patient after they were stored (a late device assignment). */
  onAttributed(readings: Reading[]): void;
  /** Resolves when everything handed over so far is published (and, in-process, evaluated). */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Builds the detection pipeline for a role: `ingest`/`api` publish committed readings to the bus;
 * `detect` consumes them (NATS required); `all` does both in one process (in-process bus unless
 * VIGIL_NATS_URL is set).
 */
export async function createPipeline(o: PipelineOptions): Promise<Pipeline> {
  const log = o.log.child({ component: 'pipeline' });
  const monitoring = new MonitoringService(
    new MonitoringRepository(o.db),
    o.clock,
    new AlarmSettingsRepository(o.db),
  );
  if (o.role === 'detect' && !o.natsUrl && !o.bus)
    throw new VigilError(
      'VIGIL_ERR_CONFIG_NATS_REQUIRED',
      'VIGIL_ROLE=detect needs VIGIL_NATS_URL (the detect role reads committed readings from NATS JetStream)',
      1,
    );
  let bus: ReadingBus;
  if (o.bus) bus = o.bus;
  else if (o.natsUrl) {
    const { NatsBus } = await import('./nats-bus.ts');
    bus = await NatsBus.connect({
      url: o.natsUrl,
      log,
      ...(o.partitions ? { partitions: o.partitions } : {}),
      ...(o.natsPrefix ? { prefix: o.natsPrefix } : {}),
    });
  } else bus = new InProcessBus((e) => log.error({ err: e }, 'detection failed for a batch'));

  // Configuration changes: tell other processes; hear theirs.
  monitoring.onChange((c) => {
    if (!c.remote)
      bus.publishConfigChange({
        ...(c.patientId ? { patientId: c.patientId } : {}),
        ...(c.programs ? { programs: true } : {}),
      });
  });

  let stage: DetectionStage | undefined;
  let coordinator: PartitionCoordinator | undefined;
  if (o.role === 'all' || o.role === 'detect') {
    const states = new EngineStateRepository(o.db);
    // NATS: this worker evaluates the partitions it holds a lease on (any number of detect workers).
    if (bus.kind === 'nats')
      coordinator = new PartitionCoordinator({
        bus: bus as NatsBus,
        leases: new PartitionLeaseRepository(o.db, (bus as NatsBus).prefix),
        states,
        log,
        ...(o.leaseMs ? { leaseMs: o.leaseMs } : {}),
      });
    stage = new DetectionStage({
      monitoring,
      states,
      ...(coordinator ? { partitioned: coordinator.partitioned } : {}),
      alerting: o.alerting,
      storeDerived: o.storeDerived,
      attribution: o.attribution,
      clock: o.clock,
      log: o.log,
      ...(o.metrics ? { metrics: o.metrics } : {}),
      ...(o.tickMs ? { tickMs: o.tickMs } : {}),
      ...(o.onEvaluated ? { onEvaluated: o.onEvaluated } : {}),
      ...(o.scheduleRules ? { scheduleRules: o.scheduleRules } : {}),
      // On NATS a partition's checkpoint moves with each save: save often (a handover replays less).
      saveMs: o.saveMs ?? (bus.kind === 'nats' ? 1000 : 10_000),
      // PostgreSQL: alert transactions of different patients in parallel over the pool.
      alertLanes: o.db.kind === 'postgres' ? 4 : 1,
    });
    await stage.start();
    const s = stage;
    bus.onConfigChange((c) => monitoring.changed(c, true));
    // The bus waits for the evaluation only; alert transactions and derived readings follow off the
    // stage's queue (the batch is acknowledged when they are done).
    if (coordinator) await coordinator.start(s);
    else
      await bus.consume(async (batch, ack) => {
        await s.accept(batch, ack);
      });
  }

  // Publishing keeps commit order; statuses get their patient here (from the device cache, a query
  // only on a miss) so they land in its partition and the stage need not look again.
  let chain: Promise<void> = Promise.resolve();
  const cached = o.attribution.patientAtCached?.bind(o.attribution);
  const publish = (batch: ReadingBatch) => {
    chain = chain
      .then(async () => {
        const readings = batch.readings.filter(
          (r) => r.patientId !== null && r.transport !== 'derived' && r.transport !== 'edge',
        );
        // A status report nearly always travels with readings of its device at the same time: they
        // were attributed at ingest. Otherwise the device cache; the rest in one parallel lookup.
        const sameMessage = new Map<string, string>();
        for (const r of readings) sameMessage.set(`${r.deviceId}|${r.effective}`, r.patientId as string);
        const found: Array<string | null | undefined> = batch.statuses.map(
          (s) =>
            s.patientId ??
            sameMessage.get(`${s.deviceId}|${s.effective}`) ??
            cached?.(s.deviceId, s.effective),
        );
        const misses = batch.statuses.flatMap((_s, i) => (found[i] === undefined ? [i] : []));
        if (misses.length > 0) {
          const got = await Promise.all(
            misses.map((i) => {
              const s = batch.statuses[i] as DeviceStatusReport;
              return o.attribution.patientAt(s.deviceId, s.effective);
            }),
          );
          misses.forEach((i, k) => {
            found[i] = got[k] ?? null;
          });
        }
        const statuses: DeviceStatusReport[] = [];
        batch.statuses.forEach((s, i) => {
          const patientId = found[i];
          if (patientId) statuses.push(s.patientId === patientId ? s : { ...s, patientId });
        });
        if (readings.length > 0 || statuses.length > 0) await bus.publish({ readings, statuses });
      })
      .catch((e) => log.error({ err: e }, 'committed readings not handed to detection'));
  };

  return {
    monitoring,
    bus,
    stage,
    onCommitted: (readings, statuses) => publish({ readings, statuses }),
    onAttributed: (readings) => {
      const ordered = [...readings].sort((a, b) => Date.parse(a.effective) - Date.parse(b.effective));
      if (ordered.length > 0) publish({ readings: ordered, statuses: [] });
    },
    idle: async () => {
      let c: Promise<void>;
      do {
        c = chain;
        await c;
      } while (c !== chain);
      if (bus instanceof InProcessBus) await bus.idle();
      await stage?.idle();
    },
    stop: async () => {
      await chain;
      await (coordinator ?? bus).stopConsuming();
      await stage?.stop();
      await coordinator?.release();
      await bus.close();
    },
  };
}
