import type { Clock } from '../core/clock.ts';
import type { Detection } from '../core/detection.ts';
import { errorMessage, isVigilError } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import type { Logger } from '../core/logger.ts';
import type { Severity } from '../core/severity.ts';
import type { AlertChangeSet, AlertRepository } from '../store/alert-repository.ts';
import type { Sql } from '../store/database.ts';
import { type Actor, type Alert, type AlertEvent, systemActor } from './alert.ts';
import { afterCleared } from './alert-sources.ts';
import { type AlertAction, alertError, raiseAlert, type Transition, transition } from './alert-state.ts';
import { recipientContext, recipientsFrom } from './care-team.ts';
import {
  ALERT_CHANNEL,
  type AlertChangeBus,
  MAX_INLINE_BYTES,
  newOrigin,
  type RemoteAlertChange,
} from './change-bus.ts';
import {
  defaultPolicy,
  type EscalationPolicy,
  type EscalationTier,
  tiersAt,
  validatePolicy,
} from './escalation-policy.ts';
import { liveMessage } from './live-feed.ts';
import { type Notification, notifiedAlert } from './notifier.ts';

/** What happened, published after the commit (live feed, audit). */
export interface AlertChange {
  alert: Alert;
  event: AlertEvent;
  notification: Notification | undefined;
}
export type AlertChangeListener = (change: AlertChange) => void;
/** Runs inside the transaction that stores alert changes (atomic with them); may write, must not commit. */
export type AlertTransactionHook = (sql: Sql, changes: readonly AlertChange[]) => Promise<void>;

export interface AlertManagerOptions {
  repo: AlertRepository;
  clock: Clock;
  log: Logger;
  /** Names of the notifier channels (besides webhooks) each notification is queued for. */
  notifierNames?: () => string[];
  /** Default expiry of a delivery when its channel has none (ms); default 24 h. */
  deliveryExpiryMs?: number;
  /** Announces committed changes to the other workers' live feeds. */
  bus?: AlertChangeBus | undefined;
}

class VersionConflict extends Error {}

const keyOf = (patientId: string, conditionKey: string) => `${patientId}\u0000${conditionKey}`;

interface Item {
  /** The alert as stored before this change; undefined for a new alert (insert). */
  before: Alert | undefined;
  tr: Transition;
}

/** Event types after which the escalation clock (re)starts for an unacknowledged alert. */
const restartsEscalation = new Set(['raised', 'worsened', 'escalated', 'snooze-ended', 'unsnoozed']);

/**
 * Owns alerts from detection to resolution: one active alert per (patient, condition key); changes
 * are computed by the pure state machine and stored atomically with their timeline event, timers
 * and outbox rows. Listeners hear about each committed change.
 */
export class AlertManager {
  readonly repo: AlertRepository;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #notifierNames: () => string[];
  readonly #expiryMs: number;
  readonly #listeners: AlertChangeListener[] = [];
  readonly #bus: AlertChangeBus | undefined;
  /** Active alerts by (patient, condition key) as this manager last committed them. */
  readonly #active = new Map<string, Alert>();
  readonly #background = new Set<Promise<unknown>>();
  /** This worker's id in the changes it announces. */
  readonly origin = newOrigin();

  constructor(o: AlertManagerOptions) {
    this.#bus = o.bus;
    this.repo = o.repo;
    this.#clock = o.clock;
    this.#log = o.log;
    this.#notifierNames = o.notifierNames ?? (() => []);
    this.#expiryMs = o.deliveryExpiryMs ?? 24 * 3600_000;
  }

  onChange(l: AlertChangeListener): void {
    this.#listeners.push(l);
  }

