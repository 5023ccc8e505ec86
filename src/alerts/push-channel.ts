import webPush from 'web-push';
import type { Sql } from '../store/database.ts';
import { loadServerKey } from '../store/server-keys.ts';
import type { ChannelResult, Contact, ContactChannel, PersonalMessage } from './contact-channel.ts';
import { messageText } from './contact-channel.ts';

export interface VapidKeys {
  publicKey: string;
  privateKey: string;
}

/** The server's VAPID key pair: generated once (web-push), kept sealed in `server_key`. */
export async function loadVapidKeys(db: Sql): Promise<VapidKeys> {
  const raw = await loadServerKey(db, 'vapid', () => JSON.stringify(webPush.generateVAPIDKeys()));
  return JSON.parse(raw) as VapidKeys;
}

/** A push subscription endpoint Vigil may post to: HTTPS, or a push service on this host. */
export function pushEndpointAllowed(endpoint: string): boolean {
  let u: URL;
  try {
    u = new URL(endpoint);
  } catch {
    return false;
  }
  if (u.username || u.password) return false;
  if (u.protocol === 'https:') return true;
  return u.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname);
}

/**
 * Web Push (RFC 8030) with VAPID (RFC 8292) and aes128gcm payload encryption (RFC 8291): the
 * `web-push` library builds the signed, encrypted request; it is sent with fetch (which speaks plain
 * HTTP to a push service on this host as well as HTTPS to the browsers' push services). The payload
 * is the clinical summary, the alert id and the person's acknowledge token for the notification's
 * "Acknowledge" action — no patient identifier. A 404 or 410 means the browser unsubscribed: the
 * subscription is removed and the person's next channel is tried.
 */
export class PushChannel implements ContactChannel {
  readonly kind = 'push';
  readonly #keys: VapidKeys;
  readonly #subject: string;
  readonly #timeoutMs: number;

  constructor(o: { keys: VapidKeys; subject: string; timeoutMs?: number }) {
    this.#keys = o.keys;
    this.#subject = o.subject;
    this.#timeoutMs = o.timeoutMs ?? 10_000;
  }

  get publicKey(): string {
    return this.#keys.publicKey;
  }

  payload(m: PersonalMessage): string {
    const n = m.notification;
    const { title, body } = messageText(n);
    return JSON.stringify({
      v: 1,
      title,
      body,
      alertId: n.alert.id,
      severity: n.alert.severity,
      notificationId: n.id,
      path: `/alerts/${encodeURIComponent(n.alert.id)}`,
      ...(m.ackToken ? { ackToken: m.ackToken } : {}),
    });
  }

  async send(to: Contact, m: PersonalMessage): Promise<ChannelResult> {
    const keys = to.details?.['keys'] as { p256dh?: string; auth?: string } | undefined;
    if (!keys?.p256dh || !keys.auth || !pushEndpointAllowed(to.address))
      return { ok: false, gone: true, error: 'push subscription without usable keys or endpoint' };
    const severity = m.notification.alert.severity;
    let details: ReturnType<typeof webPush.generateRequestDetails>;
    try {
      details = webPush.generateRequestDetails(
        { endpoint: to.address, keys: { p256dh: keys.p256dh, auth: keys.auth } },
        this.payload(m),
        {
          vapidDetails: { subject: this.#subject, ...this.#keys },
          TTL: 3600,
          urgency: severity === 'critical' || severity === 'high' ? 'high' : 'normal',
          topic: m.notification.alert.id.replace(/[^A-Za-z0-9_-]/g, '').slice(0, 32),
          contentEncoding: 'aes128gcm',
        },
      );
    } catch (e) {
      return { ok: false, gone: true, error: `push subscription refused: ${(e as Error).message}` };
    }
    try {
      const res = await fetch(details.endpoint, {
        method: details.method,
        headers: details.headers as Record<string, string>,
        body: details.body ? new Uint8Array(details.body) : null,
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) return { ok: true, statusCode: res.status };
      return {
        ok: false,
        statusCode: res.status,
        gone: res.status === 404 || res.status === 410,
        error: `push service answered ${res.status}`,
      };
    } catch (e) {
      return { ok: false, error: `push: ${(e as Error).message}` };
    }
  }
}
