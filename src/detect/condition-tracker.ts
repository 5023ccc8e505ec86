import { toIso } from '../core/clock.ts';
import type { Detection } from '../core/detection.ts';
import { type Severity, severityRank } from '../core/severity.ts';
import type { Assessment, RuleBase } from './rule-kind.ts';

/**
 * Alarm-fatigue lifecycle of one condition (patient × conditionKey). Exactly what is emitted:
 *
 * - active, not yet open: counted as pending. It opens — one 'firing' — once it has been active
 *   for ≥ persistSeconds of event time AND ≥ persistReadings consecutive assessments.
 * - active, open: evidence is appended silently. Severity has hysteresis: a HIGHER severity emits
 *   'firing' (the alert manager notifies: worsened) only once the assessments have stayed at or
 *   above it for `upgradeDwellSeconds`; a LOWER one is emitted (an update that never notifies)
 *   only once it has held for `downgradeDwellSeconds`. Until then the condition keeps its
 *   severity: excursions are recorded in its evidence and in `data.severityChanges` of the next
 *   emission, silently. 'firing' with an unchanged severity is emitted only when realertMinutes
 *   have passed since the last emission (a timer).
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
  /** A severity other than `severity` seen on every assessment since `since` (the dwell running). */
  pendingSeverity?: { severity: Severity; since: number };
  /** Silent severity changes since the last emission (bounded), reported with the next one. */
  changes?: Array<{ at: string; severity: Severity }>;
}

const MAX_EVIDENCE = 20;
const MAX_CHANGES = 20;

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
  const target = severityStep(c, rule, a);
  const realertMs = rule.realertMinutes * 60_000;
  if (target !== null || (realertMs > 0 && a.atMs - c.lastEmitAt >= realertMs)) {
    if (target !== null) c.severity = target;
    c.lastEmitAt = a.atMs;
    const d = detection(patientId, rule, a, 'firing', c.severity, c.evidence);
    if (c.changes !== undefined && c.changes.length > 0) d.data = { ...d.data, severityChanges: c.changes };
    delete c.changes;
    return d;
  }
  return null;
}

/**
 * Severity hysteresis of an open condition: the severity it moves to now, or null. A move up needs
 * every assessment for `upgradeDwellSeconds` at or above the new level (the lowest of them is
 * taken); a move down needs every assessment below the current severity for `downgradeDwellSeconds`
 * (the highest of them is taken). A change back to the current severity cancels the dwell.
 */
function severityStep(c: ConditionState, rule: RuleBase, a: Assessment): Severity | null {
  const cur = severityRank(c.severity);
  const rank = severityRank(a.severity);
  const p = c.pendingSeverity;
  if (rank === cur) {
    if (p !== undefined) {
      recordChange(c, a.atMs, a.severity);
      delete c.pendingSeverity;
    }
    return null;
  }
  const up = rank > cur;
  if (p === undefined || severityRank(p.severity) > cur !== up) {
    c.pendingSeverity = { severity: a.severity, since: a.atMs };
    recordChange(c, a.atMs, a.severity);
  } else if (up ? rank < severityRank(p.severity) : rank > severityRank(p.severity)) {
    // Keep the most conservative level seen during the dwell (the lowest up, the highest down).
    p.severity = a.severity;
  }
  const q = c.pendingSeverity as { severity: Severity; since: number };
  const dwellMs = (up ? rule.upgradeDwellSeconds : rule.downgradeDwellSeconds) * 1000;
  if (a.atMs - q.since < dwellMs) return null;
  delete c.pendingSeverity;
  return q.severity;
}

function recordChange(c: ConditionState, atMs: number, severity: Severity): void {
  const l = c.changes ?? [];
  const last = l[l.length - 1];
  if (last?.severity === severity) return;
  l.push({ at: toIso(atMs), severity });
  if (l.length > MAX_CHANGES) l.splice(0, l.length - MAX_CHANGES);
  c.changes = l;
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
