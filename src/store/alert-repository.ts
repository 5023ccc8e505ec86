import type { Actor, Alert, AlertEvent, AlertState } from '../alerts/alert.ts';
import { openSecret, sealSecret } from '../core/secret-box.ts';
import type { Severity } from '../core/severity.ts';
import { type Database, type Sql, toJsonParam } from './database.ts';

const iso = (v: unknown): string | null =>
  v === null || v === undefined ? null : new Date(v as string | Date).toISOString();
const json = (v: unknown): string => JSON.stringify(v);

function toAlert(r: Record<string, unknown>): Alert {
  return {
    id: r['id'] as string,
    patientId: r['patient_id'] as string,
    conditionKey: r['condition_key'] as string,
    rule: r['rule'] as string,
    severity: r['severity'] as Severity,
    state: r['state'] as AlertState,
    summary: r['summary'] as string,
    evidence: (r['evidence'] as string[]) ?? [],
    data: (r['data'] as Record<string, unknown>) ?? {},
    deviceId: (r['device_id'] as string | null) ?? null,
    raisedAt: iso(r['raised_at']) as string,
    lastDetectionAt: iso(r['last_detection_at']) as string,
    createdAt: iso(r['created_at']) as string,
    updatedAt: iso(r['updated_at']) as string,
    acknowledgedAt: iso(r['acknowledged_at']),
    acknowledgedBy: (r['acknowledged_by'] as string | null) ?? null,
    firstAcknowledgedAt: iso(r['first_acknowledged_at']),
    snoozedUntil: iso(r['snoozed_until']),
    snoozedBy: (r['snoozed_by'] as string | null) ?? null,
    assignedTo: (r['assigned_to'] as string | null) ?? null,
    resolvedAt: iso(r['resolved_at']),
    resolvedBy: (r['resolved_by'] as string | null) ?? null,
    resolution: (r['resolution'] as Alert['resolution']) ?? null,
    escalationTier: Number(r['escalation_tier']),
    escalationCount: Number(r['escalation_count']),
    version: Number(r['version']),
  };
}

function toEvent(r: Record<string, unknown>): AlertEvent {
  const actor: Actor = { kind: r['actor_kind'] as Actor['kind'], id: r['actor_id'] as string };
  if (r['actor_name']) actor.name = r['actor_name'] as string;
  return {
    id: r['id'] as string,
    alertId: r['alert_id'] as string,
    at: iso(r['at']) as string,
    type: r['type'] as AlertEvent['type'],
    actor,
    fromState: (r['from_state'] as AlertState | null) ?? null,
    toState: r['to_state'] as AlertState,
    note: (r['note'] as string | null) ?? null,
    data: (r['data'] as Record<string, unknown>) ?? {},
  };
}

const alertColumns = [
  'id',
  'patient_id',
  'condition_key',
  'rule',
  'severity',
  'state',
  'summary',
  'evidence',
  'data',
  'device_id',
  'raised_at',
  'last_detection_at',
  'created_at',
  'updated_at',
  'acknowledged_at',
  'acknowledged_by',
  'first_acknowledged_at',
  'snoozed_until',
  'snoozed_by',
  'assigned_to',
  'resolved_at',
  'resolved_by',
  'resolution',
  'escalation_tier',
  'escalation_count',
  'version',
] as const;

function alertValues(a: Alert): unknown[] {
  return [
    a.id,
    a.patientId,
    a.conditionKey,
    a.rule,
    a.severity,
    a.state,
    a.summary,
    json(a.evidence),
    json(a.data),
    a.deviceId,
    a.raisedAt,
    a.lastDetectionAt,
    a.createdAt,
    a.updatedAt,
    a.acknowledgedAt,
    a.acknowledgedBy,
    a.firstAcknowledgedAt,
    a.snoozedUntil,
    a.snoozedBy,
    a.assignedTo,
    a.resolvedAt,
    a.resolvedBy,
    a.resolution,
    a.escalationTier,
    a.escalationCount,
    a.version,
  ];
}

/** Column types of `alert` for jsonb_to_recordset (set-based writes). */
const alertColumnTypes: Record<(typeof alertColumns)[number], string> = {
  id: 'uuid',
  patient_id: 'text',
  condition_key: 'text',
  rule: 'text',
  severity: 'text',
  state: 'text',
  summary: 'text',
  evidence: 'jsonb',
  data: 'jsonb',
  device_id: 'text',
  raised_at: 'timestamptz',
  last_detection_at: 'timestamptz',
  created_at: 'timestamptz',
  updated_at: 'timestamptz',
  acknowledged_at: 'timestamptz',
  acknowledged_by: 'text',
  first_acknowledged_at: 'timestamptz',
  snoozed_until: 'timestamptz',
  snoozed_by: 'text',
  assigned_to: 'text',
  resolved_at: 'timestamptz',
  resolved_by: 'text',
  resolution: 'text',
  escalation_tier: 'int',
  escalation_count: 'int',
  version: 'int',
};
const alertRecord = alertColumns.map((c) => `${c} ${alertColumnTypes[c]}`).join(', ');

