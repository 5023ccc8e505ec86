import { type Severity, severityRank } from '../core/severity.ts';
import { configError } from './config-error.ts';
import {
  bool,
  list,
  noUnknownKeys,
  num,
  obj,
  oneOf,
  type Raw,
  severity,
  str,
  strList,
} from './config-fields.ts';
import { hasAnyFlag, heartRateSource, isHeartRate, readingValue } from './reading-values.ts';
import { BASE_KEYS, type RuleBase, type RuleKind, readBase } from './rule-kind.ts';

/**
 * Threshold on one code (or one panel component), with severity levels, hysteresis (`clearAt`),
 * signal-quality gating (`ignoreFlags`) and, for heart rate, cross-signal confirmation: a breach
 * seen by one sensor (ECG) is not trusted while another sensor (oximeter pulse) reports a normal
 * value within `confirmWindowSeconds`.
 */
export interface ThresholdConfig extends RuleBase {
  kind: 'threshold';
  code: string;
  component?: string;
  direction: 'below' | 'above';
  /** Strictly below / strictly above `value` → `severity`; the most severe breached level wins. */
  levels: Array<{ value: number; severity: Severity }>;
  /** While open, the condition holds until the value is back at/above (below) this level. */
  clearAt: number;
  ignoreFlags: string[];
  confirmAcrossSources: boolean;
  confirmWindowSeconds: number;
  /**
   * The other sensor only reassures when its own rate is at least this (default 40/min, the NEWS2
   * pulse score-3 bound): an oximeter pulse of 20 beside an ECG rate of 180 is no proof of a false
   * VT alarm — it may be a pulseless rhythm — so the alarm stands.
   */
  confirmMinRate: number;
  label: string;
  unit: string;
  /**
   * Corroboration (signal quality before the threshold): signs that go with a real breach of this
   * one, e.g. for a high impedance respiration rate a raised heart rate or a falling SpO2. While one
   * of them breaches its own level within `corroborationWindowSeconds`, the rule's `persistSeconds`
   * applies; a breach seen alone must persist for `uncorroboratedPersistSeconds` — talking drives
   * impedance respiration over 24 for half a minute, a patient breathing fast for ten minutes is
   * a finding whatever else shows. Empty (the default) = no corroboration asked.
   */
  corroboratedBy: Array<{ code: string; component?: string; direction: 'below' | 'above'; value: number }>;
  corroborationWindowSeconds: number;
  uncorroboratedPersistSeconds: number;
}

interface SourceValue {
  v: number;
  t: number;
  /** Carried a gating flag: not alarmed on, still evidence against the other sensor. */
  flagged?: boolean;
}
export interface ThresholdState {
  bySource: Record<string, SourceValue>;
  /** Per corroborating sign (index in `corroboratedBy`): the last event time it breached. */
  corroborated?: Record<string, number>;
}

const KEYS = [
  ...BASE_KEYS,
  'code',
  'component',
  'direction',
  'levels',
  'clearAt',
  'ignoreFlags',
  'confirmAcrossSources',
  'confirmWindowSeconds',
  'confirmMinRate',
  'label',
  'unit',
  'corroboratedBy',
  'corroborationWindowSeconds',
  'uncorroboratedPersistSeconds',
] as const;

export function thresholdKey(cfg: Pick<ThresholdConfig, 'code' | 'component' | 'direction'>): string {
  return `threshold:${cfg.component ?? cfg.code}:${cfg.direction === 'below' ? 'low' : 'high'}`;
}

function breached(cfg: ThresholdConfig, v: number, level: number): boolean {
  return cfg.direction === 'below' ? v < level : v > level;
}

