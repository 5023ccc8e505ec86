import type { Clock } from '../core/clock.ts';
import type { Detection } from '../core/detection.ts';
import { errorMessage } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { Metrics } from '../core/metrics.ts';
import { AlertRepository } from '../store/alert-repository.ts';
import type { Database } from '../store/database.ts';
import { MeasurementRequestRepository } from '../store/measurement-request-repository.ts';
import type { Alert } from './alert.ts';
import { type AlertChange, AlertManager } from './alert-manager.ts';
import {
  type AlertChangeBus,
  NatsAlertChangeBus,
  PostgresAlertChangeBus,
  type RemoteAlertChange,
} from './change-bus.ts';
import { LiveFeed, liveMessage } from './live-feed.ts';
import { MeasurementRequests } from './measurement-requests.ts';
import type { Notifier } from './notifier.ts';
import { type BackoffOptions, type DeliveryAttemptOutcome, Outbox } from './outbox.ts';
import { AlertScheduler } from './scheduler.ts';

export interface AlertingOptions {
  db: Database;
  clock: Clock;
  log: Logger;
  /** Gateways (SMS, e-mail, pager, test recorder) every notification is queued for, besides webhooks. */
  notifiers?: Notifier[];
  pollIntervalMs?: number;
  backoff?: BackoffOptions;
  /** Expiry of notifier deliveries (webhooks have their own per subscription), ms. Default 24 h. */
  deliveryExpiryMs?: number;
  /**
   * How alert changes reach the live feeds of the other workers: `auto` (default) = NATS when
   * `natsUrl` is given, else PostgreSQL LISTEN/NOTIFY on a PostgreSQL server, else none (PGlite:
   * one process); `none` = this worker's changes only.
   */
  share?: 'auto' | 'none';
  natsUrl?: string | undefined;
  /** Subject prefix on NATS (tests use their own). */
  natsPrefix?: string;
  /** Prometheus metrics: alerts opened, notified, acknowledged, time to acknowledge, lag, outbox. */
  metrics?: Metrics;
}

/** The alerts module as the composition root sees it: build, start, feed detections, stop. */
export class Alerting {
  readonly repo: AlertRepository;
  readonly manager: AlertManager;
  readonly outbox: Outbox;
  readonly scheduler: AlertScheduler;
  readonly live: LiveFeed;
  /** Measurement requests detection raised (a record each, besides their info alert). */
  readonly requests: MeasurementRequests;
  /** Carries changes between workers (undefined: this worker's live feed hears only its own). */
  readonly bus: AlertChangeBus | undefined;
  /** Resolves once the change bus listens (immediately without one). */
  ready: Promise<void> = Promise.resolve();
  readonly #log: Logger;

