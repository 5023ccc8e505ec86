import type { Principal } from '../auth/token-service.ts';
import type { Sql } from '../store/database.ts';
import { patientsOfPractitioner } from './care-team.ts';

/**
 * Patient-level access to alerts: the one place the alerts module asks "may this principal see this
 * patient?". The default is role-based (admin, clinician and nurse see every patient; a patient only
 * themself). The care-team access policy replaces it with `setPatientAccessPolicy` at start-up.
 */
export type PatientAccessPolicy = (principal: Principal, patientId: string) => boolean | Promise<boolean>;

const roleBased: PatientAccessPolicy = (p, patientId) => {
  if (p.roles.some((r) => r === 'admin' || r === 'clinician' || r === 'nurse')) return true;
  return p.roles.includes('patient') && p.patientId === patientId;
};

let policy: PatientAccessPolicy = roleBased;

export function setPatientAccessPolicy(p: PatientAccessPolicy | undefined): void {
  policy = p ?? roleBased;
}

export async function canSeePatient(principal: Principal, patientId: string): Promise<boolean> {
  return policy(principal, patientId);
}

/**
 * Which patients a principal may see, as a whole (the live feed): 'all' or a set of patient ids.
 * The composition root gives the live feed the access policy's answer
 * (`AccessPolicy.readablePatients`); `defaultPatientScope` reads care teams the same way
 * (active teams, current team and participant periods) for use without it.
 */
export type PatientScopePolicy = (principal: Principal) => Promise<'all' | Set<string>>;

export async function defaultPatientScope(sql: Sql, principal: Principal): Promise<'all' | Set<string>> {
  if (principal.roles.includes('admin')) return 'all';
  if (principal.roles.includes('clinician') || principal.roles.includes('nurse'))
    return new Set(
      principal.practitionerId ? await patientsOfPractitioner(sql, principal.practitionerId) : [],
    );
  if (principal.roles.includes('patient') && principal.patientId) return new Set([principal.patientId]);
  return new Set();
}
