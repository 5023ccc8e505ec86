import { toIso } from '../core/clock.ts';
import type { Assessment, RuleBase, RuleContext } from './rule-kind.ts';

/**
 * Measurement requests: "confirm before alarming at home". A rule that sees a first out-of-range
 * home spot reading that is not extreme asks the patient for a repeat instead of alarming on one
 * reading, and decides when the repeat arrives or the window passes. The request is a condition
 * `request:<kind>` at `info` whose detections carry `data.class: 'measurement-request'` and the
 * fields below; the alerts module records them as measurement requests (table
 * `measurement_request`, API `/api/v1/patients/:id/measurement-requests`).
 *
 * Lifecycle (`data.status`): `open` (requested) → `fulfilled` (a reading of the same patient and
 * code, not flagged, taken in [after, dueBy]: `data.fulfilledBy`; `data.outcome` confirmed /
 * not-confirmed) | `expired` (dueBy passed without one: the rule then decides with the first
 * reading alone, `data.outcome` no-repeat) | `cancelled` (an extreme reading arrived before the
 * repeat was due and alarmed at once, or the rule left the patient's monitoring — `cancelOnRemoval`,
 * called by the engine; `data.outcome` cancelled).
 */
export type RequestKind = 'repeat-bp' | 'reweigh' | 'spo2-at-rest';
export type RequestOutcome = 'requested' | 'confirmed' | 'not-confirmed' | 'no-repeat' | 'cancelled';
export type RequestStatus = 'open' | 'fulfilled' | 'expired' | 'cancelled';

export const REQUEST_CLASS = 'measurement-request';

export function statusOf(outcome: RequestOutcome): RequestStatus {
  if (outcome === 'requested') return 'open';
  if (outcome === 'no-repeat') return 'expired';
  if (outcome === 'cancelled') return 'cancelled';
  return 'fulfilled';
}

/** What one rule asks for: the code the repeat must carry and its window after the first reading. */
export interface RequestSpec {
  kind: RequestKind;
  code: string;
  afterMinutes: number;
  withinMinutes: number;
}

/** The first reading a request waits on (kept in the rule's state). */
export interface PendingRequest {
  /** Event time and id of the reading that opened the request. */
  t: number;
  id: string;
  /** The request as opened: lets the engine cancel it when the rule itself goes (enrolment change). */
  spec?: RequestSpec;
}

export type RepeatVerdict = 'too-soon' | 'in-window' | 'late';

/** Where a reading at `t` falls relative to the pending request's window. */
export function repeatVerdict(spec: RequestSpec, p: PendingRequest, t: number): RepeatVerdict {
  if (t > p.t + spec.withinMinutes * 60_000) return 'late';
  if (t - p.t < spec.afterMinutes * 60_000) return 'too-soon';
  return 'in-window';
}

export const dueByMs = (spec: RequestSpec, p: PendingRequest) => p.t + spec.withinMinutes * 60_000;

/** Opens the request (one `firing` at info). `instruction` is the patient-facing text. */
export function openRequest(
  ctx: RuleContext,
  rule: RuleBase,
  spec: RequestSpec,
  p: PendingRequest,
  instruction: string,
  summary: string,
): void {
  p.spec = { ...spec };
  assessRequest(ctx, rule, spec, p, p.t, 'requested', summary, { instruction });
}

/** Closes the request (one `cleared`): fulfilled by `fulfilledBy`, expired or cancelled. */
export function closeRequest(
  ctx: RuleContext,
  rule: RuleBase,
  spec: RequestSpec,
  p: PendingRequest,
  atMs: number,
  outcome: Exclude<RequestOutcome, 'requested'>,
  summary: string,
  fulfilledBy?: string,
): void {
  assessRequest(ctx, rule, spec, p, atMs, outcome, summary, fulfilledBy ? { fulfilledBy } : {});
}

function assessRequest(
  ctx: RuleContext,
  rule: RuleBase,
  spec: RequestSpec,
  p: PendingRequest,
  atMs: number,
  outcome: RequestOutcome,
  summary: string,
  extra: Record<string, unknown>,
): void {
  ctx.assess(rule, requestAssessment(spec, p, atMs, outcome, summary, extra));
}

/** The assessment of a request's condition (`request:<kind>`) for one outcome. */
export function requestAssessment(
  spec: RequestSpec,
  p: PendingRequest,
  atMs: number,
  outcome: RequestOutcome,
  summary: string,
  extra: Record<string, unknown> = {},
): Assessment {
  const evidence = [p.id];
  if (typeof extra.fulfilledBy === 'string') evidence.push(extra.fulfilledBy);
  return {
    key: `request:${spec.kind}`,
    active: outcome === 'requested',
    severity: 'info',
    atMs,
    summary,
    evidence,
    data: {
      class: REQUEST_CLASS,
      request: spec.kind,
      code: spec.code,
      trigger: p.id,
      requestedAt: toIso(p.t),
      after: toIso(p.t + spec.afterMinutes * 60_000),
      dueBy: toIso(dueByMs(spec, p)),
      outcome,
      status: statusOf(outcome),
      ...extra,
    },
    // A request is a fact of one reading: it opens and closes at once.
    persistSeconds: 0,
    persistReadings: 1,
    clearSeconds: 0,
  };
}

/**
 * A rule that is gone (the patient's enrolment no longer has it) cannot decide its open request:
 * the assessment that cancels it, or null when the rule's state holds no open request.
 */
export function cancelOnRemoval(ruleState: unknown, atMs: number): Assessment | null {
  const p = (ruleState as { pending?: PendingRequest } | null)?.pending;
  if (p?.spec === undefined) return null;
  return requestAssessment(
    p.spec,
    p,
    Math.max(atMs, p.t),
    'cancelled',
    'Measurement request cancelled: the rule that asked for it is no longer part of the monitoring',
  );
}

/** "before 08:15 UTC" for a patient-facing instruction. */
export const hhmm = (ms: number) => `${toIso(ms).slice(11, 16)} UTC`;
