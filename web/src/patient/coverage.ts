/**
 * The "is anyone watching" statement (docs/patient-app.md) from the care team's hours
 * (`/api/v1/patients/{id}/coverage`, the critical alerts' escalation policy): the days and hours in
 * the patient's language, and what happens outside them.
 */
export interface Coverage {
  timeZone: string;
  days: number[];
  start: string;
  end: string;
  workingHoursNow: boolean;
  afterHoursAlerts: boolean;
}

type T = (key: string, vars?: Record<string, string>) => string;

/** 1 = Monday … 7 = Sunday, in the language (1 January 2024 was a Monday). */
const weekday = (d: number, lang: string) =>
  new Intl.DateTimeFormat(lang, { weekday: 'long', timeZone: 'UTC' }).format(new Date(Date.UTC(2024, 0, d)));

/** 'HH:MM' as the language writes a time of day. */
const clock = (hhmm: string, lang: string) => {
  const [h, m] = hhmm.split(':').map(Number);
  return new Intl.DateTimeFormat(lang, { timeStyle: 'short', timeZone: 'UTC' }).format(
    new Date(Date.UTC(2024, 0, 1, h ?? 0, m ?? 0)),
  );
};

export function daysText(days: number[], lang: string, t: T): string {
  const d = [...new Set(days)].filter((x) => x >= 1 && x <= 7).sort((a, b) => a - b);
  if (d.length === 7) return t('safety.everyDay');
  const run = d.length > 2 && d.every((x, i) => i === 0 || x === (d[i - 1] ?? 0) + 1);
  if (run)
    return t('safety.dayRange', { first: weekday(d[0] ?? 1, lang), last: weekday(d.at(-1) ?? 1, lang) });
  return new Intl.ListFormat(lang, { type: 'conjunction' }).format(d.map((x) => weekday(x, lang)));
}

/** The two sentences: when the team looks, and what happens at other times. */
export function coverageText(c: Coverage, lang: string, t: T, localZone: string): [string, string] {
  const zone = c.timeZone === localZone ? '' : ` ${t('safety.zone', { zone: c.timeZone })}`;
  const hours = t('safety.hours', {
    days: daysText(c.days, lang, t),
    start: clock(c.start, lang),
    end: clock(c.end, lang),
  });
  return [`${hours}${zone}`, t(c.afterHoursAlerts ? 'safety.afterHours' : 'safety.noAfterHours')];
}
