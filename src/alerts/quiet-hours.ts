import { type Severity, severityRank } from '../core/severity.ts';
import { localClock } from './escalation-policy.ts';

/** A person's quiet hours: interruptive channels stay silent for alerts below `breakthrough`. */
export interface QuietHours {
  /** 'HH:MM' local time; an end before the start spans midnight. */
  start: string;
  end: string;
  timeZone: string;
  /** Alerts at or above this severity reach the person on every channel, quiet hours or not. */
  breakthrough: Severity;
}

/** Channels that interrupt (a phone that buzzes); e-mail waits in an inbox and is not held back. */
export const interruptiveChannels: ReadonlySet<string> = new Set(['push', 'sms']);

/** Whether `now` falls inside the quiet hours (in their time zone). */
export function inQuietHours(q: QuietHours, now: number): boolean {
  if (q.start === q.end) return false;
  const { time } = localClock(q.timeZone, now);
  return q.start < q.end ? time >= q.start && time < q.end : time >= q.start || time < q.end;
}

/** Whether a channel may be used for an alert of this severity at `now` (true without quiet hours). */
export function channelAllowed(
  q: QuietHours | undefined,
  channel: string,
  severity: Severity,
  now: number,
): boolean {
  if (!q || !interruptiveChannels.has(channel)) return true;
  if (severityRank(severity) >= severityRank(q.breakthrough)) return true;
  return !inQuietHours(q, now);
}
