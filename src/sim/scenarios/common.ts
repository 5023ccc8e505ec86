/** Building blocks shared by the scenario files: a drifting, circadian patient and common criteria. */

import type { Schedule } from '../devices/catalog.ts';
import { news2 } from '../news2.ts';
import {
  type Baseline,
  circadian,
  Drift,
  hourOfDay,
  NUMERIC_VITALS,
  type NumericVital,
  type Trajectory,
  type Vitals,
} from '../physiology.ts';
import type { Rng } from '../rng.ts';
import type { Criterion, DeviceModelName } from '../scenario.ts';

/**
 * Home vitals after surgery: oximeter, thermometer and cuff three times a day, 08:00/14:00/20:00
 * ±30 min (the schedule of the post-surgical programs the issue-12 evaluation set describes; a
 * program choice, not a clinical fact).
 */
export const POST_SURGICAL_CADENCE: Partial<Record<DeviceModelName, Schedule>> = {
  'pulse-oximeter': { hours: [8, 14, 20], jitterS: 1800 },
  thermometer: { hours: [8, 14, 20], jitterS: 1800 },
  'bp-cuff': { hours: [8, 14, 20], jitterS: 1800 },
};

/** Slow random drift per vital: sd and time constant (s). Small enough that a stable patient stays stable. */
const DRIFT: Record<NumericVital, [sd: number, tauS: number]> = {
  heartRate: [3, 3600],
  respiratoryRate: [0.7, 3600],
  spo2: [0.4, 3600],
  systolic: [4, 6 * 3600],
  diastolic: [2.5, 6 * 3600],
  temperature: [0.1, 3 * 3600],
  weight: [0.25, 2 * 86_400],
  glucose: [6, 2 * 3600],
};

/**
 * The patient without any disease process: baseline + circadian rhythm + drift. Call it every step
 * (it advances the drifts) and add the scenario's deltas to what it returns.
 */
export function restingPatient(
  rng: Rng,
  baseline: Baseline,
  startMs: number,
): (tS: number, dtS: number) => Vitals {
  const drifts = {} as Record<NumericVital, Drift>;
  for (const k of NUMERIC_VITALS) {
    const [sd, tau] = DRIFT[k];
    drifts[k] = new Drift(rng.fork(`drift-${k}`), sd, tau);
  }
  return (tS, dtS) => {
    const c = circadian(baseline, hourOfDay(startMs + tS * 1000));
    const v: Vitals = { ...c, consciousness: 'A', onOxygen: false };
    for (const k of NUMERIC_VITALS) v[k] += drifts[k].step(dtS);
    return v;
  };
}

export const news2Criterion = (min: number, role: Criterion['role'], scale: 1 | 2 = 1): Criterion => ({
  name: `news2>=${min}`,
  role,
  test: (v) => news2(v, scale) >= min,
});

export const glucoseBelow = (mgDl: number, role: Criterion['role']): Criterion => ({
  name: `glucose<${mgDl}`,
  role,
  test: (v) => v.glucose < mgDl,
});

export const glucoseAbove = (mgDl: number, role: Criterion['role']): Criterion => ({
  name: `glucose>${mgDl}`,
  role,
  test: (v) => v.glucose > mgDl,
});

/** clinical-reference §8: hypertensive crisis is SBP > 180 and/or DBP > 120. */
export const hypertensiveCrisis = (role: Criterion['role']): Criterion => ({
  name: 'sbp>180|dbp>120',
  role,
  test: (v) => v.systolic > 180 || v.diastolic > 120,
});

export const systolicAtLeast = (mmHg: number, role: Criterion['role']): Criterion => ({
  name: `sbp>=${mmHg}`,
  role,
  test: (v) => v.systolic >= mmHg,
});

/**
 * Weight gain against the lowest true weight of the previous `windowS` (clinical-reference §8: call
 * at > 1–1.5 kg in a day or ≈ 2.3 kg (5 lb) in a week).
 */
export const weightGain = (kg: number, windowS: number, role: Criterion['role']): Criterion => ({
  name: `weight+${kg}kg/${Math.round(windowS / 86_400)}d`,
  role,
  test: (v, tS, trajectory: Trajectory) => {
    let min = v.weight;
    for (let s = Math.max(0, tS - windowS); s < tS; s += Math.max(trajectory.stepS, 3600))
      min = Math.min(min, trajectory.at(s).weight);
    return v.weight - min >= kg;
  },
});
