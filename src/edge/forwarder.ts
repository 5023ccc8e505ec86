import { statfs } from 'node:fs/promises';
import type { Clock } from '../core/clock.ts';
import { errorMessage } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { EdgeOutbox } from './outbox.ts';
import type { CentreAction, ForwardRecord, ForwardRequest, ForwardResponse, GatewayHealth } from './wire.ts';

export interface ForwarderOptions {
  outbox: EdgeOutbox;
  centreUrl: string;
  gatewayId: string;
  gatewaySecret: string;
  batchSize: number;
  queueMaxRows: number;
  retryMaxMs: number;
  healthIntervalMs: number;
  /** Continuous readings held this long, then summarised (0 = off: sent at full resolution). */
  summaryAfterMs?: number;
  /** Full resolution kept around each alert when summarising, ms. */
  alertWindowMs?: number;
  clock: Clock;
  log: Logger;
  /** Per-request timeout, ms. */
  timeoutMs?: number;
  /** First retry delay, ms (doubles up to retryMaxMs). */
  retryMinMs?: number;
  /** More of the hub's health (its provisioning state). */
  moreHealth?: () => Partial<GatewayHealth>;
  /** The hub's data directory: the free space of its file system goes in the health report. */
  dataDir?: string;
  /** Acknowledgements and resolutions made at the centre, to apply to the hub's alerts. */
  onCentreActions?: (actions: CentreAction[]) => Promise<void>;
}

export interface UplinkStatus {
  uplink: 'up' | 'down' | 'starting';
  lastSuccessAt: string | null;
  lastError: string | null;
  clockOffsetSeconds: number | null;
  sent: number;
  /** Consecutive failed attempts. */
  failures: number;
}

/**
 * Sends the queue to the centre, oldest first, one request in flight (so a device's records arrive
 * in the order the hub committed them). A record leaves the queue only once the centre answered
 * for it; a failure (network, 5xx, timeout) retries the same records after an exponential backoff
 * (with jitter) up to `retryMaxMs`; the centre's idempotency keys make a resend a no-op.
 */
