import type { BreakGlassGrant, BreakGlassService } from '../auth/break-glass.ts';
import { errorMessage } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { Sql } from '../store/database.ts';
import type { ChannelResult } from './contact-channel.ts';

/** What sends the notice: the SMTP channel's plain-text message (email-channel.ts). */
export interface TextMailer {
  sendText(address: string, subject: string, text: string): Promise<ChannelResult>;
}

/**
 * Tells the privacy officers — accounts with the `privacy` role, or the administrators when there
 * is none — about each break-glass grant, by e-mail on their e-mail contact methods. The grant row
 * is the outbox: a notice not yet sent is retried on the next pass (every minute and right after a
 * grant), so a restart or an SMTP outage loses none. The message names who opened access and for
 * how long, never the patient (e-mail leaves the system): the reviewer opens the grant in Vigil.
 */
export class BreakGlassNotices {
  readonly #db: Sql;
  readonly #grants: BreakGlassService;
  readonly #mailer: TextMailer;
  readonly #log: Logger;
  readonly #publicUrl: string | undefined;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;

  constructor(o: {
    db: Sql;
    grants: BreakGlassService;
    mailer: TextMailer;
    log: Logger;
    publicUrl?: string | undefined;
  }) {
    this.#db = o.db;
    this.#grants = o.grants;
    this.#mailer = o.mailer;
    this.#log = o.log;
    this.#publicUrl = o.publicUrl?.replace(/\/$/, '');
  }

  start(everyMs = 60_000): void {
    this.#grants.onChange(() => void this.runOnce());
    this.#timer = setInterval(() => void this.runOnce(), everyMs);
    this.#timer.unref();
    void this.runOnce();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#running;
  }

  /** One pass over the notices still to send (one at a time per process). */
  runOnce(): Promise<void> {
    this.#running ??= this.#pass()
      .catch((err) => this.#log.warn({ err: errorMessage(err) }, 'break-glass notices: pass failed'))
      .finally(() => {
        this.#running = undefined;
      });
    return this.#running;
  }

  async #pass(): Promise<void> {
    const pending = await this.#grants.pendingNotices();
    if (pending.length === 0) return;
    const officers = await this.#officers();
    for (const g of pending) {
      if (officers.addresses.length === 0) {
        await this.#grants.noticeFailed(g.id, 'no privacy officer or administrator has an e-mail address');
        continue;
      }
      const holder = await this.#username(g.userId);
      const results = await Promise.all(
        officers.addresses.map((a) => this.#mailer.sendText(a, subject(g), this.#text(g, holder))),
      );
      if (results.some((r) => r.ok)) await this.#grants.noticeSent(g.id);
      else await this.#grants.noticeFailed(g.id, results.map((r) => r.error ?? 'failed').join('; '));
      this.#log.info(
        {
          event: 'break-glass-notice',
          grant: g.id,
          sent: results.filter((r) => r.ok).length,
          of: results.length,
        },
        'break-glass notice',
      );
    }
  }

  async #officers(): Promise<{ addresses: string[] }> {
    for (const role of ['privacy', 'admin']) {
      const rows = await this.#db.query<{ address: string }>(
        `select distinct c.address from app_user u join user_contact_method c on c.user_id = u.id
          where not u.disabled and u.roles @> $1::jsonb and c.kind = 'email' order by c.address`,
        [JSON.stringify([role])],
      );
      if (rows.length > 0) return { addresses: rows.map((r) => r.address) };
    }
    return { addresses: [] };
  }

  async #username(userId: string): Promise<string> {
    const rows = await this.#db.query<{ username: string }>('select username from app_user where id = $1', [
      userId,
    ]);
    return rows[0]?.username ?? userId;
  }

  #text(g: BreakGlassGrant, holder: string): string {
    return [
      `${holder} opened break-glass access to a patient's record outside their care teams.`,
      '',
      `Opened: ${g.grantedAt}`,
      `Until: ${g.expiresAt}`,
      `Grant: ${g.id}`,
      '',
      'The reason they gave and what they looked at are in Vigil, for your review:',
      this.#publicUrl
        ? `${this.#publicUrl}/api/v1/break-glass/${g.id}/accesses`
        : 'GET /api/v1/break-glass?status=unreviewed',
      '',
      'Sent by Vigil to its privacy officers. The patient is not named in e-mail.',
    ].join('\n');
  }
}

const subject = (g: BreakGlassGrant) => `[Vigil] Break-glass access opened (grant ${g.id.slice(0, 8)})`;
