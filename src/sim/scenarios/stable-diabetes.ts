/** A well-controlled insulin-treated diabetic on a CGM: meals and matched boluses. Negative control. */
import { ADULT, dailyMeals, drawBaseline, glucoseAt, hourOfDay, sampleTrajectory } from '../physiology.ts';
import type { Scenario } from '../scenario.ts';
import { glucoseAbove, glucoseBelow, restingPatient } from './common.ts';

export const scenario: Scenario = {
  name: 'stable-diabetes',
  title: 'Stable type 1 diabetes on CGM (meals and insulin)',
  program: 'diabetes-cgm',
  deteriorating: false,
  durationS: 3 * 86_400,
  devices: ['cgm'],
  generate(rng, { durationS, startMs }) {
    const baseline = drawBaseline(rng.fork('baseline'), { ...ADULT, glucose: [125, 8] });
    const rest = restingPatient(rng.fork('rest'), baseline, startMs);
    // Boluses cover ~65–75 % of each meal's rise: post-meal peaks ~150–200 mg/dL, no lows.
    const { meals, insulin } = dailyMeals(
      rng.fork('meals'),
      durationS,
      hourOfDay(startMs),
      rng.uniform(0.65, 0.75),
    );
    return {
      trajectory: sampleTrajectory(durationS, 60, (tS, dtS) => {
        const v = rest(tS, dtS);
        return { ...v, glucose: glucoseAt(tS, v.glucose, meals, insulin) };
      }),
      processStartS: null,
      news2Scale: 1,
      criteria: [glucoseBelow(54, 'critical'), glucoseBelow(70, 'info'), glucoseAbove(250, 'info')],
    };
  },
};
