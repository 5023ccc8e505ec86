import type { Severity } from '../core/severity.ts';
import { GLUCOSE_CODES, Loinc } from './codes.ts';
import { bool, noUnknownKeys, num, oneOf, type Raw, severity } from './config-fields.ts';
import { type KalmanState, kalmanPredict, kalmanUpdate } from './glucose-predictor.ts';
import { readingValue } from './reading-values.ts';
import { BASE_KEYS, type RuleBase, type RuleContext, type RuleKind, readBase } from './rule-kind.ts';
import { round } from './threshold.ts';

/**
 * Glucose (clinical-reference §6, §8): level 1 low (< 70) and level 2 low (< 54), level 1 high
 * (> 180) and level 2 high (> 250), fast rise/fall (2 and 3 mg/dL/min, the rates Dexcom alerts
 * use), and a predicted low ("urgent low soon": predicted to reach 55 mg/dL soon).
 *
 * Rate alerts are gated on where the rate is heading (`rateGateMinutes`, see `rate`).
 *
 * Conditions: 'glucose:low', 'glucose:high' (severity follows the level), 'glucose:rise',
 * 'glucose:fall', 'glucose:predicted-low'. Clear levels (hysteresis) are program defaults, not
 * clinical facts. Rate and prediction use CGM readings only; fingersticks feed low/high.
 *
 * Predicted low (tuned on the DirecNet traces — see bench/quality-cgm.bench.ts): opens when the
 * reading is ≥ 54 and either the Kalman forecast `horizonMinutes` ahead is < `predictLevel`, or
 * glucose is already < `zoneLevel` and not rising. It stays open through the low itself and clears
 * only when glucose is ≥ `clearLevel` and the forecast ≥ `clearForecast`, so one hypoglycaemic
 * episode is one warning, not a warning per bounce around 54.
 *
 * Compression lows (clinical-reference §9, S): at night (`nightStartHour`–`nightEndHour`, the
 * patient's local time by `utcOffsetMinutes`), a CGM fall faster than `compressionFallRate` between
 * two readings ≤ 10 min apart, from a trace that was steady (|slope| ≤ `compressionSteadyRate` over
 * the 30 min before), makes the low that follows SUSPECT: for up to `compressionRecoverMinutes` the
 * CGM's low, fall and predicted-low conditions do not count (neither open nor extend); instead
 * 'glucose:compression-low' (low priority, `data.class: 'compression-suspected'`,
 * `data.excludeFromMetrics: true`) asks for a fingerstick. It never silences a real low: a meter
 * reading below `low1` ends the suspicion (and alarms by itself, as every meter reading does), and
 * a low still there after `compressionRecoverMinutes` ends it too — the CGM low then alarms. A trace
 * back at or above `lowClear` ends it (compression relieved). `compressionFallRate` 0 = off.
 * UNVERIFIED derivation of the default 4 mg/dL/min: over the 44,822 five-minute steps of the real
 * iglu traces in test/corpora/cgm/iglu (DirecNet, D1NAMO, Dexcom G4 T2D; values 40–400), the 99.5th
 * percentile fall is 4.0 mg/dL/min (99th 3.4, 99.9th 5.2); a fall steeper than that is rarer than
 * one step in 200 — and those traces include sensor artefacts, so this is a bound on what the
 * sensors showed, not a published physiological limit.
 *
 * Level-1 high alerts (> 180) are opt-in per patient (`level1HighAlerts`; off by default): without
 * them a high opens above `high2` and clears at or below `high2Clear`.
 */
