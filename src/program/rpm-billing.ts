import {
  addDays,
  type Day,
  daysBetween,
  firstDayOf,
  lastDayOf,
  type Month,
  monthOf,
} from './calendar-days.ts';

/**
 * US Medicare remote physiologic monitoring (RPM) billing eligibility, CY 2026 — pure rules over
 * days with transmitted data, staff time and interactive communications. Source:
 * clinical-reference.md §7 (CY 2026 PFS final rule CMS-1832-F as summarised by several billing
 * guides). Every rule below is marked there **S** (secondary sources; the Federal Register text was
 * not read line by line) unless said otherwise; the 99453 day rule is **U** (unverified). This
 * computes what the recorded data supports, not what may be billed: see docs/program.md.
 */

export const RpmCode = {
  /** Set-up and patient education, once per episode of care. */
  setup: '99453',
  /** Device supply, 16–30 days of data per 30-day period. */
  supply16: '99454',
  /** Device supply, 2–15 days of data per 30 days (new 2026); never with 99454 for the same period. */
  supply2: '99445',
  /** Treatment management, first 20 min per calendar month, ≥1 real-time interactive communication. */
  management20: '99457',
  /** Treatment management, first 10 min (10–19 min) per month (new 2026); never with 99457 the same month. */
  management10: '99470',
  /** Each additional 20 min, add-on to 99457 (reportable with 99445 device months too — prevounce FAQ, S). */
  additional20: '99458',
  /** Physician/QHP collection and interpretation, ≥30 min per 30 days; not with 99457/99458. */
  interpretation: '99091',
} as const;
export type RpmCode = (typeof RpmCode)[keyof typeof RpmCode];

export interface BillingRules {
  /** Length of a device-supply period (§7: "per 30-day period"). */
  periodDays: number;
  /** 99454: 16–30 days of data per period (S). */
  supplyFullMinDays: number;
  /** 99445: 2–15 days of data per period (S). */
  supplyShortMinDays: number;
  /**
   * 99453: days of data needed in the episode's first period. Historically 16; one 2026 guide
   * (imstx.net) says ≥2 suffices — UNVERIFIED (§7, §11), hence configurable. Default: 16.
   */
  setupMinDays: number;
  /** 99470: 10–19 min per calendar month (S). */
  managementShortMinutes: number;
  /** 99457: first 20 min per calendar month (S). */
  managementFullMinutes: number;
  /** 99458: each additional 20 min (S). */
  additionalMinutes: number;
}

export const defaultBillingRules: BillingRules = {
  periodDays: 30,
  supplyFullMinDays: 16,
  supplyShortMinDays: 2,
  setupMinDays: 16,
  managementShortMinutes: 10,
  managementFullMinutes: 20,
  additionalMinutes: 20,
};

/** The two readings of the 99453 day rule (§7: 16 historically, 2 per one 2026 guide — U). */
export const setupDayRules = [16, 2] as const;

/** A span of continuous device coverage for a patient (merged device assignments), local days. */
export interface Episode {
  start: Day;
  /** Last covered day (inclusive), or null while a device is assigned. */
  end: Day | null;
  /** The patient's first episode: the only one whose set-up (99453) Vigil proposes. */
  first: boolean;
}

export interface TimeEntry {
  /** Local calendar day the time was spent. */
  day: Day;
  minutes: number;
  /** A real-time interactive communication with the patient or caregiver happened. */
  interactive: boolean;
}

export interface CodeLine {
  code: RpmCode;
  units: number;
}

export interface DevicePeriod {
  episodeStart: Day;
  /** 0 for the episode's first 30-day period. */
  index: number;
  start: Day;
  end: Day;
  daysWithData: number;
  /** The period's last day has passed: its count can no longer change. */
  complete: boolean;
  codes: CodeLine[];
  reasons: string[];
}

export interface TreatmentMonth {
  month: Month;
  minutes: number;
  interactiveCommunications: number;
  complete: boolean;
  codes: CodeLine[];
  reasons: string[];
}

