import type { Clock } from '../core/clock.ts';
import { errorMessage } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import type { Logger } from '../core/logger.ts';
import type { AlertRepository, DeliveryRow } from '../store/alert-repository.ts';
import type { DeliveryResult, Notification, Notifier } from './notifier.ts';
import { WebhookNotifier } from './webhook.ts';

export interface BackoffOptions {
  /** First retry after about this long (ms); doubles each attempt. */
  baseMs: number;
  /** Longest wait between attempts (ms). */
  maxMs: number;
}

/** What one delivery attempt came to (for metrics). */
export interface DeliveryAttemptOutcome {
  channel: string;
  target: string;
  ok: boolean;
  status: 'delivered' | 'pending' | 'expired';
}

/** Sends one outbox row of a channel registered with `addChannel`; should not throw for a failure. */
export type DeliveryChannel = (d: DeliveryRow) => Promise<DeliveryResult>;

export const defaultBackoff: BackoffOptions = { baseMs: 2_000, maxMs: 15 * 60_000 };

/** Exponential backoff with "equal jitter": half fixed, half random, so receivers are not stampeded. */
export function backoffDelay(attempt: number, o: BackoffOptions, random: () => number = Math.random): number {
  const exp = Math.min(o.maxMs, o.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exp / 2 + (exp / 2) * random());
}

/**
 * The durable outbox: deliveries are rows written in the same transaction as the alert change;
 * this dispatcher sends the due ones (claimed with a lease, `skip locked` across workers), logs
 * every attempt, and retries failures with backoff until delivered or expired.
 */
export class Outbox {
  readonly #repo: AlertRepository;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #notifiers: Map<string, Notifier>;
  readonly #backoff: BackoffOptions;
  readonly #leaseMs: number;
  readonly #webhookTimeoutMs: number;
  readonly #fill: ((ns: Notification[]) => Promise<Notification[]>) | undefined;
  readonly #onAttempt: ((a: DeliveryAttemptOutcome) => void) | undefined;

  constructor(o: {
    repo: AlertRepository;
    clock: Clock;
    log: Logger;
    notifiers?: Notifier[];
    backoff?: BackoffOptions;
    leaseMs?: number;
    webhookTimeoutMs?: number;
    /** Resolves recipients still pending in a notification (the alert manager's `fillRecipients`). */
    fill?: (ns: Notification[]) => Promise<Notification[]>;
    /** Called after each attempt is recorded (metrics). */
    onAttempt?: (a: DeliveryAttemptOutcome) => void;
  }) {
    this.#fill = o.fill;
    this.#onAttempt = o.onAttempt;
    this.#repo = o.repo;
    this.#clock = o.clock;
    this.#log = o.log;
    this.#notifiers = new Map((o.notifiers ?? []).map((n) => [n.name, n]));
    this.#backoff = o.backoff ?? defaultBackoff;
    this.#leaseMs = o.leaseMs ?? 60_000;
    this.#webhookTimeoutMs = o.webhookTimeoutMs ?? 10_000;
  }

  /** Names of the notifier channels every notification is queued for. */
  get notifierNames(): string[] {
    return [...this.#notifiers.keys()];
  }

  addNotifier(n: Notifier): void {
    this.#notifiers.set(n.name, n);
  }

  readonly #channels = new Map<string, DeliveryChannel>();

  /**
   * A channel whose deliveries carry no alert notification (FHIR Subscriptions): its rows in the
   * outbox are sent by `send`, with the same claim, attempt log, backoff and expiry as webhooks.
   */
  addChannel(name: string, send: DeliveryChannel): void {
    this.#channels.set(name, send);
  }

  /** Sends what is due; returns how many deliveries were attempted. */
  async runDue(limit = 50): Promise<number> {
    const now = this.#clock.now();
    const due = await this.#repo.claimDueDeliveries(
      new Date(now).toISOString(),
      new Date(now + this.#leaseMs).toISOString(),
      limit,
    );
    if (due.length === 0) return 0;
    due.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id)); // oldest first
    // The notifications of the claimed deliveries in one read; recipients still pending resolved in
    // one pass; then every send starts at once, in claim order.
    const byId = new Map<string, Notification>();
    let prepared: string | undefined;
    try {
      const ids = due.flatMap((d) => (d.notificationId ? [d.notificationId] : []));
      const rows = ids.length ? await this.#repo.notificationsByIds([...new Set(ids)]) : [];
      let ns = rows.map((r) => r.payload as unknown as Notification);
      if (ns.some((n) => n.recipientsPending)) {
        if (!this.#fill) throw new Error('notification recipients not resolved yet');
        ns = await this.#fill(ns);
      }
      for (const n of ns) byId.set(n.id, n);
    } catch (e) {
      prepared = errorMessage(e);
    }
    await Promise.all(
      due.map((d) =>
        this.#deliver(
          d,
          d.notificationId ? byId.get(d.notificationId) : undefined,
          d.notificationId ? prepared : undefined,
        ),
      ),
    );
    return due.length;
  }

  async #deliver(d: DeliveryRow, notification: Notification | undefined, failure?: string): Promise<void> {
    const started = this.#clock.now();
    let result: DeliveryResult;
    let expireNow = false;
    try {
      if (failure) throw new Error(failure);
      const channel = this.#channels.get(d.channel);
      if (channel) {
        result = await channel(d);
        expireNow = result.permanent === true;
      } else if (!notification) throw new Error('notification missing');
      else {
        const n = notification;
        if (d.channel === 'webhook') {
          const sub = await this.#repo.webhook(d.target);
          if (!sub?.enabled) {
            result = { ok: false, error: 'webhook subscription deleted or disabled' };
            expireNow = true;
          } else {
            const notifier = new WebhookNotifier(sub, () => this.#clock.now(), {
              timeoutMs: this.#webhookTimeoutMs,
              attempt: d.attempts,
            });
            result = await notifier.send(n);
          }
        } else {
          const notifier = this.#notifiers.get(d.target);
          result = notifier
            ? await notifier.send(n)
            : { ok: false, error: `notifier ${d.target} is not configured on this worker` };
        }
      }
    } catch (e) {
      result = { ok: false, error: errorMessage(e) };
    }
    const end = this.#clock.now();
    const expired = !result.ok && (expireNow || result.permanent === true || end >= Date.parse(d.expiresAt));
    const next =
      result.ok || expired
        ? end
        : Math.min(end + backoffDelay(d.attempts, this.#backoff), Date.parse(d.expiresAt));
    const status = result.ok ? 'delivered' : expired ? 'expired' : 'pending';
    try {
      await this.#repo.recordAttempt(
        {
          id: newId(),
          deliveryId: d.id,
          attempt: d.attempts,
          at: new Date(started).toISOString(),
          ok: result.ok,
          statusCode: result.statusCode ?? null,
          error: result.error ?? null,
          durationMs: Math.max(0, end - started),
        },
        {
          status,
          nextAttemptAt: new Date(next).toISOString(),
          error: result.error ?? null,
          deliveredAt: result.ok ? new Date(end).toISOString() : null,
        },
      );
    } catch (e) {
      // The lease makes it retry later; at-least-once delivery (receivers dedupe on Vigil-Event-Id).
      this.#log.error({ err: e, deliveryId: d.id }, 'could not record a delivery attempt');
      return;
    }
    this.#onAttempt?.({ channel: d.channel, target: d.target, ok: result.ok, status });
    if (status === 'expired')
      this.#log.warn(
        { deliveryId: d.id, channel: d.channel, attempts: d.attempts },
        'notification delivery expired',
      );
  }
}
