import type { Database } from '../store/database.ts';
import type { DeliveryResult, Notification, Notifier } from './notifier.ts';

export interface SmsOptions {
  db: Database;
  kind: 'twilio' | 'json';
  url: string;
  /** Twilio account id (the `twilio` adapter). */
  account?: string | undefined;
  token: string;
  /** Sender number or id. */
  from: string;
  publicUrl?: string | undefined;
  timeoutMs?: number;
}

/**
 * SMS through an HTTP gateway. Two adapters of one contract ("send this text to these E.164
 * numbers, tell me which were accepted"):
 * - `twilio`: Twilio's Messages API and the providers compatible with it —
 *   `POST {base}/Accounts/{account}/Messages.json`, form-encoded `To`, `From`, `Body`, HTTP Basic
 *   auth with the account id and token; one request per number; 2xx = accepted.
 * - `json`: a provider-neutral gateway — `POST {url}` with `{"to":[…],"from":…,"text":…,"eventId":…}`,
 *   `Authorization: Bearer <token>`; 2xx = accepted (for an in-house SMS relay).
 * The text is the clinical summary and severity with the alert link; no patient identifier.
 */
export class SmsNotifier implements Notifier {
  readonly name = 'sms';
  readonly #o: SmsOptions;

  constructor(o: SmsOptions) {
    this.#o = o;
  }

  async numbers(n: Notification): Promise<string[]> {
    const userIds = n.recipients.map((r) => r.userId).filter((x): x is string => Boolean(x));
    const practitioners = n.recipients
      .map((r) => r.practitioner?.replace(/^Practitioner\//, ''))
      .filter((p): p is string => Boolean(p));
    if (userIds.length === 0 && practitioners.length === 0) return [];
    const rows = await this.#o.db.query<{ address: string }>(
      `select distinct c.address from user_contact_method c join app_user u on u.id = c.user_id
        where c.kind = 'sms' and not u.disabled
          and (u.id::text = any($1::text[]) or u.practitioner_id = any($2::text[]))
        order by c.address`,
      [userIds, practitioners],
    );
    return rows.map((r) => r.address);
  }

  text(n: Notification): string {
    const a = n.alert;
    const link = this.#o.publicUrl ? ` ${this.#o.publicUrl.replace(/\/$/, '')}/alerts/${a.id}` : '';
    return `Vigil ${a.severity.toUpperCase()}: ${a.summary} (${n.reason}, ${n.tierName}).${link}`.slice(
      0,
      320,
    );
  }

  async send(n: Notification): Promise<DeliveryResult> {
    const to = await this.numbers(n);
    if (to.length === 0) return { ok: false, error: 'no recipient has an SMS contact method' };
    const text = this.text(n);
    const signal = () => AbortSignal.timeout(this.#o.timeoutMs ?? 10_000);
    try {
      if (this.#o.kind === 'json') {
        const res = await fetch(this.#o.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${this.#o.token}` },
          body: JSON.stringify({ to, from: this.#o.from, text, eventId: n.id }),
          signal: signal(),
        });
        await res.arrayBuffer().catch(() => undefined);
        return res.ok
          ? { ok: true, statusCode: res.status }
          : { ok: false, statusCode: res.status, error: `SMS gateway answered ${res.status}` };
      }
      const base = this.#o.url.replace(/\/$/, '');
      const auth = Buffer.from(`${this.#o.account}:${this.#o.token}`).toString('base64');
      let accepted = 0;
      let last: { status: number; error: string } | undefined;
      for (const number of to) {
        const res = await fetch(
          `${base}/Accounts/${encodeURIComponent(this.#o.account ?? '')}/Messages.json`,
          {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${auth}` },
            body: new URLSearchParams({ To: number, From: this.#o.from, Body: text }).toString(),
            signal: signal(),
          },
        );
        const body = await res.text().catch(() => '');
        if (res.ok) accepted++;
        else
          last = {
            status: res.status,
            error: `SMS provider answered ${res.status}${body ? `: ${body.slice(0, 200)}` : ''}`,
          };
      }
      // A partial success counts as sent (retrying would text the accepted numbers twice).
      return accepted > 0
        ? { ok: true }
        : { ok: false, statusCode: last?.status, error: last?.error ?? 'not sent' };
    } catch (e) {
      return { ok: false, error: `SMS: ${(e as Error).message}` };
    }
  }
}
