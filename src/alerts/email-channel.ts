import nodemailer from 'nodemailer';
import type { ChannelResult, Contact, ContactChannel, PersonalMessage } from './contact-channel.ts';

/**
 * E-mail over SMTP (nodemailer), one message per person: the clinical summary, severity, tier, the
 * alert's dashboard link and the person's own acknowledge link — no patient name or identifier
 * (e-mail leaves the system). A refused or unreachable server is a failed send: the person's next
 * channel is tried, and the outbox retries later.
 */
export class EmailChannel implements ContactChannel {
  readonly kind = 'email';
  readonly #from: string;
  readonly #transport: ReturnType<typeof nodemailer.createTransport>;

  constructor(o: { smtpUrl: string; from: string }) {
    this.#from = o.from;
    this.#transport = nodemailer.createTransport(o.smtpUrl);
  }

  async send(to: Contact, m: PersonalMessage): Promise<ChannelResult> {
    const n = m.notification;
    const a = n.alert;
    const text = [
      `${a.summary}`,
      '',
      `Severity: ${a.severity}`,
      `Why you are told: ${n.reason} (${n.tierName}, tier ${n.tier})`,
      `Raised: ${a.raisedAt}`,
      ...(m.alertUrl ? ['', `Open the alert: ${m.alertUrl}`] : []),
      ...(m.ackUrl ? [`Acknowledge: ${m.ackUrl}`, '(the link works for you only, for 12 hours)'] : []),
      '',
      'Sent by Vigil. Do not reply: acknowledge in Vigil.',
    ].join('\n');
    try {
      const info = await this.#transport.sendMail({
        from: this.#from,
        to: to.address,
        subject: `[Vigil] ${a.severity} alert: ${a.summary}`,
        text,
        headers: { 'Vigil-Event-Id': n.id, 'Vigil-Alert-Id': a.id },
      });
      return info.rejected.length > 0 && info.accepted.length === 0
        ? { ok: false, error: 'the SMTP server refused the recipient' }
        : { ok: true };
    } catch (e) {
      return { ok: false, error: `SMTP: ${(e as Error).message}` };
    }
  }

  /** A plain operational message (no alert), e.g. a break-glass notice to the privacy officers. */
  async sendText(address: string, subject: string, text: string): Promise<ChannelResult> {
    try {
      const info = await this.#transport.sendMail({ from: this.#from, to: address, subject, text });
      return info.rejected.length > 0 && info.accepted.length === 0
        ? { ok: false, error: 'the SMTP server refused the recipient' }
        : { ok: true };
    } catch (e) {
      return { ok: false, error: `SMTP: ${(e as Error).message}` };
    }
  }

  close(): void {
    this.#transport.close();
  }
}