function alertRow(a: Alert): Record<string, unknown> {
  const v = alertValues(a);
  const row: Record<string, unknown> = {};
  alertColumns.forEach((c, i) => {
    row[c] = c === 'evidence' ? a.evidence : c === 'data' ? a.data : v[i];
  });
  return row;
}

/**
 * Everything one alert transaction writes, for `writeChanges`: each alert at most once (the caller
 * splits repeated changes of one alert into successive sets).
 */
export interface AlertChangeSet {
  inserts: Alert[];
  updates: Array<{ alert: Alert; expectedVersion: number }>;
  events: AlertEvent[];
  /** Timers to delete; kind null = every timer of the alert. */
  timerClears: Array<{ alertId: string; kind: TimerKind | null }>;
  timerSets: Array<{ alertId: string; kind: TimerKind; dueAt: string; createdAt: string }>;
  notifications: NotificationRow[];
  deliveries: DeliveryRow[];
}

/** The statements of a change set, each with its one jsonb parameter `$1` (absent when empty). */
function changeStatements(
  w: AlertChangeSet,
): Record<
  'inserts' | 'updates' | 'events' | 'timerClears' | 'timerSets' | 'notifications' | 'deliveries',
  { text: string; param: string } | undefined
> {
  const cols = alertColumns.slice(1);
  return {
    inserts:
      w.inserts.length === 0
        ? undefined
        : {
            text: `insert into alert (${alertColumns.join(', ')})
         select ${alertColumns.join(', ')} from jsonb_to_recordset($1::jsonb) as x(${alertRecord})
         on conflict (patient_id, condition_key) where state <> 'resolved' do nothing returning id`,
            param: toJsonParam(w.inserts.map(alertRow)),
          },
    updates:
      w.updates.length === 0
        ? undefined
        : {
            text: `update alert a set (${cols.join(', ')}) = (${cols.map((c) => `x.${c}`).join(', ')})
         from jsonb_to_recordset($1::jsonb) as x(${alertRecord}, expected_version int)
         where a.id = x.id and a.version = x.expected_version returning a.id`,
            param: toJsonParam(
              w.updates.map((u) => ({ ...alertRow(u.alert), expected_version: u.expectedVersion })),
            ),
          },
    events:
      w.events.length === 0
        ? undefined
        : {
            text: `insert into alert_event (id, alert_id, at, type, actor_kind, actor_id, actor_name, from_state, to_state, note, data)
           select id, alert_id, at, type, actor_kind, actor_id, actor_name, from_state, to_state, note, coalesce(data, '{}'::jsonb)
           from jsonb_to_recordset($1::jsonb) as x(id uuid, alert_id uuid, at timestamptz, type text, actor_kind text,
             actor_id text, actor_name text, from_state text, to_state text, note text, data jsonb)`,
            param: toJsonParam(
              w.events.map((e) => ({
                id: e.id,
                alert_id: e.alertId,
                at: e.at,
                type: e.type,
                actor_kind: e.actor.kind,
                actor_id: e.actor.id,
                actor_name: e.actor.name ?? null,
                from_state: e.fromState,
                to_state: e.toState,
                note: e.note,
                data: e.data,
              })),
            ),
          },
    timerClears:
      w.timerClears.length === 0
        ? undefined
        : {
            text: `delete from alert_timer t using jsonb_to_recordset($1::jsonb) as x(alert_id uuid, kind text)
           where t.alert_id = x.alert_id and (x.kind is null or t.kind = x.kind)`,
            param: toJsonParam(w.timerClears.map((c) => ({ alert_id: c.alertId, kind: c.kind }))),
          },
    timerSets:
      w.timerSets.length === 0
        ? undefined
        : {
            text: `insert into alert_timer (alert_id, kind, due_at, created_at)
           select alert_id, kind, due_at, created_at
           from jsonb_to_recordset($1::jsonb) as x(alert_id uuid, kind text, due_at timestamptz, created_at timestamptz)
           on conflict (alert_id, kind) do update set due_at = excluded.due_at, created_at = excluded.created_at`,
            param: toJsonParam(
              w.timerSets.map((t) => ({
                alert_id: t.alertId,
                kind: t.kind,
                due_at: t.dueAt,
                created_at: t.createdAt,
              })),
            ),
          },
    notifications:
      w.notifications.length === 0
        ? undefined
        : {
            text: `insert into alert_notification (id, alert_id, reason, tier, severity, recipients, payload, created_at)
           select id, alert_id, reason, tier, severity, recipients, payload, created_at
           from jsonb_to_recordset($1::jsonb) as x(id uuid, alert_id uuid, reason text, tier int, severity text,
             recipients jsonb, payload jsonb, created_at timestamptz)`,
            param: toJsonParam(
              w.notifications.map((n) => ({
                id: n.id,
                alert_id: n.alertId,
                reason: n.reason,
                tier: n.tier,
                severity: n.severity,
                recipients: n.recipients,
                payload: n.payload,
                created_at: n.createdAt,
              })),
            ),
          },
    deliveries:
      w.deliveries.length === 0
        ? undefined
        : {
            text: `insert into alert_delivery (id, notification_id, channel, target, status, attempts, next_attempt_at, expires_at, created_at)
           select id, notification_id, channel, target, status, attempts, next_attempt_at, expires_at, created_at
           from jsonb_to_recordset($1::jsonb) as x(id uuid, notification_id uuid, channel text, target text, status text,
             attempts int, next_attempt_at timestamptz, expires_at timestamptz, created_at timestamptz)`,
            param: toJsonParam(
              w.deliveries.map((d) => ({
                id: d.id,
                notification_id: d.notificationId,
                channel: d.channel,
                target: d.target,
                status: d.status,
                attempts: d.attempts,
                next_attempt_at: d.nextAttemptAt,
                expires_at: d.expiresAt,
                created_at: d.createdAt,
              })),
            ),
          },
  };
}

