import { glucose } from './glucose.ts';
import { news2Rule } from './news2.ts';
import type { RuleKind } from './rule-kind.ts';
import { threshold } from './threshold.ts';

/** Every rule kind by its `kind` name. Adding a kind: write the file, register it here (README). */
// biome-ignore lint/suspicious/noExplicitAny: each kind has its own config and state types
export const ruleKinds: Record<string, RuleKind<any, any>> = {
  [threshold.kind]: threshold,
  [news2Rule.kind]: news2Rule,
  [glucose.kind]: glucose,
};
