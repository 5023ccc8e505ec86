import { toIso } from '../core/clock.ts';
import type { Severity } from '../core/severity.ts';
import { LocalCode, Loinc } from './codes.ts';
import { bool, noUnknownKeys, num, obj, oneOf, type Raw, severity, strList } from './config-fields.ts';
import { ACVPU, type Acvpu, type News2Band, news2, news2Band } from './news2-score.ts';
import { hasAnyFlag, isHeartRate, readingValue } from './reading-values.ts';
import {
  BASE_KEYS,
  type ReadingView,
  type RuleBase,
  type RuleContext,
  type RuleKind,
  readBase,
} from './rule-kind.ts';

/**
 * NEWS2 from the latest value of each parameter within a freshness window, recomputed whenever one
 * of its inputs arrives. The score is emitted as a derived reading (local code `vigil-news2`: the
 * reference has no verified LOINC for NEWS2) at once when its alert level changes, at most every
 * 5 min when only the total changes, and every `emitScoreMinutes` while unchanged — so a 1 Hz
 * monitor does not write a score per second.
 *
 * Severity mapping (RCP Chart 4 trigger → Vigil severity; documented in README):
 *   single parameter 3, total < 5 (low–medium) → medium: the chart already asks the RN to inform
 *   the medical team; 5–6 (urgent response) → high; ≥ 7 (emergency response) → critical.
 *   Totals 1–4 without a 3 are "low" risk: the score is stored but no alert is raised.
 */
export interface News2Config extends RuleBase {
  kind: 'news2';
  /** Default freshness of every parameter. */
  freshnessMinutes: number;
  /**
   * Per-parameter freshness (minutes), over `freshnessMinutes`: RCP scores a set of observations
   * taken together; with a 1 Hz monitor and 4-hourly nurse temperatures the last temperature stays
   * the patient's temperature for hours, while an SpO2 is only current for minutes.
   */
  freshness: Partial<Record<Param, number>>;
  /**
   * Score with at least this many of the five measured parameters (RR, SpO2, systolic BP, pulse,
   * temperature) fresh; the others are scored 0, so a partial score is a LOWER bound of the full
   * one (it can only under-alert), and it is marked partial and says which are stale or missing
   * (`data.partial`, `data.missing`, summary, `questionable` flag on the stored score). 5 = full sets only.
   */
  minParameters: number;
  /**
   * Observations due (RCP Chart 4 minimum monitoring frequency, clinical-reference §1.2): hours
   * between sets by the last score's band. Each parameter is due once its last value is older than
   * that; an overdue set opens `news2:observations-due` at `info` (a worklist task, the nurse's
   * tier) and, `overdueGraceMinutes` later, at `severityOverdue` (an alert). 0 disables.
   */
  dueHours: { zero: number; low: number; lowMedium: number; urgent: number; emergency: number };
  /** Observations due on (ward programs) or off (home programs with their own schedule). */
  observationsDue: boolean;
  /**
   * Continuous monitoring: score each numeric parameter on the MEDIAN of its readings of the last
   * `smoothMinutes` (sampled at most every 10 s), as a nurse counts a rate over a minute rather than
   * reading one beat — a 1 Hz value crossing a band edge with each breath, or half a minute of
   * talking on impedance respiration, does not move the score. 0 = the last value (spot checks).
   */
  smoothMinutes: number;
  overdueGraceMinutes: number;
  severityOverdue: Severity;
  /** Without a fresh ACVPU observation: skip the score, or assume Alert (flagged in the draft). */
  unrecordedConsciousness: 'skip' | 'assume-alert';
  emitScoreMinutes: number;
  ignoreFlags: string[];
  severityLowMedium: Severity;
  severityUrgent: Severity;
  severityEmergency: Severity;
}