const jsonbColumns = new Set(['evidence', 'data']);
const cast = (c: string, i: number) => (jsonbColumns.has(c) ? `$${i}::jsonb` : `$${i}`);

export interface AlertFilter {
  state?: AlertState[] | undefined;
  severity?: Severity[] | undefined;
  patientId?: string | undefined;
  rule?: string | undefined;
  since?: string | undefined;
  /** Only these patients (care-team scoping); undefined = all. */
  patientIds?: string[] | undefined;
  limit?: number | undefined;
  offset?: number | undefined;
}

export type TimerKind = 'escalate' | 'snooze-end';
export interface DueTimer {
  alertId: string;
  kind: TimerKind;
  dueAt: string;
}

export interface NotificationRow {
  id: string;
  alertId: string;
  reason: string;
  tier: number;
  severity: Severity;
  recipients: Recipient[];
  payload: Record<string, unknown>;
  createdAt: string;
}

export interface Recipient {
  practitioner: string;
  role: string;
  userId?: string | undefined;
}

export interface DeliveryRow {
  id: string;
  /** The alert notification sent; null for a FHIR Subscription's delivery (channel 'fhir-subscription'). */
  notificationId: string | null;
  channel: string;
  target: string;
  status: 'pending' | 'delivered' | 'expired';
  attempts: number;
  nextAttemptAt: string;
  expiresAt: string;
  createdAt: string;
  deliveredAt: string | null;
  lastError: string | null;
  /** A FHIR Subscription's delivery: what it sends (handshake, heartbeat, event-notification). */
  subscriptionKind?: string | null;
  /** A FHIR Subscription's delivery of an event: its number. */
  eventNumber?: number | null;
}

export interface DeliveryAttemptRow {
  deliveryId: string;
  attempt: number;
  at: string;
  ok: boolean;
  statusCode: number | null;
  error: string | null;
  durationMs: number;
}

interface CacheEntry<T> {
  at: number;
  rows: Promise<T>;
  settled: boolean;
  refreshing: boolean;
  sql: Sql;
}

export interface PolicyRow {
  severity: string;
  config: unknown;
  updatedAt: string;
  updatedBy: string | null;
}

export interface WebhookRow {
  id: string;
  url: string;
  secret: string;
  description: string | null;
  severities: Severity[] | null;
  enabled: boolean;
  expirySeconds: number;
  createdAt: string;
  updatedAt: string;
}

function toNotification(r: Record<string, unknown>): NotificationRow {
  return {
    id: r['id'] as string,
    alertId: r['alert_id'] as string,
    reason: r['reason'] as string,
    tier: Number(r['tier']),
    severity: r['severity'] as Severity,
    recipients: (r['recipients'] as Recipient[]) ?? [],
    payload: (r['payload'] as Record<string, unknown>) ?? {},
    createdAt: iso(r['created_at']) as string,
  };
}

