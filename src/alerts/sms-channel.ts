import type { ChannelResult, Contact, ContactChannel, PersonalMessage } from './contact-channel.ts';

export interface SmsOptions {
  kind: 'twilio' | 'json';
  url: string;
  /** Twilio account id (the `twilio` adapter). */
  account?: string | undefined;
  token: string;
  /** Sender number or id. */
  from: string;
  timeoutMs?: number;
}

/**
 * SMS through an HTTP gateway. Two adapters of one contract ("send this text to this E.164 number,
 * tell me whether it was accepted"):
 * - `twilio`: Twilio's Messages API and the providers compatible with it —
 *   `POST {base}/Accounts/{account}/Messages.json`, form-encoded `To`, `From`, `Body`, HTTP Basic
 *   auth with the account id and token; 2xx = accepted.
 * - `json`: a provider-neutral gateway — `POST {url}` with `{"to":[…],"from":…,"text":…,"eventId":…}`,
 *   `Authorization: Bearer <token>`; 2xx = accepted (for an in-house SMS relay).
 * The text is the clinical summary and severity with the person's acknowledge link; no patient identifier.
 */
export class SmsChannel implements ContactChannel {
  readonly kind = 'sms';
  readonly #o: SmsOptions;

  constructor(o: SmsOptions) {
    this.#o = o;
  }

  text(m: PersonalMessage): string {
    const n = m.notification;
    const a = n.alert;
    const link = m.ackUrl ? ` Ack: ${m.ackUrl}` : m.alertUrl ? ` ${m.alertUrl}` : '';
    const head = `Vigil ${a.severity.toUpperCase()}: ${a.summary} (${n.reason}, ${n.tierName}).`;
    // the link is kept whole: the summary gives way
    return `${head.slice(0, Math.max(40, 480 - link.length))}${link}`;
  }

  async send(to: Contact, m: PersonalMessage): Promise<ChannelResult> {
    const text = this.text(m);
    const signal = AbortSignal.timeout(this.#o.timeoutMs ?? 10_000);
    try {
      const res =
        this.#o.kind === 'json'
          ? await fetch(this.#o.url, {
              method: 'POST',
              headers: { 'content-type': 'application/json', authorization: `Bearer ${this.#o.token}` },
              body: JSON.stringify({
                to: [to.address],
                from: this.#o.from,
                text,
                eventId: m.notification.id,
              }),
              signal,
            })
          : await fetch(
              `${this.#o.url.replace(/\/$/, '')}/Accounts/${encodeURIComponent(this.#o.account ?? '')}/Messages.json`,
              {
                method: 'POST',
                headers: {
                  'content-type': 'application/x-www-form-urlencoded',
                  authorization: `Basic ${Buffer.from(`${this.#o.account}:${this.#o.token}`).toString('base64')}`,
                },
                body: new URLSearchParams({ To: to.address, From: this.#o.from, Body: text }).toString(),
                signal,
              },
            );
      const body = await res.text().catch(() => '');
      return res.ok
        ? { ok: true, statusCode: res.status }
        : {
            ok: false,
            statusCode: res.status,
            error: `SMS gateway answered ${res.status}${body ? `: ${body.slice(0, 200)}` : ''}`,
          };
    } catch (e) {
      return { ok: false, error: `SMS: ${(e as Error).message}` };
    }
  }
}
