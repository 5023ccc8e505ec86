import type { DeviceStatusReport, Reading } from '../core/reading.ts';

/** Committed readings and status reports of one partition (one patient's always travel together in order). */
export interface ReadingBatch {
  readings: Reading[];
  statuses: DeviceStatusReport[];
}

/**
 * Called for each batch in order per partition. `ack` tells the bus the batch is fully handled
 * (the detection stage calls it once the state that includes the batch is durable): a batch not
 * acknowledged is delivered again after a restart.
 */
export type BatchHandler = (batch: ReadingBatch, ack: () => void) => Promise<void>;

/** A configuration change another process must hear of (drop a cached enrolment / program list). */
export interface ConfigChange {
  patientId?: string;
  programs?: boolean;
}

/**
 * The bus port between the store (committed readings) and the detection stage. In-process by
 * default; NATS JetStream when scaled out (nats-bus.ts): subjects per partition, partition =
 * hash(patientId) mod N, so one patient's readings are evaluated in order by one worker at a time.
 */
export interface ReadingBus {
  readonly kind: 'in-process' | 'nats';
  /** After the commit: hand committed, attributed readings to the detection stage. */
  publish(batch: ReadingBatch): Promise<void>;
  /** Detection role: receive batches (in order per partition). */
  consume(handler: BatchHandler): Promise<void>;
  publishConfigChange(change: ConfigChange): void;
  onConfigChange(l: (change: ConfigChange) => void): void;
  /** Stop delivering; resolves once the handler of a batch in flight has returned. Acks still work. */
  stopConsuming(): Promise<void>;
  /** Stop publishing and close (after stopConsuming and the stage's last save). */
  close(): Promise<void>;
}

/** Stable partition of a patient: FNV-1a 32-bit of the id, mod `partitions`. */
export function partitionOf(patientId: string, partitions: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < patientId.length; i++) {
    h ^= patientId.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % partitions;
}

/** Splits a committed batch by partition, keeping the order within each. */
export function splitByPartition(batch: ReadingBatch, partitions: number): Map<number, ReadingBatch> {
  const out = new Map<number, ReadingBatch>();
  const of = (p: number) => {
    let b = out.get(p);
    if (!b) {
      b = { readings: [], statuses: [] };
      out.set(p, b);
    }
    return b;
  };
  for (const r of batch.readings)
    if (r.patientId !== null) of(partitionOf(r.patientId, partitions)).readings.push(r);
  for (const s of batch.statuses)
    if (s.patientId !== null) of(partitionOf(s.patientId, partitions)).statuses.push(s);
  return out;
}

/**
 * In-process bus: batches are handed to the handler one at a time in publish order. Best effort
 * across a crash (see docs/pipeline.md): readings committed but not yet evaluated when the process
 * dies are not evaluated after the restart.
 */
export class InProcessBus implements ReadingBus {
  readonly kind = 'in-process' as const;
  #handler: BatchHandler | undefined;
  #chain: Promise<void> = Promise.resolve();
  #closed = false;
  readonly #onError: (e: unknown) => void;

  constructor(onError: (e: unknown) => void = () => {}) {
    this.#onError = onError;
  }

  publish(batch: ReadingBatch): Promise<void> {
    const h = this.#handler;
    if (!h || this.#closed || (batch.readings.length === 0 && batch.statuses.length === 0))
      return Promise.resolve();
    const run = this.#chain.then(() => h(batch, () => {})).catch(this.#onError);
    this.#chain = run;
    return run;
  }

  async consume(handler: BatchHandler): Promise<void> {
    this.#handler = handler;
  }

  /** One process: the monitoring service already told its own listeners. */
  publishConfigChange(_change: ConfigChange): void {}

  onConfigChange(_l: (change: ConfigChange) => void): void {}

  /** Resolves when every batch published so far is handled. */
  async idle(): Promise<void> {
    let c: Promise<void>;
    do {
      c = this.#chain;
      await c;
    } while (c !== this.#chain);
  }

  async stopConsuming(): Promise<void> {
    this.#closed = true;
    await this.#chain;
  }

  async close(): Promise<void> {
    await this.stopConsuming();
  }
}