type Param = 'respRate' | 'spo2' | 'oxygen' | 'systolic' | 'pulse' | 'consciousness' | 'temperature';
interface Latest {
  v: number | string;
  t: number;
  id: string;
}
export interface News2State {
  latest: Partial<Record<Param, Latest>>;
  lastScoreAt: number;
  lastScoreSig: string;
  /** The band of the last score computed (drives observations due). */
  band?: News2Band;
  /** smoothMinutes > 0: recent [t, value] per numeric parameter. */
  hist?: Partial<Record<Param, Array<[number, number]>>>;
}

const MEASURED: ReadonlyArray<Param> = ['respRate', 'spo2', 'systolic', 'pulse', 'temperature'];
const PARAM_LABEL: Record<Param, string> = {
  respRate: 'respiration rate',
  spo2: 'SpO2',
  oxygen: 'oxygen',
  systolic: 'systolic BP',
  pulse: 'pulse',
  consciousness: 'consciousness',
  temperature: 'temperature',
};

const KEYS = [
  ...BASE_KEYS,
  'freshnessMinutes',
  'unrecordedConsciousness',
  'emitScoreMinutes',
  'ignoreFlags',
  'severityLowMedium',
  'severityUrgent',
  'severityEmergency',
  'freshness',
  'minParameters',
  'dueHours',
  'observationsDue',
  'smoothMinutes',
  'overdueGraceMinutes',
  'severityOverdue',
] as const;

/** Which NEWS2 parameter a reading provides, with its value. */
function extract(r: ReadingView, cfg: News2Config): [Param, number | string] | null {
  const rd = r.reading;
  switch (r.code) {
    case Loinc.respRate: {
      const v = readingValue(rd);
      return v === null ? null : ['respRate', v];
    }
    case Loinc.spo2:
    case Loinc.spo2PulseOximetry: {
      const v = readingValue(rd);
      return v === null || hasAnyFlag(rd, cfg.ignoreFlags) ? null : ['spo2', v];
    }
    case Loinc.bpPanel:
    case Loinc.systolic: {
      const v = readingValue(rd, r.code === Loinc.bpPanel ? Loinc.systolic : undefined);
      return v === null ? null : ['systolic', v];
    }
    case Loinc.bodyTemp: {
      const v = readingValue(rd);
      return v === null ? null : ['temperature', v];
    }
    case LocalCode.consciousness: {
      const c = rd.valueCode?.toUpperCase();
      return c !== undefined && (ACVPU as readonly string[]).includes(c) ? ['consciousness', c] : null;
    }
    case LocalCode.oxygenSupplement: {
      if (rd.valueCode === 'air' || rd.valueCode === 'oxygen') return ['oxygen', rd.valueCode];
      if (rd.value === null) return null;
      // A concentration in % is oxygen above room air (21 %); a flow is oxygen when > 0.
      return ['oxygen', (rd.unit === '%' ? rd.value > 21 : rd.value > 0) ? 'oxygen' : 'air'];
    }
    default:
      if (isHeartRate(r.code)) {
        const v = readingValue(rd);
        return v === null ? null : ['pulse', v];
      }
      return null;
  }
}

function fresh(l: Latest | undefined, now: number, windowMs: number): Latest | undefined {
  return l !== undefined && now - l.t <= windowMs ? l : undefined;
}

