import type { Resource } from '@medplum/fhirtypes';
import { type PatientAction, type PolicySnapshot, smartLimit } from '../../auth/access-policy.ts';
import type { Principal } from '../../auth/token-service.ts';
import type { SearchFilter } from '../../store/fhir-search-filter.ts';
import { forbidden } from './outcomes.ts';
import { resourceTypes, type SupportedType, searchParams } from './search/params.ts';
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

/**
 * Types in the Patient compartment: Patient itself and every type with a `patient` search
 * parameter (Observation, Device when assigned, CareTeam, Flag, Communication, Consent, AuditEvent).
 */
export const patientCompartmentTypes: ReadonlySet<string> = new Set(
  resourceTypes.filter((t) => t === 'Patient' || 'patient' in searchParams[t]),
);

/**
 * The access policy's per-request decisions (src/auth/access-policy.ts `snapshot()`), bound to the
 * principal object of the request by the HTTP glue (http.ts) before any handler runs. Batch entries
 * carry the same principal object, so they are decided by the same snapshot.
 */
const snapshots = new WeakMap<Principal, PolicySnapshot>();

export function bindPolicy(principal: Principal, snapshot: PolicySnapshot): void {
  snapshots.set(principal, snapshot);
}

/**
 * A principal without a bound snapshot (handlers called in-process by the CLI, a bench) is decided
 * by role alone and fails closed: admin everything, everyone else nothing.
 */
function snapshotOf(principal: Principal): PolicySnapshot {
  const bound = snapshots.get(principal);
  if (bound) return bound;
  const admin = principal.roles.includes('admin');
  return {
    decide: () =>
      admin
        ? { allowed: true, reason: 'admin' }
        : { allowed: false, code: 'VIGIL_ERR_AUTH_FORBIDDEN', reason: 'no access decision for this request' },
    patientBound: !admin,
    patients: admin ? 'all' : { only: new Set() },
  };
}

function actionOf(interaction: FhirInteraction): PatientAction {
  return readInteractions.has(interaction) ? 'read' : 'write';
}

/**
 * THE access decision of the FHIR API: every handler asks here, nowhere else; the rules are the
 * one access policy's (src/auth/access-policy.ts), the same as for the management API, the live
 * feed and MQTT.
 *
 * `compartmentPatientId`: the patient the resource belongs to (string), no patient (null), or not
 * known yet (undefined: a check before the resource is loaded — may this principal do this on
 * some resource of the type? The check with the resource's patient follows).
 * - admin: everything (audited);
 * - clinician, nurse: resources of the patients of their care teams; resources of no patient:
 *   read (writes of those are for admins);
 * - patient: read of their own compartment and of directory resources (Practitioner, Device, …);
 * - integration: types its SMART system scopes name, for patients whose consent permits sharing;
 * - device, anyone else: nothing. `$export` is for admins and integrations only.
 */
export function decideFhir(
  principal: Principal,
  interaction: FhirInteraction,
  resourceType: string,
  compartmentPatientId?: string | null,
): { allowed: boolean; code?: string; reason: string } {
  const snap = snapshotOf(principal);
  const action = actionOf(interaction);
  const admin = principal.roles.includes('admin');
  if (interaction === 'export' && !admin && !principal.roles.includes('integration'))
    return {
      allowed: false,
      code: 'VIGIL_ERR_AUTH_FORBIDDEN',
      reason: 'bulk export is for admins and integrations',
    };
  // A SMART app's token: no bulk export; its scopes must name the type (the patient is checked below).
  if (interaction === 'export' && principal.smartClientId)
    return { allowed: false, code: 'VIGIL_ERR_AUTH_SCOPE', reason: "bulk export is not for an app's token" };
  const appLimit = smartLimit(principal, resourceType, action, undefined);
  if (appLimit) return appLimit;
  if (principal.kind === 'device')
    return snap.decide(resourceType, action, compartmentPatientId ?? null, interaction);
  if (compartmentPatientId !== undefined) return snap.decide(resourceType, action, compartmentPatientId);
  // Not known yet: decided on the type; the patient is checked once the resource (or search) names it.
  if (!snap.patientBound || !patientCompartmentTypes.has(resourceType) || resourceType === 'AuditEvent')
    return snap.decide(resourceType, action, null);
  if (principal.roles.includes('integration')) return snap.decide(resourceType, action, null);
  if (principal.roles.includes('clinician') || principal.roles.includes('nurse'))
    return { allowed: true, reason: 'care team (checked per patient)' };
  if (principal.roles.includes('patient') && action === 'read')
    return { allowed: true, reason: 'own data (checked per patient)' };
  return snap.decide(resourceType, action, null);
}

export function authorizeFhir(
  principal: Principal,
  interaction: FhirInteraction,
  resourceType: string,
  compartmentPatientId?: string | null,
): boolean {
  return decideFhir(principal, interaction, resourceType, compartmentPatientId).allowed;
}

/** Throws a 403 OperationOutcome (with the policy's error code) unless the policy allows. */
export function requireFhirAccess(
  principal: Principal,
  interaction: FhirInteraction,
  resourceType: string,
  compartmentPatientId?: string | null,
): void {
  const d = decideFhir(principal, interaction, resourceType, compartmentPatientId);
  if (!d.allowed) {
    const where = compartmentPatientId ? ' in this patient compartment' : '';
    throw forbidden(
      `${d.code ?? 'VIGIL_ERR_AUTH_FORBIDDEN'}: not allowed to ${interaction} ${resourceType}${where} (${d.reason})`,
    );
  }
}

/** Whether the principal's access depends on the patient (then check per resource, filter searches). */
export function isCompartmentBound(principal: Principal): boolean {
  return snapshotOf(principal).patientBound;
}

/**
 * The search hook: `filters` plus the restriction to the patients the principal may read, in SQL
 * (so paging and `_summary=count` never see other patients' data). Types outside the Patient
 * compartment are not restricted (their type-level access is decided by requireFhirAccess).
 */
export function restrictSearch(
  principal: Principal,
  type: SupportedType,
  filters: readonly SearchFilter[],
): SearchFilter[] {
  const set = snapshotOf(principal).patients;
  if (set === 'all' || !patientCompartmentTypes.has(type)) return [...filters];
  if ('except' in set) {
    return set.except.size ? [...filters, { kind: 'notPatients', ids: [...set.except] }] : [...filters];
  }
  const ids = [...set.only];
  // An empty `id` filter matches nothing in every store.
  if (type === 'Patient' || ids.length === 0) return [...filters, { kind: 'id', values: ids }];
  return [...filters, { kind: 'reference', param: 'patient', values: ids.map((id) => `Patient/${id}`) }];
}

/** Whether the principal may read this resource (for `_include`, history entries, export files). */
export function mayRead(principal: Principal, resource: Resource): boolean {
  return authorizeFhir(principal, 'read', resource.resourceType, compartmentOf(resource));
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
