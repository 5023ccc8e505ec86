import { type DatePrefix, type DateValue, datePrefixes } from '../../../store/fhir-search-filter.ts';

const dateRe =
  /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

/**
 * A FHIR date search value (`ge2020-01`, `2020-01-01T10:00:00+02:00`) as the range it denotes.
 * A value without a time zone is taken as UTC. Returns undefined when malformed.
 */
export function parseDateValue(raw: string): DateValue | undefined {
  let prefix: DatePrefix = 'eq';
  let s = raw;
  const two = raw.slice(0, 2) as DatePrefix;
  if (datePrefixes.includes(two) && /^[a-z]{2}\d/.test(raw)) {
    prefix = two;
    s = raw.slice(2);
  }
  const range = dateRange(s);
  return range ? { prefix, ...range } : undefined;
}

/** The range [low, high) a FHIR date/dateTime/instant denotes at its precision. */
export function dateRange(s: string): { low: string; high: string } | undefined {
  const m = dateRe.exec(s);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, sec, frac, tz] = m;
  const year = Number(y);
  const month = mo ? Number(mo) - 1 : 0;
  const day = d ? Number(d) : 1;
  if (month > 11 || day < 1 || day > 31) return undefined;
  const offsetMin =
    tz && tz !== 'Z' ? (tz[0] === '-' ? -1 : 1) * (Number(tz.slice(1, 3)) * 60 + Number(tz.slice(4, 6))) : 0;
  const ms = frac ? Math.round(Number(frac) * 1000) : 0;
  const start =
    Date.UTC(year, month, day, h ? Number(h) : 0, mi ? Number(mi) : 0, sec ? Number(sec) : 0, ms) -
    offsetMin * 60_000;
  if (Number.isNaN(start)) return undefined;
  let end: number;
  if (!mo) end = Date.UTC(year + 1, 0, 1);
  else if (!d) end = Date.UTC(year, month + 1, 1);
  else if (!h) end = Date.UTC(year, month, day + 1);
  else if (!sec) end = start + 60_000;
  else if (!frac) end = start + 1000;
  else end = start + 1;
  return { low: new Date(start).toISOString(), high: new Date(end).toISOString() };
}
