import { hostname } from 'node:os';
import { errorMessage } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import type { Logger } from '../core/logger.ts';
import type { EngineStateRepository } from '../store/engine-state-repository.ts';
import type { PartitionLeaseRepository } from '../store/partition-lease-repository.ts';
import { partitionOf } from './bus.ts';
import type { DetectionStage } from './detection-stage.ts';
import type { NatsBus } from './nats-bus.ts';

export interface PartitionCoordinatorOptions {
  bus: NatsBus;
  leases: PartitionLeaseRepository;
  states: EngineStateRepository;
  log: Logger;
  /** A lease not renewed for this long is free to claim (a dead worker's partitions move then), ms. Default 10 000. */
  leaseMs?: number;
  /** Heartbeat and rebalance period, ms. Default leaseMs / 5. */
  heartbeatMs?: number;
}

/**
 * Partition ownership of the detect workers of one deployment (NATS prefix). Every worker heartbeats
 * in `detect_worker`; the live workers, sorted, share the partitions round-robin (partition p →
 * live[p mod n]); a worker claims what is its share once its lease is free or ran out, and hands
 * over what is no longer its share: stops reading it, saves the state of its patients with the
 * partition's checkpoint, releases the lease. The claimer restores that state from the store and
 * reads the partition from the message after the checkpoint. Each claim raises the lease's epoch:
 * a worker that lost its lease (paused, cut off) can no longer write a checkpoint or state rows of
 * that partition (fencing), and drops it.
 */
export class PartitionCoordinator {
  readonly workerId = `${hostname()}-${process.pid}-${newId().slice(-8)}`;
  readonly #o: PartitionCoordinatorOptions;
  readonly #leaseMs: number;
  readonly #log: Logger;
  /** Partitions held → lease epoch. */
  readonly #held = new Map<number, number>();
  #stage: DetectionStage | undefined;
  #timer: NodeJS.Timeout | undefined;
  #step: Promise<void> = Promise.resolve();
  #stopped = false;

  constructor(o: PartitionCoordinatorOptions) {
    this.#o = o;
    this.#leaseMs = o.leaseMs ?? 10_000;
    this.#log = o.log.child({ component: 'partitions', worker: this.workerId });
  }

