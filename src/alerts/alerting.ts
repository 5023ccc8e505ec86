import type { Clock } from '../core/clock.ts';
import type { Detection } from '../core/detection.ts';
import type { Logger } from '../core/logger.ts';
import { AlertRepository } from '../store/alert-repository.ts';
import type { Database } from '../store/database.ts';
import type { Alert } from './alert.ts';
import { AlertManager } from './alert-manager.ts';
import { LiveFeed } from './live-feed.ts';
import type { Notifier } from './notifier.ts';
import { type BackoffOptions, Outbox } from './outbox.ts';
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
}

/** The alerts module as the composition root sees it: build, start, feed detections, stop. */
export class Alerting {
  readonly repo: AlertRepository;
  readonly manager: AlertManager;
  readonly outbox: Outbox;
  readonly scheduler: AlertScheduler;
  readonly live: LiveFeed;

  constructor(o: AlertingOptions) {
    const log = o.log.child({ component: 'alerts' });
    this.repo = new AlertRepository(o.db);
    this.outbox = new Outbox({
      repo: this.repo,
      clock: o.clock,
      log,
      notifiers: o.notifiers ?? [],
      ...(o.backoff ? { backoff: o.backoff } : {}),
    });
    this.manager = new AlertManager({
      repo: this.repo,
      clock: o.clock,
      log,
      notifierNames: () => this.outbox.notifierNames,
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
  }

  /** Detections from the rule engine, after their readings are committed. */
  onDetections = (detections: readonly Detection[]): Promise<Alert[]> =>
    this.manager.onDetections(detections);

  start(): void {
    this.scheduler.start();
  }

  async stop(): Promise<void> {
    await this.scheduler.stop();
    this.live.close();
  }
}
