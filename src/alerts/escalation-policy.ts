import { VigilError } from '../core/errors.ts';
import { isSeverity, type Severity } from '../core/severity.ts';

/**
 * Escalation policy per severity (docs/alerts.md): who is notified first, and after how long without
 * an acknowledgement the next tier is; after the last tier, the last tier is notified again every
 * `ackWithinSeconds` until someone acknowledges. Working hours and after hours route differently.
 */
export interface EscalationTier {
  name: string;
  /** Care-team participant roles notified (matched on CareTeam.participant.role code, display or text). */
  roles: string[];
  /** Extra recipients named directly, e.g. an on-call pager: "Practitioner/abc". */
  practitioners?: string[] | undefined;
  /** Escalate to the next tier when nobody acknowledged within this time; absent = never escalate. */
  ackWithinSeconds?: number | undefined;
}

export interface EscalationPolicy {
  severity: Severity;
  /** IANA time zone for working hours; default UTC. */
  timeZone: string;
  workingHours: { days: number[]; start: string; end: string };
  workingHoursTiers: EscalationTier[];
  afterHoursTiers: EscalationTier[];
}

const minutes = (m: number) => m * 60;

function tiers(first: number, second: number, third?: number): EscalationTier[] {
  const t: EscalationTier[] = [
    { name: 'nurse', roles: ['nurse'], ackWithinSeconds: minutes(first) },
    { name: 'clinician', roles: ['clinician', 'physician'], ackWithinSeconds: minutes(second) },
  ];
  if (third !== undefined) t.push({ name: 'on-call', roles: ['on-call'], ackWithinSeconds: minutes(third) });
  return t;
}

/** Used when no policy is stored for a severity. Timings are a starting point for a clinic to change. */
export function defaultPolicy(severity: Severity): EscalationPolicy {
  const base = {
    severity,
    timeZone: 'UTC',
    workingHours: { days: [1, 2, 3, 4, 5], start: '08:00', end: '18:00' },
  };
  switch (severity) {
    case 'critical':
      return {
        ...base,
        workingHoursTiers: tiers(5, 5, 10),
        afterHoursTiers: [
          { name: 'on-call', roles: ['on-call', 'clinician'], ackWithinSeconds: minutes(5) },
          ...tiers(5, 10).slice(1),
        ],
      };
    case 'high':
      return {
        ...base,
        workingHoursTiers: tiers(15, 15, 30),
        afterHoursTiers: [
          { name: 'on-call', roles: ['on-call', 'clinician'], ackWithinSeconds: minutes(15) },
        ],
      };
    case 'medium':
      return { ...base, workingHoursTiers: tiers(60, 120), afterHoursTiers: tiers(120, 240) };
    case 'low':
      return {
        ...base,
        workingHoursTiers: [{ name: 'nurse', roles: ['nurse'], ackWithinSeconds: minutes(240) }],
        afterHoursTiers: [{ name: 'nurse', roles: ['nurse'] }],
      };
    case 'info':
      return {
        ...base,
        workingHoursTiers: [{ name: 'nurse', roles: ['nurse'] }],
        afterHoursTiers: [{ name: 'nurse', roles: ['nurse'] }],
      };
  }
}

function invalid(path: string, message: string): never {
  throw new VigilError('VIGIL_ERR_ALERT_POLICY_INVALID', `escalation policy ${path}: ${message}`, 400, {
    path,
  });
}

export const hhmm = /^([01]\d|2[0-3]):[0-5]\d$/;

export function validTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

function validateTiers(v: unknown, path: string): EscalationTier[] {
  if (!Array.isArray(v) || v.length === 0 || v.length > 10) invalid(path, 'must be a list of 1 to 10 tiers');
  return v.map((t, i) => {
    const p = `${path}[${i}]`;
    if (typeof t !== 'object' || t === null) invalid(p, 'must be an object');
    const o = t as Record<string, unknown>;
    for (const k of Object.keys(o))
      if (!['name', 'roles', 'practitioners', 'ackWithinSeconds'].includes(k))
        invalid(`${p}.${k}`, 'unknown field');
    if (typeof o['name'] !== 'string' || o['name'].length === 0 || o['name'].length > 100)
      invalid(`${p}.name`, 'must be a non-empty string');
    const roles = o['roles'];
    if (!Array.isArray(roles) || !roles.every((r) => typeof r === 'string' && r.length > 0))
      invalid(`${p}.roles`, 'must be a list of role names');
    const pr = o['practitioners'];
    if (
      pr !== undefined &&
      (!Array.isArray(pr) ||
        !pr.every((r) => typeof r === 'string' && /^Practitioner\/[\w.-]{1,64}$/.test(r)))
    ) {
      invalid(`${p}.practitioners`, 'must be a list of "Practitioner/<id>" references');
    }
    if ((roles as string[]).length === 0 && !(pr as string[] | undefined)?.length)
      invalid(p, 'needs at least one role or practitioner');
    const ack = o['ackWithinSeconds'];
    if (
      ack !== undefined &&
      (typeof ack !== 'number' || !Number.isInteger(ack) || ack < 1 || ack > 7 * 86400)
    ) {
      invalid(`${p}.ackWithinSeconds`, 'must be an integer number of seconds from 1 to 604800');
    }
    return {
      name: o['name'] as string,
      roles: roles as string[],
      ...(pr !== undefined ? { practitioners: pr as string[] } : {}),
      ...(ack !== undefined ? { ackWithinSeconds: ack as number } : {}),
    };
  });
}

