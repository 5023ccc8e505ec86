import type { Principal } from '../auth/token-service.ts';

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
