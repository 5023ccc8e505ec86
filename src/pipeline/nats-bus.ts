import { DeliverPolicy, type JetStreamClient, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { errorMessage, VigilError } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import type { Logger } from '../core/logger.ts';
import {
  type BatchHandler,
  type ConfigChange,
  type ReadingBatch,
  type ReadingBus,
  splitByPartition,
} from './bus.ts';

export interface NatsBusOptions {
  url: string;
  log: Logger;
  /** Number of partitions (subjects <prefix>.readings.<0..N-1>); fixed for the life of the stream. Default 16. */
  partitions?: number;
  /**
   * Deployment prefix of every name: subjects `<prefix>.readings.<p>` and `<prefix>.config`, stream
   * `<PREFIX>_READINGS`. Default `vigil`.
   */
  prefix?: string;
  /** Readings per message at most (a message stays well under the 1 MB default limit). */
  chunk?: number;
}

/** Where a batch sits in the stream: its partition and stream sequence. */
export interface StreamPosition {
  partition: number;
  seq: number;
}

export type PartitionHandler = (batch: ReadingBatch, at: StreamPosition) => Promise<void>;

type Resolved = Required<NatsBusOptions> & { stream: string };

const enc = new TextEncoder();
const dec = new TextDecoder();

/** The readings stream of a deployment prefix (`vigil` → `VIGIL_READINGS`). */
export function readingsStreamName(prefix: string): string {
  return `${prefix.toUpperCase()}_READINGS`;
}

/**
 * The bus on NATS JetStream. Ingest publishes each committed batch split by partition
 * (hash(patientId) mod N) to `<prefix>.readings.<p>`, with a message id so a retried publish is
 * deduplicated by the stream. A detect worker reads only the partitions it holds a lease on
 * (partition-coordinator.ts), each through an ordered consumer that starts after the stream
 * sequence its saved engine state reaches: nothing is acknowledged, the checkpoint in the store is
 * the position. Configuration changes travel on plain NATS `<prefix>.config` so every worker drops
 * its cached enrolment at once.
 */
export class NatsBus implements ReadingBus {
  readonly kind = 'nats' as const;
  readonly partitions: number;
  readonly prefix: string;
  /** Creation time of the stream: a checkpoint of a stream since re-created does not apply. */
  readonly streamCreated: string;
  readonly #nc: NatsConnection;
  readonly #js: JetStreamClient;
  readonly #o: Resolved;
  readonly #consumers = new Map<number, { close: () => void; loop: Promise<void> }>();
  #configSub: Subscription | undefined;
  #closed = false;

  private constructor(nc: NatsConnection, o: Resolved, streamCreated: string) {
    this.#nc = nc;
    this.#js = jetstream(nc);
    this.#o = o;
    this.partitions = o.partitions;
    this.prefix = o.prefix;
    this.streamCreated = streamCreated;
  }

  static async connect(opts: NatsBusOptions): Promise<NatsBus> {
    const partitions = opts.partitions ?? 16;
    const prefix = opts.prefix ?? 'vigil';
    const o: Resolved = {
      url: opts.url,
      log: opts.log.child({ component: 'bus' }),
      partitions,
      prefix,
      stream: readingsStreamName(prefix),
      chunk: opts.chunk ?? 500,
    };
    let nc: NatsConnection;
    try {
      nc = await connect({ servers: o.url, name: `vigil-${prefix}`, maxReconnectAttempts: -1 });
    } catch (e) {
      throw new VigilError(
        'VIGIL_ERR_CONFIG_NATS_UNREACHABLE',
        `cannot reach NATS at VIGIL_NATS_URL: ${errorMessage(e)}`,
        1,
      );
    }
    try {
      const jsm = await jetstreamManager(nc);
      const subjects = [`${o.prefix}.readings.>`];
      let created: string;
      try {
        const info = await jsm.streams.info(o.stream);
        if (!info.config.subjects?.includes(subjects[0] as string))
          throw new VigilError(
            'VIGIL_ERR_CONFIG_NATS_STREAM',
            `stream ${o.stream} exists with other subjects`,
            1,
          );
        created = info.created;
      } catch (e) {
        if (e instanceof VigilError) throw e;
        const info = await jsm.streams.add({
          name: o.stream,
          subjects,
          // Readings are durable in the store; the stream only needs to outlive a worker outage.
          max_age: 7 * 24 * 3600 * 1e9,
          duplicate_window: 2 * 60 * 1e9,
        });
        created = info.created;
      }
      return new NatsBus(nc, o, created);
    } catch (e) {
      await nc.close().catch(() => {});
      if (e instanceof VigilError) throw e;
      throw new VigilError(
        'VIGIL_ERR_CONFIG_NATS_UNREACHABLE',
        `NATS JetStream is not usable: ${errorMessage(e)}`,
        1,
      );
    }
  }

  async publish(batch: ReadingBatch): Promise<void> {
    if (this.#closed) return;
    const parts = splitByPartition(batch, this.partitions);
    await Promise.all(
      [...parts].map(async ([p, b]) => {
        for (let i = 0; i < Math.max(b.readings.length, 1); i += this.#o.chunk) {
          const part: ReadingBatch = {
            readings: b.readings.slice(i, i + this.#o.chunk),
            statuses: i === 0 ? b.statuses : [],
          };
          if (part.readings.length === 0 && part.statuses.length === 0) continue;
          // Stable id of this message: a retry after a lost PubAck is dropped by the stream.
          const first = part.readings[0]?.id ?? `${part.statuses[0]?.deviceId}|${part.statuses[0]?.received}`;
          await this.#js.publish(`${this.#o.prefix}.readings.${p}`, enc.encode(JSON.stringify(part)), {
            msgID: `${first}:${part.readings.length}:${part.statuses.length}`,
          });
        }
      }),
    );
  }

  /** The partitioned bus is read per partition (consumePartition) by the partition coordinator. */
  async consume(_handler: BatchHandler): Promise<void> {
    throw new Error('NatsBus: partitions are consumed through consumePartition (partition leases)');
  }

  /**
   * Reads one partition in stream order from `fromSeq` (an ordered consumer: no acknowledgements,
   * the caller's checkpoint is the position), one batch at a time.
   */
  async consumePartition(partition: number, fromSeq: number, handler: PartitionHandler): Promise<void> {
    if (this.#consumers.has(partition)) throw new Error(`partition ${partition} is consumed already`);
    const consumer = await this.#js.consumers.get(this.#o.stream, {
      // A name of its own per reader: a dead reader's consumer (until it expires) keeps its name.
      name_prefix: `${this.#o.prefix}-detect-p${partition}-${newId().slice(-12)}`,
      filter_subjects: `${this.#o.prefix}.readings.${partition}`, // a string: NATS servers before 2.10 too
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: Math.max(1, fromSeq),
    });
    const messages = await consumer.consume({ max_messages: 256 });
    let open = true;
    const loop = (async () => {
      for await (const m of messages) {
        if (!open) break;
        let batch: ReadingBatch;
        try {
          batch = JSON.parse(dec.decode(m.data)) as ReadingBatch;
        } catch {
          this.#o.log.error({ partition, seq: m.seq }, 'unreadable bus message skipped');
          continue;
        }
        try {
          await handler(batch, { partition, seq: m.seq });
        } catch (e) {
          // The stage retries its own side effects: what reaches here is a stop. The partition's
          // checkpoint stays before this batch, so its next reader evaluates it.
          this.#o.log.error({ partition, seq: m.seq, err: errorMessage(e) }, 'batch not evaluated');
          open = false;
          break;
        }
      }
    })();
    this.#consumers.set(partition, {
      close: () => {
        open = false;
        void messages.close();
      },
      loop,
    });
  }

  /**
   * Upgrade from one detect worker per stream: the acknowledged floor of the durable consumer
   * `detect-p<p>` that read this partition before partition leases (its engine state is saved up to
   * there), or undefined when there is none.
   */
  async legacyAckFloor(partition: number): Promise<number | undefined> {
    try {
      const jsm = await jetstreamManager(this.#nc);
      const info = await jsm.consumers.info(this.#o.stream, `detect-p${partition}`);
      return info.ack_floor.stream_seq;
    } catch {
      return undefined;
    }
  }

  /** Stops reading a partition; resolves once the handler of a batch in flight has returned. */
  async stopPartition(partition: number): Promise<void> {
    const c = this.#consumers.get(partition);
    if (!c) return;
    this.#consumers.delete(partition);
    c.close();
    await c.loop.catch(() => {});
  }

  publishConfigChange(change: ConfigChange): void {
    if (this.#closed) return;
    this.#nc.publish(`${this.#o.prefix}.config`, enc.encode(JSON.stringify(change)));
  }

  onConfigChange(l: (change: ConfigChange) => void): void {
    this.#configSub ??= this.#nc.subscribe(`${this.#o.prefix}.config`);
    const sub = this.#configSub;
    void (async () => {
      for await (const m of sub) {
        try {
          l(JSON.parse(dec.decode(m.data)) as ConfigChange);
        } catch {
          /* not ours */
        }
      }
    })();
  }

  /** Stops every partition consumer and lets the batch in flight finish; the connection stays open. */
  async stopConsuming(): Promise<void> {
    await Promise.all([...this.#consumers.keys()].map((p) => this.stopPartition(p)));
  }

  /** Flushes publishes, closes the connection. */
  async close(): Promise<void> {
    if (this.#closed) return;
    await this.stopConsuming();
    this.#closed = true;
    await this.#nc.drain().catch(() => {});
  }
}
