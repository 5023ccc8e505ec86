import type { Detection } from '../core/detection.ts';
import { VigilError } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import { severityRank } from '../core/severity.ts';
import type { Actor, Alert, AlertEvent, AlertEventType, AlertState, NotificationReason } from './alert.ts';
import {
  afterCleared,
  DEVICE_ALARM_RULE,
  initialSourceData,
  mergeFiring,
  sourceOf,
} from './alert-sources.ts';

/**
 * The alert lifecycle as a pure function: (alert, action, actor, now) → new alert + timeline event,
 * or a coded error (409 for an invalid transition). No I/O: the manager persists the result with a
 * conditional update on `version`, so concurrent actions have exactly one winner.
 */
export type AlertAction =
  | { type: 'acknowledge'; note?: string | undefined }
  | { type: 'snooze'; minutes: number; note?: string | undefined }
  | { type: 'unsnooze'; note?: string | undefined }
  /** Manual (a user) or by the escalation timer (the system). maxTier caps the tier (repeat the last). */
  | { type: 'escalate'; note?: string | undefined; maxTier?: number | undefined }
  | { type: 'assign'; userId: string; note?: string | undefined }
  | {
      type: 'resolve';
      note?: string | undefined;
      automatic?: boolean | undefined;
      /** Replaces the alert's data (the clearing source's last report: alert-sources.ts). */
      data?: Record<string, unknown> | undefined;
    }
  | { type: 'snooze-end' }
  | { type: 'detection'; detection: Detection }
  /** A cleared detection from one source of an alert another source still holds (alert-sources.ts). */
  | { type: 'source-cleared'; detection: Detection };

export type AlertActionType = AlertAction['type'];

export interface Transition {
  alert: Alert;
  /** null when nothing changed (a harmless repeat, or a stale timer). */
  event: AlertEvent | null;
  /** Whether (and why) people must be notified. */
  notify: NotificationReason | null;
}

export const MAX_SNOOZE_MINUTES = 24 * 60;
/** Evidence kept per alert (the newest ids); older ones stay in the timeline events' data. */
export const MAX_EVIDENCE = 500;

export function alertError(
  code: string,
  message: string,
  status: number,
  details?: Record<string, unknown>,
): VigilError {
  return new VigilError(`VIGIL_ERR_ALERT_${code}`, message, status, details);
}

/** A new alert from a firing detection. */
export function raiseAlert(d: Detection, now: number, id = newId()): Transition {
  const iso = new Date(now).toISOString();
  const alert: Alert = {
    id,
    patientId: d.patientId,
    conditionKey: d.conditionKey,
    rule: d.rule,
    severity: d.severity,
    state: 'open',
    summary: d.summary,
    evidence: [...new Set(d.evidence)].slice(-MAX_EVIDENCE),
    // A device alarm tracks its source from the start, so Vigil's detection can join it (alert-sources.ts).
    data: d.rule === DEVICE_ALARM_RULE ? initialSourceData(d) : (d.data ?? {}),
    deviceId: d.deviceId ?? null,
    raisedAt: d.at,
    lastDetectionAt: d.at,
    createdAt: iso,
    updatedAt: iso,
    acknowledgedAt: null,
    acknowledgedBy: null,
    firstAcknowledgedAt: null,
    snoozedUntil: null,
    snoozedBy: null,
    assignedTo: null,
    resolvedAt: null,
    resolvedBy: null,
    resolution: null,
    escalationTier: 0,
    escalationCount: 0,
    version: 1,
  };
  const event = makeEvent(alert, 'raised', { kind: 'system', id: 'vigil' }, null, iso, null, {
    severity: d.severity,
    evidence: alert.evidence,
    summary: d.summary,
  });
  return { alert, event, notify: 'raised' };
}

function makeEvent(
  a: Alert,
  type: AlertEventType,
  actor: Actor,
  from: AlertState | null,
  at: string,
  note: string | undefined | null,
  data: Record<string, unknown> = {},
): AlertEvent {
  return {
    id: newId(),
    alertId: a.id,
    at,
    type,
    actor,
    fromState: from,
    toState: a.state,
    note: note ?? null,
    data,
  };
}

