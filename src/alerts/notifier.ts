import { appendFileSync } from 'node:fs';
import type { Recipient } from '../store/alert-repository.ts';
import type { Alert, NotificationReason } from './alert.ts';

/** The alert as carried in a notification: identifiers and clinical summary, no names. */
export interface NotifiedAlert {
  id: string;
  patientId: string;
  conditionKey: string;
  rule: string;
  severity: Alert['severity'];
  state: Alert['state'];
  summary: string;
  evidence: string[];
  raisedAt: string;
  escalationTier: number;
  deviceId: string | null;
}

/** One decision to tell people about an alert (raised, worsened, escalated, reminder…). */
export interface Notification {
  id: string;
  type: 'alert.notification';
  reason: NotificationReason;
  createdAt: string;
  tier: number;
  tierName: string;
  recipients: Recipient[];
  alert: NotifiedAlert;
  /** Who acknowledged or resolved (reasons `acknowledged`, `resolved`): a user id or `vigil`. */
  actor?: { kind: 'user' | 'system'; id: string };
  /**
   * Internal, never sent: the tier whose recipients are still to be resolved from the care teams
   * (written so by the alert transaction; filled in right after the commit, or by the outbox).
   */
  recipientsPending?: { roles: string[]; practitioners: string[] };
}

export interface DeliveryResult {
  ok: boolean;
  statusCode?: number | undefined;
  error?: string | undefined;
  /** Retrying cannot help (nobody to send to): the delivery expires now instead of backing off. */
  permanent?: boolean | undefined;
}

/**
 * Port for notification gateways (SMS, e-mail, pager, webhook). `send` resolves with the outcome
 * (it should not throw for a failed delivery); the outbox retries failures with backoff.
 */
export interface Notifier {
  readonly name: string;
  send(n: Notification): Promise<DeliveryResult>;
}

export function notifiedAlert(a: Alert): NotifiedAlert {
  return {
    id: a.id,
    patientId: a.patientId,
    conditionKey: a.conditionKey,
    rule: a.rule,
    severity: a.severity,
    state: a.state,
    summary: a.summary,
    evidence: a.evidence.slice(-20),
    raisedAt: a.raisedAt,
    escalationTier: a.escalationTier,
    deviceId: a.deviceId,
  };
}

/**
 * Test notifier: records what it is sent (in memory, and as JSON lines in `file` when given, so a
 * test can read what another process sent). `failNext(n)` makes the next n sends fail.
 */
export class RecordingNotifier implements Notifier {
  readonly name: string;
  readonly sent: Notification[] = [];
  readonly #file: string | undefined;
  #failures = 0;

  constructor(name = 'recording', file?: string) {
    this.name = name;
    this.#file = file;
  }

  failNext(n: number): void {
    this.#failures = n;
  }

  async send(n: Notification): Promise<DeliveryResult> {
    if (this.#failures > 0) {
      this.#failures--;
      return { ok: false, error: 'simulated gateway failure' };
    }
    this.sent.push(n);
    if (this.#file) appendFileSync(this.#file, `${JSON.stringify(n)}\n`);
    return { ok: true };
  }
}
