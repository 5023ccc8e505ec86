import type { Database, Sql } from './database.ts';

export interface PartitionClaim {
  partition: number;
  epoch: number;
  /** Stream sequence of the last message whose evaluation is in the saved engine state (0 = none). */
  evaluatedSeq: number;
  /** No checkpoint was ever written for this stream (first claim after an upgrade or a new stream). */
  fresh: boolean;
}

/**
 * Leases of detect workers on the partitions of the readings stream (table detect_partition) and
 * their heartbeats (detect_worker). Times are the database's, so workers need no common clock.
 */
export class PartitionLeaseRepository {
  readonly #db: Database;
  readonly #prefix: string;
  constructor(db: Database, prefix: string) {
    this.#db = db;
    this.#prefix = prefix;
  }

  /** Creates the partition rows (once per deployment). */
  async ensurePartitions(count: number): Promise<void> {
    await this.#db.query(
      `insert into detect_partition (prefix, partition)
       select $1, g from generate_series(0, $2::int - 1) g
       on conflict do nothing`,
      [this.#prefix, count],
    );
  }

  /** Heartbeat; answers the workers alive within `liveMs` (sorted), this one included. */
  async heartbeat(workerId: string, liveMs: number): Promise<string[]> {
    await this.#db.query(
      `insert into detect_worker (prefix, worker_id, seen_at) values ($1, $2, now())
       on conflict (prefix, worker_id) do update set seen_at = now()`,
      [this.#prefix, workerId],
    );
    // Workers gone for long are forgotten.
    await this.#db.query(
      `delete from detect_worker where prefix = $1 and seen_at < now() - make_interval(secs => $2::float8 / 100)`,
      [this.#prefix, liveMs],
    );
    const rows = await this.#db.query<{ worker_id: string }>(
      `select worker_id from detect_worker
       where prefix = $1 and seen_at >= now() - make_interval(secs => $2::float8 / 1000)
       order by worker_id`,
      [this.#prefix, liveMs],
    );
    return rows.map((r) => r.worker_id);
  }

  /** Renews this worker's leases; answers the partitions it still holds at the epoch it knows. */
  async renew(workerId: string, held: ReadonlyMap<number, number>, leaseMs: number): Promise<Set<number>> {
    if (held.size === 0) return new Set();
    const rows = await this.#db.query<{ partition: number }>(
      `update detect_partition d set lease_until = now() + make_interval(secs => $3::float8 / 1000)
       from jsonb_to_recordset($4::jsonb) as x(partition int, epoch bigint)
       where d.prefix = $1 and d.owner = $2 and d.partition = x.partition and d.epoch = x.epoch
       returning d.partition`,
      [
        this.#prefix,
        workerId,
        leaseMs,
        JSON.stringify([...held].map(([partition, epoch]) => ({ partition, epoch }))),
      ],
    );
    return new Set(rows.map((r) => r.partition));
  }

  /**
   * Claims a partition that is free or whose lease ran out (a new epoch fences the previous owner).
   * A checkpoint of another stream (re-created) counts as none.
   */
  async claim(
    workerId: string,
    partition: number,
    leaseMs: number,
    streamCreated: string,
  ): Promise<PartitionClaim | undefined> {
    const rows = await this.#db.query<{
      epoch: string | number;
      evaluated_seq: string | number;
      stream_created: string | null;
    }>(
      `update detect_partition set owner = $3, epoch = epoch + 1,
         lease_until = now() + make_interval(secs => $4::float8 / 1000)
       where prefix = $1 and partition = $2
         and (owner is null or owner = $3 or lease_until is null or lease_until < now())
       returning epoch, evaluated_seq, stream_created`,
      [this.#prefix, partition, workerId, leaseMs],
    );
    const r = rows[0];
    if (!r) return undefined;
    return {
      partition,
      epoch: Number(r.epoch),
      evaluatedSeq:
        r.stream_created === null || r.stream_created === streamCreated ? Number(r.evaluated_seq) : 0,
      fresh: r.stream_created !== streamCreated,
    };
  }

  /**
   * In the transaction that saves engine state: records how far each partition is evaluated, for the
   * partitions this worker still holds at its epoch; answers those (the caller writes only the state
   * rows of their patients).
   */
  async checkpoint(
    tx: Sql,
    workerId: string,
    epochs: ReadonlyMap<number, number>,
    evaluated: ReadonlyMap<number, number>,
    streamCreated: string,
  ): Promise<Set<number>> {
    if (epochs.size === 0) return new Set();
    const rows = await tx.query<{ partition: number }>(
      `update detect_partition d set
         evaluated_seq = coalesce(x.seq, d.evaluated_seq),
         stream_created = case when x.seq is null then d.stream_created else $3 end
       from jsonb_to_recordset($4::jsonb) as x(partition int, epoch bigint, seq bigint)
       where d.prefix = $1 and d.owner = $2 and d.partition = x.partition and d.epoch = x.epoch
       returning d.partition`,
      [
        this.#prefix,
        workerId,
        streamCreated,
        JSON.stringify(
          [...epochs].map(([partition, epoch]) => ({
            partition,
            epoch,
            seq: evaluated.get(partition) ?? null,
          })),
        ),
      ],
    );
    return new Set(rows.map((r) => r.partition));
  }

  /** Gives partitions up (after their last checkpoint), so another worker may claim them at once. */
  async release(workerId: string, held: ReadonlyMap<number, number>): Promise<void> {
    if (held.size === 0) return;
    await this.#db.query(
      `update detect_partition d set owner = null, lease_until = null
       from jsonb_to_recordset($3::jsonb) as x(partition int, epoch bigint)
       where d.prefix = $1 and d.owner = $2 and d.partition = x.partition and d.epoch = x.epoch`,
      [this.#prefix, workerId, JSON.stringify([...held].map(([partition, epoch]) => ({ partition, epoch })))],
    );
  }

  async forgetWorker(workerId: string): Promise<void> {
    await this.#db.query('delete from detect_worker where prefix = $1 and worker_id = $2', [
      this.#prefix,
      workerId,
    ]);
  }

  get db(): Database {
    return this.#db;
  }
}