function toDelivery(r: Record<string, unknown>): DeliveryRow {
  return {
    id: r['id'] as string,
    notificationId: (r['notification_id'] as string | null) ?? null,
    channel: r['channel'] as string,
    target: r['target'] as string,
    status: r['status'] as DeliveryRow['status'],
    attempts: Number(r['attempts']),
    nextAttemptAt: iso(r['next_attempt_at']) as string,
    expiresAt: iso(r['expires_at']) as string,
    createdAt: iso(r['created_at']) as string,
    deliveredAt: iso(r['delivered_at']),
    lastError: (r['last_error'] as string | null) ?? null,
    subscriptionKind: (r['subscription_kind'] as string | null) ?? null,
    eventNumber: r['event_number'] == null ? null : Number(r['event_number']),
  };
}

function toWebhook(r: Record<string, unknown>, db: object): WebhookRow {
  return {
    id: r['id'] as string,
    url: r['url'] as string,
    secret: openSecret(db, r['secret'] as string, 'webhook'),
    description: (r['description'] as string | null) ?? null,
    severities: (r['severities'] as Severity[] | null) ?? null,
    enabled: Boolean(r['enabled']),
    expirySeconds: Number(r['expiry_seconds']),
    createdAt: iso(r['created_at']) as string,
    updatedAt: iso(r['updated_at']) as string,
  };
}

const uuidRe = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (s: string): boolean => uuidRe.test(s);

/**
 * Persistence of alerts and everything that hangs off them. Methods that take `sql` run inside the
 * caller's transaction (the manager changes an alert, its timeline, timers and outbox atomically).
 */
export class AlertRepository {
  readonly db: Database;
  /** How long cached webhooks and policies are trusted (changes made through this repository drop them at once). */
  readonly cacheTtlMs: number;
  #webhookCache: CacheEntry<WebhookRow[]> | undefined;
  #policyCache: CacheEntry<PolicyRow[]> | undefined;

  constructor(db: Database, opts: { cacheTtlMs?: number } = {}) {
    this.db = db;
    this.cacheTtlMs = opts.cacheTtlMs ?? 5_000;
  }

  /**
   * Webhook subscriptions for the alert path (no query per alert change). Changes through this
   * repository invalidate at once; another worker's change is seen within `cacheTtlMs`. Inside a
   * transaction pass its `sql` (PGlite has one connection: a query beside the transaction would wait
   * for it forever).
   */
  cachedWebhooks(sql?: Sql): Promise<WebhookRow[]> {
    const c = this.#cached(this.#webhookCache, sql, (q) => this.webhooks(q));
    this.#webhookCache = c;
    return c.rows;
  }

  /** Stored escalation policies for the alert path, cached like `cachedWebhooks`. */
  cachedPolicies(sql?: Sql): Promise<PolicyRow[]> {
    const c = this.#cached(this.#policyCache, sql, (q) => this.policies(q));
    this.#policyCache = c;
    return c.rows;
  }