  constructor(o: AlertingOptions) {
    const log = o.log.child({ component: 'alerts' });
    this.#log = log;
    this.repo = new AlertRepository(o.db);
    this.requests = new MeasurementRequests(new MeasurementRequestRepository(o.db), o.clock);
    if (o.share !== 'none') {
      if (o.natsUrl) this.bus = new NatsAlertChangeBus(o.natsUrl, log, o.natsPrefix);
      else if (o.db.listen) this.bus = new PostgresAlertChangeBus(o.db, log);
    }
    this.outbox = new Outbox({
      repo: this.repo,
      clock: o.clock,
      log,
      notifiers: o.notifiers ?? [],
      fill: (ns) => this.manager.fillRecipients(ns),
      ...(o.metrics ? { onAttempt: attemptMetrics(o.metrics) } : {}),
      ...(o.backoff ? { backoff: o.backoff } : {}),
    });
    this.manager = new AlertManager({
      repo: this.repo,
      clock: o.clock,
      log,
      notifierNames: () => this.outbox.notifierNames,
      bus: this.bus,
      ...(o.deliveryExpiryMs ? { deliveryExpiryMs: o.deliveryExpiryMs } : {}),
    });
    this.scheduler = new AlertScheduler(
      [
        { name: 'timers', run: () => this.manager.runDueTimers() },
        { name: 'outbox', run: () => this.outbox.runDue() },
      ],
      log,
      o.pollIntervalMs ?? 500,
    );
    this.live = new LiveFeed(o.db, log);
    this.manager.onChange((c) => this.live.publish(c));
    const m = o.metrics;
    if (m) {
      this.manager.onChange((c) => changeMetrics(m, c));
      m.sources.outboxDepth = () => outboxDepth(o.db, o.clock);
      this.#observeLag = (ds) => {
        const now = o.clock.now();
        for (const d of ds) {
          const at = Date.parse(d.at);
          if (Number.isFinite(at)) m.detectionLag.observe(Math.max(0, (now - at) / 1000));
        }
      };
    }
  }

  #observeLag: ((ds: readonly Detection[]) => void) | undefined;

  /** Detections from the rule engine, after their readings are committed. */
  onDetections = async (detections: readonly Detection[]): Promise<Alert[]> => {
    this.#observeLag?.(detections);
    const alerts = await this.manager.onDetections(detections);
    // After the alerts, retried on its own (idempotent) so a failure never re-applies the alerts.
    for (let attempt = 1; ; attempt++) {
      try {
        await this.requests.onDetections(detections);
        break;
      } catch (e) {
        if (attempt >= 5) {
          this.#log.error({ err: errorMessage(e) }, 'measurement requests not recorded');
          break;
        }
        await new Promise((r) => setTimeout(r, 100 * 2 ** attempt));
      }
    }
    return alerts;
  };

  start(): void {
    this.scheduler.start();
    if (this.bus)
      this.ready = this.bus
        .start((c) => this.#onRemote(c))
        .catch((e) =>
          this.#log.error(
            { err: errorMessage(e), bus: this.bus?.kind },
            "alert changes of other workers will not reach this worker's live feed",
          ),
        );
  }

  /** Another worker's committed change: to this worker's live feed. */
  #onRemote(c: RemoteAlertChange): void {
    if (c.origin === this.manager.origin || this.live.size === 0) return;
    if (c.message !== undefined) {
      this.live.publishMessage(c.patientId, c.message);
      return;
    }
    const ref = c.ref;
    if (!ref) return;
    void (async () => {
      const [alert, event, n] = await Promise.all([
        this.repo.get(ref.alertId),
        this.repo.event(ref.eventId),
        ref.notificationId ? this.repo.notification(ref.notificationId) : undefined,
      ]);
      if (!alert || !event) return;
      this.live.publishMessage(
        c.patientId,
        liveMessage({
          alert,
          event,
          notification: n?.payload as unknown as import('./notifier.ts').Notification | undefined,
        }),
      );
    })().catch((e) => this.#log.warn({ err: errorMessage(e) }, 'remote alert change not shown'));
  }

  async stop(): Promise<void> {
    await this.scheduler.stop();
    await this.manager.settled();
    await this.ready;
    await this.bus?.close();
    this.live.close();
  }
}

function changeMetrics(m: Metrics, c: AlertChange): void {
  const { alert, event, notification } = c;
  if (event.type === 'raised') m.alertsOpened.inc({ severity: alert.severity, rule: alert.rule });
  if (event.type === 'acknowledged') {
    m.alertsAcknowledged.inc({ severity: alert.severity });
    const raised = Date.parse(alert.raisedAt);
    const at = Date.parse(event.at);
    if (Number.isFinite(raised) && Number.isFinite(at))
      m.alertTimeToAcknowledge.observe({ severity: alert.severity }, Math.max(0, (at - raised) / 1000));
  }
  if (notification) m.alertsNotified.inc({ reason: notification.reason, severity: alert.severity });
}

function attemptMetrics(m: Metrics): (a: DeliveryAttemptOutcome) => void {
  return (a) => {
    m.notificationDeliveries.inc({
      channel: a.channel,
      outcome: a.status === 'pending' ? 'failed' : a.status,
    });
    if (!a.ok) m.notificationFailures.inc({ channel: a.channel });
  };
}

async function outboxDepth(
  db: Database,
  clock: Clock,
): Promise<{ channel: string; pending: number; oldestSeconds: number }[]> {
  const rows = await db.query<{ channel: string; pending: number; oldest: string | Date | null }>(
    `select channel, count(*)::int as pending, min(created_at) as oldest
       from alert_delivery where status = 'pending' group by channel`,
  );
  const now = clock.now();
  return rows.map((r) => ({
    channel: r.channel,
    pending: r.pending,
    oldestSeconds: r.oldest ? Math.max(0, (now - new Date(r.oldest).getTime()) / 1000) : 0,
  }));
}