  readonly #transactionHooks: Array<{
    run: AlertTransactionHook;
    wants: (c: readonly AlertChange[]) => boolean;
  }> = [];

  /**
   * Work stored with alert changes, in their transaction (FHIR Subscription events). `wants` says
   * whether it has anything to write for these changes: then the single-statement fast path gives
   * way to a transaction.
   */
  inTransaction(run: AlertTransactionHook, wants: (c: readonly AlertChange[]) => boolean): void {
    this.#transactionHooks.push({ run, wants });
  }

  #hooksWant(changes: readonly AlertChange[]): boolean {
    return changes.length > 0 && this.#transactionHooks.some((h) => h.wants(changes));
  }

  /**
   * Detections from the rule engine, after their readings are committed. A 'firing' raises the
   * alert or updates the active one (evidence, severity); a 'cleared' resolves it automatically.
   * The whole batch is one transaction of a few pipelined statements (active alerts and care teams
   * read together, then every write at once); if it fails, each detection is retried in its own
   * transaction so one bad detection does not stop the others (logged).
   */
  async onDetections(detections: readonly Detection[]): Promise<Alert[]> {
    if (detections.length === 0) return [];
    try {
      return await this.#applyDetections(detections);
    } catch (err) {
      if (detections.length === 1) {
        this.#logFailure(detections[0] as Detection, err);
        return [];
      }
    }
    const out: Alert[] = [];
    for (const d of detections) {
      try {
        out.push(...(await this.#applyDetections([d])));
      } catch (err) {
        this.#logFailure(d, err);
      }
    }
    return out;
  }

  /**
   * Detections that must be stored before their sender is answered (a device's own alarm, acknowledged
   * over HL7 only once its alert is durable): one transaction, and a failure is thrown, not logged.
   */
  async applyOrThrow(detections: readonly Detection[]): Promise<Alert[]> {
    if (detections.length === 0) return [];
    return this.#applyDetections(detections);
  }

  #logFailure(d: Detection, err: unknown): void {
    this.#log.error(
      { err: errorMessage(err), conditionKey: d.conditionKey, rule: d.rule },
      'detection could not be applied to alerts',
    );
  }

  async #applyDetections(detections: readonly Detection[]): Promise<Alert[]> {
    const keys = new Map<string, { patientId: string; conditionKey: string }>();
    for (const d of detections)
      keys.set(keyOf(d.patientId, d.conditionKey), { patientId: d.patientId, conditionKey: d.conditionKey });
    // Fast path: the active alerts this manager last wrote are known, so the transaction is only
    // writes (no read round trip): an update is conditional on the version it was computed from and
    // a raise is `insert … on conflict do nothing`; anything else changed meanwhile → conflict →
    // rollback and the read path below.
    let optimistic = detections.every(
      (d) => d.state === 'firing' || this.#active.has(keyOf(d.patientId, d.conditionKey)),
    );
    for (let attempt = 0; attempt < 4; attempt++) {
      const changes: AlertChange[] = [];
      const now = this.#clock.now();
      const fast = optimistic;
      if (fast) {
        // No reads and (nearly always) one change set: one statement, atomic on its own — no
        // transaction holding the connection between round trips.
        const { items, out } = this.#decide(detections, this.#knownActive(keys.keys()), now);
        const rounds = await this.#plan(undefined, items, now, changes);
        if (rounds.length <= 1 && !this.#hooksWant(changes)) {
          const ok =
            rounds.length === 0 ||
            (await this.repo.writeChangesAtomic(rounds[0] as AlertChangeSet, this.#notification(changes)));
          if (ok) {
            this.#publish(changes);
            return out;
          }
          for (const k of keys.keys()) this.#active.delete(k);
          optimistic = false;
          continue;
        }
        changes.length = 0; // several successive changes of one condition: a transaction below
      }
      const result = await this.repo.db
        .transaction(async (sql) => {
          const current = fast ? this.#knownActive(keys.keys()) : new Map<string, Alert>();
          if (!fast)
            for (const a of await this.repo.findActiveMany(sql, [...keys.values()]))
              current.set(keyOf(a.patientId, a.conditionKey), a);
          const { items, out } = this.#decide(detections, current, now);
          await this.#write(sql, items, now, changes);
          return out;
        })
        .catch((e) => {
          if (e instanceof VersionConflict) return e;
          throw e;
        });
      if (result instanceof VersionConflict) {
        for (const k of keys.keys()) this.#active.delete(k);
        optimistic = false; // changed elsewhere (or unknown): read what is stored
        continue;
      }
      this.#publish(changes);
      return result;
    }
    throw new Error('alert changed concurrently too often');
  }

  #knownActive(keys: Iterable<string>): Map<string, Alert> {
    const current = new Map<string, Alert>();
    for (const k of keys) {
      const a = this.#active.get(k);
      if (a) current.set(k, a);
    }
    return current;
  }

  /** The transitions of a batch of detections, given the active alerts (updated as it goes). */
  #decide(
    detections: readonly Detection[],
    current: Map<string, Alert>,
    now: number,
  ): { items: Item[]; out: Alert[] } {
    const items: Item[] = [];
    const out: Alert[] = [];
    for (const d of detections) {
      const k = keyOf(d.patientId, d.conditionKey);
      const before = current.get(k);
      if (!before) {
        if (d.state !== 'firing') continue;
        const tr = raiseAlert(d, now);
        items.push({ before: undefined, tr });
        current.set(k, tr.alert);
        out.push(tr.alert);
        continue;
      }
      let action: AlertAction = { type: 'detection', detection: d };
      if (d.state === 'cleared') {
        // Resolved only when no other source (a device's alarm, Vigil's rule) still holds it.
        const after = afterCleared(before, d);
        if (after.kind === 'ignore') continue;
        action =
          after.kind === 'resolve'
            ? { type: 'resolve', automatic: true, note: `cleared: ${d.summary}`, data: after.data }
            : { type: 'source-cleared', detection: d };
      }
      const tr = transition(before, action, systemActor, now);
      out.push(tr.alert);
      if (!tr.event) continue;
      items.push({ before, tr });
      if (tr.alert.state === 'resolved') current.delete(k);
      else current.set(k, tr.alert);
    }
    return { items, out };
  }

  /** PostgreSQL: the NOTIFY payloads of these changes, sent with the statement that stores them. */
  #notification(changes: readonly AlertChange[]): { channel: string; payloads: string[] } | undefined {
    if (this.#bus?.kind !== 'postgres' || changes.length === 0) return undefined;
    return { channel: ALERT_CHANNEL, payloads: changes.map((c) => JSON.stringify(this.remote(c))) };
  }

  /** A person's action (acknowledge, snooze, …). Returns the alert and whether anything changed. */
  async act(
    id: string,
    action: AlertAction,
    actor: Actor,
  ): Promise<{ alert: Alert; event: AlertEvent | null }> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = await this.repo.get(id);
      if (!current) throw alertError('NOT_FOUND', `no alert ${id}`, 404);
      const now = this.#clock.now();
      const tr = transition(current, await this.#withMaxTier(action, current, now), actor, now);
      if (!tr.event) return { alert: current, event: null };
      const changes: AlertChange[] = [];
      try {
        await this.repo.db.transaction((sql) => this.#write(sql, [{ before: current, tr }], now, changes));
      } catch (e) {
        if (e instanceof VersionConflict) continue; // someone else changed it first: decide again on what they left
        throw e;
      }
      this.#publish(changes);
      return { alert: tr.alert, event: tr.event };
    }
    throw alertError('CONFLICT', `alert ${id} is being changed by others; try again`, 409);
  }

  /** Raises an alert by hand (a clinician's concern, or an integration): same path as a detection. */
  async raiseManual(
    input: { patientId: string; severity: Severity; summary: string; conditionKey?: string | undefined },
    actor: Actor,
  ): Promise<Alert> {
    const d: Detection = {
      patientId: input.patientId,
      conditionKey: input.conditionKey ?? `manual:${newId()}`,
      rule: 'manual',
      state: 'firing',
      severity: input.severity,
      at: new Date(this.#clock.now()).toISOString(),
      summary: input.summary,
      evidence: [],
      data: { raisedBy: actor.id },
    };
    const [a] = await this.#applyDetections([d]);
    if (!a) throw new Error('manual alert not raised');
    return a;
  }

  /** Escalations and snooze ends that are due: claimed with `skip locked`, applied, re-armed. */
  async runDueTimers(limit = 50): Promise<number> {
    const now = this.#clock.now();
    const changes: AlertChange[] = [];
    const n = await this.repo.db.transaction(async (sql) => {
      const due = await this.repo.claimDueTimers(sql, new Date(now).toISOString(), limit);
      if (due.length === 0) return 0;
      const [alerts] = await Promise.all([
        this.repo.getManyForUpdate(
          sql,
          due.map((t) => t.alertId),
        ),
        ...due.map((t) => this.repo.clearTimer(sql, t.alertId, t.kind)),
      ]);
      const byId = new Map(alerts.map((a) => [a.id, a]));
      const items: Item[] = [];
      for (const t of due) {
        const alert = byId.get(t.alertId);
        if (!alert) continue;
        const action: AlertAction =
          t.kind === 'snooze-end'
            ? { type: 'snooze-end' }
            : await this.#withMaxTier({ type: 'escalate' }, alert, now, sql);
        const tr = transition(alert, action, systemActor, now);
        if (!tr.event) continue;
        items.push({ before: alert, tr });
        byId.set(alert.id, tr.alert); // an escalation and a snooze end of one alert in one pass
      }
      await this.#write(sql, items, now, changes);
      return due.length;
    });
    this.#publish(changes);
    return n;
  }

  async policy(severity: Severity, sql?: Sql): Promise<EscalationPolicy> {
    const stored = (await this.repo.cachedPolicies(sql)).find((p) => p.severity === severity);
    if (!stored) return defaultPolicy(severity);
    try {
      return validatePolicy(stored.config, severity);
    } catch (e) {
      // Validated when saved; a bad stored row must not stop alerting: fall back and say so.
      this.#log.error(
        { severity, err: errorMessage(e) },
        'stored escalation policy is invalid; using the default',
      );
      return defaultPolicy(severity);
    }
  }

  async #withMaxTier(action: AlertAction, alert: Alert, now: number, sql?: Sql): Promise<AlertAction> {
    if (action.type !== 'escalate') return action;
    const tiers = tiersAt(await this.policy(alert.severity, sql), now);
    return { ...action, maxTier: tiers.length - 1 };
  }

  /**
   * Writes the changes of one transaction: every statement is sent at once (pipelined; one round
   * trip for the lot), alert updates conditional on their version (a lost race → VersionConflict →
   * rollback and the caller decides again). Policies and webhooks come from the repository's cache;
   * no statement reads anything.
   */
  async #write(sql: Sql, items: readonly Item[], now: number, changes: AlertChange[]): Promise<void> {
    const rounds = await this.#plan(sql, items, now, changes);
    // Rounds in order; within a round every statement is sent at once (one round trip).
    const last = rounds.length - 1;
    for (let r = 0; r <= last; r++) {
      const writes = this.repo.writeChanges(sql, rounds[r] as AlertChangeSet);
      const notify =
        r === last && this.#bus?.inTransaction
          ? this.#bus.inTransaction(
              sql,
              changes.map((c) => this.remote(c)),
            )
          : undefined;
      const hooks =
        r === last && changes.length > 0 ? this.#transactionHooks.map((h) => h.run(sql, changes)) : [];
      const [ok] = await Promise.all([writes, notify, ...hooks]);
      if (!ok) throw new VersionConflict();
    }
  }

  /** The change sets (rounds) that store these transitions; fills `changes`. Reads only cached data. */
  async #plan(
    sql: Sql | undefined,
    items: readonly Item[],
    now: number,
    changes: AlertChange[],
  ): Promise<AlertChangeSet[]> {
    if (items.length === 0) return [];
    const nowIso = new Date(now).toISOString();
    const webhooks = (await this.repo.cachedWebhooks(sql)).filter((w) => w.enabled);
    const planned: Array<{
      item: Item;
      tier: EscalationTier;
      reason: Notification['reason'] | null;
      webhooksOnly: boolean;
    }> = [];
    for (const item of items) {
      const { alert, event } = item.tr;
      if (!event) continue;
      const tiers = tiersAt(await this.policy(alert.severity, sql), now);
      const tier = tiers[Math.min(alert.escalationTier, tiers.length - 1)] as EscalationTier;
      let reason: Notification['reason'] | null = item.tr.notify;
      let webhooksOnly = false;
      // A pager gateway must learn to stop paging: acknowledgements and resolutions go to webhooks.
      if (
        !reason &&
        (event.type === 'acknowledged' || event.type === 'resolved') &&
        webhooks.some((w) => !w.severities || w.severities.includes(alert.severity))
      ) {
        reason = event.type;
        webhooksOnly = true;
      }
      planned.push({ item, tier, reason, webhooksOnly });
    }
    // One change set per "round": the k-th change of each condition (successive changes of one alert,
    // or a resolution and a new raise of the same condition, go in successive statements).
    const rounds: AlertChangeSet[] = [];
    const seen = new Map<string, number>();
    for (const { item, tier, reason, webhooksOnly } of planned) {
      const { before } = item;
      const { alert, event } = item.tr as Transition & { event: AlertEvent };
      const k = keyOf(alert.patientId, alert.conditionKey);
      const r = seen.get(k) ?? 0;
      seen.set(k, r + 1);
      rounds[r] ??= {
        inserts: [],
        updates: [],
        events: [],
        timerClears: [],
        timerSets: [],
        notifications: [],
        deliveries: [],
      };
      const w = rounds[r] as AlertChangeSet;
      if (before) w.updates.push({ alert, expectedVersion: before.version });
      else w.inserts.push(alert);
      w.events.push(event);
      switch (alert.state) {
        case 'resolved':
        case 'acknowledged':
          w.timerClears.push({ alertId: alert.id, kind: null });
          break;
        case 'snoozed':
          w.timerClears.push({ alertId: alert.id, kind: 'escalate' });
          w.timerSets.push({
            alertId: alert.id,
            kind: 'snooze-end',
            dueAt: alert.snoozedUntil as string,
            createdAt: nowIso,
          });
          break;
        case 'open':
        case 'escalated':
          w.timerClears.push({ alertId: alert.id, kind: 'snooze-end' });
          if (restartsEscalation.has(event.type)) {
            if (tier.ackWithinSeconds !== undefined)
              w.timerSets.push({
                alertId: alert.id,
                kind: 'escalate',
                dueAt: new Date(now + tier.ackWithinSeconds * 1000).toISOString(),
                createdAt: nowIso,
              });
            else w.timerClears.push({ alertId: alert.id, kind: 'escalate' });
          }
          break;
      }
      let notification: Notification | undefined;
      if (reason) {
        notification = {
          id: newId(),
          type: 'alert.notification',
          reason,
          createdAt: nowIso,
          tier: alert.escalationTier,
          tierName: tier.name,
          // Recipients are filled in right after the commit (and by the outbox before any send, should
          // this process die first): the care-team read is kept out of the alert transaction.
          recipients: [],
          recipientsPending: { roles: tier.roles, practitioners: tier.practitioners ?? [] },
          alert: notifiedAlert(alert),
          ...(webhooksOnly ? { actor: { kind: event.actor.kind, id: event.actor.id } } : {}),
        };
        w.notifications.push({
          id: notification.id,
          alertId: alert.id,
          reason: notification.reason,
          tier: notification.tier,
          severity: alert.severity,
          recipients: notification.recipients,
          payload: notification as unknown as Record<string, unknown>,
          createdAt: nowIso,
        });
        const queue = (channel: string, target: string, expiryMs: number) =>
          w.deliveries.push({
            id: newId(),
            notificationId: notification?.id as string,
            channel,
            target,
            status: 'pending',
            attempts: 0,
            nextAttemptAt: nowIso,
            expiresAt: new Date(now + expiryMs).toISOString(),
            createdAt: nowIso,
            deliveredAt: null,
            lastError: null,
          });
        for (const wh of webhooks)
          if (!wh.severities || wh.severities.includes(alert.severity))
            queue('webhook', wh.id, wh.expirySeconds * 1000);
        if (!webhooksOnly) for (const name of this.#notifierNames()) queue('notifier', name, this.#expiryMs);
      }
      changes.push({ alert, event, notification });
    }
    return rounds;
  }

  /** A committed change as other workers' live feeds receive it (inline when small, else by reference). */
  remote(c: AlertChange): RemoteAlertChange {
    const message = liveMessage(c);
    if (Buffer.byteLength(message) <= MAX_INLINE_BYTES)
      return { origin: this.origin, patientId: c.alert.patientId, message };
    return {
      origin: this.origin,
      patientId: c.alert.patientId,
      ref: { alertId: c.alert.id, eventId: c.event.id, notificationId: c.notification?.id },
    };
  }

  /** Remembers the active alerts just committed (the next detection of the condition needs no read). */
  #remember(changes: readonly AlertChange[]): void {
    if (this.#active.size > 50_000) this.#active.clear();
    for (const { alert } of changes) {
      const k = keyOf(alert.patientId, alert.conditionKey);
      if (alert.state === 'resolved') this.#active.delete(k);
      else this.#active.set(k, alert);
    }
  }

  /** Fills in the recipients of the notifications just committed (off the alert path). */
  #fillRecipients(changes: readonly AlertChange[]): void {
    const pending = changes.filter((c) => c.notification?.recipientsPending);
    if (pending.length === 0) return;
    const work = this.fillRecipients(pending.map((c) => c.notification as Notification)).catch((e) =>
      // The outbox fills them before sending: nothing is lost.
      this.#log.warn({ err: errorMessage(e) }, 'notification recipients not filled yet'),
    );
    this.#background.add(work);
    void work.finally(() => this.#background.delete(work));
  }

  /**
   * Resolves the recipients of notifications written with `recipientsPending` (the tier's roles and
   * named practitioners against the patient's care teams) and stores them; returns the notifications
   * as they are now.
   */
  async fillRecipients(notifications: readonly Notification[]): Promise<Notification[]> {
    const todo = notifications.filter((n) => n.recipientsPending);
    if (todo.length === 0) return [...notifications];
    const named = todo.flatMap((n) => n.recipientsPending?.practitioners ?? []);
    const ctx = await recipientContext(
      this.repo.db,
      todo.map((n) => n.alert.patientId),
      named,
      this.#clock.now(),
    );
    const filled = new Map<string, Notification>();
    for (const n of todo) {
      const { recipientsPending, ...rest } = n;
      filled.set(n.id, {
        ...rest,
        recipients: recipientsFrom(ctx, n.alert.patientId, recipientsPending as { roles: string[] }),
      });
    }
    await this.repo.setRecipients([...filled.values()]);
    return notifications.map((n) => filled.get(n.id) ?? n);
  }

  /** Resolves when the work started after recent commits (recipients) is done. */
  async settled(): Promise<void> {
    while (this.#background.size > 0) await Promise.allSettled([...this.#background]);
  }

  #publish(changes: AlertChange[]): void {
    this.#remember(changes);
    if (changes.length > 0 && this.#bus?.afterCommit) {
      try {
        this.#bus.afterCommit(changes.map((c) => this.remote(c)));
      } catch (err) {
        this.#log.warn({ err: errorMessage(err) }, 'alert changes not announced to other workers');
      }
    }
    for (const c of changes) {
      for (const l of this.#listeners) {
        try {
          l(c);
        } catch (err) {
          this.#log.error({ err: errorMessage(err) }, 'alert change listener failed');
        }
      }
    }
    this.#fillRecipients(changes);
  }
}

export function isAlertError(e: unknown): boolean {
  return isVigilError(e) && e.code.startsWith('VIGIL_ERR_ALERT_');
}
