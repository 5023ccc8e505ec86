/**
 * Nocturnal hypoglycaemia on a CGM: an evening insulin dose too large for the meal (or taken
 * twice) acts through the night; glucose falls below 54 mg/dL in the early hours.
 */
import { ADULT, dailyMeals, drawBaseline, glucoseAt, hourOfDay, sampleTrajectory } from '../physiology.ts';
import type { Scenario } from '../scenario.ts';
import { glucoseBelow, restingPatient } from './common.ts';

export const scenario: Scenario = {
  name: 'nocturnal-hypoglycaemia',
  title: 'Nocturnal hypoglycaemia (CGM)',
  program: 'diabetes-cgm',
  deteriorating: true,
  durationS: 36 * 3600,
  devices: ['cgm'],
  generate(rng, { durationS, startMs }) {
    const baseline = drawBaseline(rng.fork('baseline'), { ...ADULT, glucose: [120, 8] });
    const rest = restingPatient(rng.fork('rest'), baseline, startMs);
    const startHour = hourOfDay(startMs);
    const { meals, insulin } = dailyMeals(rng.fork('meals'), durationS, startHour, rng.uniform(0.65, 0.75));
    const r = rng.fork('process');
    // The mistaken dose: the first 22:00–23:00 that leaves at least 5 h before the end.
    let doseS = ((22 - startHour + 24) % 24) * 3600 + r.uniform(0, 3600);
    if (doseS > durationS - 5 * 3600) doseS = Math.max(0, doseS - 86_400);
    const drop = r.uniform(85, 110);
    const mistake = { atS: doseS, dropMgDl: drop, peakS: r.uniform(3, 4) * 3600 };
    return {
      trajectory: sampleTrajectory(durationS, 60, (tS, dtS) => {
        const v = rest(tS, dtS);
        // Counter-regulation: the body fights back below ~70 mg/dL (softens, does not prevent, the low).
        let g = glucoseAt(tS, v.glucose, meals, [...insulin, mistake]);
        if (g < 70) g = 70 - (70 - g) * 0.8;
        return { ...v, glucose: g, heartRate: v.heartRate + (g < 60 ? 12 : 0) };
      }),
      processStartS: doseS,
      news2Scale: 1,
      criteria: [glucoseBelow(70, 'onset'), glucoseBelow(54, 'critical')],
    };
  },
};