/** Validates a stored or submitted policy (JSON); the first bad value is named in the error. */
export function validatePolicy(input: unknown, severity: string): EscalationPolicy {
  if (!isSeverity(severity)) invalid('severity', `unknown severity ${JSON.stringify(severity)}`);
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    invalid('', 'must be a JSON object');
  const o = input as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!['severity', 'timeZone', 'workingHours', 'workingHoursTiers', 'afterHoursTiers'].includes(k))
      invalid(k, 'unknown field');
  }
  if (o['severity'] !== undefined && o['severity'] !== severity)
    invalid('severity', `does not match ${severity}`);
  const tz = o['timeZone'] ?? 'UTC';
  if (typeof tz !== 'string' || !validTimeZone(tz))
    invalid('timeZone', 'must be an IANA time zone such as Europe/Paris');
  const wh = (o['workingHours'] ?? { days: [1, 2, 3, 4, 5], start: '08:00', end: '18:00' }) as Record<
    string,
    unknown
  >;
  if (typeof wh !== 'object' || wh === null) invalid('workingHours', 'must be an object');
  const days = wh['days'];
  if (!Array.isArray(days) || !days.every((d) => Number.isInteger(d) && d >= 1 && d <= 7))
    invalid('workingHours.days', 'must list ISO weekdays 1 (Monday) to 7 (Sunday)');
  if (typeof wh['start'] !== 'string' || !hhmm.test(wh['start']))
    invalid('workingHours.start', 'must be HH:MM');
  if (typeof wh['end'] !== 'string' || !hhmm.test(wh['end'])) invalid('workingHours.end', 'must be HH:MM');
  const working = validateTiers(o['workingHoursTiers'], 'workingHoursTiers');
  const after =
    o['afterHoursTiers'] === undefined ? working : validateTiers(o['afterHoursTiers'], 'afterHoursTiers');
  return {
    severity,
    timeZone: tz,
    workingHours: { days: days as number[], start: wh['start'] as string, end: wh['end'] as string },
    workingHoursTiers: working,
    afterHoursTiers: after,
  };
}

const weekdays: Record<string, number> = { Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6, Sun: 7 };

const formatters = new Map<string | undefined, Intl.DateTimeFormat>();

/** One formatter per time zone (building one costs far more than using it). */
function formatter(timeZone: string | undefined): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
    if (formatters.size > 1000) formatters.clear();
    formatters.set(timeZone, f);
  }
  return f;
}

/** The weekday (1 = Monday … 7 = Sunday) and 'HH:MM' of `now` in a time zone. */
export function localClock(timeZone: string, now: number): { day: number; time: string } {
  const parts = formatter(timeZone).formatToParts(new Date(now));
  const get = (t: string) => parts.find((x) => x.type === t)?.value ?? '';
  return { day: weekdays[get('weekday')] ?? 0, time: `${get('hour')}:${get('minute')}` };
}

/** Whether `now` falls in the policy's working hours, in its time zone. An end before the start spans midnight. */
export function isWorkingHours(p: EscalationPolicy, now: number): boolean {
  const { day, time } = localClock(p.timeZone, now);
  const { start, end, days } = p.workingHours;
  if (start <= end) return days.includes(day) && time >= start && time < end;
  // Overnight window: the part after midnight belongs to the previous day's shift.
  if (time >= start) return days.includes(day);
  return time < end && days.includes(day === 1 ? 7 : day - 1);
}

export function tiersAt(p: EscalationPolicy, now: number): EscalationTier[] {
  return isWorkingHours(p, now) ? p.workingHoursTiers : p.afterHoursTiers;
}
