import { deviceHealth } from './device-health.ts';
import { glucose } from './glucose.ts';
import { hypertensiveCrisis } from './hypertensive-crisis.ts';
import { hypoxaemia } from './hypoxaemia.ts';
import { missedDose } from './missed-dose.ts';
import { missingData } from './missing-data.ts';
import { news2Rule } from './news2.ts';
import { rescueInhaler } from './rescue-inhaler.ts';
import type { RuleKind } from './rule-kind.ts';
import { signalQuality } from './signal-quality.ts';
import { threshold } from './threshold.ts';
import { trend } from './trend.ts';
import { weightGain } from './weight-gain.ts';

/** Every rule kind by its `kind` name. Adding a kind: write the file, register it here (README). */
// biome-ignore lint/suspicious/noExplicitAny: each kind has its own config and state types
export const ruleKinds: Record<string, RuleKind<any, any>> = {
  [threshold.kind]: threshold,
  [news2Rule.kind]: news2Rule,
  [trend.kind]: trend,
  [weightGain.kind]: weightGain,
  [hypertensiveCrisis.kind]: hypertensiveCrisis,
  [hypoxaemia.kind]: hypoxaemia,
  [glucose.kind]: glucose,
  [missingData.kind]: missingData,
  [deviceHealth.kind]: deviceHealth,
  [signalQuality.kind]: signalQuality,
  [rescueInhaler.kind]: rescueInhaler,
  [missedDose.kind]: missedDose,
};