export class Forwarder {
  readonly #o: ForwarderOptions;
  readonly #status: UplinkStatus = {
    uplink: 'starting',
    lastSuccessAt: null,
    lastError: null,
    clockOffsetSeconds: null,
    sent: 0,
    failures: 0,
  };
  #running = false;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #lastReportAt = 0;
  #lastBoundCheck = 0;
  #lastSweep = 0;
  #lastSummary = 0;
  #retryBatch: ForwardRecord[] | undefined;
  #stats: { at: number; value: Awaited<ReturnType<EdgeOutbox['stats']>> } | undefined;
  #abort = new AbortController();
  #disk: { at: number; free: number | null; total: number | null } | undefined;

  constructor(o: ForwarderOptions) {
    this.#o = o;
  }

  get status(): UplinkStatus {
    return { ...this.#status };
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#loop = this.#run();
  }

  /** New records were committed: send without waiting for the next poll (not during a backoff). */
  nudge(): void {
    if (this.#status.failures === 0) this.#wake?.();
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.#abort.abort();
    this.#wake?.(); // also ends a backoff
    await this.#loop;
  }

  async #sleep(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.#wake = done;
    });
    this.#wake = undefined;
  }

  async #run(): Promise<void> {
    const o = this.#o;
    const min = o.retryMinMs ?? 500;
    while (this.#running) {
      let wait = 0;
      try {
        const now = o.clock.now();
        // alert versions: at most twice a second (a drain runs this loop every 50 ms)
        if (now - this.#lastSweep >= 500) {
          this.#lastSweep = now;
          await o.outbox.sweepAlerts();
        }
        if (now - this.#lastBoundCheck >= 5_000) {
          this.#lastBoundCheck = now;
          const removed = await o.outbox.enforceBound(o.queueMaxRows);
          if (removed > 0) {
            this.#retryBatch = undefined; // some of its rows may be summarised now
            o.log.warn({ removed, event: 'edge-queue-full' }, 'queue full: continuous readings summarised');
          }
        }
        const summaryAfter = o.summaryAfterMs ?? 0;
        if (summaryAfter > 0 && now - this.#lastSummary >= 2_000) {
          this.#lastSummary = now;
          if (
            (await o.outbox.summariseHeld(new Date(now - summaryAfter).toISOString(), o.alertWindowMs ?? 0)) >
            0
          )
            this.#retryBatch = undefined;
        }
        // a retry sends the same records again without reading them again: while the uplink is down
        // the hub's database is left to ingest and detection
        const records =
          this.#retryBatch ?? (await o.outbox.peek(o.batchSize, { keepOnly: summaryAfter > 0 }));
        this.#retryBatch = records.length > 0 ? records : undefined;
        const reportDue = now - this.#lastReportAt >= o.healthIntervalMs;
        if (records.length === 0 && !reportDue) {
          this.#retryBatch = undefined;
          wait = 1000;
        } else {
          await this.#send(records);
          this.#retryBatch = undefined;
          this.#status.failures = 0;
          // a full batch: more are waiting; a partial one: let a few more commit; none: poll
          wait = records.length === o.batchSize ? 0 : records.length > 0 ? 50 : 1000;
        }
      } catch (e) {
        if (!this.#running) break;
        this.#status.failures += 1;
        this.#status.lastError = errorMessage(e);
        if (this.#status.uplink !== 'down')
          o.log.warn(
            { err: this.#status.lastError, event: 'edge-uplink-down' },
            'uplink down: queueing for the centre',
          );
        this.#status.uplink = 'down';
        const base = Math.min(o.retryMaxMs, min * 2 ** Math.min(this.#status.failures - 1, 20));
        wait = Math.round(base / 2 + Math.random() * (base / 2));
      }
      if (this.#running && wait > 0) await this.#sleep(wait);
    }
  }

  /** Free space of the data directory's file system, measured at most every 10 s. */
  async #diskSpace(): Promise<Pick<GatewayHealth, 'diskFreeBytes' | 'diskTotalBytes'>> {
    const o = this.#o;
    if (!o.dataDir) return {};
    const now = o.clock.now();
    if (!this.#disk || now - this.#disk.at >= 10_000) {
      try {
        const s = await statfs(o.dataDir);
        this.#disk = { at: now, free: s.bavail * s.bsize, total: s.blocks * s.bsize };
      } catch {
        this.#disk = { at: now, free: null, total: null };
      }
    }
    return { diskFreeBytes: this.#disk.free, diskTotalBytes: this.#disk.total };
  }

  async #send(records: Awaited<ReturnType<EdgeOutbox['peek']>>): Promise<void> {
    const o = this.#o;
    // queue statistics: counted at every send while the uplink is up; while it is down not again
    // (a count of a long queue is not free on the hub's one database connection, and no one hears
    // the report): the first report after an outage carries the figures from before it
    const fresh = this.#stats && this.#status.failures > 0;
    if (!fresh) this.#stats = { at: o.clock.now(), value: await o.outbox.stats() };
    const stats = (this.#stats as { value: Awaited<ReturnType<EdgeOutbox['stats']>> }).value;
    const health: GatewayHealth = {
      queueDepth: stats.depth,
      oldestQueuedAt: stats.oldest,
      uplink: this.#status.uplink,
      clockOffsetSeconds: this.#status.clockOffsetSeconds,
      summarisedReadings: stats.summarisedReadings,
      droppedReadings: stats.droppedReadings,
      rejectedRecords: stats.rejected,
      ...(await this.#diskSpace()),
      ...o.moreHealth?.(),
    };
    const sentAt = o.clock.now();
    const body: ForwardRequest = { sentAt: new Date(sentAt).toISOString(), health, records };
    const res = await fetch(`${o.centreUrl}/ingest/v1/edge/forward`, {
      method: 'POST',
      headers: { authorization: `Bearer ${o.gatewaySecret}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.any([AbortSignal.timeout(o.timeoutMs ?? 30_000), this.#abort.signal]),
    });
    const text = await res.text();
    if (res.status !== 200) {
      let code = '';
      try {
        code = (JSON.parse(text) as { error?: { code?: string } }).error?.code ?? '';
      } catch {
        /* not JSON */
      }
      throw new Error(`centre answered ${res.status}${code ? ` ${code}` : ''}`);
    }
    const answeredAt = o.clock.now();
    const out = JSON.parse(text) as ForwardResponse;
    const done: number[] = [];
    const rejected: Array<{ seq: number; code: string }> = [];
    const asked = new Set(records.map((r) => r.seq));
    for (const r of out.results) {
      if (!asked.has(r.seq)) continue;
      if (r.status === 'rejected') rejected.push({ seq: r.seq, code: r.code });
      else done.push(r.seq);
    }
    await o.outbox.settle(done, rejected);
    if (rejected.length > 0)
      o.log.warn(
        { rejected: rejected.length, codes: [...new Set(rejected.map((r) => r.code))] },
        'centre refused records',
      );
    if (o.onCentreActions && Array.isArray(out.actions) && out.actions.length > 0)
      await o
        .onCentreActions(out.actions)
        .catch((e) =>
          o.log.warn(
            { err: errorMessage(e) },
            'centre actions not applied (sent again with the next answer)',
          ),
        );
    const centreAt = Date.parse(out.receivedAt);
    if (Number.isFinite(centreAt))
      this.#status.clockOffsetSeconds = Math.round(((sentAt + answeredAt) / 2 - centreAt) / 10) / 100;
    if (this.#status.uplink !== 'up')
      o.log.info({ event: 'edge-uplink-up', queued: stats.depth }, 'uplink up: forwarding');
    this.#status.uplink = 'up';
    this.#status.lastSuccessAt = new Date(answeredAt).toISOString();
    this.#status.lastError = null;
    this.#status.sent += done.length;
    this.#lastReportAt = answeredAt;
  }
}
