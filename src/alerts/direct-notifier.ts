import type { Clock } from '../core/clock.ts';
import { newId } from '../core/ids.ts';
import { isSeverity } from '../core/severity.ts';
import type { Sql } from '../store/database.ts';
import type { AckLinks } from './ack-links.ts';
import {
  type ChannelKind,
  type ChannelResult,
  type Contact,
  type ContactChannel,
  defaultChannelOrder,
  type PersonalMessage,
} from './contact-channel.ts';
import type { DeliveryResult, Notification, Notifier } from './notifier.ts';
import { channelAllowed, type QuietHours } from './quiet-hours.ts';

export type Outcome =
  | 'sent'
  | 'failed'
  | 'quiet-hours'
  | 'no-contact-method'
  | 'channel-off'
  | 'subscription-gone';

interface Person {
  userId: string;
  contacts: Contact[];
  quiet: QuietHours | undefined;
}

/**
 * Notifications to people, on their own channels: for every recipient of a notification, their
 * contact methods in their order (by default push, then SMS, then e-mail) until one send succeeds —
 * a channel that fails, is not configured here, or is held back by the person's quiet hours falls
 * through to the next. Every send is a row of `notification_send` with its outcome. Retried by the
 * outbox: a person already reached for this notification is not sent it again.
 */
export class DirectNotifier implements Notifier {
  readonly name = 'direct';
  readonly #db: Sql;
  readonly #clock: Clock;
  readonly #channels: Map<ChannelKind, ContactChannel>;
  readonly #ackLinks: AckLinks | undefined;
  readonly #publicUrl: string | undefined;
  readonly #onSend: ((channel: string, outcome: Outcome) => void) | undefined;

  constructor(o: {
    db: Sql;
    clock: Clock;
    channels: ContactChannel[];
    ackLinks?: AckLinks | undefined;
    publicUrl?: string | undefined;
    /** Called after each send is recorded (metrics). */
    onSend?: (channel: string, outcome: Outcome) => void;
  }) {
    this.#onSend = o.onSend;
    this.#db = o.db;
    this.#clock = o.clock;
    this.#channels = new Map(o.channels.map((c) => [c.kind, c]));
    this.#ackLinks = o.ackLinks;
    this.#publicUrl = o.publicUrl?.replace(/\/$/, '');
  }

  /** The enabled accounts behind a notification's recipients (by user id or linked Practitioner). */
  async #people(n: Notification): Promise<Person[]> {
    const userIds = n.recipients.map((r) => r.userId).filter((x): x is string => Boolean(x));
    const practitioners = n.recipients
      .map((r) => r.practitioner?.replace(/^Practitioner\//, ''))
      .filter((p): p is string => Boolean(p));
    if (userIds.length === 0 && practitioners.length === 0) return [];
    const rows = await this.#db.query<{
      user_id: string;
      kind: ChannelKind | null;
      address: string | null;
      details: Record<string, unknown> | null;
      quiet_start: string | null;
      quiet_end: string | null;
      time_zone: string | null;
      breakthrough_severity: string | null;
    }>(
      `select u.id as user_id, c.kind, c.address, c.details,
              s.quiet_start, s.quiet_end, s.time_zone, s.breakthrough_severity
         from app_user u
         left join user_contact_method c on c.user_id = u.id
         left join user_notification_settings s on s.user_id = u.id
        where not u.disabled and (u.id::text = any($1::text[]) or u.practitioner_id = any($2::text[]))
        order by u.id, c.priority, array_position($3::text[], c.kind), c.created_at, c.address`,
      [userIds, practitioners, [...defaultChannelOrder]],
    );
    const people = new Map<string, Person>();
    for (const r of rows) {
      let p = people.get(r.user_id);
      if (!p) {
        p = {
          userId: r.user_id,
          contacts: [],
          quiet:
            r.quiet_start && r.quiet_end
              ? {
                  start: r.quiet_start,
                  end: r.quiet_end,
                  timeZone: r.time_zone ?? 'UTC',
                  breakthrough: isSeverity(r.breakthrough_severity) ? r.breakthrough_severity : 'high',
                }
              : undefined,
        };
        people.set(r.user_id, p);
      }
      if (r.kind && r.address)
        p.contacts.push({ userId: r.user_id, kind: r.kind, address: r.address, details: r.details });
    }
    return [...people.values()];
  }

