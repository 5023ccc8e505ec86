import type { Database, Sql } from './database.ts';

export type SubscriptionStatus = 'requested' | 'active' | 'error' | 'off';

/** One FHIR Subscription as stored (migration 0130). */
export interface SubscriptionRow {
  id: string;
  resource: Record<string, unknown>;
  topic: string;
  status: SubscriptionStatus;
  owner: Record<string, unknown>;
  ownerId: string;
  filterPatient: string | null;
  eventsSinceStart: number;
  lastSentAt: string | null;
  lastError: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface SubscriptionEventRow {
  subscriptionId: string;
  eventNumber: number;
  at: string;
  focus: string;
  patientId: string | null;
}

/** An event to record: its number is assigned in the statement (per subscription, from 1). */
export interface NewSubscriptionEvent {
  subscriptionId: string;
  focus: string;
  patientId: string | null;
  at: string;
}

/** Outbox channel name of FHIR Subscription deliveries (alert_delivery.channel). */
export const SUBSCRIPTION_CHANNEL = 'fhir-subscription';

const iso = (v: unknown): string | null =>
  v == null ? null : v instanceof Date ? v.toISOString() : new Date(String(v)).toISOString();

function toRow(r: Record<string, unknown>): SubscriptionRow {
  return {
    id: r['id'] as string,
    resource: r['resource'] as Record<string, unknown>,
    topic: r['topic'] as string,
    status: r['status'] as SubscriptionStatus,
    owner: r['owner'] as Record<string, unknown>,
    ownerId: r['owner_id'] as string,
    filterPatient: (r['filter_patient'] as string | null) ?? null,
    eventsSinceStart: Number(r['events_since_start']),
    lastSentAt: iso(r['last_sent_at']),
    lastError: (r['last_error'] as string | null) ?? null,
    createdAt: iso(r['created_at']) as string,
    updatedAt: iso(r['updated_at']) as string,
  };
}

function toEvent(r: Record<string, unknown>): SubscriptionEventRow {
  return {
    subscriptionId: r['subscription_id'] as string,
    eventNumber: Number(r['event_number']),
    at: iso(r['at']) as string,
    focus: r['focus'] as string,
    patientId: (r['patient_id'] as string | null) ?? null,
  };
}

/**
 * FHIR Subscriptions, their numbered events and their outbox rows. Events and their deliveries are
 * written in the caller's transaction (the one storing the reading or alert change), so an event
 * is never recorded without what it is about, nor lost once that is committed.
 */
export class FhirSubscriptionRepository {
  readonly db: Database;
  constructor(db: Database) {
    this.db = db;
  }

  /** Stores a new subscription and queues its handshake (one transaction). */
  async create(
    row: Omit<SubscriptionRow, 'eventsSinceStart' | 'lastSentAt' | 'lastError'>,
    expiresAt: string,
  ) {
    await this.db.transaction(async (sql) => {
      await sql.query(
        `insert into fhir_subscription (id, resource, topic, status, owner, owner_id, filter_patient, created_at, updated_at)
         values ($1, $2::jsonb, $3, $4, $5::jsonb, $6, $7, $8, $9)`,
        [
          row.id,
          JSON.stringify(row.resource),
          row.topic,
          row.status,
          JSON.stringify(row.owner),
          row.ownerId,
          row.filterPatient,
          row.createdAt,
          row.updatedAt,
        ],
      );
      await this.queue(sql, row.id, 'handshake', row.createdAt, expiresAt);
    });
  }

  async get(id: string, sql: Sql = this.db): Promise<SubscriptionRow | undefined> {
    if (!/^[0-9a-f-]{36}$/i.test(id)) return undefined;
    const rows = await sql.query('select * from fhir_subscription where id = $1', [id]);
    return rows[0] ? toRow(rows[0]) : undefined;
  }

  /** Every subscription (owner null) or one owner's, newest first. */
  async list(ownerId: string | null, limit: number): Promise<SubscriptionRow[]> {
    const rows = await this.db.query(
      `select * from fhir_subscription ${ownerId === null ? '' : 'where owner_id = $2'}
       order by created_at desc, id limit $1`,
      ownerId === null ? [limit] : [limit, ownerId],
    );
    return rows.map(toRow);
  }

  /** The subscriptions that record events: active, or in error (their events wait for the receiver). */
  async live(): Promise<SubscriptionRow[]> {
    const rows = await this.db.query(`select * from fhir_subscription where status in ('active', 'error')`);
    return rows.map(toRow);
  }

  async setStatus(id: string, status: SubscriptionStatus, at: string, error: string | null): Promise<void> {
    await this.db.query(
      `update fhir_subscription set status = $2, updated_at = $3, last_error = $4 where id = $1 and status <> 'off'`,
      [id, status, at, error],
    );
  }

  async markSent(id: string, at: string): Promise<void> {
    await this.db.query('update fhir_subscription set last_sent_at = $2 where id = $1', [id, at]);
  }