export const news2Rule: RuleKind<News2Config, News2State> = {
  kind: 'news2',
  validate(raw: Raw, path: string): News2Config {
    noUnknownKeys(raw, path, KEYS);
    return {
      ...readBase(raw, path),
      kind: 'news2',
      freshnessMinutes: num(raw, 'freshnessMinutes', path, 60, { min: 1 }),
      unrecordedConsciousness: oneOf(
        raw,
        'unrecordedConsciousness',
        path,
        ['skip', 'assume-alert'] as const,
        'skip',
      ),
      emitScoreMinutes: num(raw, 'emitScoreMinutes', path, 15, { min: 0 }),
      ignoreFlags: strList(raw, 'ignoreFlags', path, [
        'low-perfusion',
        'motion-artifact',
        'poor-signal',
        'sensor-contact-lost',
      ]),
      severityLowMedium: severity(raw, 'severityLowMedium', path, 'medium'),
      severityUrgent: severity(raw, 'severityUrgent', path, 'high'),
      severityEmergency: severity(raw, 'severityEmergency', path, 'critical'),
      freshness: readFreshness(raw, path),
      minParameters: num(raw, 'minParameters', path, 5, { min: 1, max: 5, integer: true }),
      dueHours: readDueHours(raw, path),
      observationsDue: bool(raw, 'observationsDue', path, true),
      smoothMinutes: num(raw, 'smoothMinutes', path, 0, { min: 0, max: 60 }),
      overdueGraceMinutes: num(raw, 'overdueGraceMinutes', path, 30, { min: 0 }),
      severityOverdue: severity(raw, 'severityOverdue', path, 'low'),
    };
  },
  init: () => ({ latest: {}, lastScoreAt: Number.MIN_SAFE_INTEGER, lastScoreSig: '' }),
  onReading(ctx, cfg, state, r) {
    const got = extract(r, cfg);
    if (got === null) return;
    const prev = state.latest[got[0]];
    if (prev !== undefined && prev.t > r.t) return; // late reading: the newer value stays
    let v = got[1];
    if (cfg.smoothMinutes > 0 && typeof v === 'number')
      v = smoothed(state, got[0], r.t, v, cfg.smoothMinutes);
    state.latest[got[0]] = { v, t: r.t, id: r.reading.id };

    const L = state.latest;
    const f = (p: Param) => fresh(L[p], r.t, freshMs(cfg, p));
    const rr = f('respRate');
    const sp = f('spo2');
    const sbp = f('systolic');
    const hr = f('pulse');
    const temp = f('temperature');
    const missing = MEASURED.filter((p) => f(p) === undefined);
    if (MEASURED.length - missing.length < cfg.minParameters) {
      observationsDue(ctx, cfg, state, r.t);
      return;
    }
    const cons = f('consciousness');
    if (cons === undefined && cfg.unrecordedConsciousness === 'skip') return;
    const o2 = f('oxygen');
    const onOxygen = o2 !== undefined ? o2.v === 'oxygen' : ctx.patient.onOxygen;
    // Missing parameters are given normal values (score 0): a partial score is a lower bound.
    const result = news2({
      respRate: (rr?.v as number | undefined) ?? 16,
      // 90 % scores 0 on scale 2 on air or oxygen; 97 % scores 0 on scale 1.
      spo2: (sp?.v as number | undefined) ?? (ctx.patient.spo2Scale === 2 ? 90 : 97),
      spo2Scale: ctx.patient.spo2Scale,
      onOxygen,
      systolic: (sbp?.v as number | undefined) ?? 120,
      pulse: (hr?.v as number | undefined) ?? 70,
      consciousness: (cons?.v ?? 'A') as Acvpu,
      temperature: (temp?.v as number | undefined) ?? 37,
    });
    const band = news2Band(result);
    state.band = band;
    const evidence = [rr, sp, sbp, hr, temp, cons, o2].filter((x) => x !== undefined).map((x) => x.id);
    const notes: string[] = [];
    const partial = missing.length > 0;
    const missingText = missing.map((p) => `${PARAM_LABEL[p]} ${L[p] === undefined ? 'missing' : 'stale'}`);
    if (partial) notes.push(`partial score: ${missingText.join(', ')} (scored 0)`);
    if (cons === undefined) notes.push('consciousness not recorded; assumed Alert');
    if (o2 === undefined)
      notes.push(`no oxygen observation; patient setting: ${onOxygen ? 'oxygen' : 'air'}`);

    // Store a score when the alert level changes (at once), when only the total changes (at most
    // every 5 min: a 1 Hz SpO2 wobbling across 95/96 would otherwise write a score per second), and
    // every emitScoreMinutes regardless.
    const level = severityFor(cfg, band) ?? 'none';
    const [lastTotal, lastLevel] = state.lastScoreSig.split('|');
    const since = r.t - state.lastScoreAt;
    const sig = `${result.total}|${level}`;
    if (
      lastLevel !== level ||
      (lastTotal !== String(result.total) && since >= MIN_SCORE_INTERVAL_MS) ||
      since >= cfg.emitScoreMinutes * 60_000
    ) {
      state.lastScoreSig = sig;
      state.lastScoreAt = r.t;
      ctx.derive({
        deviceId: r.reading.deviceId,
        patientId: ctx.patientId,
        code: LocalCode.news2Score,
        // One system: the code table codes vigil-news2 in Vigil's observation code system (the
        // second coding under a detect system that earlier versions added is gone; stored rows
        // that carry it are served without it, normalize/fhir-observation.ts).
        codings: [],
        category: 'survey',
        value: result.total,
        unit: '{score}',
        components: Object.entries(result.parts).map(([k, v]) => ({
          code: `${LocalCode.news2Score}-${k}`,
          value: v,
          unit: '{score}',
        })),
        effective: toIso(r.t),
        flags: cons === undefined || partial ? ['questionable'] : [],
        idempotencyKey: `news2:${ctx.patientId}:${r.t}`,
        transport: r.reading.transport,
        profile: 'derived:news2',
        notes: [`spo2 scale ${ctx.patient.spo2Scale}`, `derived from ${evidence.join(' ')}`, ...notes],
      });
    }
    const sev = level === 'none' ? null : level;
    ctx.assess(cfg, {
      key: 'news2',
      active: sev !== null,
      severity: sev ?? 'info',
      atMs: r.t,
      summary: `NEWS2 ${result.total}${partial ? ' (partial)' : ''}${result.anyThree ? ' (a parameter scores 3)' : ''}: ${bandText(band)}${partial ? `; ${missingText.join(', ')}` : ''}`,
      evidence,
      data: {
        score: result.total,
        parts: result.parts,
        band,
        spo2Scale: ctx.patient.spo2Scale,
        onOxygen,
        ...(partial ? { partial: true, missing } : {}),
      },
    });
    observationsDue(ctx, cfg, state, r.t);
  },
  onTick(ctx, cfg, state, nowMs) {
    observationsDue(ctx, cfg, state, nowMs);
  },
};

