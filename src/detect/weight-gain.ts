import { type Severity, severityRank } from '../core/severity.ts';
import { Loinc } from './codes.ts';
import { configError } from './config-error.ts';
import { list, noUnknownKeys, num, obj, type Raw, severity } from './config-fields.ts';
import { readingValue } from './reading-values.ts';
import { BASE_KEYS, type RuleBase, type RuleKind, readBase } from './rule-kind.ts';
import { round } from './threshold.ts';

/**
 * Heart-failure weight gain: the latest weight against the lowest weight of each window (default
 * > 1 kg in 24 h, > 2.3 kg in 7 days — clinical-reference §8, status S: patient-education pages,
 * not guideline text; programs vary, so both are configurable). Clears (hysteresis) once every
 * window's gain is back under `clearFraction` of its limit.
 */
export interface WeightGainConfig extends RuleBase {
  kind: 'weight-gain';
  windows: Array<{ hours: number; gainKg: number; severity: Severity }>;
  clearFraction: number;
}

export interface WeightGainState {
  /** [event time, kg, reading id], time-ordered, pruned to the longest window. */
  w: Array<[number, number, string]>;
}

const KEYS = [...BASE_KEYS, 'windows', 'clearFraction'] as const;
const MAX_POINTS = 200;

export const weightGain: RuleKind<WeightGainConfig, WeightGainState> = {
  kind: 'weight-gain',
  validate(raw: Raw, path: string): WeightGainConfig {
    noUnknownKeys(raw, path, KEYS);
    const windows = (
      raw.windows === undefined
        ? [
            { hours: 24, gainKg: 1 },
            { hours: 168, gainKg: 2.3 },
          ]
        : list(raw, 'windows', path)
    ).map((w, i) => {
      const o = obj(w, `${path}.windows[${i}]`);
      const p = `${path}.windows[${i}]`;
      return {
        hours: num(o, 'hours', p, undefined, { min: 1 }),
        gainKg: num(o, 'gainKg', p, undefined, { min: 0.1 }),
        severity: severity(o, 'severity', p, 'medium'),
      };
    });
    if (windows.length === 0) throw configError(`${path}.windows`, 'needs at least one window');
    return {
      ...readBase(raw, path),
      kind: 'weight-gain',
      windows,
      clearFraction: num(raw, 'clearFraction', path, 0.75, { min: 0, max: 1 }),
    };
  },
  init: () => ({ w: [] }),
  onReading(ctx, cfg, state, r) {
    if (r.code !== Loinc.bodyWeight) return;
    const kg = readingValue(r.reading);
    if (kg === null) return;
    const maxMs = Math.max(...cfg.windows.map((w) => w.hours)) * 3_600_000;
    const w = state.w;
    let i = w.length;
    while (i > 0 && (w[i - 1] as [number, number, string])[0] > r.t) i--;
    w.splice(i, 0, [r.t, kg, r.reading.id]);
    while (w.length > MAX_POINTS || (w.length > 0 && (w[0] as [number, number, string])[0] < r.t - maxMs))
      w.shift();

    const key = 'weight-gain';
    const open = ctx.isOpen(key);
    let worst: { hours: number; gainKg: number; severity: Severity; gain: number; from: string } | undefined;
    let holding = false;
    for (const win of cfg.windows) {
      let min: [number, number, string] | undefined;
      for (const p of w)
        if (p[0] >= r.t - win.hours * 3_600_000 && p[0] < r.t && (min === undefined || p[1] < min[1]))
          min = p;
      if (min === undefined) continue;
      // To 10 g: a scale's resolution, and no floating-point residue (71.4 − 70 = 1.4000000000000057).
      const gain = Math.round((kg - min[1]) * 100) / 100;
      if (
        gain > win.gainKg &&
        (worst === undefined || severityRank(win.severity) > severityRank(worst.severity))
      ) {
        worst = { ...win, gain, from: min[2] };
      }
      if (open && gain > win.gainKg * cfg.clearFraction) holding = true;
    }
    const active = worst !== undefined || holding;
    ctx.assess(cfg, {
      key,
      active,
      severity: worst?.severity ?? cfg.windows[0]?.severity ?? 'medium',
      atMs: r.t,
      summary: worst
        ? `Weight ${round(kg)} kg: +${worst.gain} kg > ${worst.gainKg} kg within ${worst.hours} h`
        : active
          ? `Weight ${round(kg)} kg: gain easing but not yet resolved`
          : `Weight ${round(kg)} kg: no significant gain`,
      evidence: worst ? [worst.from, r.reading.id] : [r.reading.id],
      data: worst ? { weightKg: kg, gainKg: round(worst.gain), windowHours: worst.hours } : { weightKg: kg },
    });
  },
};