export interface PatientBilling {
  patientId: string;
  timeZone: string;
  month: Month;
  /** Device-supply periods that end in the month (a period is reported in the month it ends). */
  devicePeriods: DevicePeriod[];
  treatment: TreatmentMonth;
  /** Every code of the month, device periods and treatment management together. */
  codes: CodeLine[];
  notes: string[];
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** 99454 or 99445 for one period (mutually exclusive), or none with the reason. */
export function deviceSupply(days: number, rules: BillingRules = defaultBillingRules) {
  const codes: CodeLine[] = [];
  const reasons: string[] = [];
  const have = plural(days, 'day');
  if (days >= rules.supplyFullMinDays) {
    codes.push({ code: RpmCode.supply16, units: 1 });
  } else if (days >= rules.supplyShortMinDays) {
    codes.push({ code: RpmCode.supply2, units: 1 });
    reasons.push(
      `${have} with transmitted data: 99445 (${rules.supplyShortMinDays}–${rules.supplyFullMinDays - 1} days); 99454 needs ${rules.supplyFullMinDays}`,
    );
  } else {
    reasons.push(
      `${have} with transmitted data: 99445 needs ${rules.supplyShortMinDays}, 99454 needs ${rules.supplyFullMinDays}`,
    );
  }
  return { codes, reasons };
}

/** 99453 for an episode's first period. */
export function setup(firstPeriodDays: number, first: boolean, rules: BillingRules = defaultBillingRules) {
  const rule = `${rules.setupMinDays}-day rule (unverified for 2026)`;
  if (!first) {
    return {
      codes: [] as CodeLine[],
      reasons: [
        '99453: set-up was counted in an earlier episode; a new episode of care is a clinical decision Vigil does not make',
      ],
    };
  }
  if (firstPeriodDays >= rules.setupMinDays) {
    return { codes: [{ code: RpmCode.setup, units: 1 }], reasons: [`99453 under the ${rule}`] };
  }
  return {
    codes: [] as CodeLine[],
    reasons: [`99453 needs ${plural(rules.setupMinDays, 'day')} of data in the first period (${rule})`],
  };
}

/**
 * 99457 / 99470 (mutually exclusive) and 99458 add-on units for one calendar month's staff time.
 * Both base codes need at least one real-time interactive communication in the month.
 */
export function treatmentManagement(
  minutes: number,
  interactiveCommunications: number,
  rules: BillingRules = defaultBillingRules,
) {
  const codes: CodeLine[] = [];
  const reasons: string[] = [];
  const full = rules.managementFullMinutes;
  const short = rules.managementShortMinutes;
  if (minutes < short) {
    reasons.push(`${plural(minutes, 'minute')} logged: 99470 needs ${short}, 99457 needs ${full}`);
    return { codes, reasons };
  }
  if (interactiveCommunications < 1) {
    reasons.push(
      `${plural(minutes, 'minute')} logged but no real-time interactive communication this month: 99457/99470 need at least one`,
    );
    return { codes, reasons };
  }
  if (minutes < full) {
    codes.push({ code: RpmCode.management10, units: 1 });
    reasons.push(`${plural(minutes, 'minute')}: 99470 (${short}–${full - 1} min); 99457 needs ${full}`);
    return { codes, reasons };
  }
  codes.push({ code: RpmCode.management20, units: 1 });
  const extra = Math.floor((minutes - full) / rules.additionalMinutes);
  if (extra > 0) codes.push({ code: RpmCode.additional20, units: extra });
  const next = full + (extra + 1) * rules.additionalMinutes;
  reasons.push(`${plural(minutes, 'minute')}: another 99458 unit at ${next} min`);
  return { codes, reasons };
}

/** The 30-day device periods of an episode that end within `month` (a period is reported when it ends). */
export function periodsEndingIn(
  episode: Episode,
  month: Month,
  rules: BillingRules = defaultBillingRules,
): Array<{ index: number; start: Day; end: Day }> {
  const from = firstDayOf(month);
  const to = lastDayOf(month);
  const out: Array<{ index: number; start: Day; end: Day }> = [];
  const n = rules.periodDays;
  // The first period whose end is on or after the month's first day.
  let index = Math.max(0, Math.ceil((daysBetween(episode.start, from) - (n - 1)) / n));
  for (; ; index++) {
    const start = addDays(episode.start, index * n);
    const end = addDays(start, n - 1);
    if (end > to) break;
    if (episode.end !== null && start > episode.end) break;
    if (end >= from) out.push({ index, start, end });
  }
  return out;
}

function countDays(days: ReadonlySet<Day>, start: Day, end: Day): number {
  let n = 0;
  for (const d of days) if (d >= start && d <= end) n++;
  return n;
}

function mergeCodes(lines: CodeLine[]): CodeLine[] {
  const by = new Map<RpmCode, number>();
  for (const l of lines) by.set(l.code, (by.get(l.code) ?? 0) + l.units);
  return [...by].map(([code, units]) => ({ code, units })).sort((a, b) => a.code.localeCompare(b.code));
}

export interface PatientInput {
  patientId: string;
  timeZone: string;
  episodes: readonly Episode[];
  /** Local days with at least one reading transmitted by a device (derived readings excluded). */
  dataDays: ReadonlySet<Day>;
  timeEntries: readonly TimeEntry[];
}

/** Everything one patient's recorded data supports for `month`, as of local day `today`. */
export function billingFor(
  p: PatientInput,
  month: Month,
  today: Day,
  rules: BillingRules = defaultBillingRules,
): PatientBilling {
  const devicePeriods: DevicePeriod[] = [];
  for (const ep of p.episodes) {
    for (const period of periodsEndingIn(ep, month, rules)) {
      // Days after the episode's end belong to no device period of it (another episode may start).
      const last = ep.end !== null && ep.end < period.end ? ep.end : period.end;
      const days = countDays(p.dataDays, period.start, last);
      const supply = deviceSupply(days, rules);
      const codes = [...supply.codes];
      const reasons = [...supply.reasons];
      if (period.index === 0) {
        const s = setup(days, ep.first, rules);
        codes.push(...s.codes);
        reasons.push(...s.reasons);
      }
      const complete = today > period.end;
      if (!complete) reasons.push(`period in progress until ${period.end}: codes as of ${today}`);
      devicePeriods.push({ episodeStart: ep.start, ...period, daysWithData: days, complete, codes, reasons });
    }
  }
  const inMonth = p.timeEntries.filter((e) => monthOf(e.day) === month);
  const minutes = inMonth.reduce((s, e) => s + e.minutes, 0);
  const interactive = inMonth.filter((e) => e.interactive).length;
  const tm = treatmentManagement(minutes, interactive, rules);
  const complete = today > lastDayOf(month);
  if (!complete) tm.reasons.push(`month in progress: codes as of ${today}`);
  const treatment: TreatmentMonth = {
    month,
    minutes,
    interactiveCommunications: interactive,
    complete,
    codes: tm.codes,
    reasons: tm.reasons,
  };
  return {
    patientId: p.patientId,
    timeZone: p.timeZone,
    month,
    devicePeriods,
    treatment,
    codes: mergeCodes([...devicePeriods.flatMap((d) => d.codes), ...treatment.codes]),
    notes: [
      // 99091 is a physician/QHP service Vigil cannot tell apart from staff time, and excludes 99457/99458.
      '99091 (physician/QHP interpretation, ≥30 min per 30 days) is not computed: it is not billable with 99457/99458 nor on a day with an E/M visit, which Vigil does not record',
    ],
  };
}

/** "99454 99457 99458x2" */
export function codesText(codes: readonly CodeLine[]): string {
  return codes.map((c) => (c.units > 1 ? `${c.code}x${c.units}` : c.code)).join(' ');
}
