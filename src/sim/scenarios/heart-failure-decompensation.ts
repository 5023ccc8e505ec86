/**
 * Heart-failure decompensation over days: fluid gain of 3–4 kg, then rising heart and respiratory
 * rates and falling saturation.
 */
import { ADULT, drawBaseline, ramp, sampleTrajectory } from '../physiology.ts';
import type { Scenario } from '../scenario.ts';
import { news2Criterion, restingPatient, weightGain } from './common.ts';

export const scenario: Scenario = {
  name: 'heart-failure-decompensation',
  title: 'Heart-failure decompensation over days (weight, cuff, oximeter)',
  program: 'heart-failure',
  deteriorating: true,
  durationS: 7 * 86_400,
  devices: ['scale', 'bp-cuff', 'pulse-oximeter'],
  generate(rng, { durationS, startMs }) {
    const baseline = drawBaseline(rng.fork('baseline'), {
      ...ADULT,
      heartRate: [76, 5],
      spo2: [96, 0.6],
      systolic: [118, 6],
      diastolic: [72, 4],
      weight: [86, 12],
    });
    const rest = restingPatient(rng.fork('rest'), baseline, startMs);
    const r = rng.fork('process');
    const startS = r.uniform(0.15, 0.3) * durationS;
    const spanS = r.uniform(0.45, 0.6) * durationS;
    const fluid = r.uniform(3, 4.2);
    return {
      trajectory: sampleTrajectory(durationS, 60, (tS, dtS) => {
        const w = ramp(tS, startS, startS + spanS);
        // Symptoms lag the fluid: breathlessness and tachycardia in the last part of the gain.
        const s = ramp(tS, startS + spanS * 0.4, startS + spanS);
        const v = rest(tS, dtS);
        return {
          ...v,
          weight: v.weight + fluid * w,
          heartRate: v.heartRate + 28 * s,
          respiratoryRate: v.respiratoryRate + 9 * s,
          spo2: v.spo2 - 6 * s,
          systolic: v.systolic + 6 * s,
        };
      }),
      processStartS: startS,
      news2Scale: 1,
      criteria: [
        weightGain(1, 86_400, 'onset'),
        weightGain(2.3, 7 * 86_400, 'critical'),
        news2Criterion(5, 'info'),
        news2Criterion(7, 'info'),
      ],
    };
  },
};