export interface GlucoseConfig extends RuleBase {
  kind: 'glucose';
  low1: number;
  low2: number;
  lowClear: number;
  high1: number;
  high2: number;
  highClear: number;
  rateAlert: number;
  rateUrgent: number;
  rateClear: number;
  /** Rate alerts only when the current rate carries glucose past a limit within this many minutes; 0 = always. */
  rateGateMinutes: number;
  /** Consecutive CGM readings a rate must hold before a rate alert opens (noise on a 15-min slope). */
  ratePersistReadings: number;
  /** 'kalman' (two-state filter) or 'regression' (least-squares line over `predictWindowMinutes`). */
  predictModel: 'kalman' | 'regression';
  predictWindowMinutes: number;
  predictLevel: number;
  horizonMinutes: number;
  zoneLevel: number;
  zoneMaxRate: number;
  clearLevel: number;
  clearForecast: number;
  minReadings: number;
  maxGapMinutes: number;
  processNoise: number;
  measurementNoise: number;
  severityLow1: Severity;
  severityLow2: Severity;
  severityHigh1: Severity;
  severityHigh2: Severity;
  severityRate: Severity;
  severityRateUrgent: Severity;
  severityPredictedLow: Severity;
  /**
   * Lag on fast falls: when the slope of the last `fastFallWindowMinutes` (≥ 2 readings) is steeper
   * downwards than the predictor's, the forecast uses it — a 15-min line averages the start of a
   * fall away. 0 = off.
   */
  fastFallWindowMinutes: number;
  level1HighAlerts: boolean;
  high2Clear: number;
  compressionFallRate: number;
  compressionSteadyRate: number;
  compressionRecoverMinutes: number;
  nightStartHour: number;
  nightEndHour: number;
  utcOffsetMinutes: number;
  severityCompression: Severity;
}

export interface GlucoseState {
  k: KalmanState | null;
  /** CGM points of the last `rateWindowMinutes`, for the rate alerts. */
  recent: Array<[number, number]>;
  /** A suspected compression low: since (event time) and the level before the drop. */
  compression?: { since: number; from: number };
}

const KEYS = [
  ...BASE_KEYS,
  'low1',
  'low2',
  'lowClear',
  'high1',
  'high2',
  'highClear',
  'rateAlert',
  'rateUrgent',
  'rateClear',
  'rateGateMinutes',
  'ratePersistReadings',
  'predictModel',
  'predictWindowMinutes',
  'predictLevel',
  'horizonMinutes',
  'zoneLevel',
  'zoneMaxRate',
  'clearLevel',
  'clearForecast',
  'minReadings',
  'maxGapMinutes',
  'processNoise',
  'measurementNoise',
  'severityLow1',
  'severityLow2',
  'severityHigh1',
  'severityHigh2',
  'severityRate',
  'severityRateUrgent',
  'severityPredictedLow',
  'fastFallWindowMinutes',
  'level1HighAlerts',
  'high2Clear',
  'compressionFallRate',
  'compressionSteadyRate',
  'compressionRecoverMinutes',
  'nightStartHour',
  'nightEndHour',
  'utcOffsetMinutes',
  'severityCompression',
] as const;

const CGM = new Set<string>([Loinc.cgmMass, Loinc.cgmMoles]);

