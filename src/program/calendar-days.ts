/**
 * Calendar days as `YYYY-MM-DD` strings in a patient's time zone. Billing counts days and calendar
 * months where the patient lives, so day arithmetic works on these keys, never on instants.
 */

export type Day = string;
export type Month = string;

const DAY_MS = 86_400_000;
const dayPattern = /^(\d{4})-(\d{2})-(\d{2})$/;
const monthPattern = /^(\d{4})-(0[1-9]|1[0-2])$/;

/** The documented default when a patient's time zone is not known. */
export const DEFAULT_TIME_ZONE = 'UTC';

export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

export function isMonth(m: string): boolean {
  return monthPattern.test(m);
}

function utcOf(day: Day): number {
  const m = dayPattern.exec(day);
  if (!m) throw new RangeError(`not a day: ${day}`);
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
}

export function addDays(day: Day, n: number): Day {
  return new Date(utcOf(day) + n * DAY_MS).toISOString().slice(0, 10);
}

/** Whole days from `a` to `b` (b − a). */
export function daysBetween(a: Day, b: Day): number {
  return Math.round((utcOf(b) - utcOf(a)) / DAY_MS);
}

export function monthOf(day: Day): Month {
  return day.slice(0, 7);
}

export function firstDayOf(month: Month): Day {
  return `${month}-01`;
}

export function lastDayOf(month: Month): Day {
  const [y, m] = month.split('-').map(Number) as [number, number];
  return new Date(Date.UTC(y, m, 0)).toISOString().slice(0, 10);
}

/** The calendar day of instant `t` (ms) in the IANA zone `timeZone`. */
export function dayIn(t: number, timeZone: string = DEFAULT_TIME_ZONE): Day {
  if (timeZone === 'UTC') return new Date(t).toISOString().slice(0, 10);
  // en-CA formats as YYYY-MM-DD.
  return new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(t);
}
