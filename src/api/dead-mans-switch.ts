import { hostname } from 'node:os';
import { SIGNATURE_HEADER, signWebhook } from '../alerts/webhook.ts';
import type { Clock } from '../core/clock.ts';
import { errorMessage } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { ApiContext } from './context.ts';

/** What a heartbeat says: this worker is alive, and whether what it depends on answers. */
export interface Heartbeat {
  type: 'vigil.heartbeat';
  service: 'vigil';
  role: string;
  instance: string;
  at: string;
  sequence: number;
  status: 'ok' | 'degraded';
  checks: Record<string, 'ok' | 'failing'>;
}

/**
 * The outbound dead-man's switch: every interval the worker POSTs a signed heartbeat
 * (`Vigil-Signature: t=…,v1=HMAC-SHA256(secret, "t.body")`, verified like webhooks) to a URL an
 * external watchdog watches (Healthchecks, Dead Man's Snitch, Alertmanager's watchdog, a pager). The
 * watchdog alarms when heartbeats stop (the worker, its host or its network is down) or say
 * `degraded` (the database or broker does not answer). A failed POST is logged; the next beat is the
 * retry. No patient data: the role, the instance, the checks.
 */
export function startDeadMansSwitch(o: {
  url: string;
  secret: string;
  intervalSeconds: number;
  role: string;
  clock: Clock;
  log: Logger;
  checks: () => Promise<Record<string, 'ok' | 'failing'>>;
  timeoutMs?: number;
}): { beat: () => Promise<boolean>; stop: () => Promise<void> } {
  const instance = `${hostname()}:${process.pid}`;
  let sequence = 0;
  let inFlight: Promise<boolean> | undefined;
  const beat = async (): Promise<boolean> => {
    const checks = await o.checks().catch(() => ({ store: 'failing' as const }));
    const body: Heartbeat = {
      type: 'vigil.heartbeat',
      service: 'vigil',
      role: o.role,
      instance,
      at: new Date(o.clock.now()).toISOString(),
      sequence: ++sequence,
      status: Object.values(checks).every((c) => c === 'ok') ? 'ok' : 'degraded',
      checks,
    };
    const text = JSON.stringify(body);
    try {
      const res = await fetch(o.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          [SIGNATURE_HEADER]: signWebhook(text, o.secret, Math.floor(o.clock.now() / 1000)),
        },
        body: text,
        signal: AbortSignal.timeout(o.timeoutMs ?? 10_000),
      });
      await res.arrayBuffer().catch(() => undefined);
      if (!res.ok) o.log.warn({ status: res.status }, "dead-man's switch: heartbeat refused by the watchdog");
      return res.ok;
    } catch (e) {
      o.log.warn({ err: errorMessage(e) }, "dead-man's switch: heartbeat not delivered");
      return false;
    }
  };
  const tick = () => {
    inFlight ??= beat().finally(() => {
      inFlight = undefined;
    });
  };
  tick();
  const timer = setInterval(tick, o.intervalSeconds * 1000);
  timer.unref();
  return {
    beat,
    stop: async () => {
      clearInterval(timer);
      await inFlight;
    },
  };
}

/** The same checks as `/ready`: the store and every readiness probe of this worker. */
export function readinessChecks(ctx: Pick<ApiContext, 'db' | 'readiness'>) {
  return async (): Promise<Record<string, 'ok' | 'failing'>> => {
    const checks: Record<string, 'ok' | 'failing'> = {};
    try {
      await ctx.db.ping();
      checks['store'] = 'ok';
    } catch {
      checks['store'] = 'failing';
    }
    for (const r of ctx.readiness) {
      try {
        checks[r.name] = (await r.check()) ? 'ok' : 'failing';
      } catch {
        checks[r.name] = 'failing';
      }
    }
    return checks;
  };
}
