import type { Notification } from './notifier.ts';

export type ChannelKind = 'push' | 'sms' | 'email';

/** Order a person's contact methods are tried in when they have not set one: most immediate first. */
export const defaultChannelOrder: readonly ChannelKind[] = ['push', 'sms', 'email'];

/** One address of one person (a row of user_contact_method). */
export interface Contact {
  userId: string;
  kind: ChannelKind;
  address: string;
  /** Push: the subscription's keys `{ p256dh, auth }`. */
  details: Record<string, unknown> | null;
}

/** A notification as one person receives it: with their own acknowledge link. */
export interface PersonalMessage {
  notification: Notification;
  /** The alert in the dashboard (needs VIGIL_PUBLIC_URL). */
  alertUrl?: string | undefined;
  /** The person's signed acknowledge link page (needs VIGIL_PUBLIC_URL). */
  ackUrl?: string | undefined;
  /** The signed token itself (a push notification's "Acknowledge" action posts it). */
  ackToken?: string | undefined;
}

export interface ChannelResult {
  ok: boolean;
  statusCode?: number | undefined;
  error?: string | undefined;
  /** The address is gone for good (a push subscription the push service no longer knows). */
  gone?: boolean | undefined;
}

/** A way to reach one person at one address (SMTP, an SMS gateway, a Web Push service). */
export interface ContactChannel {
  readonly kind: ChannelKind;
  send(to: Contact, m: PersonalMessage): Promise<ChannelResult>;
}

/** The short text of a notification: clinical summary, severity and why — no patient identifier. */
export function messageText(n: Notification): { title: string; body: string } {
  const a = n.alert;
  return {
    title: `Vigil ${a.severity.toUpperCase()}: ${a.summary}`,
    body: `${a.summary}. Severity ${a.severity}; ${n.reason} (${n.tierName}, tier ${n.tier}).`,
  };
}