  /** Deletes the subscription and its events; its deliveries still pending expire. */
  async delete(id: string, at: string): Promise<boolean> {
    return this.db.transaction(async (sql) => {
      const gone = await sql.query('delete from fhir_subscription where id = $1 returning id', [id]);
      await sql.query(
        `update alert_delivery set status = 'expired', last_error = 'subscription deleted', next_attempt_at = $2
         where channel = $3 and target = $1 and status = 'pending'`,
        [id, at, SUBSCRIPTION_CHANNEL],
      );
      return gone.length > 0;
    });
  }

  /** Queues a handshake or heartbeat on the outbox. */
  async queue(
    sql: Sql,
    id: string,
    kind: 'handshake' | 'heartbeat',
    at: string,
    expiresAt: string,
  ): Promise<void> {
    await sql.query(
      `insert into alert_delivery (id, notification_id, channel, target, status, attempts, next_attempt_at, expires_at, created_at, subscription_kind)
       values (gen_random_uuid(), null, $1, $2, 'pending', 0, $3, $4, $3, $5)`,
      [SUBSCRIPTION_CHANNEL, id, at, expiresAt, kind],
    );
  }

  /**
   * Records events in the caller's transaction: each subscription's counter moves on by its events
   * (rows locked in id order, so concurrent commits cannot deadlock), the events get the numbers in
   * between, and one outbox row per event is queued. Subscriptions no longer live get none.
   */
  async recordEvents(sql: Sql, events: readonly NewSubscriptionEvent[], now: string, expiresAt: string) {
    if (events.length === 0) return;
    const ord = new Map<string, number>();
    const rows = events.map((e) => {
      const n = (ord.get(e.subscriptionId) ?? 0) + 1;
      ord.set(e.subscriptionId, n);
      return { sub: e.subscriptionId, ord: n, focus: e.focus, patient: e.patientId, at: e.at };
    });
    await sql.query('select id from fhir_subscription where id = any($1::uuid[]) order by id for update', [
      [...ord.keys()],
    ]);
    await sql.query(
      `with x as (
         select * from jsonb_to_recordset($1::jsonb) as x(sub uuid, ord int, focus text, patient text, at timestamptz)
       ), counts as (
         select sub, count(*)::bigint as c from x group by sub
       ), bumped as (
         update fhir_subscription s set events_since_start = s.events_since_start + counts.c
         from counts where s.id = counts.sub and s.status in ('active', 'error')
         returning s.id, s.events_since_start - counts.c as base
       ), ins as (
         insert into fhir_subscription_event (subscription_id, event_number, at, focus, patient_id)
         select x.sub, b.base + x.ord, x.at, x.focus, x.patient from x join bumped b on b.id = x.sub
         returning subscription_id, event_number
       )
       insert into alert_delivery (id, notification_id, channel, target, status, attempts, next_attempt_at, expires_at, created_at, subscription_kind, event_number)
       select gen_random_uuid(), null, $2, ins.subscription_id::text, 'pending', 0, $3, $4, $3, 'event-notification', ins.event_number
       from ins`,
      [JSON.stringify(rows), SUBSCRIPTION_CHANNEL, now, expiresAt],
    );
  }

  async event(id: string, eventNumber: number): Promise<SubscriptionEventRow | undefined> {
    const rows = await this.db.query(
      'select * from fhir_subscription_event where subscription_id = $1 and event_number = $2',
      [id, eventNumber],
    );
    return rows[0] ? toEvent(rows[0]) : undefined;
  }

  /** Events of a subscription by number, inclusive bounds, oldest first. */
  async events(id: string, since: number, until: number, limit: number): Promise<SubscriptionEventRow[]> {
    const rows = await this.db.query(
      `select * from fhir_subscription_event where subscription_id = $1 and event_number between $2 and $3
       order by event_number limit $4`,
      [id, since, until, limit],
    );
    return rows.map(toEvent);
  }

  /** Live subscriptions with a heartbeat period whose last send is older than it and nothing pending. */
  async heartbeatsDue(now: string): Promise<string[]> {
    const rows = await this.db.query(
      `select s.id::text as id from fhir_subscription s
       where s.status = 'active'
         and (s.resource->'channel'->'extension') is not null
         and coalesce(s.last_sent_at, s.created_at) + make_interval(secs => coalesce((
               select (e->>'valueUnsignedInt')::int from jsonb_array_elements(s.resource->'channel'->'extension') e
               where e->>'url' = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-heartbeat-period'
               limit 1), 0)) <= $1::timestamptz
         and exists (
               select 1 from jsonb_array_elements(s.resource->'channel'->'extension') e
               where e->>'url' = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-heartbeat-period')
         and not exists (
               select 1 from alert_delivery d where d.channel = $2 and d.target = s.id::text and d.status = 'pending')`,
      [now, SUBSCRIPTION_CHANNEL],
    );
    return rows.map((r) => r['id'] as string);
  }
}
