/**
 * Hypertensive crisis over a few hours in a hypertensive patient at home; feeling unwell, the
 * patient measures every 30 minutes once pressure climbs.
 */
import { ADULT, drawBaseline, ramp, sampleTrajectory } from '../physiology.ts';
import type { Scenario } from '../scenario.ts';
import { hypertensiveCrisis, restingPatient, systolicAtLeast } from './common.ts';

export const scenario: Scenario = {
  name: 'hypertensive-crisis',
  title: 'Hypertensive crisis over hours (home cuff, extra readings when unwell)',
  program: 'hypertension',
  deteriorating: true,
  durationS: 24 * 3600,
  devices: ['bp-cuff'],
  generate(rng, { durationS, startMs }) {
    const baseline = drawBaseline(rng.fork('baseline'), { ...ADULT, systolic: [148, 6], diastolic: [92, 4] });
    const rest = restingPatient(rng.fork('rest'), baseline, startMs);
    const r = rng.fork('process');
    const startS = r.uniform(0.2, 0.45) * durationS;
    const spanS = r.uniform(2, 4) * 3600;
    const rise = r.uniform(48, 62);
    const extra: number[] = [];
    for (let t = startS + spanS * 0.3; t < durationS; t += 1800) extra.push(t + r.uniform(-300, 300));
    return {
      trajectory: sampleTrajectory(durationS, 60, (tS, dtS) => {
        const s = ramp(tS, startS, startS + spanS);
        const v = rest(tS, dtS);
        return {
          ...v,
          systolic: v.systolic + rise * s,
          diastolic: v.diastolic + rise * 0.62 * s,
          heartRate: v.heartRate + 8 * s,
        };
      }),
      processStartS: startS,
      news2Scale: 1,
      criteria: [systolicAtLeast(170, 'onset'), hypertensiveCrisis('critical')],
      extraMeasurements: [{ model: 'bp-cuff', atS: extra }],
    };
  },
};
