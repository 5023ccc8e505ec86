/** A compensated heart-failure patient at home: daily weight, cuff, oximeter; stable. Negative control. */
import { ADULT, drawBaseline, sampleTrajectory } from '../physiology.ts';
import type { Scenario } from '../scenario.ts';
import { news2Criterion, restingPatient, weightGain } from './common.ts';

export const scenario: Scenario = {
  name: 'stable-heart-failure',
  title: 'Stable heart failure (daily weight, cuff and oximeter)',
  program: 'heart-failure',
  deteriorating: false,
  durationS: 7 * 86_400,
  devices: ['scale', 'bp-cuff', 'pulse-oximeter'],
  generate(rng, { durationS, startMs }) {
    const baseline = drawBaseline(rng.fork('baseline'), {
      ...ADULT,
      heartRate: [74, 5],
      spo2: [96, 0.6],
      systolic: [116, 6],
      diastolic: [72, 4],
      weight: [86, 12],
    });
    const rest = restingPatient(rng.fork('rest'), baseline, startMs);
    return {
      trajectory: sampleTrajectory(durationS, 60, rest),
      processStartS: null,
      news2Scale: 1,
      criteria: [weightGain(2.3, 7 * 86_400, 'critical'), news2Criterion(5, 'info')],
    };
  },
};
