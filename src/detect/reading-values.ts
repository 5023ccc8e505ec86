import type { Reading } from '../core/reading.ts';
import { Loinc, Mdc, MGDL_PER_MMOLL } from './codes.ts';

/**
 * Values in the unit each rule reasons in (temperature Cel, weight kg, pressure mm[Hg], glucose
 * mg/dL), whatever UCUM unit the reading carries. Unknown units give null: a rule never compares
 * a number whose unit it cannot vouch for.
 */
export function canonical(value: number, unit: string | null | undefined): number | null {
  if (!Number.isFinite(value)) return null;
  switch (unit) {
    case '[degF]':
      return ((value - 32) * 5) / 9;
    case '[lb_av]':
      return value * 0.45359237;
    case 'g':
      return value / 1000;
    case 'kPa':
      return value * 7.500617;
    case 'mmol/L':
      return value * MGDL_PER_MMOLL;
    default:
      return value;
  }
}

/** The value of the reading, or of one component of a panel, in canonical units. */
export function readingValue(r: Reading, component?: string): number | null {
  if (component === undefined) return r.value === null ? null : canonical(r.value, r.unit);
  for (const c of r.components) if (c.code === component) return canonical(c.value, c.unit);
  return null;
}

export function hasAnyFlag(r: Reading, flags: readonly string[]): boolean {
  if (flags.length === 0 || r.flags.length === 0) return false;
  for (const f of r.flags) if (flags.includes(f)) return true;
  return false;
}

export type HeartRateSource = 'ecg' | 'pleth' | 'cuff' | 'other';

/** Which sensor a heart rate came from, from its MDC coding (clinical-reference §3.2). */
export function heartRateSource(r: Reading): HeartRateSource {
  if (r.code === Loinc.heartRatePulseOximetry) return 'pleth';
  for (const c of r.codings) {
    if (c.code === Mdc.ecgHeartRate) return 'ecg';
    if (c.code === Mdc.oximeterPulseRate) return 'pleth';
    if (c.code === Mdc.cuffPulseRate) return 'cuff';
  }
  return 'other';
}

export function isHeartRate(code: string): boolean {
  return code === Loinc.heartRate || code === Loinc.heartRatePulseOximetry;
}