function freshMs(cfg: News2Config, p: Param): number {
  return (cfg.freshness[p] ?? cfg.freshnessMinutes) * 60_000;
}

function readFreshness(raw: Raw, path: string): Partial<Record<Param, number>> {
  if (raw.freshness === undefined) return {};
  const o = obj(raw.freshness, `${path}.freshness`);
  noUnknownKeys(o, `${path}.freshness`, Object.keys(PARAM_LABEL));
  const out: Partial<Record<Param, number>> = {};
  for (const k of Object.keys(o)) out[k as Param] = num(o, k, `${path}.freshness`, undefined, { min: 1 });
  return out;
}

/** RCP Chart 4 minimum monitoring (§1.2): 12-hourly at 0, 4–6-hourly at 1–4 (the 4), hourly at a single 3 or 5–6; continuous at ≥ 7 (an hour is the floor here). */
const CHART4_HOURS = { zero: 12, low: 4, lowMedium: 1, urgent: 1, emergency: 1 };

function readDueHours(raw: Raw, path: string): News2Config['dueHours'] {
  if (raw.dueHours === undefined) return { ...CHART4_HOURS };
  const p = `${path}.dueHours`;
  const o = obj(raw.dueHours, p);
  noUnknownKeys(o, p, Object.keys(CHART4_HOURS));
  const h = (k: keyof typeof CHART4_HOURS) => num(o, k, p, CHART4_HOURS[k], { min: 0 });
  return {
    zero: h('zero'),
    low: h('low'),
    lowMedium: h('lowMedium'),
    urgent: h('urgent'),
    emergency: h('emergency'),
  };
}

