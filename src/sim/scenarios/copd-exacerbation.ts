/**
 * COPD exacerbation over days in a patient on SpO2 Scale 2 (target 88–92 %): saturation falls,
 * breathing and heart rate rise, a low-grade temperature.
 */
import { ADULT, drawBaseline, ramp, sampleTrajectory, withFever } from '../physiology.ts';
import type { Scenario } from '../scenario.ts';
import { news2Criterion, restingPatient } from './common.ts';

export const scenario: Scenario = {
  name: 'copd-exacerbation',
  title: 'COPD exacerbation over days (oximeter, thermometer)',
  program: 'copd',
  deteriorating: true,
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
    const r = rng.fork('process');
    const startS = r.uniform(0.2, 0.35) * durationS;
    const spanS = r.uniform(0.35, 0.5) * durationS;
    return {
      trajectory: sampleTrajectory(durationS, 60, (tS, dtS) => {
        const s = ramp(tS, startS, startS + spanS);
        const v = withFever(rest(tS, dtS), 0.9 * s);
        return {
          ...v,
          spo2: v.spo2 - 8 * s,
          respiratoryRate: v.respiratoryRate + 10 * s,
          heartRate: v.heartRate + 24 * s,
        };
      }),
      processStartS: startS,
      news2Scale: 2,
      criteria: [news2Criterion(5, 'onset', 2), news2Criterion(7, 'critical', 2)],
    };
  },
};
