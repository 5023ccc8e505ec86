import type { Clock } from '../core/clock.ts';
import type { Detection } from '../core/detection.ts';
import { errorMessage, isVigilError } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import type { Logger } from '../core/logger.ts';
import type { Severity } from '../core/severity.ts';
import type { AlertRepository } from '../store/alert-repository.ts';
import type { Sql } from '../store/database.ts';
import { type Actor, type Alert, type AlertEvent, systemActor } from './alert.ts';
import { type AlertAction, alertError, raiseAlert, type Transition, transition } from './alert-state.ts';
import { tierRecipients } from './care-team.ts';
import {
  defaultPolicy,
  type EscalationPolicy,
  type EscalationTier,
  tiersAt,
  validatePolicy,
} from './escalation-policy.ts';
import { type Notification, notifiedAlert } from './notifier.ts';

/** What happened, published after the commit (live feed, audit). */
export interface AlertChange {
  alert: Alert;
  event: AlertEvent;
  notification: Notification | undefined;
}
export type AlertChangeListener = (change: AlertChange) => void;

export interface AlertManagerOptions {
  repo: AlertRepository;
  clock: Clock;
  log: Logger;
  /** Names of the notifier channels (besides webhooks) each notification is queued for. */
  notifierNames?: () => string[];
  /** Default expiry of a delivery when its channel has none (ms); default 24 h. */
  deliveryExpiryMs?: number;
}

