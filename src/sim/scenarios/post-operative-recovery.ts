/**
 * Uneventful recovery at home after surgery: a mild tachycardia and low-grade temperature on the
 * first day that settle. Negative control: a detector should stay quiet.
 */
import { ADULT, drawBaseline, sampleTrajectory, withFever } from '../physiology.ts';
import type { Scenario } from '../scenario.ts';
import { news2Criterion, POST_SURGICAL_CADENCE, restingPatient } from './common.ts';

export const scenario: Scenario = {
  name: 'post-operative-recovery',
  title: 'Post-operative recovery at home (oximeter, thermometer, cuff)',
  program: 'post-surgical',
  deteriorating: false,
  durationS: 3 * 86_400,
  devices: ['pulse-oximeter', 'thermometer', 'bp-cuff'],
  cadence: POST_SURGICAL_CADENCE,
  generate(rng, { durationS, startMs }) {
    const baseline = drawBaseline(rng.fork('baseline'), { ...ADULT, heartRate: [70, 5] });
    const rest = restingPatient(rng.fork('rest'), baseline, startMs);
    const r = rng.fork('process');
    const tachy = r.uniform(8, 14);
    const fever = r.uniform(0.3, 0.6);
    return {
      trajectory: sampleTrajectory(durationS, 60, (tS, dtS) => {
        const settle = Math.exp(-tS / (20 * 3600));
        const v = withFever(rest(tS, dtS), fever * Math.exp(-tS / (30 * 3600)));
        return { ...v, heartRate: v.heartRate + tachy * settle, spo2: v.spo2 - 1 * settle };
      }),
      processStartS: null,
      news2Scale: 1,
      criteria: [news2Criterion(5, 'critical'), news2Criterion(3, 'info')],
    };
  },
};
