import type { Severity } from '../core/severity.ts';
import { Loinc } from './codes.ts';
import { noUnknownKeys, num, type Raw, severity, strList } from './config-fields.ts';
import { hasAnyFlag, readingValue } from './reading-values.ts';
import { BASE_KEYS, type RuleBase, type RuleKind, readBase } from './rule-kind.ts';

/**
 * Hypertensive crisis: systolic > 180 and/or diastolic > 120 mmHg (clinical-reference §8, V —
 * 2017 ACC/AHA wording). The clear levels are program defaults (hysteresis), not guideline values.
 */
export interface HypertensiveCrisisConfig extends RuleBase {
  kind: 'hypertensive-crisis';
  systolicAbove: number;
  diastolicAbove: number;
  clearSystolic: number;
  clearDiastolic: number;
  severity: Severity;
  ignoreFlags: string[];
}

/** Threshold alerts (threshold.ts `thresholdKey`) the crisis supersedes by default. */
export const CRISIS_SUPERSEDES = [
  `threshold:${Loinc.systolic}:high`,
  `threshold:${Loinc.diastolic}:high`,
] as const;

const KEYS = [
  ...BASE_KEYS,
  'systolicAbove',
  'diastolicAbove',
  'clearSystolic',
  'clearDiastolic',
  'severity',
  'ignoreFlags',
] as const;

export const hypertensiveCrisis: RuleKind<HypertensiveCrisisConfig, Record<string, never>> = {
  kind: 'hypertensive-crisis',
  validate(raw: Raw, path: string): HypertensiveCrisisConfig {
    noUnknownKeys(raw, path, KEYS);
    return {
      // A crisis reading also breaches the lower systolic/diastolic limits: one alert, not two.
      ...readBase(raw, path, { supersedes: [...CRISIS_SUPERSEDES] }),
      kind: 'hypertensive-crisis',
      systolicAbove: num(raw, 'systolicAbove', path, 180),
      diastolicAbove: num(raw, 'diastolicAbove', path, 120),
      clearSystolic: num(raw, 'clearSystolic', path, 170),
      clearDiastolic: num(raw, 'clearDiastolic', path, 110),
      severity: severity(raw, 'severity', path, 'high'),
      ignoreFlags: strList(raw, 'ignoreFlags', path, []),
    };
  },
  init: () => ({}),
  onReading(ctx, cfg, _state, r) {
    if (r.code !== Loinc.bpPanel || hasAnyFlag(r.reading, cfg.ignoreFlags)) return;
    const sys = readingValue(r.reading, Loinc.systolic);
    const dia = readingValue(r.reading, Loinc.diastolic);
    if (sys === null && dia === null) return;
    const key = 'hypertensive-crisis';
    const s = sys ?? 0;
    const d = dia ?? 0;
    const crisis = s > cfg.systolicAbove || d > cfg.diastolicAbove;
    const active = crisis || (ctx.isOpen(key) && (s > cfg.clearSystolic || d > cfg.clearDiastolic));
    const bp = `${sys ?? '?'}/${dia ?? '?'} mmHg`;
    ctx.assess(cfg, {
      key,
      active,
      severity: cfg.severity,
      atMs: r.t,
      summary: crisis
        ? `BP ${bp}: hypertensive crisis (${s > cfg.systolicAbove ? `systolic ${s} > ${cfg.systolicAbove}` : `diastolic ${d} > ${cfg.diastolicAbove}`})`
        : active
          ? `BP ${bp}: below crisis levels, not yet at or below the clear levels (${cfg.clearSystolic}/${cfg.clearDiastolic})`
          : `BP ${bp}: below crisis levels`,
      evidence: [r.reading.id],
      data: { systolic: sys, diastolic: dia },
    });
  },
};
