/**
 * Sepsis developing at home after surgery, measured at the program's spot checks (oximeter
 * 08/14/20, thermometer and cuff 08/20): fever, rising heart and respiratory rates, falling
 * pressure and saturation over about a day.
 */
import { ADULT } from '../physiology.ts';
import type { Scenario } from '../scenario.ts';
import { POST_SURGICAL_CADENCE } from './common.ts';
import { sepsisRun } from './sepsis.ts';

export const scenario: Scenario = {
  name: 'post-surgical-sepsis',
  title: 'Sepsis at home after surgery (spot checks)',
  program: 'post-surgical',
  deteriorating: true,
  durationS: 3 * 86_400,
  devices: ['pulse-oximeter', 'thermometer', 'bp-cuff'],
  cadence: POST_SURGICAL_CADENCE,
  generate: (rng, opts) =>
    sepsisRun(rng, opts, {
      baseline: { ...ADULT, heartRate: [72, 5] },
      startFraction: [0.15, 0.35],
      spanFraction: [0.3, 0.45],
      heartRateRise: 24,
    }),
};