export const glucose: RuleKind<GlucoseConfig, GlucoseState> = {
  kind: 'glucose',
  validate(raw: Raw, path: string): GlucoseConfig {
    noUnknownKeys(raw, path, KEYS);
    const n = (k: string, d: number, min = 0) => num(raw, k, path, d, { min });
    return {
      ...readBase(raw, path),
      kind: 'glucose',
      low1: n('low1', 70),
      low2: n('low2', 54),
      lowClear: n('lowClear', 75),
      high1: n('high1', 180),
      high2: n('high2', 250),
      highClear: n('highClear', 170),
      rateAlert: n('rateAlert', 2),
      rateUrgent: n('rateUrgent', 3),
      rateClear: n('rateClear', 1.5),
      rateGateMinutes: n('rateGateMinutes', 30),
      ratePersistReadings: num(raw, 'ratePersistReadings', path, 2, { min: 1, integer: true }),
      predictModel: oneOf(raw, 'predictModel', path, ['kalman', 'regression'] as const, 'kalman'),
      predictWindowMinutes: num(raw, 'predictWindowMinutes', path, 15, { min: 10, max: 30 }),
      predictLevel: n('predictLevel', 55),
      horizonMinutes: n('horizonMinutes', 25, 1),
      zoneLevel: n('zoneLevel', 70),
      zoneMaxRate: num(raw, 'zoneMaxRate', path, 0),
      clearLevel: n('clearLevel', 80),
      clearForecast: n('clearForecast', 90),
      minReadings: num(raw, 'minReadings', path, 3, { min: 1, integer: true }),
      maxGapMinutes: n('maxGapMinutes', 15, 1),
      processNoise: n('processNoise', 0.002),
      measurementNoise: n('measurementNoise', 16),
      severityLow1: severity(raw, 'severityLow1', path, 'medium'),
      severityLow2: severity(raw, 'severityLow2', path, 'high'),
      severityHigh1: severity(raw, 'severityHigh1', path, 'low'),
      severityHigh2: severity(raw, 'severityHigh2', path, 'medium'),
      severityRate: severity(raw, 'severityRate', path, 'low'),
      severityRateUrgent: severity(raw, 'severityRateUrgent', path, 'medium'),
      severityPredictedLow: severity(raw, 'severityPredictedLow', path, 'high'),
      fastFallWindowMinutes: num(raw, 'fastFallWindowMinutes', path, 0, { min: 0, max: 30 }),
      level1HighAlerts: bool(raw, 'level1HighAlerts', path, false),
      high2Clear: n('high2Clear', 240),
      compressionFallRate: n('compressionFallRate', 4),
      compressionSteadyRate: n('compressionSteadyRate', 1),
      compressionRecoverMinutes: n('compressionRecoverMinutes', 60, 1),
      nightStartHour: num(raw, 'nightStartHour', path, 22, { min: 0, max: 23, integer: true }),
      nightEndHour: num(raw, 'nightEndHour', path, 7, { min: 0, max: 23, integer: true }),
      utcOffsetMinutes: num(raw, 'utcOffsetMinutes', path, 0, { min: -840, max: 840 }),
      severityCompression: severity(raw, 'severityCompression', path, 'low'),
    };
  },
  init: () => ({ k: null, recent: [] }),
  onReading(ctx, cfg, state, r) {
    if (!GLUCOSE_CODES.has(r.code)) return;
    const g = readingValue(r.reading);
    if (g === null) return;
    const ev = [r.reading.id];
    if (!CGM.has(r.code)) {
      // A meter reading: a low confirms a real low (the suspicion ends); a normal one confirms the
      // compression. Either way the meter's own value is judged on its levels.
      const c = state.compression;
      if (c !== undefined) {
        if (g < cfg.low1) delete state.compression;
        compressionAssess(ctx, cfg, r.t, g, ev, false, g < cfg.low1 ? 'confirmed low' : 'not confirmed');
      }
      levels(ctx, cfg, g, r.t, ev, false);
      return;
    }
    if (state.k !== null && r.t <= state.k.t) {
      levels(ctx, cfg, g, r.t, ev, state.compression !== undefined);
      return; // late or repeated CGM point: no trend from it
    }
    const verdict = compression(ctx, cfg, state, r.t, g, ev);
    const suspect = verdict === 'suspect';
    if (verdict === 'recovered') {
      // The readings under pressure were not glucose: no trend or forecast across them.
      state.k = null;
      state.recent = [];
    }
    const before = state.k;
    levels(ctx, cfg, g, r.t, ev, suspect);
    const gapped = before !== null && r.t - before.t > cfg.maxGapMinutes * 60_000;
    state.k = kalmanUpdate(before, g, r.t, {
      q: cfg.processNoise,
      r: cfg.measurementNoise,
      maxGapMinutes: cfg.maxGapMinutes,
    });
    const k = state.k;
    if (gapped) {
      for (const key of TREND_KEYS) {
        if (ctx.isOpen(key))
          ctx.assess(cfg, {
            key,
            active: false,
            severity: 'info',
            atMs: r.t,
            summary: 'CGM data resumed after a gap; trend restarted',
            evidence: ev,
            clearSeconds: 0,
          });
      }
    }
    const recent = gapped ? [] : state.recent;
    recent.push([r.t, g]);
    while (recent.length > 0 && (recent[0] as [number, number])[0] < r.t - KEEP_MS) recent.shift();
    state.recent = recent;
    const slope = regressionSlope(recent.filter(([t]) => t >= r.t - RATE_WINDOW_MS));
    if (slope !== null) rate(ctx, cfg, slope, g, r.t, ev, suspect);
    if (k.n < cfg.minReadings || suspect) return;
    let s = k.s;
    if (cfg.predictModel === 'regression') {
      const ps = regressionSlope(recent.filter(([t]) => t >= r.t - cfg.predictWindowMinutes * 60_000));
      if (ps === null) return;
      s = ps;
    }
    if (cfg.fastFallWindowMinutes > 0) {
      const pts = recent.filter(([t]) => t >= r.t - cfg.fastFallWindowMinutes * 60_000);
      const a = pts[0];
      const b = pts[pts.length - 1];
      if (a !== undefined && b !== undefined && b[0] - a[0] >= 5 * 60_000) {
        const fast = (b[1] - a[1]) / ((b[0] - a[0]) / 60_000);
        // Only on a fast fall (≥ rateAlert, 2 mg/dL/min: the rate the reference's Dexcom alerts use).
        if (fast < s && fast <= -cfg.rateAlert) s = fast;
      }
    }
    const forecast =
      cfg.predictModel === 'regression' || s !== k.s
        ? g + s * cfg.horizonMinutes
        : kalmanPredict(k, cfg.horizonMinutes);
    const key = 'glucose:predicted-low';
    const warn =
      g >= cfg.low2 && (forecast < cfg.predictLevel || (g < cfg.zoneLevel && s <= cfg.zoneMaxRate));
    const active = ctx.isOpen(key) ? warn || g < cfg.clearLevel || forecast < cfg.clearForecast : warn;
    ctx.assess(cfg, {
      key,
      active,
      severity: cfg.severityPredictedLow,
      atMs: r.t,
      summary: active
        ? `Glucose ${round(g)} mg/dL, ${round(s)} mg/dL/min: forecast ${round(forecast)} mg/dL in ${cfg.horizonMinutes} min (urgent low soon)`
        : `Glucose ${round(g)} mg/dL, no low forecast`,
      evidence: ev,
      data: { glucose: g, rate: round(s), forecast: round(forecast), horizonMinutes: cfg.horizonMinutes },
      persistReadings: 1,
      persistSeconds: 0,
    });
  },
  onTick(ctx, cfg, state, nowMs) {
    // A trend or forecast is stale once CGM data stop: close it at the moment it went stale.
    const k = state.k;
    if (k === null || nowMs - k.t <= cfg.maxGapMinutes * 60_000) return;
    const at = k.t + cfg.maxGapMinutes * 60_000;
    for (const key of TREND_KEYS) {
      if (ctx.isOpen(key))
        ctx.assess(cfg, {
          key,
          active: false,
          severity: 'info',
          atMs: at,
          summary: `No CGM data for ${cfg.maxGapMinutes} min; glucose trend unknown`,
          clearSeconds: 0,
        });
    }
  },
};