class VersionConflict extends Error {}

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

  constructor(o: AlertManagerOptions) {
    this.repo = o.repo;
    this.#clock = o.clock;
    this.#log = o.log;
    this.#notifierNames = o.notifierNames ?? (() => []);
    this.#expiryMs = o.deliveryExpiryMs ?? 24 * 3600_000;
  }

  onChange(l: AlertChangeListener): void {
    this.#listeners.push(l);
  }

  /**
   * Detections from the rule engine, after their readings are committed. A 'firing' raises the
   * alert or updates the active one (evidence, severity); a 'cleared' resolves it automatically.
   * Each detection is its own transaction; a failure is logged and does not stop the others.
   */
  async onDetections(detections: readonly Detection[]): Promise<Alert[]> {
    const out: Alert[] = [];
    for (const d of detections) {
      try {
        const a = await this.#onDetection(d);
        if (a) out.push(a);
      } catch (err) {
        this.#log.error(
          { err: errorMessage(err), conditionKey: d.conditionKey, rule: d.rule },
          'detection could not be applied to alerts',
        );
      }
    }
    return out;
  }

  async #onDetection(d: Detection): Promise<Alert | undefined> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const changes: AlertChange[] = [];
      const now = this.#clock.now();
      const result = await this.repo.db
        .transaction(async (sql) => {
          const active = await this.repo.findActive(sql, d.patientId, d.conditionKey);
          if (!active) {
            if (d.state !== 'firing') return undefined;
            const tr = raiseAlert(d, now);
            if (!(await this.repo.insert(sql, tr.alert))) throw new VersionConflict(); // raised concurrently: update it instead
            await this.#persist(sql, undefined, tr, now, changes);
            return tr.alert;
          }
          const action: AlertAction =
            d.state === 'cleared'
              ? { type: 'resolve', automatic: true, note: `cleared: ${d.summary}` }
              : { type: 'detection', detection: d };
          const tr = transition(active, action, systemActor, now);
          await this.#persist(sql, active, tr, now, changes);
          return tr.alert;
        })
        .catch((e) => {
          if (e instanceof VersionConflict) return e;
          throw e;
        });
      if (result instanceof VersionConflict) continue;
      this.#publish(changes);
      return result;
    }
    throw new Error('alert changed concurrently too often');
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
        await this.repo.db.transaction((sql) => this.#persist(sql, current, tr, now, changes));
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
    const a = await this.#onDetection(d);
    if (!a) throw new Error('manual alert not raised');
    return a;
  }

  /** Escalations and snooze ends that are due: claimed with `skip locked`, applied, re-armed. */
  async runDueTimers(limit = 50): Promise<number> {
    const now = this.#clock.now();
    const changes: AlertChange[] = [];
    const n = await this.repo.db.transaction(async (sql) => {
      const due = await this.repo.claimDueTimers(sql, new Date(now).toISOString(), limit);
      for (const t of due) {
        await this.repo.clearTimer(sql, t.alertId, t.kind);
        const alert = await this.repo.getForUpdate(sql, t.alertId);
        if (!alert) continue;
        const action: AlertAction =
          t.kind === 'snooze-end'
            ? { type: 'snooze-end' }
            : await this.#withMaxTier({ type: 'escalate' }, alert, now, sql);
        await this.#persist(sql, alert, transition(alert, action, systemActor, now), now, changes);
      }
      return due.length;
    });
    this.#publish(changes);
    return n;
  }

  async policy(severity: Severity, sql: Sql = this.repo.db): Promise<EscalationPolicy> {
    const stored = (await this.repo.policies(sql)).find((p) => p.severity === severity);
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

  async #persist(
    sql: Sql,
    before: Alert | undefined,
    tr: Transition,
    now: number,
    changes: AlertChange[],
  ): Promise<void> {
    const { alert, event } = tr;
    if (!event) return;
    if (before && !(await this.repo.update(sql, alert, before.version))) throw new VersionConflict();
    await this.repo.insertEvent(sql, event);
    const nowIso = new Date(now).toISOString();
    const policy = await this.policy(alert.severity, sql);
    const tiers = tiersAt(policy, now);
    const tier = tiers[Math.min(alert.escalationTier, tiers.length - 1)] as EscalationTier;
    switch (alert.state) {
      case 'resolved':
      case 'acknowledged':
        await this.repo.clearTimer(sql, alert.id);
        break;
      case 'snoozed':
        await this.repo.clearTimer(sql, alert.id, 'escalate');
        await this.repo.setTimer(sql, alert.id, 'snooze-end', alert.snoozedUntil as string, nowIso);
        break;
      case 'open':
      case 'escalated':
        await this.repo.clearTimer(sql, alert.id, 'snooze-end');
        if (restartsEscalation.has(event.type)) {
          if (tier.ackWithinSeconds !== undefined) {
            await this.repo.setTimer(
              sql,
              alert.id,
              'escalate',
              new Date(now + tier.ackWithinSeconds * 1000).toISOString(),
              nowIso,
            );
          } else {
            await this.repo.clearTimer(sql, alert.id, 'escalate');
          }
        }
        break;
    }
    let notification: Notification | undefined;
    if (tr.notify) {
      notification = {
        id: newId(),
        type: 'alert.notification',
        reason: tr.notify,
        createdAt: nowIso,
        tier: alert.escalationTier,
        tierName: tier.name,
        recipients: await tierRecipients(sql, alert.patientId, tier),
        alert: notifiedAlert(alert),
      };
      await this.repo.insertNotification(sql, {
        id: notification.id,
        alertId: alert.id,
        reason: notification.reason,
        tier: notification.tier,
        severity: alert.severity,
        recipients: notification.recipients,
        payload: notification as unknown as Record<string, unknown>,
        createdAt: nowIso,
      });
      const queue = async (channel: string, target: string, expiryMs: number) =>
        this.repo.insertDelivery(sql, {
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
      for (const w of await this.repo.webhooks(sql)) {
        if (w.enabled && (!w.severities || w.severities.includes(alert.severity)))
          await queue('webhook', w.id, w.expirySeconds * 1000);
      }
      for (const name of this.#notifierNames()) await queue('notifier', name, this.#expiryMs);
    }
    changes.push({ alert, event, notification });
  }

  #publish(changes: AlertChange[]): void {
    for (const c of changes) {
      for (const l of this.#listeners) {
        try {
          l(c);
        } catch (err) {
          this.#log.error({ err: errorMessage(err) }, 'alert change listener failed');
        }
      }
    }
  }
}

export function isAlertError(e: unknown): boolean {
  return isVigilError(e) && e.code.startsWith('VIGIL_ERR_ALERT_');
}
