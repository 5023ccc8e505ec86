/** Every scenario, by name. Add one: a file exporting `scenario: Scenario`, and a line here. */
import type { Scenario } from '../scenario.ts';
import { scenario as copdExacerbation } from './copd-exacerbation.ts';
import { scenario as heartFailureDecompensation } from './heart-failure-decompensation.ts';
import { scenario as hypertensiveCrisis } from './hypertensive-crisis.ts';
import { scenario as nocturnalHypoglycaemia } from './nocturnal-hypoglycaemia.ts';
import { scenario as postOperativeRecovery } from './post-operative-recovery.ts';
import { scenario as postSurgicalSepsis } from './post-surgical-sepsis.ts';
import { scenario as sepsis } from './sepsis.ts';
import { scenario as stableCopd } from './stable-copd.ts';
import { scenario as stableDiabetes } from './stable-diabetes.ts';
import { scenario as stableHeartFailure } from './stable-heart-failure.ts';
import { scenario as stableHypertension } from './stable-hypertension.ts';
import { scenario as stableInpatient } from './stable-inpatient.ts';

export const SCENARIOS: Readonly<Record<string, Scenario>> = Object.fromEntries(
  [
    stableHypertension,
    stableHeartFailure,
    stableDiabetes,
    sepsis,
    heartFailureDecompensation,
    hypertensiveCrisis,
    nocturnalHypoglycaemia,
    copdExacerbation,
    postOperativeRecovery,
    stableInpatient,
    stableCopd,
    postSurgicalSepsis,
  ].map((s) => [s.name, s]),
);

export function getScenario(name: string): Scenario | undefined {
  return SCENARIOS[name];
}
