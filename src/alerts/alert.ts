import type { Severity } from '../core/severity.ts';

/** Lifecycle states (docs/alerts.md). `escalated` = still unacknowledged, at least one tier escalated. */
export const AlertState = {
  open: 'open',
  acknowledged: 'acknowledged',
  snoozed: 'snoozed',
  escalated: 'escalated',
  resolved: 'resolved',
} as const;
export type AlertState = (typeof AlertState)[keyof typeof AlertState];
export const alertStates = Object.values(AlertState);

/** Who did something: a user (id + username), or the system (detections, timers). */
export interface Actor {
  kind: 'user' | 'system';
  id: string;
  name?: string | undefined;
}

export const systemActor: Actor = { kind: 'system', id: 'vigil' };

export interface Alert {
  id: string;
  patientId: string;
  conditionKey: string;
  rule: string;
  severity: Severity;
  state: AlertState;
  summary: string;
  /** Observation ids (readings or scores) that raised and later updated the alert, oldest first. */
  evidence: string[];
  data: Record<string, unknown>;
  deviceId: string | null;
  /** Event time of the first detection. */
  raisedAt: string;
  /** Event time of the latest detection. */
  lastDetectionAt: string;
  createdAt: string;
  updatedAt: string;
  acknowledgedAt: string | null;
  acknowledgedBy: string | null;
  firstAcknowledgedAt: string | null;
  snoozedUntil: string | null;
  snoozedBy: string | null;
  assignedTo: string | null;
  resolvedAt: string | null;
  resolvedBy: string | null;
  resolution: 'manual' | 'automatic' | null;
  /** 0 = first tier notified; n = escalated n times. */
  escalationTier: number;
  escalationCount: number;
  /** Optimistic concurrency: every change bumps it; updates are conditional on it. */
  version: number;
}

/** Timeline entry: every transition with who, when and an optional note. */
export interface AlertEvent {
  id: string;
  alertId: string;
  at: string;
  type: AlertEventType;
  actor: Actor;
  fromState: AlertState | null;
  toState: AlertState;
  note: string | null;
  data: Record<string, unknown>;
}

export type AlertEventType =
  | 'raised'
  | 'updated'
  | 'worsened'
  | 'acknowledged'
  | 'snoozed'
  | 'unsnoozed'
  | 'snooze-ended'
  | 'escalated'
  | 'assigned'
  | 'resolved';

/**
 * What a notification is about. `acknowledged` and `resolved` go to webhooks only (a pager gateway
 * stops paging); the others page people on every channel.
 */
export type NotificationReason =
  | 'raised'
  | 'worsened'
  | 'escalated'
  | 'snooze-ended'
  | 'repeat'
  | 'acknowledged'
  | 'resolved';
