import {
  AckPolicy,
  DeliverPolicy,
  type JetStreamClient,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
} from '@nats-io/jetstream';
import { connect, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { errorMessage, VigilError } from '../core/errors.ts';
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
  /** Number of partitions (subjects vigil.readings.<0..N-1>); fixed for the life of the stream. Default 16. */
  partitions?: number;
  /** Partitions this process consumes (detect role). Default all. */
  owned?: readonly number[];
  stream?: string;
  /** Subject prefix, e.g. `vigil` → vigil.readings.<p>, vigil.config. Tests use their own. */
  prefix?: string;
  /** Redelivery after this long without an ack (covers the stage's state-save period), ms. Default 60 000. */
  ackWaitMs?: number;
  /** Readings per message at most (a message stays well under the 1 MB default limit). */
  chunk?: number;
}

type Resolved = Required<Omit<NatsBusOptions, 'owned'>> & { owned: readonly number[] };

const enc = new TextEncoder();
const dec = new TextDecoder();

/**
 * The bus on NATS JetStream. Ingest publishes each committed batch split by partition
 * (hash(patientId) mod N) to `<prefix>.readings.<p>`, with a message id so a retried publish is
 * deduplicated by the stream. Detect workers read each partition through its own durable pull
 * consumer `detect-p<p>` (explicit ack, one batch at a time per partition): a batch is acknowledged
 * only when the detection stage says so (after the engine state including it is saved), so a worker
 * restart re-evaluates exactly what the saved state lacks. Configuration changes travel on plain
 * NATS `<prefix>.config` so every worker drops its cached enrolment at once.
 */
export class NatsBus implements ReadingBus {
  readonly kind = 'nats' as const;
  readonly partitions: number;
  readonly #nc: NatsConnection;
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;
  readonly #o: Resolved;
  readonly #stops: Array<() => void> = [];
  readonly #loops: Promise<void>[] = [];
  #configSub: Subscription | undefined;
  #closed = false;
  #consuming = true;

  private constructor(nc: NatsConnection, jsm: JetStreamManager, o: Resolved) {
    this.#nc = nc;
    this.#jsm = jsm;
    this.#js = jetstream(nc);
    this.#o = o;
    this.partitions = o.partitions;
  }

  static async connect(opts: NatsBusOptions): Promise<NatsBus> {
    const partitions = opts.partitions ?? 16;
    const o = {
      url: opts.url,
      log: opts.log.child({ component: 'bus' }),
      partitions,
      owned: opts.owned ?? Array.from({ length: partitions }, (_, i) => i),
      stream: opts.stream ?? 'VIGIL_READINGS',
      prefix: opts.prefix ?? 'vigil',
      ackWaitMs: opts.ackWaitMs ?? 60_000,
      chunk: opts.chunk ?? 500,
    };
    let nc: NatsConnection;
    try {
      nc = await connect({ servers: o.url, name: 'vigil', maxReconnectAttempts: -1 });
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
      try {
        const info = await jsm.streams.info(o.stream);
        if (!info.config.subjects?.includes(subjects[0] as string))
          throw new VigilError(
            'VIGIL_ERR_CONFIG_NATS_STREAM',
            `stream ${o.stream} exists with other subjects`,
            1,
          );
      } catch (e) {
        if (e instanceof VigilError) throw e;
        await jsm.streams.add({
          name: o.stream,
          subjects,
          // Readings are durable in the store; the stream only needs to outlive a worker outage.
          max_age: 7 * 24 * 3600 * 1e9,
          duplicate_window: 2 * 60 * 1e9,
        });
      }
      return new NatsBus(nc, jsm, o);
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

  async consume(handler: BatchHandler): Promise<void> {
    for (const p of this.#o.owned) {
      const durable = `detect-p${p}`;
      const config = {
        durable_name: durable,
        filter_subject: `${this.#o.prefix}.readings.${p}`,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        ack_wait: this.#o.ackWaitMs * 1e6,
        max_ack_pending: 20_000,
        max_deliver: -1,
      };
      try {
        await this.#jsm.consumers.info(this.#o.stream, durable);
      } catch {
        await this.#jsm.consumers.add(this.#o.stream, config);
      }
      const consumer = await this.#js.consumers.get(this.#o.stream, durable);
      const messages = await consumer.consume({ max_messages: 256 });
      this.#stops.push(() => void messages.close());
      this.#loops.push(
        (async () => {
          for await (const m of messages) {
            if (!this.#consuming) break;
            let batch: ReadingBatch;
            try {
              batch = JSON.parse(dec.decode(m.data)) as ReadingBatch;
            } catch {
              this.#o.log.error({ partition: p, seq: m.seq }, 'unreadable bus message dropped');
              m.term();
              continue;
            }
            try {
              await handler(batch, () => m.ack());
            } catch (e) {
              // The stage retries its own side effects; what reaches here is a bug or a stop.
              this.#o.log.error(
                { partition: p, seq: m.seq, err: errorMessage(e) },
                'batch not evaluated; redelivered later',
              );
              m.nak(1000);
            }
          }
        })(),
      );
    }
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

  /** Stops consuming and lets the batch in flight finish; the connection stays open for acks. */
  async stopConsuming(): Promise<void> {
    this.#consuming = false;
    for (const s of this.#stops) s();
    await Promise.allSettled(this.#loops);
  }

  /** Flushes acks and publishes, closes the connection. */
  async close(): Promise<void> {
    if (this.#closed) return;
    await this.stopConsuming();
    this.#closed = true;
    await this.#nc.drain().catch(() => {});
  }
}
