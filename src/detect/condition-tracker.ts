import { toIso } from '../core/clock.ts';
import type { Detection } from '../core/detection.ts';
import type { Severity } from '../core/severity.ts';
import type { Assessment, RuleBase } from './rule-kind.ts';

/**
 * Alarm-fatigue lifecycle of one condition (patient × conditionKey). Exactly what is emitted:
 *
 * - active, not yet open: counted as pending. It opens — one 'firing' — once it has been active
 *   for ≥ persistSeconds of event time AND ≥ persistReadings consecutive assessments.
 * - active, open: evidence is appended silently; 'firing' again only when the severity changes
 *   (up or down) or when realertMinutes have passed since the last emission.
 * - inactive: pending progress is dropped; if open, one 'cleared' — once the rule has not held for
 *   clearSeconds (0 = at once; holding again sooner keeps the condition open, silently). Level
 *   hysteresis lives in the rules, which use their clear level while `isOpen(key)`.
 *
 * Only pending and open conditions are kept, so memory is bounded by the number of rules.
 */
export interface ConditionState {
  rule: string;
  open: boolean;
  severity: Severity;
  /** Event time the current active run started. */
  since: number;
  /** Consecutive active assessments in the current run. */
  count: number;
  lastEmitAt: number;
  /** Open, but the rule stopped holding at this event time (clear persistence running). */
  clearingSince?: number;
  evidence: string[];
  deviceId?: string;
}

const MAX_EVIDENCE = 20;

export function trackCondition(
  conds: Record<string, ConditionState>,
  patientId: string,
  rule: RuleBase,
  a: Assessment,
): Detection | null {
  const c = conds[a.key];
  if (!a.active) {
    if (c === undefined) return null;
    const clearMs = (a.clearSeconds ?? rule.clearSeconds ?? 0) * 1000;
    if (c.open && clearMs > 0) {
      c.clearingSince ??= a.atMs;
      if (a.atMs - c.clearingSince < clearMs) return null;
    }
    delete conds[a.key];
    return c.open
      ? detection(patientId, rule, a, 'cleared', c.severity, c.evidence.concat(a.evidence ?? []))
      : null;
  }
  if (c === undefined || !c.open) {
    const s: ConditionState = c ?? {
      rule: rule.kind,
      open: false,
      severity: a.severity,
      since: a.atMs,
      count: 0,
      lastEmitAt: 0,
      evidence: [],
    };
    s.count++;
    s.severity = a.severity;
    pushEvidence(s, a.evidence);
    if (a.deviceId !== undefined) s.deviceId = a.deviceId;
    conds[a.key] = s;
    const persistMs = (a.persistSeconds ?? rule.persistSeconds) * 1000;
    const persistN = a.persistReadings ?? rule.persistReadings;
    if (a.atMs - s.since < persistMs || s.count < persistN) return null;
    s.open = true;
    s.lastEmitAt = a.atMs;
    return detection(patientId, rule, a, 'firing', a.severity, s.evidence);
  }
  delete c.clearingSince;
  pushEvidence(c, a.evidence);
  const realertMs = rule.realertMinutes * 60_000;
  if (a.severity !== c.severity || (realertMs > 0 && a.atMs - c.lastEmitAt >= realertMs)) {
    c.severity = a.severity;
    c.lastEmitAt = a.atMs;
    return detection(patientId, rule, a, 'firing', a.severity, c.evidence);
  }
  return null;
}

export function pushEvidence(s: ConditionState, ids: string[] | undefined): void {
  if (ids === undefined) return;
  for (const id of ids) if (!s.evidence.includes(id)) s.evidence.push(id);
  if (s.evidence.length > MAX_EVIDENCE) s.evidence.splice(0, s.evidence.length - MAX_EVIDENCE);
}

function detection(
  patientId: string,
  rule: RuleBase,
  a: Assessment,
  state: Detection['state'],
  severity: Severity,
  evidence: string[],
): Detection {
  const d: Detection = {
    patientId,
    conditionKey: a.key,
    rule: rule.kind,
    state,
    severity,
    at: toIso(a.atMs),
    summary: a.summary,
    evidence: evidence.slice(),
  };
  if (a.data !== undefined) d.data = { ruleId: rule.id, ...a.data };
  else d.data = { ruleId: rule.id };
  if (a.deviceId !== undefined) d.deviceId = a.deviceId;
  return d;
}