  /** The stage's `partitioned` option: state rows and checkpoints written under the lease. */
  readonly partitioned = {
    partitionOf: (patientId: string) => partitionOf(patientId, this.#o.bus.partitions),
    commit: async (
      rows: ReadonlyArray<{ patientId: string; state: unknown }>,
      savedAt: string,
      evaluated: ReadonlyMap<number, number>,
    ): Promise<ReadonlySet<number>> => {
      const epochs = new Map(
        [...evaluated.keys()].flatMap((p) => {
          const e = this.#held.get(p);
          return e === undefined ? [] : [[p, e] as const];
        }),
      );
      const held = await this.#o.leases.db.transaction(async (tx) => {
        const ok = await this.#o.leases.checkpoint(
          tx,
          this.workerId,
          epochs,
          evaluated,
          this.#o.bus.streamCreated,
        );
        const mine = rows.filter((r) => ok.has(this.partitioned.partitionOf(r.patientId)));
        for (let i = 0; i < mine.length; i += 500)
          await this.#o.states.saveIn(tx, mine.slice(i, i + 500), savedAt);
        return ok;
      });
      const lost = [...epochs.keys()].filter((p) => !held.has(p));
      if (lost.length > 0) void this.#lose(lost);
      return held;
    },
  };

  /** Starts heartbeats and the first claim (resolves after the first round). */
  async start(stage: DetectionStage): Promise<void> {
    this.#stage = stage;
    await this.#o.leases.ensurePartitions(this.#o.bus.partitions);
    await this.rebalance();
    const every = this.#o.heartbeatMs ?? Math.max(200, Math.floor(this.#leaseMs / 5));
    this.#timer = setInterval(() => void this.rebalance().catch(() => {}), every);
    this.#timer.unref();
  }

  held(): number[] {
    return [...this.#held.keys()].sort((a, b) => a - b);
  }

  /** One round: heartbeat, renew, hand over what is not this worker's share, claim what is. */
  rebalance(): Promise<void> {
    const run = this.#step.then(() => this.#round());
    this.#step = run.catch((e) => this.#log.warn({ err: errorMessage(e) }, 'partition rebalance failed'));
    return run;
  }

  async #round(): Promise<void> {
    const stage = this.#stage;
    if (this.#stopped || !stage) return;
    const { leases, bus } = this.#o;
    const live = await leases.heartbeat(this.workerId, this.#leaseMs);
    const me = live.indexOf(this.workerId);
    const share = new Set<number>();
    for (let p = 0; p < bus.partitions; p++) if (me >= 0 && p % live.length === me) share.add(p);

    const still = await leases.renew(this.workerId, this.#held, this.#leaseMs);
    const lost = [...this.#held.keys()].filter((p) => !still.has(p));
    if (lost.length > 0) await this.#lose(lost);

    const give = [...this.#held.keys()].filter((p) => !share.has(p));
    if (give.length > 0) {
      for (const p of give) await bus.stopPartition(p);
      await stage.releasePartitions(give);
      const epochs = new Map(give.map((p) => [p, this.#held.get(p) as number]));
      await leases.release(this.workerId, epochs);
      for (const p of give) this.#held.delete(p);
      this.#log.info({ partitions: give }, 'partitions handed over');
    }

    const want = [...share].filter((p) => !this.#held.has(p));
    const claims: Array<{ partition: number; seq: number }> = [];
    for (const p of want) {
      if (this.#stopped) return;
      const c = await leases.claim(this.workerId, p, this.#leaseMs, bus.streamCreated);
      if (!c) continue; // still held by another worker: it hands over, or its lease runs out
      this.#held.set(p, c.epoch);
      // First claim on this stream: a worker of the previous design may have evaluated (and saved
      // the state of) the partition up to its durable consumer's acknowledged floor.
      const legacy = c.fresh && c.evaluatedSeq === 0 ? await bus.legacyAckFloor(p) : undefined;
      claims.push({ partition: p, seq: legacy ?? c.evaluatedSeq });
    }
    if (claims.length === 0) return;
    await stage.claimPartitions(claims);
    const failed: number[] = [];
    for (const c of claims) {
      try {
        await bus.consumePartition(c.partition, c.seq + 1, (batch, at) =>
          stage.accept(batch, () => {}, at).then(() => {}),
        );
      } catch (e) {
        this.#log.warn(
          { partition: c.partition, err: errorMessage(e) },
          'cannot read partition; given up for now',
        );
        failed.push(c.partition);
      }
    }
    if (failed.length > 0) {
      // Nothing of it was evaluated: forget it and free the lease, claimed again next round.
      await stage.dropPartitions(failed);
      await leases.release(this.workerId, new Map(failed.map((p) => [p, this.#held.get(p) as number])));
      for (const p of failed) this.#held.delete(p);
    }
    this.#log.info(
      { partitions: claims.map((c) => c.partition).filter((p) => !failed.includes(p)) },
      'partitions claimed',
    );
  }

  async #lose(ps: number[]): Promise<void> {
    const mine = ps.filter((p) => this.#held.has(p));
    if (mine.length === 0) return;
    for (const p of mine) this.#held.delete(p);
    for (const p of mine) await this.#o.bus.stopPartition(p);
    await this.#stage?.dropPartitions(mine);
    this.#log.warn({ partitions: mine }, 'partition lease lost; another worker evaluates it');
  }

  /** Stops rebalancing and reading (the stage's final save still writes under the leases). */
  async stopConsuming(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    await this.#step.catch(() => {});
    await this.#o.bus.stopConsuming();
  }

  /** After the stage's final save: gives every lease up so the other workers take over at once. */
  async release(): Promise<void> {
    await this.#o.leases.release(this.workerId, this.#held).catch(() => {});
    this.#held.clear();
    await this.#o.leases.forgetWorker(this.workerId).catch(() => {});
  }
}
