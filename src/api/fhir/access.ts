import type { Resource } from '@medplum/fhirtypes';
import type { Principal } from '../../auth/token-service.ts';
import { forbidden } from './outcomes.ts';
import { normalizeReference } from './search/parse.ts';

export type FhirInteraction =
  | 'read'
  | 'vread'
  | 'history'
  | 'search'
  | 'create'
  | 'update'
  | 'delete'
  | 'export';

const readInteractions: ReadonlySet<FhirInteraction> = new Set([
  'read',
  'vread',
  'history',
  'search',
  'export',
]);
const staffRoles = ['admin', 'clinician', 'nurse'] as const;

/**
 * THE access decision of the FHIR API: every handler asks here, nowhere else. The security work
 * (care-team policy, consent, audit) refines this one function.
 *
 * Today: admin/clinician/nurse may do everything; an integration needs a SMART system scope for the
 * type and access (`system/Observation.read`, `system/Observation.write`, `system/Observation.*`,
 * `system/*.read`, `system/*.*`); a patient may read (not write) their own compartment; devices and
 * anyone else nothing. `compartmentPatientId` is the patient the data belongs to, when known.
 */
export function authorizeFhir(
  principal: Principal,
  interaction: FhirInteraction,
  resourceType: string,
  compartmentPatientId?: string | null,
): boolean {
  if (principal.roles.some((r) => (staffRoles as readonly string[]).includes(r))) return true;
  const access = readInteractions.has(interaction) ? 'read' : 'write';
  if (principal.kind === 'integration' || principal.roles.includes('integration')) {
    return principal.scopes.some((s) => {
      const m = /^system\/([A-Za-z*]+)\.(read|write|\*)$/.exec(s);
      return !!m && (m[1] === '*' || m[1] === resourceType) && (m[2] === '*' || m[2] === access);
    });
  }
  if (principal.roles.includes('patient') && principal.patientId) {
    return access === 'read' && interaction !== 'export' && compartmentPatientId === principal.patientId;
  }
  return false;
}

/** Throws a 403 OperationOutcome unless authorizeFhir allows. */
export function requireFhirAccess(
  principal: Principal,
  interaction: FhirInteraction,
  resourceType: string,
  compartmentPatientId?: string | null,
): void {
  if (!authorizeFhir(principal, interaction, resourceType, compartmentPatientId)) {
    throw forbidden(
      `not allowed to ${interaction} ${resourceType}${compartmentPatientId ? ' in this patient compartment' : ''}`,
    );
  }
}

/** Whether the principal's access could depend on the compartment (then check per resource). */
export function isCompartmentBound(principal: Principal): boolean {
  return (
    !principal.roles.some((r) => (staffRoles as readonly string[]).includes(r)) &&
    principal.kind !== 'integration' &&
    principal.roles.includes('patient')
  );
}

const patientPaths = ['subject', 'patient', 'beneficiary'] as const;

/** The patient a resource belongs to (Patient compartment), when it names one. */
export function compartmentOf(resource: Resource): string | null {
  if (resource.resourceType === 'Patient') return resource.id ?? null;
  const rec = resource as unknown as Record<string, { reference?: string } | undefined>;
  for (const p of patientPaths) {
    const ref = rec[p]?.reference;
    if (typeof ref === 'string') {
      const n = normalizeReference(ref);
      if (n.startsWith('Patient/')) return n.slice('Patient/'.length);
    }
  }
  return null;
}
