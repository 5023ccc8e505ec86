/** A stable COPD patient at home on SpO2 Scale 2 (target 88–92 %). Negative control for the copd program. */
import { ADULT, drawBaseline, sampleTrajectory } from '../physiology.ts';
import type { Scenario } from '../scenario.ts';
import { news2Criterion, restingPatient } from './common.ts';

export const scenario: Scenario = {
  name: 'stable-copd',
  title: 'Stable COPD at home (oximeter, thermometer)',
  program: 'copd',
  deteriorating: false,
  durationS: 5 * 86_400,
  devices: ['pulse-oximeter', 'thermometer'],
  generate(rng, { durationS, startMs }) {
    const baseline = drawBaseline(rng.fork('baseline'), {
      ...ADULT,
      spo2: [91, 0.6],
      respiratoryRate: [18, 1],
      heartRate: [82, 5],
    });
    const rest = restingPatient(rng.fork('rest'), baseline, startMs);
    return {
      trajectory: sampleTrajectory(durationS, 60, rest),
      processStartS: null,
      news2Scale: 2,
      criteria: [news2Criterion(7, 'critical', 2), news2Criterion(5, 'info', 2)],
    };
  },
};
