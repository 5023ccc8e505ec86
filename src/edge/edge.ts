import type { EdgeConfig } from '../config/config.ts';
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import type { Reading } from '../core/reading.ts';
import type { Database, Sql } from '../store/database.ts';
import { ContinuityClassifier } from './continuity.ts';
import { Forwarder, type UplinkStatus } from './forwarder.ts';
import { EdgeOutbox, enqueueReadings } from './outbox.ts';
import { type ProvisioningStatus, ProvisioningSync, type ProvisioningTarget } from './provisioning.ts';
import type { CentreAction } from './wire.ts';

/**
 * The edge gateway's own part (`vigil edge`, docs/edge.md): the same server runs local ingest and
 * detection; this queues what it commits (readings in their own transaction, alert versions by a
 * sweep) and forwards the queue to the centre.
 */
export class EdgeGateway {
  readonly #config: EdgeConfig;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #classifier: ContinuityClassifier;
  #outbox: EdgeOutbox | undefined;
  #forwarder: Forwarder | undefined;
  #provisioning: ProvisioningSync | undefined;

  readonly #dataDir: string | undefined;

  /** `dataDir`: the hub's data directory, whose free disk space goes in the health report. */
  constructor(o: { config: EdgeConfig; log: Logger; clock: Clock; dataDir?: string }) {
    this.#config = o.config;
    this.#dataDir = o.dataDir;
    this.#log = o.log;
    this.#clock = o.clock;
    this.#classifier = new ContinuityClassifier(o.config.continuousSeconds);
  }

  /** For `startVigil({onCommit})`: runs inside the ingest transaction that stores the readings. */
  readonly onCommit = async (sql: Sql, stored: Reading[]): Promise<void> => {
    await enqueueReadings(sql, stored, (r) => this.#classifier.classify(r));
    setImmediate(() => this.#forwarder?.nudge());
  };

  /**
   * Starts forwarding once the server (and its database) is up. `onCentreActions` applies what
   * people did at the centre (acknowledge, resolve) to the hub's own alerts; `provisioning`, when
   * given, applies the centre's device list (pulled at start and every VIGIL_EDGE_SYNC_SECONDS).
   */
  start(
    db: Database,
    opts: {
      onCentreActions?: (actions: CentreAction[]) => Promise<void>;
      provisioning?: ProvisioningTarget;
    } = {},
  ): void {
    if (opts.provisioning) {
      this.#provisioning = new ProvisioningSync({
        db,
        centreUrl: this.#config.centreUrl,
        gatewaySecret: this.#config.gatewaySecret,
        intervalMs: this.#config.syncIntervalMs,
        target: opts.provisioning,
        clock: this.#clock,
        log: this.#log,
      });
      this.#provisioning.start();
    }
    this.#outbox = new EdgeOutbox(db);
    this.#forwarder = new Forwarder({
      outbox: this.#outbox,
      centreUrl: this.#config.centreUrl,
      gatewayId: this.#config.gatewayId,
      gatewaySecret: this.#config.gatewaySecret,
      batchSize: this.#config.batchSize,
      queueMaxRows: this.#config.queueMaxRows,
      retryMaxMs: this.#config.retryMaxMs,
      healthIntervalMs: this.#config.healthIntervalMs,
      summaryAfterMs: this.#config.summaryAfterMs,
      alertWindowMs: this.#config.alertWindowMs,
      ...(this.#dataDir ? { dataDir: this.#dataDir } : {}),
      moreHealth: () => {
        const p = this.#provisioning?.status;
        return p ? { provisioningVersion: p.version, provisionedAt: p.lastSyncAt } : {};
      },
      clock: this.#clock,
      log: this.#log,
      ...(opts.onCentreActions ? { onCentreActions: opts.onCentreActions } : {}),
    });
    this.#forwarder.start();
  }

  async status(): Promise<UplinkStatus & { queueDepth: number; provisioning: ProvisioningStatus | null }> {
    const stats = this.#outbox ? await this.#outbox.stats() : { depth: 0 };
    return {
      ...(this.#forwarder?.status as UplinkStatus),
      queueDepth: stats.depth,
      provisioning: this.#provisioning?.status ?? null,
    };
  }

  /** Provisioning now (and then on its interval as before): what `status().provisioning` reports. */
  async syncNow(): Promise<ProvisioningStatus | null> {
    await this.#provisioning?.syncOnce();
    return this.#provisioning?.status ?? null;
  }

  /** Stops forwarding and provisioning (what is queued stays queued for the next start). */
  async stop(): Promise<void> {
    await this.#provisioning?.stop();
    await this.#forwarder?.stop();
  }
}