/** State an alert returns to when a snooze ends or is cancelled. */
function restingState(a: Alert): AlertState {
  if (a.acknowledgedAt) return 'acknowledged';
  return a.escalationTier > 0 ? 'escalated' : 'open';
}

function resolvedError(a: Alert): VigilError {
  return alertError(
    'RESOLVED',
    `alert ${a.id} was resolved at ${a.resolvedAt}; it accepts no further action`,
    409,
    {
      state: a.state,
    },
  );
}

export function isUnacknowledged(a: Alert): boolean {
  return a.state === 'open' || a.state === 'escalated';
}

export function transition(alert: Alert, action: AlertAction, actor: Actor, now: number): Transition {
  const at = new Date(now).toISOString();
  const unchanged: Transition = { alert, event: null, notify: null };
  const next = (changes: Partial<Alert>): Alert => ({
    ...alert,
    ...changes,
    updatedAt: at,
    version: alert.version + 1,
  });
  const done = (
    a: Alert,
    type: AlertEventType,
    note: string | undefined,
    notify: NotificationReason | null = null,
    data: Record<string, unknown> = {},
  ): Transition => ({ alert: a, event: makeEvent(a, type, actor, alert.state, at, note, data), notify });

  if (alert.state === 'resolved') {
    // A late timer or a repeated automatic resolution is harmless; a person acting on a resolved alert is told.
    if (actor.kind === 'system' && action.type !== 'detection') return unchanged;
    if (action.type === 'resolve') {
      throw alertError(
        'ALREADY_RESOLVED',
        `alert ${alert.id} is already resolved (by ${alert.resolvedBy} at ${alert.resolvedAt})`,
        409,
        {
          resolvedBy: alert.resolvedBy,
          resolvedAt: alert.resolvedAt,
        },
      );
    }
    throw resolvedError(alert);
  }

  switch (action.type) {
    case 'acknowledge': {
      const acked = alert.acknowledgedAt !== null;
      if (acked) {
        if (alert.acknowledgedBy === actor.id) return unchanged;
        throw alertError(
          'ALREADY_ACKNOWLEDGED',
          `alert ${alert.id} was already acknowledged by ${alert.acknowledgedBy} at ${alert.acknowledgedAt}`,
          409,
          { acknowledgedBy: alert.acknowledgedBy, acknowledgedAt: alert.acknowledgedAt },
        );
      }
      const a = next({
        state: alert.state === 'snoozed' ? 'snoozed' : 'acknowledged',
        acknowledgedAt: at,
        acknowledgedBy: actor.id,
        firstAcknowledgedAt: alert.firstAcknowledgedAt ?? at,
      });
      return done(a, 'acknowledged', action.note);
    }
    case 'snooze': {
      if (!Number.isInteger(action.minutes) || action.minutes < 1 || action.minutes > MAX_SNOOZE_MINUTES) {
        throw alertError(
          'SNOOZE_INVALID',
          `snooze minutes must be an integer from 1 to ${MAX_SNOOZE_MINUTES}`,
          400,
        );
      }
      const until = new Date(now + action.minutes * 60_000).toISOString();
      const a = next({ state: 'snoozed', snoozedUntil: until, snoozedBy: actor.id });
      return done(a, 'snoozed', action.note, null, { minutes: action.minutes, until });
    }
    case 'unsnooze': {
      if (alert.state !== 'snoozed') {
        throw alertError('NOT_SNOOZED', `alert ${alert.id} is ${alert.state}, not snoozed`, 409, {
          state: alert.state,
        });
      }
      const a = next({ snoozedUntil: null, snoozedBy: null });
      a.state = restingState(a);
      return done(a, 'unsnoozed', action.note);
    }
    case 'snooze-end': {
      if (alert.state !== 'snoozed' || alert.snoozedUntil === null || Date.parse(alert.snoozedUntil) > now)
        return unchanged;
      const a = next({ snoozedUntil: null, snoozedBy: null });
      a.state = restingState(a);
      return done(a, 'snooze-ended', undefined, 'snooze-ended');
    }
    case 'escalate': {
      // The timer only escalates what nobody has taken; a person may escalate at any time (e.g. a nurse
      // handing over to the clinician), which asks the next tier to acknowledge.
      if (actor.kind === 'system' && !isUnacknowledged(alert)) return unchanged;
      const max = action.maxTier ?? Number.POSITIVE_INFINITY;
      const tier = Math.min(alert.escalationTier + 1, max);
      const repeat = tier === alert.escalationTier;
      const a = next({
        state: 'escalated',
        escalationTier: tier,
        escalationCount: alert.escalationCount + 1,
        acknowledgedAt: null,
        acknowledgedBy: null,
        snoozedUntil: null,
        snoozedBy: null,
      });
      return done(a, 'escalated', action.note, repeat ? 'repeat' : 'escalated', {
        tier,
        repeat,
        manual: actor.kind === 'user',
      });
    }
    case 'assign': {
      if (alert.assignedTo === action.userId) return unchanged;
      const a = next({ assignedTo: action.userId });
      return done(a, 'assigned', action.note, null, { from: alert.assignedTo, to: action.userId });
    }
    case 'resolve': {
      const resolution = action.automatic ? 'automatic' : 'manual';
      const a = next({
        state: 'resolved',
        resolvedAt: at,
        resolvedBy: actor.id,
        resolution,
        snoozedUntil: null,
        ...(action.data ? { data: action.data } : {}),
      });
      return done(a, 'resolved', action.note, null, { resolution });
    }
    case 'detection': {
      const d = action.detection;
      if (d.state !== 'firing') throw new Error('a cleared detection resolves the alert (use resolve)');
      const evidence = [...new Set([...alert.evidence, ...d.evidence])].slice(-MAX_EVIDENCE);
      const added = d.evidence.filter((e) => !alert.evidence.includes(e));
      const merged = mergeFiring(alert, d);
      const base = {
        severity: merged.severity,
        summary: d.summary,
        evidence,
        data: merged.data,
        lastDetectionAt: d.at > alert.lastDetectionAt ? d.at : alert.lastDetectionAt,
      };
      const data = {
        fromSeverity: alert.severity,
        severity: merged.severity,
        evidence: added,
        summary: d.summary,
        source: sourceOf(d),
      };
      if (severityRank(merged.severity) > severityRank(alert.severity)) {
        // Worse is a new alarm: it always notifies, even through a snooze, and needs a fresh acknowledgement.
        const a = next({
          ...base,
          state: 'open',
          acknowledgedAt: null,
          acknowledgedBy: null,
          snoozedUntil: null,
          snoozedBy: null,
          escalationTier: 0,
        });
        return done(a, 'worsened', undefined, 'worsened', data);
      }
      const a = next(base);
      // A lower severity is recorded, never notified (the engine takes it only once it has held:
      // severity hysteresis). Same severity: a snooze holds; an acknowledged alert has an owner; an
      // unacknowledged one is reminded (the engine emits those only at its re-alert interval).
      const lower = severityRank(merged.severity) < severityRank(alert.severity);
      // A device's own report (continue, update, or joining Vigil's alert) never re-pages: the
      // device re-sends while its alarm lasts, and the people it concerns were paged when it began.
      const quiet = lower || sourceOf(d) === 'device-alarm';
      return done(a, 'updated', undefined, !quiet && isUnacknowledged(alert) ? 'repeat' : null, data);
    }
    case 'source-cleared': {
      const d = action.detection;
      const after = afterCleared(alert, d);
      if (after.kind !== 'update') return unchanged;
      const a = next({ severity: after.severity, data: after.data });
      return done(a, 'updated', undefined, null, {
        fromSeverity: alert.severity,
        severity: after.severity,
        source: sourceOf(d),
        cleared: true,
        summary: d.summary,
        activeSources: after.remaining,
      });
    }
    default: {
      const never: never = action;
      throw new Error(`unknown alert action ${JSON.stringify(never)}`);
    }
  }
}
