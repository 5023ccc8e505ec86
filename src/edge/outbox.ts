import { newId } from '../core/ids.ts';
import type { Reading } from '../core/reading.ts';
import { type Database, type Sql, toJsonParam } from '../store/database.ts';
import type { QueueClass } from './continuity.ts';
import { summariseByMinute } from './summarise.ts';
import type { ForwardedAlert, ForwardedSummary, ForwardRecord } from './wire.ts';

/** How far back the alert sweep looks again (an alert transaction started before the last sweep). */
const sweepOverlapMs = 60_000;

/**
 * Sequence numbers for `n` new rows, ascending: taken one by one from the table's sequence (so
 * they never collide with another transaction's) and given to the rows in their order explicitly —
 * an `insert … select … order by` does not promise that the defaults follow the order.
 */
async function nextSeqs(sql: Sql, n: number): Promise<number[]> {
  const rows = await sql.query<{ seq: string }>(
    `select nextval(pg_get_serial_sequence('edge_outbox', 'seq'))::text as seq from generate_series(1, $1::int)`,
    [n],
  );
  return rows.map((r) => Number(r.seq)).sort((a, b) => a - b);
}

async function insertRecords(
  sql: Sql,
  rows: ReadonlyArray<{
    kind: string;
    device_id: string | null;
    ref_id: string;
    class: QueueClass;
    payload: unknown;
  }>,
): Promise<void> {
  if (rows.length === 0) return;
  const seqs = await nextSeqs(sql, rows.length);
  await sql.query(
    `insert into edge_outbox (seq, kind, device_id, ref_id, ref_version, class, payload)
     select x.seq, x.kind, x.device_id, x.ref_id, 1, x.class, x.payload
     from jsonb_to_recordset($1::jsonb) as x(seq bigint, kind text, device_id text, ref_id text, class text, payload jsonb)
     on conflict (kind, ref_id, ref_version) do nothing`,
    [toJsonParam(rows.map((r, i) => ({ ...r, seq: seqs[i] })))],
  );
}

/** Queues stored readings in the transaction that stores them (the ingest commit), in their order. */
export async function enqueueReadings(
  sql: Sql,
  readings: readonly Reading[],
  classOf: (r: Reading) => QueueClass,
): Promise<void> {
  await insertRecords(
    sql,
    readings.map((r) => ({
      kind: 'reading',
      device_id: r.deviceId,
      ref_id: r.id,
      class: classOf(r),
      payload: r,
    })),
  );
}

export interface OutboxCounters {
  summarisedReadings: number;
  droppedReadings: number;
}

/**
 * The hub's store-and-forward queue (table `edge_outbox`, migration 0600): every record the edge
 * commits to send, in commit order. Readings are queued inside their own ingest transaction;
 * alert versions by a sweep of the alert table (its cursor is in `edge_state`).
 */