  async #record(
    n: Notification,
    c: { userId: string; kind: string; address: string | null },
    outcome: Outcome,
    r?: ChannelResult,
  ): Promise<void> {
    await this.#db.query(
      `insert into notification_send (id, notification_id, user_id, channel, address, outcome, status_code, error, at)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [
        newId(),
        n.id,
        c.userId,
        c.kind,
        c.address,
        outcome,
        r?.statusCode ?? null,
        r?.error?.slice(0, 500) ?? null,
        new Date(this.#clock.now()).toISOString(),
      ],
    );
    this.#onSend?.(c.kind, outcome);
  }

  async #message(n: Notification, userId: string): Promise<PersonalMessage> {
    const alertPath = `/alerts/${encodeURIComponent(n.alert.id)}`;
    const ackToken = this.#ackLinks
      ? await this.#ackLinks.issue({ alertId: n.alert.id, userId, notificationId: n.id })
      : undefined;
    return {
      notification: n,
      alertUrl: this.#publicUrl ? `${this.#publicUrl}${alertPath}` : undefined,
      ackUrl: this.#publicUrl && ackToken ? `${this.#publicUrl}/ack?token=${ackToken}` : undefined,
      ackToken,
    };
  }

  /**
   * Tries one person's channels in order: 'reached'; 'quiet' (held back by their quiet hours);
   * 'unreachable' (no method this server sends; retrying cannot help); or 'retry' (a send failed).
   */
  async #reach(n: Notification, p: Person): Promise<'reached' | 'quiet' | 'unreachable' | 'retry'> {
    if (p.contacts.length === 0) {
      await this.#record(n, { userId: p.userId, kind: 'none', address: null }, 'no-contact-method');
      return 'unreachable';
    }
    const now = this.#clock.now();
    const message = await this.#message(n, p.userId);
    let failed = false;
    let quiet = false;
    for (const c of p.contacts) {
      const channel = this.#channels.get(c.kind);
      if (!channel) {
        await this.#record(n, c, 'channel-off');
        continue;
      }
      if (!channelAllowed(p.quiet, c.kind, n.alert.severity, now)) {
        await this.#record(n, c, 'quiet-hours');
        quiet = true;
        continue;
      }
      const r = await channel.send(c, message);
      if (r.ok) {
        await this.#record(n, c, 'sent', r);
        return 'reached';
      }
      if (r.gone) {
        await this.#record(n, c, 'subscription-gone', r);
        await this.#db.query(
          'delete from user_contact_method where user_id = $1 and kind = $2 and address = $3',
          [c.userId, c.kind, c.address],
        );
      } else {
        await this.#record(n, c, 'failed', r);
        failed = true;
      }
    }
    return failed ? 'retry' : quiet ? 'quiet' : 'unreachable';
  }

  async send(n: Notification): Promise<DeliveryResult> {
    const people = await this.#people(n);
    if (people.length === 0)
      return { ok: false, permanent: true, error: 'no recipient has a Vigil account to notify' };
    // people already handled for this notification (an earlier attempt): reached, or with no method
    const earlier = await this.#db.query<{ user_id: string; outcome: string }>(
      `select distinct user_id, outcome from notification_send
        where notification_id = $1 and outcome in ('sent', 'no-contact-method')`,
      [n.id],
    );
    const done = new Set(earlier.map((r) => r.user_id));
    const reachedBefore = earlier.some((r) => r.outcome === 'sent');
    const todo = people.filter((p) => !done.has(p.userId));
    const results = await Promise.all(todo.map((p) => this.#reach(n, p)));
    const retry = results.filter((r) => r === 'retry').length;
    if (retry > 0)
      return {
        ok: false,
        error: `${retry} of ${people.length} recipients not reached on any channel yet (retried)`,
      };
    // held back by the people's own quiet hours counts as handled; nobody reachable at all cannot succeed
    if (!reachedBefore && results.every((r) => r === 'unreachable'))
      return {
        ok: false,
        permanent: true,
        error: 'no recipient has a contact method on a channel this server sends',
      };
    return { ok: true };
  }
}
