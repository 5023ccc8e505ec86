import type { Severity } from '../core/severity.ts';
import { configError } from './config-error.ts';
import { noUnknownKeys, num, type Raw, severity, str, strList } from './config-fields.ts';
import { BASE_KEYS, type RuleBase, type RuleKind, readBase } from './rule-kind.ts';

/**
 * Missed dose: a scheduled dose (`times`, patient local time `HH:MM`, at `utcOffsetMinutes`) with
 * no event of `code` (a controller-inhaler actuation or a pill-bottle opening) from `earlyMinutes`
 * before to `graceMinutes` after it raises `missed-dose:<rule id>`, judged on the clock tick once
 * the grace has passed; the next dose taken clears it. Doses due before the rule first ran are not
 * judged (no alarm for the days before enrolment).
 *
 * `codes` (default: `code` alone) are the event codes that count as a dose, `deviceIds` (default: any
 * device) the devices whose events count; doses due before `from` or after `until` (ISO instants,
 * the prescription's period) are not judged. The pipeline derives such a rule from each active
 * scheduled MedicationRequest (program/medication-schedule-rules.ts); one may also be added in the
 * enrolment (docs/adherence.md). UNVERIFIED: the 60 min early and
 * 120 min grace defaults are engineering choices, not from clinical-reference.md.
 */
export interface MissedDoseConfig extends RuleBase {
  kind: 'missed-dose';
  code: string;
  codes: string[];
  deviceIds: string[];
  from?: string;
  until?: string;
  label: string;
  times: string[];
  utcOffsetMinutes: number;
  earlyMinutes: number;
  graceMinutes: number;
  severity: Severity;
}

export interface MissedDoseState {
  /** Dose event times (ms), last 3 days. */
  taken: number[];
  /** Due times up to this one have been judged. */
  judgedTo: number | null;
  missed: string[];
}

const KEYS = [
  ...BASE_KEYS,
  'code',
  'codes',
  'deviceIds',
  'from',
  'until',
  'label',
  'times',
  'utcOffsetMinutes',
  'earlyMinutes',
  'graceMinutes',
  'severity',
] as const;
const DAY = 86_400_000;

function dueBetween(cfg: MissedDoseConfig, from: number, to: number): number[] {
  const off = cfg.utcOffsetMinutes * 60_000;
  const out: number[] = [];
  for (let day = Math.floor((from + off) / DAY) * DAY - off; day <= to; day += DAY)
    for (const t of cfg.times) {
      const [h, m] = t.split(':').map(Number);
      const at = day + ((h as number) * 60 + (m as number)) * 60_000;
      if (at > from && at <= to) out.push(at);
    }
  return out.sort((a, b) => a - b);
}

export const missedDose: RuleKind<MissedDoseConfig, MissedDoseState> = {
  kind: 'missed-dose',
  validate(raw: Raw, path: string): MissedDoseConfig {
    noUnknownKeys(raw, path, KEYS);
    const times = strList(raw, 'times', path, []);
    if (times.length === 0) throw configError(`${path}.times`, 'needs at least one time of day (HH:MM)');
    for (const [i, t] of times.entries())
      if (!/^([01]\d|2[0-3]):[0-5]\d$/.test(t)) throw configError(`${path}.times[${i}]`, `${t} is not HH:MM`);
    const code = str(raw, 'code', path, 'vigil-inhaler-controller');
    const codes = strList(raw, 'codes', path, [code]);
    if (codes.length === 0) throw configError(`${path}.codes`, 'needs at least one event code');
    const instant = (key: 'from' | 'until'): { from?: string; until?: string } => {
      if (raw[key] === undefined) return {};
      const v = str(raw, key, path);
      if (!/^\d{4}-\d{2}-\d{2}/.test(v) || Number.isNaN(Date.parse(v)))
        throw configError(`${path}.${key}`, `${v} is not a date or date-time`);
      return { [key]: v };
    };
    const cfg: MissedDoseConfig = {
      ...readBase(raw, path, { realertMinutes: 0 }),
      kind: 'missed-dose',
      code,
      codes,
      deviceIds: strList(raw, 'deviceIds', path, []),
      ...instant('from'),
      ...instant('until'),
      label: str(raw, 'label', path, 'Scheduled dose'),
      times,
      utcOffsetMinutes: num(raw, 'utcOffsetMinutes', path, 0, { min: -840, max: 840, integer: true }),
      earlyMinutes: num(raw, 'earlyMinutes', path, 60, { min: 0, max: 720 }),
      graceMinutes: num(raw, 'graceMinutes', path, 120, { min: 1, max: 720 }),
      severity: severity(raw, 'severity', path, 'low'),
    };
    return cfg;
  },
  init: () => ({ taken: [], judgedTo: null, missed: [] }),
  onReading(ctx, cfg, state, r) {
    if (!cfg.codes.includes(r.code) || r.reading.value === null) return;
    if (cfg.deviceIds.length > 0 && !cfg.deviceIds.includes(r.reading.deviceId)) return;
    state.taken = [...state.taken.filter((t) => t > r.t - 3 * DAY), r.t].sort((a, b) => a - b);
    const key = `missed-dose:${cfg.id}`;
    if (ctx.isOpen(key)) {
      state.missed = [];
      ctx.assess(cfg, {
        key,
        active: false,
        severity: cfg.severity,
        atMs: r.t,
        summary: `${cfg.label}: a dose was taken at ${new Date(r.t).toISOString()}`,
        evidence: [r.reading.id],
      });
    }
  },
  onTick(ctx, cfg, state, nowMs) {
    const horizon = nowMs - cfg.graceMinutes * 60_000;
    if (state.judgedTo === null) {
      state.judgedTo = horizon; // first run: doses before now are not judged
      return;
    }
    if (horizon <= state.judgedTo) return;
    const from = cfg.from === undefined ? -Infinity : Date.parse(cfg.from);
    const until = cfg.until === undefined ? Infinity : Date.parse(cfg.until);
    const due = dueBetween(cfg, state.judgedTo, horizon).filter((d) => d >= from && d <= until);
    state.judgedTo = horizon;
    for (const d of due) {
      const took = state.taken.some(
        (t) => t >= d - cfg.earlyMinutes * 60_000 && t <= d + cfg.graceMinutes * 60_000,
      );
      if (took) continue;
      const iso = new Date(d).toISOString();
      state.missed = [...state.missed, iso].slice(-20);
      ctx.assess(cfg, {
        key: `missed-dose:${cfg.id}`,
        active: true,
        severity: cfg.severity,
        atMs: nowMs,
        summary: `${cfg.label}: no dose recorded within ${cfg.graceMinutes} min of ${iso} (${state.missed.length} missed in a row)`,
        data: { due: iso, missed: state.missed, graceMinutes: cfg.graceMinutes },
        persistSeconds: 0,
        persistReadings: 1,
      });
    }
  },
};