const TREND_KEYS = ['glucose:predicted-low', 'glucose:rise', 'glucose:fall'];

/**
 * Rate alerts use the least-squares slope of the raw readings of the last 15 min (≥ 3 readings over
 * ≥ 10 min): it follows a real change within minutes, where the heavily smoothed Kalman rate —
 * tuned for forecasting — lags.
 */
const RATE_WINDOW_MS = 15 * 60_000;
/** CGM points kept: the longest regression window a prediction may use. */
const KEEP_MS = 30 * 60_000;

function regressionSlope(pts: Array<[number, number]>): number | null {
  const first = pts[0];
  const last = pts[pts.length - 1];
  if (pts.length < 3 || first === undefined || last === undefined || last[0] - first[0] < 10 * 60_000)
    return null;
  let st = 0;
  let sg = 0;
  for (const [t, g] of pts) {
    st += (t - first[0]) / 60_000;
    sg += g;
  }
  const mt = st / pts.length;
  const mg = sg / pts.length;
  let num = 0;
  let den = 0;
  for (const [t, g] of pts) {
    const x = (t - first[0]) / 60_000 - mt;
    num += x * (g - mg);
    den += x * x;
  }
  return den === 0 ? null : num / den;
}

function levels(
  ctx: RuleContext,
  cfg: GlucoseConfig,
  g: number,
  t: number,
  ev: string[],
  suspectLow: boolean,
): void {
  if (!suspectLow) lowLevels(ctx, cfg, g, t, ev);
  highLevels(ctx, cfg, g, t, ev);
}

