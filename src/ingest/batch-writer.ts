import { isVigilError } from '../core/errors.ts';
import type { DeviceStatusReport, Reading } from '../core/reading.ts';
import type { Database, Sql } from '../store/database.ts';
import type { DeadLetter } from '../store/dead-letter-repository.ts';

/** A refused payload on its way to the dead-letter store (committed with the readings of its batch). */
export type PendingDeadLetter = Omit<DeadLetter, 'replayedAt' | 'replayResult'>;

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
 *
 * `concurrency` transactions may be in flight at once (PostgreSQL: a pool of connections; PGlite has
 * one connection, so 1). Each request is still resolved only after its own transaction commits;
 * listeners receive committed batches in the order the batches were formed.
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
  readonly #concurrency: number;
  #queue: Pending[] = [];
  #queuedReadings = 0;
  readonly #flushing = new Set<Promise<void>>();
  /** Listener delivery in batch formation order: next turn to hand out, next turn to run. */
  #nextTurn = 0;
  #turn = 0;
  readonly #ready = new Map<number, () => void>();
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(opts: {
    db: Database;
    sink: BatchSink;
    maxBatch: number;
    maxWaitMs: number;
    /** Transactions in flight at once (default 1). */
    concurrency?: number;
    onCommitted: (readings: Reading[], statuses: DeviceStatusReport[], ms: number, size: number) => void;
  }) {
    this.#concurrency = Math.max(1, opts.concurrency ?? 1);
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
    // all slots busy: a running flush picks the queue up when it ends
    if (this.#flushing.size >= this.#concurrency) return;
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
    if (this.#flushing.size >= this.#concurrency || this.#queue.length === 0) return;
    const flushing: Promise<void> = this.#flush().finally(() => {
      this.#flushing.delete(flushing);
      if (this.#queue.length > 0) this.#startFlush(); // what waited for a free slot goes at once
    });
    this.#flushing.add(flushing);
  }

  async #flush(): Promise<void> {
    let count = 0;
    let k = 0;
    for (; k < this.#queue.length && (count === 0 || count < this.#maxBatch); k++) {
      const p = this.#queue[k] as Pending;
      count += p.req.readings.length + p.req.deadLetters.length;
    }
    const taken = this.#queue.splice(0, k);
    this.#queuedReadings -= count;
    try {
      await this.#commit(taken, count);
    } catch (e) {
      // The store is unreachable: every request of the group fails alike; retrying them one by one
      // would only multiply the wait (each bounded by the store timeout).
      if (taken.length === 1 || (isVigilError(e) && e.status === 503)) {
        for (const p of taken) p.reject(e);
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
    const turn = this.#nextTurn++; // delivery order = batch formation order
    let inserted: Set<string>;
    try {
      inserted = await this.#db.transaction((sql) => this.#sink.commit(sql, batch));
    } catch (e) {
      this.#deliver(turn, () => {});
      throw e;
    }
    const ms = performance.now() - t0;
    for (const p of taken) p.resolve({ inserted });
    const fresh = batch.readings.filter((r) => inserted.has(r.id));
    this.#deliver(turn, () => this.#onCommitted(fresh, batch.statuses, ms, count));
  }

  /** Runs the listener call of `turn` once all earlier turns ran (at once when they already have). */
  #deliver(turn: number, call: () => void): void {
    this.#ready.set(turn, call);
    for (let next = this.#ready.get(this.#turn); next; next = this.#ready.get(this.#turn)) {
      this.#ready.delete(this.#turn);
      this.#turn++;
      try {
        next();
      } catch {
        // Downstream failures must not un-acknowledge durable readings; the consumer logs its own errors.
      }
    }
  }

  /** Stops accepting and waits until everything accepted is committed. */
  async close(): Promise<void> {
    this.#closed = true;
    while (this.#flushing.size > 0 || this.#queue.length > 0) {
      if (this.#flushing.size === 0) this.#startFlush();
      await Promise.all(this.#flushing);
    }
  }
}
