import type { Raw } from '../detect/config-fields.ts';
import {
  type PatientEnrolment,
  type ProgramDefinition,
  resolvePatientRules,
} from '../detect/program-config.ts';
import {
  type AdherenceRequest,
  adherenceRequest,
  INHALER_CONTROLLER,
  PILL_BOTTLE_OPENING,
} from './medication-adherence.ts';

/**
 * The missed-dose rules a patient's MedicationRequests imply (docs/adherence.md §5): the
 * MedicationRequest is the one source of the schedule, the enrolment is not edited. Pure: the
 * caller loads the requests; the detection engine receives the rules as enrolment additions.
 *
 * - One `missed-dose` rule per **active**, scheduled (not as-needed) request with
 *   `timing.repeat.timeOfDay`: id `medication-request-<request id>`, times as given (UTC: Vigil
 *   stores no patient time zone yet), judged only within the request's period (`boundsPeriod`, else
 *   `dispenseRequest.validityPeriod`, else from `authoredOn`).
 * - A dose is an event of the scheduled kinds (controller-inhaler actuation, pill-bottle opening —
 *   the kinds `requestFor` matches to a scheduled request), from the request's `adherence-device`
 *   devices when it names any.
 * - A request given as `frequency`/`period` without times of day yields no rule (no due times to
 *   judge a dose against); a stopped, completed, on-hold or entered-in-error request yields none.
 * - Patients not enrolled in any program get nothing: monitoring is what turns alerts on.
 * - The enrolment wins: when it has a `missed-dose` rule of its own (added, or from a program),
 *   no rule is derived — the clinician set that schedule by hand.
 */
export const DERIVED_RULE_PREFIX = 'medication-request-';
const SCHEDULED_CODES = [INHALER_CONTROLLER, PILL_BOTTLE_OPENING];

export function missedDoseRule(req: AdherenceRequest): Raw | undefined {
  if (req.status !== 'active' || req.rescue || req.timesOfDay.length === 0) return undefined;
  return {
    id: `${DERIVED_RULE_PREFIX}${req.id}`,
    kind: 'missed-dose',
    label: req.text,
    times: [...new Set(req.timesOfDay)],
    codes: SCHEDULED_CODES,
    ...(req.deviceIds.length > 0 ? { deviceIds: req.deviceIds } : {}),
    ...(req.start !== undefined ? { from: req.start } : {}),
    ...(req.end !== undefined ? { until: req.end } : {}),
  };
}

/** Whether the enrolment's own rules (programs in force, overrides, additions) include a missed-dose rule. */
function hasOwnMissedDose(enrolment: PatientEnrolment, programs: readonly ProgramDefinition[]): boolean {
  const byName = new Map(programs.map((p) => [p.name, p]));
  const progs = enrolment.programs.map((n) => byName.get(n));
  if (progs.some((p) => p === undefined)) return false; // does not resolve: the engine says so
  try {
    return resolvePatientRules(progs as ProgramDefinition[], enrolment).rules.some(
      (r) => r.kind === 'missed-dose',
    );
  } catch {
    return false;
  }
}

/** The enrolment the engine gets: the stored one plus the rules derived from the patient's requests. */
export function withScheduleRules(
  enrolment: PatientEnrolment,
  requests: ReadonlyArray<Record<string, unknown>>,
  programs: readonly ProgramDefinition[],
): PatientEnrolment {
  if (enrolment.programs.length === 0 || hasOwnMissedDose(enrolment, programs)) return enrolment;
  const rules = requests
    .map(adherenceRequest)
    .filter((r): r is AdherenceRequest => r !== undefined)
    .sort((a, b) => a.id.localeCompare(b.id))
    .map(missedDoseRule)
    .filter((r): r is Raw => r !== undefined);
  if (rules.length === 0) return enrolment;
  return { ...enrolment, add: [...(enrolment.add ?? []), ...rules] };
}