export class EdgeOutbox {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  /**
   * Queues every alert version written since the last sweep (idempotent: one row per alert id and
   * version) and marks the readings an alert cites as evidence `keep`: an alert's window is never
   * summarised away. Returns how many alert versions were queued.
   */
  async sweepAlerts(): Promise<number> {
    return this.#db.transaction(async (sql) => {
      const cur = await sql.query<{ value: string }>(
        `select value #>> '{}' as value from edge_state where key = 'alert-cursor'`,
      );
      const since = cur[0] ? new Date(Date.parse(cur[0].value) - sweepOverlapMs).toISOString() : '-infinity';
      const queued = await sql.query<{ ref_id: string }>(
        `insert into edge_outbox (kind, device_id, ref_id, ref_version, class, payload)
         select 'alert', a.device_id, a.id::text, a.version, 'keep', jsonb_build_object(
             'id', a.id, 'version', a.version, 'conditionKey', a.condition_key, 'rule', a.rule,
             'severity', a.severity, 'state', a.state, 'summary', a.summary, 'evidence', a.evidence,
             'data', a.data, 'deviceId', a.device_id, 'raisedAt', a.raised_at,
             'lastDetectionAt', a.last_detection_at, 'resolvedAt', a.resolved_at)
         from alert a where a.updated_at >= $1::timestamptz
         order by a.updated_at, a.id
         on conflict (kind, ref_id, ref_version) do nothing
         returning ref_id`,
        [since],
      );
      if (queued.length > 0) {
        await sql.query(
          `update edge_outbox set class = 'keep'
           where kind = 'reading' and class = 'continuous'
             and ref_id in (select jsonb_array_elements_text(a.evidence) from alert a
                            where a.id::text in (select jsonb_array_elements_text($1::jsonb)))`,
          [toJsonParam(queued.map((q) => q.ref_id))],
        );
      }
      const max = await sql.query<{ at: string | null }>(
        `select max(updated_at)::text as at from alert where updated_at >= $1::timestamptz`,
        [since],
      );
      if (max[0]?.at)
        await sql.query(
          `insert into edge_state (key, value) values ('alert-cursor', to_jsonb($1::timestamptz))
           on conflict (key) do update set value = excluded.value`,
          [max[0].at],
        );
      return queued.length;
    });
  }

  /** The oldest waiting records, in commit order. */
  async peek(limit: number, opts: { keepOnly?: boolean } = {}): Promise<ForwardRecord[]> {
    // keepOnly (summaries on): continuous readings wait for summariseHeld instead of going up
    const rows = await this.#db.query<{ seq: string; kind: ForwardRecord['kind']; payload: unknown }>(
      `select o.seq::text as seq, o.kind, o.payload from edge_outbox o
       where o.rejected_at is null and (not $2::boolean or o.class = 'keep') order by o.seq limit $1`,
      [limit, opts.keepOnly === true],
    );
    return rows.map((r) => {
      const seq = Number(r.seq);
      if (r.kind === 'reading') return { seq, kind: 'reading', reading: r.payload as Reading };
      if (r.kind === 'alert') return { seq, kind: 'alert', alert: r.payload as ForwardedAlert };
      return { seq, kind: 'summary', summary: r.payload as ForwardedSummary };
    });
  }

  /** Records the centre answered for: gone from the queue; refused ones kept with their reason. */
  async settle(
    done: readonly number[],
    rejected: ReadonlyArray<{ seq: number; code: string }>,
  ): Promise<void> {
    await this.#db.transaction(async (sql) => {
      if (done.length > 0)
        await sql.query(
          'delete from edge_outbox where seq in (select jsonb_array_elements_text($1::jsonb)::bigint)',
          [toJsonParam(done)],
        );
      if (rejected.length > 0)
        await sql.query(
          `update edge_outbox o set rejected_at = now(), rejected_reason = x.code
           from jsonb_to_recordset($1::jsonb) as x(seq bigint, code text) where o.seq = x.seq`,
          [toJsonParam(rejected)],
        );
    });
  }

  async stats(): Promise<{ depth: number; oldest: string | null; rejected: number } & OutboxCounters> {
    const [q] = await this.#db.query<{ depth: number; oldest: string | null; rejected: number }>(
      `select count(*) filter (where rejected_at is null)::int as depth,
              min(created_at) filter (where rejected_at is null) as oldest,
              count(*) filter (where rejected_at is not null)::int as rejected
       from edge_outbox`,
    );
    const counters = await this.counters();
    const oldest = q?.oldest as unknown;
    return {
      depth: q?.depth ?? 0,
      oldest: oldest instanceof Date ? oldest.toISOString() : oldest ? String(oldest) : null,
      rejected: q?.rejected ?? 0,
      ...counters,
    };
  }

  async counters(): Promise<OutboxCounters> {
    const rows = await this.#db.query<{ key: string; n: number }>(
      `select key, (value #>> '{}')::int as n from edge_state where key in ('summarised', 'dropped')`,
    );
    const get = (k: string) => rows.find((r) => r.key === k)?.n ?? 0;
    return { summarisedReadings: get('summarised'), droppedReadings: get('dropped') };
  }

  /**
   * The stated policy when the queue holds more than `maxRows` waiting records: the oldest
   * continuous readings (never alerts, spot readings or alert evidence) are replaced by per-minute
   * summaries, counted; readings without a numeric value are dropped, counted. When only `keep`
   * records are left the queue grows past its bound rather than lose one. Returns readings removed.
   */
  async enforceBound(maxRows: number): Promise<number> {
    // an upper bound first, from the ends of the pending index (no scan): a long queue is not
    // counted every few seconds on the hub's one database connection unless it may be full
    const [est] = await this.#db.query<{ n: string | null }>(
      'select (max(seq) - min(seq) + 1)::text as n from edge_outbox where rejected_at is null',
    );
    if (Number(est?.n ?? 0) <= maxRows) return 0;
    const [q] = await this.#db.query<{ depth: number }>(
      'select count(*)::int as depth from edge_outbox where rejected_at is null',
    );
    const excess = (q?.depth ?? 0) - maxRows;
    if (excess <= 0) return 0;
    // a little more than the excess, so the next few commits do not trigger it again at once
    const take = Math.min(excess + Math.max(100, Math.floor(maxRows / 100)), 20_000);
    return this.#db.transaction(async (sql) => {
      const rows = await sql.query<{ seq: string; payload: Reading }>(
        `select o.seq::text as seq, o.payload from edge_outbox o
         where o.class = 'continuous' and o.rejected_at is null order by o.seq limit $1 for update`,
        [take],
      );
      return summariseRows(sql, rows, 'drop');
    });
  }

  /**
   * Less traffic (VIGIL_EDGE_SUMMARY_AFTER_MINUTES): continuous readings committed before
   * `olderThan` leave the queue as per-minute summaries — except those of a patient within
   * `windowMs` of one of the patient's alerts (before its start, after its end; an open alert
   * keeps everything since its start), which become `keep` and go up in full, as do readings
   * without a numeric value. The readings themselves stay in the hub's store.
   */
  async summariseHeld(olderThan: string, windowMs: number): Promise<number> {
    return this.#db.transaction(async (sql) => {
      await sql.query(
        `update edge_outbox o set class = 'keep'
         where o.class = 'continuous' and o.rejected_at is null and o.created_at < $1::timestamptz
           and exists (select 1 from alert a where a.patient_id = o.payload->>'patientId'
             and (o.payload->>'effective')::timestamptz
                 between a.raised_at - make_interval(secs => $2::double precision)
                     and coalesce(a.resolved_at, 'infinity'::timestamptz) + make_interval(secs => $2::double precision))`,
        [olderThan, windowMs / 1000],
      );
      const rows = await sql.query<{ seq: string; payload: Reading }>(
        `select o.seq::text as seq, o.payload from edge_outbox o
         where o.class = 'continuous' and o.rejected_at is null and o.created_at < $1::timestamptz
         order by o.seq limit 20000 for update`,
        [olderThan],
      );
      return summariseRows(sql, rows, 'keep');
    });
  }
}

