import type { DeviceStatusReport, Reading } from '../core/reading.ts';
import type { Database, Sql } from '../store/database.ts';

export interface PendingDeadLetter {
  id: string;
  received: string;
  transport: string;
  deviceId: string | null;
  topic: string | null;
  reasonCode: string;
  reason: string;
  contentType: string | null;
  payload: Buffer;
}

export interface WriteRequest {
  readings: Reading[];
  deadLetters: PendingDeadLetter[];
  statuses: DeviceStatusReport[];
}

export interface WriteOutcome {
  /** Ids of readings inserted by this request (the others were duplicates). */
  inserted: Set<string>;
}

export interface BatchSink {
  commit(sql: Sql, batch: WriteRequest): Promise<Set<string>>;
}

interface Pending {
  req: WriteRequest;
  resolve: (o: WriteOutcome) => void;
  reject: (e: unknown) => void;
}

/**
 * Group commit: requests that arrive while a transaction is in flight are committed together in the
 * next one, so a reading is acknowledged only after it is durable and throughput grows with load.
 * A batch is flushed when it reaches `maxBatch` readings or after `maxWaitMs`.
 */
export class BatchWriter {
  readonly #db: Database;
  readonly #sink: BatchSink;
  readonly #maxBatch: number;
  readonly #maxWaitMs: number;
  readonly #onCommitted: (
    readings: Reading[],
    statuses: DeviceStatusReport[],
    ms: number,
    size: number,
  ) => void;
  #queue: Pending[] = [];
  #queuedReadings = 0;
  #flushing: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(opts: {
    db: Database;
    sink: BatchSink;
    maxBatch: number;
    maxWaitMs: number;
    onCommitted: (readings: Reading[], statuses: DeviceStatusReport[], ms: number, size: number) => void;
  }) {
    this.#db = opts.db;
    this.#sink = opts.sink;
    this.#maxBatch = opts.maxBatch;
    this.#maxWaitMs = opts.maxWaitMs;
    this.#onCommitted = opts.onCommitted;
  }

  write(req: WriteRequest): Promise<WriteOutcome> {
    if (this.#closed) return Promise.reject(new Error('ingest is shutting down'));
    return new Promise((resolve, reject) => {
      this.#queue.push({ req, resolve, reject });
      this.#queuedReadings += req.readings.length + req.deadLetters.length;
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#flushing) return; // the running flush picks the queue up when it ends
    if (this.#queuedReadings >= this.#maxBatch) {
      this.#startFlush();
    } else if (!this.#timer) {
      this.#timer = setTimeout(() => this.#startFlush(), this.#maxWaitMs);
    }
  }

  #startFlush(): void {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.#flushing || this.#queue.length === 0) return;
    this.#flushing = this.#flush().finally(() => {
      this.#flushing = undefined;
      if (this.#queue.length > 0) this.#startFlush();
    });
  }

  async #flush(): Promise<void> {
    const taken: Pending[] = [];
    let count = 0;
    while (this.#queue.length > 0 && (count === 0 || count < this.#maxBatch)) {
      const p = this.#queue.shift() as Pending;
      taken.push(p);
      count += p.req.readings.length + p.req.deadLetters.length;
    }
    this.#queuedReadings -= count;
    try {
      await this.#commit(taken, count);
    } catch (e) {
      if (taken.length === 1) {
        taken[0]?.reject(e);
        return;
      }
      // One bad request must not fail the others of its group: commit them one by one.
      for (const p of taken) {
        await this.#commit([p], p.req.readings.length + p.req.deadLetters.length).catch((err: unknown) =>
          p.reject(err),
        );
      }
    }
  }

  async #commit(taken: Pending[], count: number): Promise<void> {
    const batch: WriteRequest = { readings: [], deadLetters: [], statuses: [] };
    for (const p of taken) {
      batch.readings.push(...p.req.readings);
      batch.deadLetters.push(...p.req.deadLetters);
      batch.statuses.push(...p.req.statuses);
    }
    const t0 = performance.now();
    const inserted = await this.#db.transaction((sql) => this.#sink.commit(sql, batch));
    const ms = performance.now() - t0;
    for (const p of taken) p.resolve({ inserted });
    const fresh = batch.readings.filter((r) => inserted.has(r.id));
    try {
      this.#onCommitted(fresh, batch.statuses, ms, count);
    } catch {
      // Downstream failures must not un-acknowledge durable readings; the consumer logs its own errors.
    }
  }

  /** Stops accepting and waits until everything accepted is committed. */
  async close(): Promise<void> {
    this.#closed = true;
    while (this.#flushing || this.#queue.length > 0) {
      if (!this.#flushing) this.#startFlush();
      await this.#flushing;
    }
  }
}