export const threshold: RuleKind<ThresholdConfig, ThresholdState> = {
  kind: 'threshold',
  validate(raw: Raw, path: string): ThresholdConfig {
    noUnknownKeys(raw, path, KEYS);
    const direction = oneOf(raw, 'direction', path, ['below', 'above'] as const);
    const levels = list(raw, 'levels', path).map((l, i) => {
      const o = obj(l, `${path}.levels[${i}]`);
      return {
        value: num(o, 'value', `${path}.levels[${i}]`),
        severity: severity(o, 'severity', `${path}.levels[${i}]`),
      };
    });
    if (levels.length === 0) throw configError(`${path}.levels`, 'needs at least one level');
    levels.sort((a, b) => severityRank(a.severity) - severityRank(b.severity));
    const first = levels[0] as { value: number };
    const clearAt = num(raw, 'clearAt', path, first.value);
    if (direction === 'below' ? clearAt < first.value : clearAt > first.value) {
      throw configError(
        `${path}.clearAt`,
        `must be on the normal side of the least severe level (${first.value})`,
      );
    }
    const code = str(raw, 'code', path);
    const cfg: ThresholdConfig = {
      ...readBase(raw, path),
      kind: 'threshold',
      code,
      direction,
      levels,
      clearAt,
      ignoreFlags: strList(raw, 'ignoreFlags', path, []),
      confirmAcrossSources: bool(raw, 'confirmAcrossSources', path, false),
      confirmWindowSeconds: num(raw, 'confirmWindowSeconds', path, 10, { min: 0 }),
      confirmMinRate: num(raw, 'confirmMinRate', path, 40, { min: 0 }),
      label: str(raw, 'label', path, code),
      unit: typeof raw.unit === 'string' ? raw.unit : '',
      corroboratedBy: (raw.corroboratedBy === undefined ? [] : list(raw, 'corroboratedBy', path)).map(
        (c, i) => {
          const p = `${path}.corroboratedBy[${i}]`;
          const o = obj(c, p);
          noUnknownKeys(o, p, ['code', 'component', 'direction', 'value']);
          const out: ThresholdConfig['corroboratedBy'][number] = {
            code: str(o, 'code', p),
            direction: oneOf(o, 'direction', p, ['below', 'above'] as const),
            value: num(o, 'value', p),
          };
          if (o.component !== undefined) out.component = str(o, 'component', p);
          return out;
        },
      ),
      corroborationWindowSeconds: num(raw, 'corroborationWindowSeconds', path, 300, { min: 0 }),
      uncorroboratedPersistSeconds: num(raw, 'uncorroboratedPersistSeconds', path, 600, { min: 0 }),
    };
    if (raw.component !== undefined) cfg.component = str(raw, 'component', path);
    return cfg;
  },
  init: () => ({ bySource: {} }),
  onReading(ctx, cfg, state, r) {
    cfg.corroboratedBy.forEach((c, i) => {
      if (c.code !== r.code && !(isHeartRate(c.code) && isHeartRate(r.code))) return;
      const cv = readingValue(r.reading, c.component);
      if (cv === null || hasAnyFlag(r.reading, cfg.ignoreFlags)) return;
      if (c.direction === 'below' ? cv < c.value : cv > c.value) {
        state.corroborated ??= {};
        state.corroborated[String(i)] = r.t;
      }
    });
    const matches = cfg.code === r.code || (isHeartRate(cfg.code) && isHeartRate(r.code));
    if (!matches) return;
    const v = readingValue(r.reading, cfg.component);
    if (v === null) return;
    // Gated readings are ignored outright: they neither extend nor reset a pending condition. But
    // a flagged heart rate still counts as evidence AGAINST the other sensor: an oximeter flagging
    // motion while reading a normal pulse says the patient is moving, which is when ECG muscle
    // noise reads as a fast rate — so it is kept for the cross-check below (flagged).
    if (hasAnyFlag(r.reading, cfg.ignoreFlags)) {
      if (cfg.confirmAcrossSources && isHeartRate(r.code))
        state.bySource[heartRateSource(r.reading)] = { v, t: r.t, flagged: true };
      return;
    }
    const key = thresholdKey(cfg);
    let worst: { value: number; severity: Severity } | undefined;
    for (const l of cfg.levels) if (breached(cfg, v, l.value)) worst = l;
    const holding = ctx.isOpen(key) && breached(cfg, v, cfg.clearAt);
    let active = worst !== undefined || holding;
    const least = cfg.levels[0] as { value: number; severity: Severity };
    const data: Record<string, unknown> = { value: v };
    if (cfg.confirmAcrossSources && isHeartRate(r.code)) {
      const src = heartRateSource(r.reading);
      state.bySource[src] = { v, t: r.t };
      const other = src === 'ecg' ? state.bySource.pleth : src === 'pleth' ? state.bySource.ecg : undefined;
      if (active && other !== undefined && Math.abs(r.t - other.t) <= cfg.confirmWindowSeconds * 1000) {
        if (!breached(cfg, other.v, least.value) && other.v >= cfg.confirmMinRate) {
          active = false;
          data.suppressedBy = src === 'ecg' ? 'pleth' : 'ecg';
          if (other.flagged === true) data.suppressedByFlagged = true;
        }
      }
      data.source = src;
      // A rate under confirmMinRate from one source is no evidence that a high rate from the other
      // is false (pulseless rhythm, poor perfusion): it neither clears nor resets the condition.
      if (!active && v < cfg.confirmMinRate && cfg.direction === 'above') return;
    }
    const level = worst ?? least;
    const sym = cfg.direction === 'below' ? '<' : '>';
    // Rounded for display unless rounding would land on a limit (38.04 shown as "38 > 38").
    const rv = round(v);
    const limits = [cfg.clearAt, ...cfg.levels.map((l) => l.value)];
    const shown = `${cfg.label} ${rv !== v && limits.includes(rv) ? v : rv}${cfg.unit ? ` ${cfg.unit}` : ''}`;
    // Every comparison a text states is true of the value (summary-texts.test.ts walks them).
    const summary = active
      ? worst !== undefined
        ? `${shown} ${sym} ${level.value}`
        : `${shown} ${sym} ${cfg.clearAt}: not yet back within limits (alert ${cfg.direction} ${least.value})`
      : typeof data.suppressedBy === 'string'
        ? `${shown} (${String(data.source)}) not confirmed by ${data.suppressedBy}`
        : breached(cfg, v, least.value)
          ? `${shown}: not counted`
          : `${shown} back within limits`;
    const windowMs = cfg.corroborationWindowSeconds * 1000;
    const corroborated =
      cfg.corroboratedBy.length === 0 ||
      Object.values(state.corroborated ?? {}).some((t) => Math.abs(r.t - t) <= windowMs);
    if (!corroborated) data.uncorroborated = true;
    ctx.assess(cfg, {
      key,
      active,
      severity: level.severity,
      atMs: r.t,
      summary,
      ...(corroborated ? {} : { persistSeconds: cfg.uncorroboratedPersistSeconds }),
      evidence: [r.reading.id],
      data: { ...data, limit: level.value, clearAt: cfg.clearAt },
    });
  },
};

export function round(v: number): number {
  return Math.round(v * 10) / 10;
}