/**
 * Replaces queued continuous readings by per-minute summaries (counted). A reading without a
 * numeric value is dropped (`drop`, counted: the queue is full) or sent in full (`keep`).
 */
async function summariseRows(
  sql: Sql,
  rows: ReadonlyArray<{ seq: string; payload: Reading }>,
  unsummarisable: 'drop' | 'keep',
): Promise<number> {
  if (rows.length === 0) return 0;
  const { summaries, unsummarised } = summariseByMinute(rows.map((r) => r.payload));
  const apart = new Set(unsummarised.map((r) => r.id));
  const summarised = rows.filter((r) => !apart.has(r.payload.id));
  const toDelete = unsummarisable === 'drop' ? rows : summarised;
  await sql.query(
    'delete from edge_outbox where seq in (select jsonb_array_elements_text($1::jsonb)::bigint)',
    [toJsonParam(toDelete.map((r) => Number(r.seq)))],
  );
  if (unsummarisable === 'keep' && unsummarised.length > 0)
    await sql.query(
      `update edge_outbox set class = 'keep' where seq in (select jsonb_array_elements_text($1::jsonb)::bigint)`,
      [toJsonParam(rows.filter((r) => apart.has(r.payload.id)).map((r) => Number(r.seq)))],
    );
  if (summaries.length > 0) {
    const records: ForwardedSummary[] = summaries.map((s) => ({ id: newId(), ...s }));
    await insertRecords(
      sql,
      records.map((r) => ({
        kind: 'summary',
        device_id: r.deviceId,
        ref_id: r.id,
        class: 'keep',
        payload: r,
      })),
    );
  }
  const add = async (key: string, n: number) => {
    if (n > 0)
      await sql.query(
        `insert into edge_state (key, value) values ($1, to_jsonb($2::int))
         on conflict (key) do update set value = to_jsonb((edge_state.value #>> '{}')::int + $2::int)`,
        [key, n],
      );
  };
  await add('summarised', summarised.length);
  if (unsummarisable === 'drop') await add('dropped', unsummarised.length);
  return unsummarisable === 'drop' ? rows.length : summarised.length;
}
