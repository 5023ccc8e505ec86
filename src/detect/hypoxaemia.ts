import type { Severity } from '../core/severity.ts';
import { Loinc } from './codes.ts';
import { noUnknownKeys, num, type Raw, severity, strList } from './config-fields.ts';
import { hasAnyFlag, readingValue } from './reading-values.ts';
import { BASE_KEYS, type RuleBase, type RuleKind, readBase } from './rule-kind.ts';

/**
 * Hypoxaemia on SpO2, with the floor set by the patient's SpO2 scale (clinical-reference §8, §1.1):
 * scale 1 fires below 92 % (NEWS2 scores ≤ 91 % as 3; BTS target 94–98 %) and clears at the target's
 * lower bound 94 %; scale 2 (prescribed 88–92 % target) fires below 88 % and clears at 89 % — the
 * clear levels are program defaults. Gated on signal quality; persistence 15 s by default (the
 * delay that cut low-SpO2 alarms by 60 % in the evidence of §9).
 */
export interface HypoxaemiaConfig extends RuleBase {
  kind: 'hypoxaemia';
  scale1Below: number;
  scale1ClearAt: number;
  scale2Below: number;
  scale2ClearAt: number;
  severity: Severity;
  ignoreFlags: string[];
}

const KEYS = [
  ...BASE_KEYS,
  'scale1Below',
  'scale1ClearAt',
  'scale2Below',
  'scale2ClearAt',
  'severity',
  'ignoreFlags',
] as const;

export const hypoxaemia: RuleKind<HypoxaemiaConfig, Record<string, never>> = {
  kind: 'hypoxaemia',
  validate(raw: Raw, path: string): HypoxaemiaConfig {
    noUnknownKeys(raw, path, KEYS);
    return {
      ...readBase(raw, path, { persistSeconds: 15 }),
      kind: 'hypoxaemia',
      scale1Below: num(raw, 'scale1Below', path, 92, { min: 50, max: 100 }),
      scale1ClearAt: num(raw, 'scale1ClearAt', path, 94, { min: 50, max: 100 }),
      scale2Below: num(raw, 'scale2Below', path, 88, { min: 50, max: 100 }),
      scale2ClearAt: num(raw, 'scale2ClearAt', path, 89, { min: 50, max: 100 }),
      severity: severity(raw, 'severity', path, 'high'),
      ignoreFlags: strList(raw, 'ignoreFlags', path, ['low-perfusion', 'motion-artifact', 'poor-signal']),
    };
  },
  init: () => ({}),
  onReading(ctx, cfg, _state, r) {
    if (r.code !== Loinc.spo2 && r.code !== Loinc.spo2PulseOximetry) return;
    if (hasAnyFlag(r.reading, cfg.ignoreFlags)) return;
    const v = readingValue(r.reading);
    if (v === null) return;
    const scale2 = ctx.patient.spo2Scale === 2;
    const below = scale2 ? cfg.scale2Below : cfg.scale1Below;
    const clearAt = scale2 ? cfg.scale2ClearAt : cfg.scale1ClearAt;
    const key = 'hypoxaemia';
    const active = v < below || (ctx.isOpen(key) && v < clearAt);
    ctx.assess(cfg, {
      key,
      active,
      severity: cfg.severity,
      atMs: r.t,
      // Every comparison a text states is true of the value (summary-texts.test.ts walks them): an
      // open alert kept by hysteresis says it is below the clear level, not below the floor.
      summary: active
        ? v < below
          ? `SpO2 ${v} % < ${below} % (scale ${scale2 ? 2 : 1})`
          : `SpO2 ${v} % < ${clearAt} %: not yet recovered (alert floor ${below} %, scale ${scale2 ? 2 : 1})`
        : v >= clearAt
          ? `SpO2 ${v} % ≥ ${clearAt} %: recovered`
          : `SpO2 ${v} % ≥ ${below} %: at or above the alert floor`,
      evidence: [r.reading.id],
      data: { spo2: v, floor: below, clearAt, spo2Scale: scale2 ? 2 : 1 },
    });
  },
};