function dueHoursFor(cfg: News2Config, band: News2Band): number {
  switch (band) {
    case 'none':
      return cfg.dueHours.zero;
    case 'low':
      return cfg.dueHours.low;
    case 'low-medium':
      return cfg.dueHours.lowMedium;
    case 'medium':
      return cfg.dueHours.urgent;
    case 'high':
      return cfg.dueHours.emergency;
    default: {
      const never: never = band;
      return never;
    }
  }
}

/**
 * Observations due: each measured parameter (and ACVPU when it is required) is due once its last
 * value is older than the Chart 4 interval of the last score's band. Before the first score there
 * is no band and nothing is due.
 */
function observationsDue(ctx: RuleContext, cfg: News2Config, state: News2State, nowMs: number): void {
  if (!cfg.observationsDue || state.band === undefined) return;
  const hours = dueHoursFor(cfg, state.band);
  if (hours <= 0) return;
  const params: Param[] =
    cfg.unrecordedConsciousness === 'skip' ? [...MEASURED, 'consciousness'] : [...MEASURED];
  let dueAt = Number.POSITIVE_INFINITY;
  const due: string[] = [];
  for (const p of params) {
    const l = state.latest[p];
    if (l === undefined) continue;
    const at = l.t + hours * 3_600_000;
    if (at <= nowMs) due.push(PARAM_LABEL[p]);
    if (at < dueAt) dueAt = at;
  }
  const key = 'news2:observations-due';
  const active = dueAt <= nowMs;
  if (!active && !ctx.isOpen(key)) return;
  const overdue = active && nowMs - dueAt >= cfg.overdueGraceMinutes * 60_000;
  const every = hours >= 1 ? `${hours} h` : `${Math.round(hours * 60)} min`;
  ctx.assess(cfg, {
    key,
    active,
    severity: overdue ? cfg.severityOverdue : 'info',
    atMs: nowMs,
    summary: active
      ? `Observations ${overdue ? 'overdue' : 'due'} since ${toIso(dueAt).slice(11, 16)} UTC (NEWS2 ${bandText(state.band)}: at least every ${every}): ${due.join(', ')}`
      : 'Observations up to date',
    data: { dueAt: Number.isFinite(dueAt) ? toIso(dueAt) : null, everyHours: hours, due, class: 'task' },
    persistSeconds: 0,
    persistReadings: 1,
    clearSeconds: 0,
  });
}

const MIN_SCORE_INTERVAL_MS = 5 * 60_000;

function severityFor(cfg: News2Config, band: News2Band): Severity | null {
  switch (band) {
    case 'high':
      return cfg.severityEmergency;
    case 'medium':
      return cfg.severityUrgent;
    case 'low-medium':
      return cfg.severityLowMedium;
    case 'low':
    case 'none':
      return null;
    default: {
      const never: never = band;
      return never;
    }
  }
}

function bandText(b: News2Band): string {
  return {
    high: 'emergency response threshold (≥ 7)',
    medium: 'urgent response threshold (5–6)',
    'low-medium': 'low–medium risk, single parameter scoring 3',
    low: 'low risk',
    none: 'no trigger',
  }[b];
}

const SMOOTH_SAMPLE_MS = 10_000;

/** Median of the parameter's samples of the last `minutes` (one kept per 10 s), this one included. */
function smoothed(st: News2State, p: Param, t: number, v: number, minutes: number): number {
  st.hist ??= {};
  const h = (st.hist[p] ?? []).filter(([pt]) => pt > t - minutes * 60_000 && pt <= t);
  const last = h[h.length - 1];
  if (last === undefined || t - last[0] >= SMOOTH_SAMPLE_MS) h.push([t, v]);
  st.hist[p] = h;
  const xs = h.map(([, x]) => x);
  if (last !== undefined && t - last[0] < SMOOTH_SAMPLE_MS) xs.push(v);
  xs.sort((a, b) => a - b);
  const m = xs.length >> 1;
  return xs.length % 2 ? (xs[m] as number) : ((xs[m - 1] as number) + (xs[m] as number)) / 2;
}
