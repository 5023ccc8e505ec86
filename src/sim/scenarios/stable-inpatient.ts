/**
 * A stable ward patient on a bedside monitor (1 Hz ECG heart rate, pleth, SpO2, impedance
 * respiration; cuff every 15 min; temperature hourly). Negative control for continuous monitoring:
 * every alert on it is non-actionable.
 */
import { ADULT, drawBaseline, sampleTrajectory } from '../physiology.ts';
import type { Scenario } from '../scenario.ts';
import { news2Criterion, restingPatient } from './common.ts';

export const scenario: Scenario = {
  name: 'stable-inpatient',
  title: 'Stable ward patient (bedside monitor)',
  program: 'inpatient-continuous',
  deteriorating: false,
  durationS: 2 * 86_400,
  devices: ['bedside-monitor'],
  generate(rng, { durationS, startMs }) {
    const baseline = drawBaseline(rng.fork('baseline'), ADULT);
    const rest = restingPatient(rng.fork('rest'), baseline, startMs);
    return {
      trajectory: sampleTrajectory(durationS, 60, rest),
      processStartS: null,
      news2Scale: 1,
      criteria: [news2Criterion(7, 'critical'), news2Criterion(5, 'info')],
    };
  },
};