function lowLevels(ctx: RuleContext, cfg: GlucoseConfig, g: number, t: number, ev: string[]): void {
  const lowActive = g < cfg.low1 || (ctx.isOpen('glucose:low') && g < cfg.lowClear);
  const l2 = g < cfg.low2;
  ctx.assess(cfg, {
    key: 'glucose:low',
    active: lowActive,
    severity: l2 ? cfg.severityLow2 : cfg.severityLow1,
    atMs: t,
    summary: lowActive
      ? g < cfg.low1
        ? `Glucose ${round(g)} mg/dL < ${l2 ? cfg.low2 : cfg.low1}: level ${l2 ? 2 : 1} low`
        : `Glucose ${round(g)} mg/dL < ${cfg.lowClear}: not yet out of the low range (alert below ${cfg.low1})`
      : `Glucose ${round(g)} mg/dL, out of low range`,
    evidence: ev,
    data: { glucose: g, level: l2 ? 2 : 1 },
  });
}

function highLevels(ctx: RuleContext, cfg: GlucoseConfig, g: number, t: number, ev: string[]): void {
  const opens = cfg.level1HighAlerts ? cfg.high1 : cfg.high2;
  const clear = cfg.level1HighAlerts ? cfg.highClear : cfg.high2Clear;
  const highActive = g > opens || (ctx.isOpen('glucose:high') && g > clear);
  const h2 = g > cfg.high2;
  ctx.assess(cfg, {
    key: 'glucose:high',
    active: highActive,
    severity: h2 ? cfg.severityHigh2 : cfg.severityHigh1,
    atMs: t,
    summary: highActive
      ? g > opens
        ? `Glucose ${round(g)} mg/dL > ${h2 ? cfg.high2 : cfg.high1}: level ${h2 ? 2 : 1} high`
        : `Glucose ${round(g)} mg/dL > ${clear}: not yet out of the high range (alert above ${opens})`
      : `Glucose ${round(g)} mg/dL, out of high range`,
    evidence: ev,
    data: { glucose: g, level: h2 ? 2 : 1 },
  });
}

/**
 * Rate gating (alarm fatigue): a meal makes glucose rise 2–3 mg/dL/min and the bolus bring it down
 * again every day; alerting on every such swing gave ~12 rate alerts per stable patient-day in the
 * simulator bench. With `rateGateMinutes` > 0 a fall alerts only when the current rate would take
 * glucose below level-1 low (`low1`) within that time, a rise only when it would take it above
 * level-2 high (`high2`): the rate matters when it is heading somewhere that matters.
 */
function rate(
  ctx: RuleContext,
  cfg: GlucoseConfig,
  s: number,
  g: number,
  t: number,
  ev: string[],
  suspectLow: boolean,
): void {
  for (const dir of ['rise', 'fall'] as const) {
    if (dir === 'fall' && suspectLow) continue;
    const key = `glucose:${dir}`;
    const v = dir === 'rise' ? s : -s;
    const ahead = g + s * cfg.rateGateMinutes;
    const heading = cfg.rateGateMinutes === 0 || (dir === 'rise' ? ahead > cfg.high2 : ahead < cfg.low1);
    const active = (v >= cfg.rateAlert && heading) || (ctx.isOpen(key) && v >= cfg.rateClear);
    ctx.assess(cfg, {
      key,
      active,
      severity: v >= cfg.rateUrgent ? cfg.severityRateUrgent : cfg.severityRate,
      atMs: t,
      summary: active
        ? `Glucose ${dir === 'rise' ? 'rising' : 'falling'} ${round(v)} mg/dL/min`
        : `Glucose rate ${round(s)} mg/dL/min`,
      evidence: ev,
      data: { rate: round(s) },
      persistReadings: cfg.ratePersistReadings,
    });
  }
}

