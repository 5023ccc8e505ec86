/**
 * Outbound dead-man's switch: every VIGIL_WATCHDOG_INTERVAL_SECONDS the api worker POSTs its
 * monitoring status to VIGIL_WATCHDOG_URL, signed like a webhook (`Vigil-Signature: t=…,v1=…`,
 * HMAC-SHA256 over `t.body` with VIGIL_WATCHDOG_SECRET). The watchdog outside Vigil (an uptime
 * service, a second site's monitor) alarms when no ping with `"state": "ok"` has arrived for two
 * intervals — which also covers Vigil being down, its host gone, or its network cut, none of which
 * Vigil can report itself. Contract: docs/operations.md.
 */
import { signWebhook } from '../alerts/webhook.ts';
import type { Clock } from '../core/clock.ts';
import { errorMessage } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { ServiceStatus } from './service-health.ts';

export interface WatchdogOptions {
  url: string;
  secret: string;
  intervalMs: number;
  instance: string;
  status: () => Promise<ServiceStatus>;
  clock: Clock;
  log: Logger;
  fetch?: typeof fetch;
}

export function startWatchdog(o: WatchdogOptions): () => void {
  const send = async () => {
    const s = await o.status();
    const body = JSON.stringify({
      service: 'vigil',
      instance: o.instance,
      state: s.state,
      since: s.since,
      message: s.message,
      at: new Date(o.clock.now()).toISOString(),
      intervalSeconds: Math.round(o.intervalMs / 1000),
    });
    const t = Math.floor(o.clock.now() / 1000);
    try {
      const r = await (o.fetch ?? fetch)(o.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'vigil-signature': signWebhook(body, o.secret, t) },
        body,
        signal: AbortSignal.timeout(Math.min(10_000, o.intervalMs)),
      });
      if (!r.ok) o.log.warn({ event: 'watchdog-ping-refused', status: r.status }, 'watchdog ping refused');
    } catch (e) {
      o.log.warn({ event: 'watchdog-ping-failed', err: errorMessage(e) }, 'watchdog ping failed');
    }
  };
  void send();
  const timer = setInterval(() => void send(), o.intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