  #cached<T>(
    entry: CacheEntry<T> | undefined,
    sql: Sql | undefined,
    load: (q: Sql) => Promise<T>,
  ): CacheEntry<T> {
    const now = Date.now();
    if (entry?.settled) {
      // Stale while revalidating: the alert path never waits for a refresh (it runs beside, on the
      // pool; on PGlite after the caller's transaction).
      if (now - entry.at >= this.cacheTtlMs && !entry.refreshing) {
        entry.refreshing = true;
        const next = this.#load(load, this.db, now);
        next.rows.then(
          () => {
            if (this.#webhookCache === (entry as unknown)) this.#webhookCache = next as never;
            if (this.#policyCache === (entry as unknown)) this.#policyCache = next as never;
          },
          () => {
            entry.refreshing = false;
          },
        );
      }
      return entry;
    }
    // A first load still running on another executor is not awaited inside a transaction (on
    // PGlite's single connection it could be queued behind this very transaction).
    if (entry && (sql === undefined || entry.sql === sql)) return entry;
    return this.#load(load, sql ?? this.db, now);
  }

  #load<T>(load: (q: Sql) => Promise<T>, sql: Sql, now: number): CacheEntry<T> {
    const next: CacheEntry<T> = { at: now, rows: load(sql), settled: false, refreshing: false, sql };
    next.rows.then(
      () => {
        next.settled = true;
      },
      () => {
        if (this.#webhookCache === (next as unknown)) this.#webhookCache = undefined;
        if (this.#policyCache === (next as unknown)) this.#policyCache = undefined;
      },
    );
    return next;
  }

  /** Drops the cached webhooks and policies (after a change, or when another worker announces one). */
  invalidateCaches(): void {
    this.#webhookCache = undefined;
    this.#policyCache = undefined;
  }

  async insert(sql: Sql, a: Alert): Promise<boolean> {
    const rows = await sql.query(
      `insert into alert (${alertColumns.join(', ')}) values (${alertColumns.map((c, i) => cast(c, i + 1)).join(', ')})
       on conflict (patient_id, condition_key) where state <> 'resolved' do nothing returning id`,
      alertValues(a),
    );
    return rows.length === 1;
  }

  /**
   * Writes a change set with one statement per kind of row, all sent at once (pipelined). Returns
   * false when an insert met an active alert of the same condition or an update met another version
   * (the caller rolls back and decides again).
   */
  async writeChanges(sql: Sql, w: AlertChangeSet): Promise<boolean> {
    const st = changeStatements(w);
    const run = (x: { text: string; param: string } | undefined) =>
      x ? sql.query(x.text, [x.param]) : Promise.resolve([]);
    // In this order: an event, a timer or a notification refers to its alert.
    const [ins, upd, ...rest] = await Promise.allSettled([
      run(st.inserts),
      run(st.updates),
      run(st.events),
      run(st.timerClears),
      run(st.timerSets),
      run(st.notifications),
      run(st.deliveries),
    ]);
    // A lost race first (an insert that met an active alert makes its event's foreign key fail too).
    if (ins?.status === 'fulfilled' && ins.value.length !== w.inserts.length) return false;
    if (upd?.status === 'fulfilled' && upd.value.length !== w.updates.length) return false;
    for (const r of [ins, upd, ...rest]) if (r?.status === 'rejected') throw r.reason;
    return true;
  }

  /**
   * The same as `writeChanges` as ONE statement (data-modifying CTEs; atomic on its own, so no
   * transaction holds the connection between round trips), with the NOTIFYs of the changes. Returns
   * false — and nothing is written — when an insert met an active alert or an update another version.
   */
  async writeChangesAtomic(
    w: AlertChangeSet,
    notify?: { channel: string; payloads: string[] } | undefined,
  ): Promise<boolean> {
    const st = changeStatements(w);
    const params: unknown[] = [];
    const ctes: string[] = [];
    const add = (name: string, x: { text: string; param: string } | undefined, returning = false) => {
      if (!x) {
        if (returning) ctes.push(`${name} as (select null::uuid as id where false)`);
        return;
      }
      params.push(x.param);
      ctes.push(`${name} as (${x.text.replaceAll('$1', `$${params.length}`)})`);
    };
    add('ins', st.inserts, true);
    add('upd', st.updates, true);
    add('ev', st.events);
    add('tc', st.timerClears);
    add('ts', st.timerSets);
    add('nt', st.notifications);
    add('dl', st.deliveries);
    let notified = '0';
    if (notify && notify.payloads.length > 0) {
      params.push(notify.channel, JSON.stringify(notify.payloads));
      ctes.push(
        `nf as (select pg_notify($${params.length - 1}, m.value) from jsonb_array_elements_text($${params.length}::jsonb) with ordinality as m(value, n))`,
      );
      notified = '(select count(*) from nf)';
    }
    params.push(w.inserts.length, w.updates.length);
    const n = params.length;
    try {
      // A count that differs divides by zero: the whole statement fails, nothing is written.
      await this.db.query(
        `with ${ctes.join(',\n')}
         select 1 / (case when (select count(*) from ins) = $${n - 1}::int and (select count(*) from upd) = $${n}::int
                     then 1 else 0 end) as ok, ${notified} as notified`,
        params,
      );
      return true;
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === '22012' || code === '23503') return false; // division by zero, or a foreign key to an alert not inserted
      throw e;
    }
  }

  /** Conditional update: succeeds only when the stored version is the one the change was computed from. */
  async update(sql: Sql, a: Alert, expectedVersion: number): Promise<boolean> {
    const values = alertValues(a);
    const sets = alertColumns.slice(1).map((c, i) => `${c} = ${cast(c, i + 2)}`);
    const rows = await sql.query(
      `update alert set ${sets.join(', ')} where id = $1 and version = $${values.length + 1} returning id`,
      [...values, expectedVersion],
    );
    return rows.length === 1;
  }

  async get(id: string, sql: Sql = this.db): Promise<Alert | undefined> {
    if (!isUuid(id)) return undefined;
    const rows = await sql.query('select * from alert where id = $1', [id]);
    return rows[0] ? toAlert(rows[0]) : undefined;
  }

  async getForUpdate(sql: Sql, id: string): Promise<Alert | undefined> {
    const rows = await sql.query('select * from alert where id = $1 for update', [id]);
    return rows[0] ? toAlert(rows[0]) : undefined;
  }

  async getManyForUpdate(sql: Sql, ids: readonly string[]): Promise<Alert[]> {
    if (ids.length === 0) return [];
    const rows = await sql.query('select * from alert where id = any($1::uuid[]) for update', [ids]);
    return rows.map(toAlert);
  }

  async findActive(sql: Sql, patientId: string, conditionKey: string): Promise<Alert | undefined> {
    const rows = await sql.query(
      `select * from alert where patient_id = $1 and condition_key = $2 and state <> 'resolved' for update`,
      [patientId, conditionKey],
    );
    return rows[0] ? toAlert(rows[0]) : undefined;
  }

  /**
   * The active alerts of several (patient, condition key) pairs at once, locked for this transaction
   * (one statement for a whole batch of detections).
   */
  async findActiveMany(
    sql: Sql,
    keys: ReadonlyArray<{ patientId: string; conditionKey: string }>,
  ): Promise<Alert[]> {
    if (keys.length === 0) return [];
    const rows = await sql.query(
      `select * from alert where state <> 'resolved' and (patient_id, condition_key) in
         (select x.p, x.k from jsonb_to_recordset($1::jsonb) as x(p text, k text))
       for update`,
      [json(keys.map((k) => ({ p: k.patientId, k: k.conditionKey })))],
    );
    return rows.map(toAlert);
  }

  async event(id: string): Promise<AlertEvent | undefined> {
    if (!isUuid(id)) return undefined;
    const rows = await this.db.query('select * from alert_event where id = $1', [id]);
    return rows[0] ? toEvent(rows[0]) : undefined;
  }

  async list(f: AlertFilter = {}): Promise<Alert[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    const p = (v: unknown) => {
      params.push(v);
      return `$${params.length}`;
    };
    if (f.state?.length) where.push(`state = any(${p(f.state)}::text[])`);
    if (f.severity?.length) where.push(`severity = any(${p(f.severity)}::text[])`);
    if (f.patientId) where.push(`patient_id = ${p(f.patientId)}`);
    if (f.patientIds) where.push(`patient_id = any(${p(f.patientIds)}::text[])`);
    if (f.rule) where.push(`rule = ${p(f.rule)}`);
    if (f.since) where.push(`created_at >= ${p(f.since)}`);
    const rows = await this.db.query(
      `select * from alert ${where.length ? `where ${where.join(' and ')}` : ''}
       order by created_at desc, id desc limit ${p(f.limit ?? 100)} offset ${p(f.offset ?? 0)}`,
      params,
    );
    return rows.map(toAlert);
  }

  async insertEvent(sql: Sql, e: AlertEvent): Promise<void> {
    await sql.query(
      `insert into alert_event (id, alert_id, at, type, actor_kind, actor_id, actor_name, from_state, to_state, note, data)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb)`,
      [
        e.id,
        e.alertId,
        e.at,
        e.type,
        e.actor.kind,
        e.actor.id,
        e.actor.name ?? null,
        e.fromState,
        e.toState,
        e.note,
        json(e.data),
      ],
    );
  }

  async events(alertId: string): Promise<AlertEvent[]> {
    if (!isUuid(alertId)) return [];
    const rows = await this.db.query('select * from alert_event where alert_id = $1 order by at, id', [
      alertId,
    ]);
    return rows.map(toEvent);
  }

  // ── timers ────────────────────────────────────────────────────────────────────────────────
  async setTimer(sql: Sql, alertId: string, kind: TimerKind, dueAt: string, now: string): Promise<void> {
    await sql.query(
      `insert into alert_timer (alert_id, kind, due_at, created_at) values ($1, $2, $3, $4)
       on conflict (alert_id, kind) do update set due_at = excluded.due_at, created_at = excluded.created_at`,
      [alertId, kind, dueAt, now],
    );
  }

  async clearTimer(sql: Sql, alertId: string, kind?: TimerKind): Promise<void> {
    if (kind) await sql.query('delete from alert_timer where alert_id = $1 and kind = $2', [alertId, kind]);
    else await sql.query('delete from alert_timer where alert_id = $1', [alertId]);
  }

  async timers(alertId: string): Promise<DueTimer[]> {
    const rows = await this.db.query('select * from alert_timer where alert_id = $1 order by due_at', [
      alertId,
    ]);
    return rows.map((r) => ({
      alertId: r['alert_id'] as string,
      kind: r['kind'] as TimerKind,
      dueAt: iso(r['due_at']) as string,
    }));
  }

  /** Due timers, locked for this transaction; other workers skip them (`skip locked`). */
  async claimDueTimers(sql: Sql, now: string, limit: number): Promise<DueTimer[]> {
    const rows = await sql.query(
      `select alert_id, kind, due_at from alert_timer where due_at <= $1 order by due_at limit $2 for update skip locked`,
      [now, limit],
    );
    return rows.map((r) => ({
      alertId: r['alert_id'] as string,
      kind: r['kind'] as TimerKind,
      dueAt: iso(r['due_at']) as string,
    }));
  }

  // ── notifications and outbox ──────────────────────────────────────────────────────────────
  async insertNotification(sql: Sql, n: NotificationRow): Promise<void> {
    await sql.query(
      `insert into alert_notification (id, alert_id, reason, tier, severity, recipients, payload, created_at)
       values ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb, $8)`,
      [n.id, n.alertId, n.reason, n.tier, n.severity, json(n.recipients), json(n.payload), n.createdAt],
    );
  }

  async insertDelivery(sql: Sql, d: DeliveryRow): Promise<void> {
    await sql.query(
      `insert into alert_delivery (id, notification_id, channel, target, status, attempts, next_attempt_at, expires_at, created_at)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [
        d.id,
        d.notificationId,
        d.channel,
        d.target,
        d.status,
        d.attempts,
        d.nextAttemptAt,
        d.expiresAt,
        d.createdAt,
      ],
    );
  }

  /** Stores the resolved recipients of notifications (column and payload), one statement. */
  async setRecipients(ns: ReadonlyArray<{ id: string; recipients: Recipient[] }>): Promise<void> {
    if (ns.length === 0) return;
    await this.db.query(
      `update alert_notification n set recipients = x.recipients, payload = x.payload
       from jsonb_to_recordset($1::jsonb) as x(id uuid, recipients jsonb, payload jsonb) where n.id = x.id`,
      [json(ns.map((n) => ({ id: n.id, recipients: n.recipients, payload: n })))],
    );
  }

  async notifications(alertId: string): Promise<NotificationRow[]> {
    if (!isUuid(alertId)) return [];
    const rows = await this.db.query(
      'select * from alert_notification where alert_id = $1 order by created_at, id',
      [alertId],
    );
    return rows.map(toNotification);
  }

  async notificationsByIds(ids: readonly string[]): Promise<NotificationRow[]> {
    const valid = ids.filter(isUuid);
    if (valid.length === 0) return [];
    const rows = await this.db.query('select * from alert_notification where id = any($1::uuid[])', [valid]);
    return rows.map(toNotification);
  }

  async notification(id: string, sql: Sql = this.db): Promise<NotificationRow | undefined> {
    if (!isUuid(id)) return undefined;
    const rows = await sql.query('select * from alert_notification where id = $1', [id]);
    return rows[0] ? toNotification(rows[0]) : undefined;
  }

  /**
   * Claims due deliveries with a lease: their next attempt moves `leaseMs` ahead in the same
   * statement, so a worker that dies mid-send leaves them to be retried when the lease ends.
   */
  async claimDueDeliveries(now: string, leaseUntil: string, limit: number): Promise<DeliveryRow[]> {
    return this.db.transaction(async (sql) => {
      const rows = await sql.query(
        `select id from alert_delivery where status = 'pending' and next_attempt_at <= $1
         order by next_attempt_at limit $2 for update skip locked`,
        [now, limit],
      );
      if (rows.length === 0) return [];
      const ids = rows.map((r) => r['id'] as string);
      const claimed = await sql.query(
        `update alert_delivery set next_attempt_at = $2, attempts = attempts + 1 where id = any($1::uuid[]) returning *`,
        [ids, leaseUntil],
      );
      return claimed.map(toDelivery);
    });
  }

  async recordAttempt(
    a: DeliveryAttemptRow & { id: string },
    outcome: {
      status: DeliveryRow['status'];
      nextAttemptAt: string;
      error: string | null;
      deliveredAt: string | null;
    },
  ): Promise<void> {
    await this.db.transaction(async (sql) => {
      await sql.query(
        `insert into alert_delivery_attempt (id, delivery_id, attempt, at, ok, status_code, error, duration_ms)
         values ($1, $2, $3, $4, $5, $6, $7, $8)`,
        [a.id, a.deliveryId, a.attempt, a.at, a.ok, a.statusCode, a.error, a.durationMs],
      );
      await sql.query(
        `update alert_delivery set status = $2, next_attempt_at = $3, last_error = $4, delivered_at = $5 where id = $1`,
        [a.deliveryId, outcome.status, outcome.nextAttemptAt, outcome.error, outcome.deliveredAt],
      );
    });
  }

  async deliveries(filter: {
    notificationId?: string;
    target?: string;
    alertId?: string;
  }): Promise<DeliveryRow[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.notificationId) {
      params.push(filter.notificationId);
      where.push(`d.notification_id = $${params.length}`);
    }
    if (filter.target) {
      params.push(filter.target);
      where.push(`d.target = $${params.length}`);
    }
    if (filter.alertId) {
      params.push(filter.alertId);
      where.push(`n.alert_id = $${params.length}`);
    }
    const rows = await this.db.query(
      `select d.* from alert_delivery d join alert_notification n on n.id = d.notification_id
       ${where.length ? `where ${where.join(' and ')}` : ''} order by d.created_at desc limit 500`,
      params,
    );
    return rows.map(toDelivery);
  }

  async attempts(deliveryId: string): Promise<DeliveryAttemptRow[]> {
    const rows = await this.db.query(
      'select * from alert_delivery_attempt where delivery_id = $1 order by attempt',
      [deliveryId],
    );
    return rows.map((r) => ({
      deliveryId: r['delivery_id'] as string,
      attempt: Number(r['attempt']),
      at: iso(r['at']) as string,
      ok: Boolean(r['ok']),
      statusCode: r['status_code'] === null ? null : Number(r['status_code']),
      error: (r['error'] as string | null) ?? null,
      durationMs: Number(r['duration_ms']),
    }));
  }

  // ── webhooks ──────────────────────────────────────────────────────────────────────────────
  async insertWebhook(w: WebhookRow): Promise<void> {
    await this.db.query(
      `insert into webhook_subscription (id, url, secret, description, severities, enabled, expiry_seconds, created_at, updated_at)
       values ($1, $2, $3, $4, $5::jsonb, $6, $7, $8, $9)`,
      [
        w.id,
        w.url,
        sealSecret(this.db, w.secret, 'webhook'),
        w.description,
        w.severities ? json(w.severities) : null,
        w.enabled,
        w.expirySeconds,
        w.createdAt,
        w.updatedAt,
      ],
    );
    this.invalidateCaches();
  }

  async updateWebhook(w: WebhookRow): Promise<void> {
    await this.db.query(
      `update webhook_subscription set url = $2, description = $3, severities = $4::jsonb, enabled = $5, expiry_seconds = $6, updated_at = $7
       where id = $1`,
      [
        w.id,
        w.url,
        w.description,
        w.severities ? json(w.severities) : null,
        w.enabled,
        w.expirySeconds,
        w.updatedAt,
      ],
    );
    this.invalidateCaches();
  }

  async webhook(id: string, sql: Sql = this.db): Promise<WebhookRow | undefined> {
    if (!isUuid(id)) return undefined;
    const rows = await sql.query('select * from webhook_subscription where id = $1', [id]);
    return rows[0] ? toWebhook(rows[0], this.db) : undefined;
  }

  async webhooks(sql: Sql = this.db): Promise<WebhookRow[]> {
    const rows = await sql.query('select * from webhook_subscription order by created_at');
    return rows.map((r) => toWebhook(r, this.db));
  }

  async deleteWebhook(id: string): Promise<boolean> {
    if (!isUuid(id)) return false;
    // Deliveries already queued for it expire (their target no longer exists); history stays.
    const rows = await this.db.query(
      'update webhook_subscription set enabled = false where id = $1 returning id',
      [id],
    );
    this.invalidateCaches();
    if (rows.length === 0) return false;
    await this.db.query(
      `delete from webhook_subscription where id = $1 and not exists (select 1 from alert_delivery where target = $1::text)`,
      [id],
    );
    return true;
  }

  // ── escalation policies ───────────────────────────────────────────────────────────────────
  async policies(sql: Sql = this.db): Promise<PolicyRow[]> {
    const rows = await sql.query('select * from escalation_policy order by severity');
    return rows.map((r) => ({
      severity: r['severity'] as string,
      config: r['config'],
      updatedAt: iso(r['updated_at']) as string,
      updatedBy: (r['updated_by'] as string | null) ?? null,
    }));
  }

  async putPolicy(severity: string, config: unknown, now: string, by: string): Promise<void> {
    await this.db.query(
      `insert into escalation_policy (severity, config, updated_at, updated_by) values ($1, $2::jsonb, $3, $4)
       on conflict (severity) do update set config = excluded.config, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
      [severity, json(config), now, by],
    );
    this.invalidateCaches();
  }

  async deletePolicy(severity: string): Promise<boolean> {
    const rows = await this.db.query('delete from escalation_policy where severity = $1 returning severity', [
      severity,
    ]);
    this.invalidateCaches();
    return rows.length === 1;
  }
}
