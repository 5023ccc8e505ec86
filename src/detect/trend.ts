import type { Severity } from '../core/severity.ts';
import { configError } from './config-error.ts';
import { list, noUnknownKeys, num, obj, oneOf, type Raw, severity, str, strList } from './config-fields.ts';
import { hasAnyFlag, isHeartRate, readingValue } from './reading-values.ts';
import { BASE_KEYS, type RuleBase, type RuleKind, readBase } from './rule-kind.ts';
import { round } from './threshold.ts';

/**
 * A sustained change against the patient's own baseline, on one or more signals that must all move
 * together (heart rate and respiration rising, SpO2 drifting down, weight climbing, BP trending
 * up). Baseline = mean over `baselineHours` ending where the recent window starts; recent = mean
 * over the last `recentMinutes`. Values are kept as time buckets (sum, count), so a 1 Hz signal
 * over a day costs a few hundred numbers. Fires before any single value crosses a threshold;
 * clears when a signal's change falls under half its `minDelta` (hysteresis).
 *
 * The deltas in the programs are program defaults chosen by us, not clinical-reference values
 * (apart from the SpO2 fall of ≥ 3 %, BTS, §8).
 */
export interface TrendSignal {
  code: string;
  component?: string;
  direction: 'up' | 'down';
  minDelta: number;
  label: string;
}

export interface TrendConfig extends RuleBase {
  kind: 'trend';
  name: string;
  signals: TrendSignal[];
  bucketMinutes: number;
  baselineHours: number;
  recentMinutes: number;
  minBaselineReadings: number;
  minRecentReadings: number;
  severity: Severity;
  ignoreFlags: string[];
}

/** Per signal: buckets [start ms, sum, count], time-ordered. */
export interface TrendState {
  b: Array<Array<[number, number, number]>>;
}

const KEYS = [
  ...BASE_KEYS,
  'name',
  'signals',
  'bucketMinutes',
  'baselineHours',
  'recentMinutes',
  'minBaselineReadings',
  'minRecentReadings',
  'severity',
  'ignoreFlags',
] as const;

function codeMatches(sig: TrendSignal, code: string): boolean {
  return sig.code === code || (isHeartRate(sig.code) && isHeartRate(code));
}

export const trend: RuleKind<TrendConfig, TrendState> = {
  kind: 'trend',
  validate(raw: Raw, path: string): TrendConfig {
    noUnknownKeys(raw, path, KEYS);
    const signals = list(raw, 'signals', path).map((s, i) => {
      const p = `${path}.signals[${i}]`;
      const o = obj(s, p);
      noUnknownKeys(o, p, ['code', 'component', 'direction', 'minDelta', 'label']);
      const sig: TrendSignal = {
        code: str(o, 'code', p),
        direction: oneOf(o, 'direction', p, ['up', 'down'] as const),
        minDelta: num(o, 'minDelta', p, undefined, { min: 0 }),
        label: str(o, 'label', p, str(o, 'code', p)),
      };
      if (o.component !== undefined) sig.component = str(o, 'component', p);
      return sig;
    });
    if (signals.length === 0) throw configError(`${path}.signals`, 'needs at least one signal');
    const cfg: TrendConfig = {
      ...readBase(raw, path),
      kind: 'trend',
      name: str(raw, 'name', path),
      signals,
      bucketMinutes: num(raw, 'bucketMinutes', path, 5, { min: 1 }),
      baselineHours: num(raw, 'baselineHours', path, 24, { min: 1 }),
      recentMinutes: num(raw, 'recentMinutes', path, 60, { min: 1 }),
      minBaselineReadings: num(raw, 'minBaselineReadings', path, 3, { min: 1, integer: true }),
      minRecentReadings: num(raw, 'minRecentReadings', path, 3, { min: 1, integer: true }),
      severity: severity(raw, 'severity', path, 'medium'),
      ignoreFlags: strList(raw, 'ignoreFlags', path, ['low-perfusion', 'motion-artifact', 'poor-signal']),
    };
    if (cfg.recentMinutes < cfg.bucketMinutes)
      throw configError(`${path}.recentMinutes`, 'must be at least one bucket long');
    return cfg;
  },
  init: (cfg) => ({ b: cfg.signals.map(() => []) }),
  onReading(ctx, cfg, state, r) {
    let touched = false;
    const bucketMs = cfg.bucketMinutes * 60_000;
    const horizon = r.t - cfg.baselineHours * 3_600_000 - cfg.recentMinutes * 60_000;
    cfg.signals.forEach((sig, i) => {
      if (!codeMatches(sig, r.code)) return;
      const v = readingValue(r.reading, sig.component);
      if (v === null || hasAnyFlag(r.reading, cfg.ignoreFlags)) return;
      const buckets = state.b[i] ?? [];
      state.b[i] = buckets;
      const start = Math.floor(r.t / bucketMs) * bucketMs;
      let j = buckets.length - 1;
      while (j >= 0 && (buckets[j] as [number, number, number])[0] > start) j--;
      const at = buckets[j];
      if (at !== undefined && at[0] === start) {
        at[1] += v;
        at[2]++;
      } else buckets.splice(j + 1, 0, [start, v, 1]);
      while (buckets.length > 0 && (buckets[0] as [number, number, number])[0] + bucketMs <= horizon)
        buckets.shift();
      touched = true;
    });
    if (!touched) return;

    const key = `trend:${cfg.name}`;
    const open = ctx.isOpen(key);
    const recentFrom = r.t - cfg.recentMinutes * 60_000;
    const parts: string[] = [];
    const deltas: Record<string, number> = {};
    let allMoved = true;
    for (const [i, sig] of cfg.signals.entries()) {
      let bs = 0;
      let bn = 0;
      let rs = 0;
      let rn = 0;
      for (const [start, sum, n] of state.b[i] ?? []) {
        if (start + bucketMs <= recentFrom) {
          bs += sum;
          bn += n;
        } else if (start <= r.t) {
          rs += sum;
          rn += n;
        }
      }
      if (bn < cfg.minBaselineReadings || rn < cfg.minRecentReadings) return; // not enough history: no verdict
      const delta = rs / rn - bs / bn;
      const moved = sig.direction === 'up' ? delta : -delta;
      deltas[sig.label] = round(delta);
      parts.push(`${sig.label} ${delta >= 0 ? '+' : ''}${round(delta)} vs baseline ${round(bs / bn)}`);
      if (!(moved >= (open ? sig.minDelta / 2 : sig.minDelta))) allMoved = false;
    }
    ctx.assess(cfg, {
      key,
      active: allMoved,
      severity: cfg.severity,
      atMs: r.t,
      summary: `${allMoved ? 'Sustained trend' : 'Trend resolved'} (${cfg.name}): ${parts.join('; ')}`,
      evidence: [r.reading.id],
      data: { deltas, recentMinutes: cfg.recentMinutes, baselineHours: cfg.baselineHours },
    });
  },
};
