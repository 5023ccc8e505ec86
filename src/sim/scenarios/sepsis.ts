/**
 * Sepsis developing over hours in a ward patient on a bedside monitor: fever, rising heart and
 * respiratory rates, falling pressure and saturation, then new confusion.
 */
import { ADULT, drawBaseline, ramp, sampleTrajectory, withFever } from '../physiology.ts';
import type { Rng } from '../rng.ts';
import type { Scenario, ScenarioOptions, ScenarioRun } from '../scenario.ts';
import { news2Criterion, restingPatient } from './common.ts';

export const scenario: Scenario = {
  name: 'sepsis',
  title: 'Sepsis onset over hours (bedside monitor)',
  program: 'inpatient-continuous',
  deteriorating: true,
  durationS: 12 * 3600,
  devices: ['bedside-monitor'],
  generate: (rng, opts) =>
    sepsisRun(rng, opts, {
      baseline: ADULT,
      startFraction: [0.1, 0.3],
      spanFraction: [0.45, 0.6],
      heartRateRise: 22,
    }),
};

/**
 * The sepsis process shared by the ward and home scenarios: fever, rising heart and respiratory
 * rates, falling pressure and saturation over `spanFraction` of the run from `startFraction`, then
 * new confusion. The scenarios differ in baseline, timing and devices (continuous vs spot checks).
 */
export function sepsisRun(
  rng: Rng,
  { durationS, startMs }: ScenarioOptions,
  o: {
    baseline: Parameters<typeof drawBaseline>[1];
    startFraction: [number, number];
    spanFraction: [number, number];
    heartRateRise: number;
  },
): ScenarioRun {
  const baseline = drawBaseline(rng.fork('baseline'), o.baseline);
  const rest = restingPatient(rng.fork('rest'), baseline, startMs);
  const r = rng.fork('process');
  const startS = r.uniform(...o.startFraction) * durationS;
  const spanS = r.uniform(...o.spanFraction) * durationS;
  const fever = r.uniform(1.6, 2.4);
  return {
    trajectory: sampleTrajectory(durationS, 60, (tS, dtS) => {
      const s = ramp(tS, startS, startS + spanS);
      const v = withFever(rest(tS, dtS), fever * ramp(tS, startS, startS + spanS * 0.6));
      return {
        ...v,
        heartRate: v.heartRate + o.heartRateRise * s,
        respiratoryRate: v.respiratoryRate + 9 * s,
        systolic: v.systolic - 38 * s,
        diastolic: v.diastolic - 22 * s,
        spo2: v.spo2 - 5 * s,
        consciousness: s > 0.85 ? 'C' : 'A',
      };
    }),
    processStartS: startS,
    news2Scale: 1,
    criteria: [news2Criterion(5, 'onset'), news2Criterion(7, 'critical')],
  };
}
