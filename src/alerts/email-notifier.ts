import nodemailer from 'nodemailer';
import type { Database } from '../store/database.ts';
import type { DeliveryResult, Notification, Notifier } from './notifier.ts';

/**
 * E-mail over SMTP (nodemailer): one message per notification to the e-mail contact methods of its
 * recipients (their accounts, by user id or by the Practitioner they are linked to). The message
 * carries the clinical summary, severity, tier and a link to the alert in the dashboard — no patient
 * name or identifier (e-mail leaves the system). A refused or unreachable server is a failed
 * delivery: the outbox retries it with backoff.
 */
export class EmailNotifier implements Notifier {
  readonly name = 'email';
  readonly #db: Database;
  readonly #from: string;
  readonly #publicUrl: string | undefined;
  readonly #transport: ReturnType<typeof nodemailer.createTransport>;

  constructor(o: { db: Database; smtpUrl: string; from: string; publicUrl?: string | undefined }) {
    this.#db = o.db;
    this.#from = o.from;
    this.#publicUrl = o.publicUrl?.replace(/\/$/, '');
    this.#transport = nodemailer.createTransport(o.smtpUrl);
  }

  /** The e-mail addresses of the notification's recipients. */
  async addresses(n: Notification): Promise<string[]> {
    const userIds = n.recipients.map((r) => r.userId).filter((x): x is string => Boolean(x));
    // recipients name their Practitioner as a FHIR reference (`Practitioner/<id>`)
    const practitioners = n.recipients
      .map((r) => r.practitioner?.replace(/^Practitioner\//, ''))
      .filter((p): p is string => Boolean(p));
    if (userIds.length === 0 && practitioners.length === 0) return [];
    const rows = await this.#db.query<{ address: string }>(
      `select distinct c.address from user_contact_method c join app_user u on u.id = c.user_id
        where c.kind = 'email' and not u.disabled
          and (u.id::text = any($1::text[]) or u.practitioner_id = any($2::text[]))
        order by c.address`,
      [userIds, practitioners],
    );
    return rows.map((r) => r.address);
  }

  async send(n: Notification): Promise<DeliveryResult> {
    const to = await this.addresses(n);
    if (to.length === 0) return { ok: false, error: 'no recipient has an e-mail contact method' };
    const a = n.alert;
    const link = this.#publicUrl ? `${this.#publicUrl}/alerts/${encodeURIComponent(a.id)}` : undefined;
    const subject = `[Vigil] ${a.severity} alert: ${a.summary}`;
    const text = [
      `${a.summary}`,
      '',
      `Severity: ${a.severity}`,
      `Why you are told: ${n.reason} (${n.tierName}, tier ${n.tier})`,
      `Raised: ${a.raisedAt}`,
      ...(link ? ['', `Open the alert: ${link}`] : []),
      '',
      'Sent by Vigil. Do not reply: acknowledge in Vigil.',
    ].join('\n');
    try {
      const info = await this.#transport.sendMail({
        from: this.#from,
        // each recipient in the envelope only: they do not see each other's addresses
        envelope: { from: this.#from, to },
        subject,
        text,
        headers: { To: 'undisclosed-recipients:;', 'Vigil-Event-Id': n.id, 'Vigil-Alert-Id': a.id },
      });
      return info.rejected.length > 0 && info.accepted.length === 0
        ? { ok: false, error: `every recipient refused by the SMTP server (${info.rejected.length})` }
        : { ok: true };
    } catch (e) {
      return { ok: false, error: `SMTP: ${(e as Error).message}` };
    }
  }

  close(): void {
    this.#transport.close();
  }
}
