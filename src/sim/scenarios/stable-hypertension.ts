/** A treated hypertensive patient at home: stage-2-range pressures, stable. Negative control. */
import { ADULT, drawBaseline, sampleTrajectory } from '../physiology.ts';
import type { Scenario } from '../scenario.ts';
import { hypertensiveCrisis, news2Criterion, restingPatient } from './common.ts';

export const scenario: Scenario = {
  name: 'stable-hypertension',
  title: 'Stable hypertension (home cuff twice a day)',
  program: 'hypertension',
  deteriorating: false,
  durationS: 7 * 86_400,
  devices: ['bp-cuff', 'scale'],
  generate(rng, { durationS, startMs }) {
    const baseline = drawBaseline(rng.fork('baseline'), {
      ...ADULT,
      systolic: [142, 6],
      diastolic: [88, 4],
      weight: [88, 12],
    });
    const rest = restingPatient(rng.fork('rest'), baseline, startMs);
    return {
      trajectory: sampleTrajectory(durationS, 60, rest),
      processStartS: null,
      news2Scale: 1,
      criteria: [hypertensiveCrisis('critical'), news2Criterion(5, 'info')],
    };
  },
};
