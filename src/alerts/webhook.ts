import { createHmac, timingSafeEqual } from 'node:crypto';
import type { DeliveryResult, Notification, Notifier } from './notifier.ts';

/**
 * Signed webhooks, like Stripe's: header `Vigil-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of
 * "<t>.<raw body>" with the subscription secret>`. The receiver recomputes the HMAC over the raw body
 * and rejects timestamps outside its tolerance (replay protection). `Vigil-Event-Id` is the
 * notification id: the same on every retry, for idempotent receivers.
 */
export const SIGNATURE_HEADER = 'vigil-signature';

export function signWebhook(body: string, secret: string, timestampSeconds: number): string {
  const mac = createHmac('sha256', secret).update(`${timestampSeconds}.${body}`).digest('hex');
  return `t=${timestampSeconds},v1=${mac}`;
}

export type VerifyResult =
  | { ok: true; timestamp: number }
  | { ok: false; reason: 'malformed' | 'bad-signature' | 'too-old' };

export function verifyWebhook(
  body: string,
  header: string | undefined,
  secret: string,
  nowSeconds: number,
  toleranceSeconds = 300,
): VerifyResult {
  if (!header) return { ok: false, reason: 'malformed' };
  const parts = new Map<string, string[]>();
  for (const kv of header.split(',')) {
    const i = kv.indexOf('=');
    if (i <= 0) continue;
    const k = kv.slice(0, i).trim();
    parts.set(k, [...(parts.get(k) ?? []), kv.slice(i + 1).trim()]);
  }
  const t = Number(parts.get('t')?.[0]);
  const sigs = parts.get('v1') ?? [];
  if (!Number.isInteger(t) || sigs.length === 0) return { ok: false, reason: 'malformed' };
  const expected = Buffer.from(createHmac('sha256', secret).update(`${t}.${body}`).digest('hex'));
  const match = sigs.some((s) => {
    const b = Buffer.from(s);
    return b.length === expected.length && timingSafeEqual(b, expected);
  });
  if (!match) return { ok: false, reason: 'bad-signature' };
  if (Math.abs(nowSeconds - t) > toleranceSeconds) return { ok: false, reason: 'too-old' };
  return { ok: true, timestamp: t };
}

export interface WebhookTarget {
  id: string;
  url: string;
  secret: string;
}

/** One webhook subscription as a Notifier: POSTs the notification as JSON, signed. */
export class WebhookNotifier implements Notifier {
  readonly name: string;
  readonly #target: WebhookTarget;
  readonly #now: () => number;
  readonly #timeoutMs: number;
  readonly #attempt: number;

  constructor(target: WebhookTarget, now: () => number, opts: { timeoutMs?: number; attempt?: number } = {}) {
    this.name = `webhook:${target.id}`;
    this.#target = target;
    this.#now = now;
    this.#timeoutMs = opts.timeoutMs ?? 10_000;
    this.#attempt = opts.attempt ?? 1;
  }

  async send(n: Notification): Promise<DeliveryResult> {
    const body = JSON.stringify(n);
    const t = Math.floor(this.#now() / 1000);
    try {
      const res = await fetch(this.#target.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'Vigil-Webhook/1',
          'vigil-signature': signWebhook(body, this.#target.secret, t),
          'vigil-event-id': n.id,
          'vigil-delivery-attempt': String(this.#attempt),
        },
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
      await res.arrayBuffer().catch(() => undefined);
      if (res.status >= 200 && res.status < 300) return { ok: true, statusCode: res.status };
      return { ok: false, statusCode: res.status, error: `HTTP ${res.status}` };
    } catch (e) {
      const err = e as { name?: string; cause?: { code?: string }; message?: string };
      return {
        ok: false,
        error: err.name === 'TimeoutError' ? 'timeout' : (err.cause?.code ?? err.message ?? 'network error'),
      };
    }
  }
}
