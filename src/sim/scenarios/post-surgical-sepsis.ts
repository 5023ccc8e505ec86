/**
 * Sepsis developing at home after surgery, measured at the program's spot checks (oximeter
 * 08/14/20, thermometer and cuff 08/20): fever, rising heart and respiratory rates, falling
 * pressure and saturation over about a day.
 */
import { ADULT, drawBaseline, ramp, sampleTrajectory, withFever } from '../physiology.ts';
import type { Scenario } from '../scenario.ts';
import { news2Criterion, restingPatient } from './common.ts';

export const scenario: Scenario = {
  name: 'post-surgical-sepsis',
  title: 'Sepsis at home after surgery (spot checks)',
  program: 'post-surgical',
  deteriorating: true,
  durationS: 3 * 86_400,
  devices: ['pulse-oximeter', 'thermometer', 'bp-cuff'],
  generate(rng, { durationS, startMs }) {
    const baseline = drawBaseline(rng.fork('baseline'), { ...ADULT, heartRate: [72, 5] });
    const rest = restingPatient(rng.fork('rest'), baseline, startMs);
    const r = rng.fork('process');
    const startS = r.uniform(0.15, 0.35) * durationS;
    const spanS = r.uniform(0.3, 0.45) * durationS;
    const fever = r.uniform(1.6, 2.4);
    return {
      trajectory: sampleTrajectory(durationS, 60, (tS, dtS) => {
        const s = ramp(tS, startS, startS + spanS);
        const v = withFever(rest(tS, dtS), fever * ramp(tS, startS, startS + spanS * 0.6));
        return {
          ...v,
          heartRate: v.heartRate + 24 * s,
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
  },
};