const NIGHT_STEADY_MS = 30 * 60_000;

function atNight(cfg: GlucoseConfig, t: number): boolean {
  const minutes = (((t / 60_000 + cfg.utcOffsetMinutes) % 1440) + 1440) % 1440;
  const h = Math.floor(minutes / 60);
  return cfg.nightStartHour > cfg.nightEndHour
    ? h >= cfg.nightStartHour || h < cfg.nightEndHour
    : h >= cfg.nightStartHour && h < cfg.nightEndHour;
}

/** Compression-low suspicion for this CGM reading (see the header); true = the low side is suspect. */
function compression(
  ctx: RuleContext,
  cfg: GlucoseConfig,
  st: GlucoseState,
  t: number,
  g: number,
  ev: string[],
): 'suspect' | 'recovered' | 'none' {
  if (cfg.compressionFallRate <= 0) return 'none';
  const c = st.compression;
  if (c !== undefined) {
    if (g >= cfg.lowClear) {
      delete st.compression;
      compressionAssess(ctx, cfg, t, g, ev, false, 'recovered');
      return 'recovered';
    }
    if (t - c.since >= cfg.compressionRecoverMinutes * 60_000) {
      // Not a compression low: it did not recover. The CGM low counts from now on.
      delete st.compression;
      compressionAssess(ctx, cfg, t, g, ev, false, 'persisting');
      return 'none';
    }
    compressionAssess(ctx, cfg, t, g, ev, g < cfg.low1, 'suspected', c.from);
    return 'suspect';
  }
  const prev = st.recent[st.recent.length - 1];
  if (prev === undefined || t - prev[0] > 10 * 60_000 || !atNight(cfg, t)) return 'none';
  const fall = (prev[1] - g) / ((t - prev[0]) / 60_000);
  if (fall < cfg.compressionFallRate) return 'none';
  const before = st.recent.filter(([pt]) => pt >= prev[0] - NIGHT_STEADY_MS);
  const steady = regressionSlope(before);
  if (steady === null || Math.abs(steady) > cfg.compressionSteadyRate) return 'none';
  st.compression = { since: t, from: prev[1] };
  compressionAssess(ctx, cfg, t, g, ev, g < cfg.low1, 'suspected', prev[1]);
  return 'suspect';
}

function compressionAssess(
  ctx: RuleContext,
  cfg: GlucoseConfig,
  t: number,
  g: number,
  ev: string[],
  active: boolean,
  why: 'suspected' | 'recovered' | 'persisting' | 'confirmed low' | 'not confirmed',
  from?: number,
): void {
  const key = 'glucose:compression-low';
  if (!active && !ctx.isOpen(key)) return;
  ctx.assess(cfg, {
    key,
    active,
    severity: cfg.severityCompression,
    atMs: t,
    summary: active
      ? `Glucose ${round(g)} mg/dL after a sudden night-time drop from a steady ${round(from ?? g)} mg/dL: possible compression low — check with a fingerstick`
      : why === 'recovered'
        ? `Glucose ${round(g)} mg/dL: recovered (compression low)`
        : why === 'persisting'
          ? `Glucose ${round(g)} mg/dL: low persisting, not a compression low`
          : why === 'confirmed low'
            ? `Fingerstick ${round(g)} mg/dL < ${cfg.low1}: a real low`
            : `Fingerstick ${round(g)} mg/dL ≥ ${cfg.low1}: compression low confirmed`,
    evidence: ev,
    data: { glucose: g, class: 'compression-suspected', excludeFromMetrics: true, outcome: why },
    persistSeconds: 0,
    persistReadings: 1,
    clearSeconds: 0,
  });
}
