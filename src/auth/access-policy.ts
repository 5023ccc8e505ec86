import { VigilError } from '../core/errors.ts';
import { type ScopeAction, scopeAllows, smartScopeGrants } from './scopes.ts';
import type { Principal, Role } from './token-service.ts';

/** Care-team membership: the patients a practitioner cares for. */
export interface CareTeamLookup {
  patientsOf(practitionerId: string): Promise<Set<string>>;
}

/** Consent to share a patient's data with integrations. */
export interface SharingConsent {
  isPermitted(patientId: string, purpose: 'integration-sharing'): Promise<boolean>;
  /** Patients whose consent currently refuses sharing (for a per-request snapshot). */
  refusing(purpose: 'integration-sharing'): Promise<Set<string>>;
}

/**
 * The policy's decisions for one principal, resolved once per request (care teams, consent
 * refusals) so that synchronous code — the FHIR handlers — can ask per resource without I/O.
 */
export interface PolicySnapshot {
  /** `interaction`: the FHIR interaction when known ('create', 'update', …): devices may only create. */
  decide(
    resourceType: string,
    action: PatientAction,
    patientId?: string | null,
    interaction?: string,
  ): AccessDecision;
  /** Whether decisions depend on the patient (then search results must be checked per patient). */
  patientBound: boolean;
  /**
   * The patients whose data searches may return (read): every patient, only these (care team, own
   * record), or every patient except these (integrations: patients refusing sharing).
   */
  patients: PatientSet;
}

export type PatientSet = 'all' | { only: ReadonlySet<string> } | { except: ReadonlySet<string> };

/**
 * Resource types that belong to no patient and that a patient may read (the people and devices
 * around their care). Anything else without a patient — an unattributed Observation, a Bundle —
 * is not theirs to read.
 */
export const directoryTypes: ReadonlySet<string> = new Set([
  'Practitioner',
  'PractitionerRole',
  'Organization',
  'Device',
  'DeviceDefinition',
  'DeviceMetric',
  // the questions of a symptom check-in: definitional, about no patient
  'Questionnaire',
  // the definitions of Vigil's own extensions and code systems
  'StructureDefinition',
  'CodeSystem',
]);

export type PatientAction = ScopeAction;

export interface AccessDecision {
  allowed: boolean;
  /** Stable code when denied (VIGIL_ERR_AUTH_FORBIDDEN, VIGIL_ERR_AUTH_NOT_IN_CARE_TEAM, …). */
  code?: string;
  reason: string;
}

const allow = (reason: string): AccessDecision => ({ allowed: true, reason });
const deny = (code: string, reason: string): AccessDecision => ({ allowed: false, code, reason });

/**
 * SMART App Launch: a person's token issued to an app is limited by the scopes the app was granted,
 * on top of the person's own access. `user/` scopes: what the user may see; `patient/` scopes: only
 * the launch patient's data. Undefined: no further limit (not an app's token, or the scope allows).
 */
export function smartLimit(
  p: Principal,
  resourceType: string,
  action: PatientAction,
  patientId: string | null | undefined,
): AccessDecision | undefined {
  if (!p.smartClientId) return undefined;
  const g = smartScopeGrants(p.scopes, resourceType, action);
  if (!g.patient && !g.user)
    return deny('VIGIL_ERR_AUTH_SCOPE', `the app's scopes do not allow ${action} of ${resourceType}`);
  // Only patient/ scopes grant it: the launch patient's data, and resources of no patient only
  // when they are directory resources (an unattributed reading is nobody's launch context).
  if (g.user || patientId === undefined) return undefined;
  if (patientId === null)
    return directoryTypes.has(resourceType)
      ? undefined
      : deny('VIGIL_ERR_AUTH_SCOPE', "patient/ scopes allow the launch patient's data only");
  return patientId === p.launchPatient
    ? undefined
    : deny('VIGIL_ERR_AUTH_SCOPE', "patient/ scopes allow the launch patient's data only");
}

/** Patients a SMART app's token with a launch patient may search: that patient only. */
function limitPatients(p: Principal | undefined, set: PatientSet): PatientSet {
  if (!p?.smartClientId || !p.launchPatient) return set;
  const lp = p.launchPatient;
  if (set === 'all') return { only: new Set([lp]) };
  if ('only' in set) return { only: new Set(set.only.has(lp) ? [lp] : []) };
  return { only: new Set(set.except.has(lp) ? [] : [lp]) };
}

/**
 * The one place access decisions are made — for the management API, the FHIR API, the live feed
 * and MQTT:
 * - admin: every patient (each access is audited);
 * - clinician, nurse: the patients of the care teams they are an active participant of;
 * - patient: their own data, read only;
 * - integration: resource types its SMART scopes name, for patients whose consent permits sharing;
 * - device: publishes readings for itself (`devicePublishAllowed`); on FHIR (a gateway posting
 *   PHD bundles, `deviceFhir`) it only creates Observations for the patient it is assigned to now
 *   (or for none) and Device resources, and reads only what its conditional creates match.
 */
export class AccessPolicy {
  readonly #careTeams: CareTeamLookup;
  readonly #consent: SharingConsent;

  constructor(careTeams: CareTeamLookup, consent: SharingConsent) {
    this.#careTeams = careTeams;
    this.#consent = consent;
  }

  hasRole(p: Principal | undefined, roles: readonly Role[]): boolean {
    return !!p && p.roles.some((r) => roles.includes(r));
  }

  /** May `p` do `action` on `resourceType` data of patient `patientId`? */
  async canAccessPatient(
    p: Principal | undefined,
    patientId: string,
    action: PatientAction,
    resourceType = 'Observation',
  ): Promise<AccessDecision> {
    const d = await this.#canAccessPatient(p, patientId, action, resourceType);
    return (d.allowed && p && smartLimit(p, resourceType, action, patientId)) || d;
  }

  async #canAccessPatient(
    p: Principal | undefined,
    patientId: string,
    action: PatientAction,
    resourceType: string,
  ): Promise<AccessDecision> {
    if (!p) return deny('VIGIL_ERR_AUTH_REQUIRED', 'not signed in');
    if (p.roles.includes('admin')) return allow('admin');
    if (p.roles.includes('clinician') || p.roles.includes('nurse')) {
      if (!p.practitionerId)
        return deny('VIGIL_ERR_AUTH_NOT_IN_CARE_TEAM', 'account is not linked to a practitioner');
      const patients = await this.#careTeams.patientsOf(p.practitionerId);
      return patients.has(patientId)
        ? allow('care team')
        : deny('VIGIL_ERR_AUTH_NOT_IN_CARE_TEAM', 'patient is not in your care teams');
    }
    if (p.roles.includes('patient')) {
      if (p.patientId !== patientId) return deny('VIGIL_ERR_AUTH_FORBIDDEN', "another patient's data");
      return action === 'read'
        ? allow('own data')
        : deny('VIGIL_ERR_AUTH_FORBIDDEN', 'patients have read access only');
    }
    if (p.roles.includes('integration')) {
      if (!scopeAllows(p.scopes, resourceType, action)) {
        return deny('VIGIL_ERR_AUTH_SCOPE', `scope does not allow ${action} of ${resourceType}`);
      }
      if (!(await this.#consent.isPermitted(patientId, 'integration-sharing'))) {
        return deny('VIGIL_ERR_CONSENT_DENIED', 'the patient has not consented to sharing with integrations');
      }
      return allow('scope and consent');
    }
    return deny('VIGIL_ERR_AUTH_FORBIDDEN', 'your role does not allow access to patient data');
  }

  /** Throws 403 with the decision's code unless allowed. */
  async assertPatientAccess(
    p: Principal | undefined,
    patientId: string,
    action: PatientAction,
    resourceType = 'Observation',
  ): Promise<void> {
    const d = await this.canAccessPatient(p, patientId, action, resourceType);
    if (!d.allowed)
      throw new VigilError(
        d.code ?? 'VIGIL_ERR_AUTH_FORBIDDEN',
        d.reason,
        d.code === 'VIGIL_ERR_AUTH_REQUIRED' ? 401 : 403,
      );
  }

  /**
   * For lists and searches: 'all', or the set of patients `p` may read (care teams, own record;
   * for integrations: scope only — consent must then be checked per patient with canAccessPatient).
   */
  async readablePatients(
    p: Principal | undefined,
    resourceType = 'Observation',
  ): Promise<'all' | Set<string>> {
    if (!p) return new Set();
    if (p.roles.includes('admin')) return 'all';
    if (p.roles.includes('clinician') || p.roles.includes('nurse')) {
      return p.practitionerId ? this.#careTeams.patientsOf(p.practitionerId) : new Set();
    }
    if (p.roles.includes('patient')) return new Set(p.patientId ? [p.patientId] : []);
    if (p.roles.includes('integration') && scopeAllows(p.scopes, resourceType, 'read')) return 'all';
    return new Set();
  }

  /**
   * FHIR API hook (called from src/api/fhir/access.ts `authorizeFhir`): a FHIR interaction on a
   * resource type, for a patient when the resource belongs to one. Resources without a patient
   * (Practitioner, Device, CareTeam lists, …) are readable by staff and integrations with scope;
   * AuditEvent only by admins; writes without a patient only by admins (and scoped integrations).
   */
  async authorizeFhir(
    p: Principal | undefined,
    resourceType: string,
    action: PatientAction,
    patientId?: string | null,
  ): Promise<AccessDecision> {
    const d = await this.#authorizeFhir(p, resourceType, action, patientId);
    return (d.allowed && p && smartLimit(p, resourceType, action, patientId)) || d;
  }

  async #authorizeFhir(
    p: Principal | undefined,
    resourceType: string,
    action: PatientAction,
    patientId?: string | null,
  ): Promise<AccessDecision> {
    if (!p) return deny('VIGIL_ERR_AUTH_REQUIRED', 'not signed in');
    if (p.kind === 'device') return deviceFhir(p, resourceType, action, patientId ?? null);
    if (resourceType === 'AuditEvent') {
      return p.roles.includes('admin') && action === 'read'
        ? allow('admin')
        : deny('VIGIL_ERR_AUTH_FORBIDDEN', 'audit log is for administrators');
    }
    if (patientId) return this.canAccessPatient(p, patientId, action, resourceType);
    if (p.roles.includes('admin')) return allow('admin');
    if (p.roles.includes('integration')) {
      return scopeAllows(p.scopes, resourceType, action)
        ? allow('scope')
        : deny('VIGIL_ERR_AUTH_SCOPE', `scope does not allow ${action} of ${resourceType}`);
    }
    if (action === 'read' && (p.roles.includes('clinician') || p.roles.includes('nurse')))
      return allow('staff directory read');
    if (action === 'read' && p.roles.includes('patient') && directoryTypes.has(resourceType))
      return allow('directory read');
    return deny('VIGIL_ERR_AUTH_FORBIDDEN', `your role does not allow ${action} of ${resourceType}`);
  }

  /**
   * A synchronous view of this policy for one principal (one request): the same rules as
   * canAccessPatient / authorizeFhir, with care teams and consent refusals read up front.
   */
  async snapshot(p: Principal | undefined): Promise<PolicySnapshot> {
    const isStaff =
      !!p && (p.roles.includes('clinician') || p.roles.includes('nurse')) && !p.roles.includes('admin');
    const isIntegration = !!p && p.roles.includes('integration') && !p.roles.includes('admin');
    const team =
      isStaff && p?.practitionerId ? await this.#careTeams.patientsOf(p.practitionerId) : new Set<string>();
    const refusing = isIntegration ? await this.#consent.refusing('integration-sharing') : new Set<string>();
    const decide = (
      resourceType: string,
      action: PatientAction,
      patientId?: string | null,
      interaction?: string,
    ): AccessDecision => {
      const d = decideByRole(resourceType, action, patientId, interaction);
      return (d.allowed && p && smartLimit(p, resourceType, action, patientId)) || d;
    };
    const decideByRole = (
      resourceType: string,
      action: PatientAction,
      patientId?: string | null,
      interaction?: string,
    ): AccessDecision => {
      if (!p) return deny('VIGIL_ERR_AUTH_REQUIRED', 'not signed in');
      if (p.kind === 'device') return deviceFhir(p, resourceType, action, patientId ?? null, interaction);
      if (resourceType === 'AuditEvent') {
        return p.roles.includes('admin') && action === 'read'
          ? allow('admin')
          : deny('VIGIL_ERR_AUTH_FORBIDDEN', 'audit log is for administrators');
      }
      if (p.roles.includes('admin')) return allow('admin');
      if (isIntegration) {
        if (!scopeAllows(p.scopes, resourceType, action))
          return deny('VIGIL_ERR_AUTH_SCOPE', `scope does not allow ${action} of ${resourceType}`);
        if (patientId && refusing.has(patientId))
          return deny(
            'VIGIL_ERR_CONSENT_DENIED',
            'the patient has not consented to sharing with integrations',
          );
        return allow('scope and consent');
      }
      if (isStaff) {
        if (patientId)
          return team.has(patientId)
            ? allow('care team')
            : deny('VIGIL_ERR_AUTH_NOT_IN_CARE_TEAM', 'patient is not in your care teams');
        return action === 'read'
          ? allow('staff directory read')
          : deny('VIGIL_ERR_AUTH_FORBIDDEN', `your role does not allow ${action} of ${resourceType}`);
      }
      if (p.roles.includes('patient')) {
        if (patientId) {
          if (patientId !== p.patientId) return deny('VIGIL_ERR_AUTH_FORBIDDEN', "another patient's data");
          return action === 'read'
            ? allow('own data')
            : deny('VIGIL_ERR_AUTH_FORBIDDEN', 'patients have read access only');
        }
        return action === 'read' && directoryTypes.has(resourceType)
          ? allow('directory read')
          : deny('VIGIL_ERR_AUTH_FORBIDDEN', `not allowed to ${action} ${resourceType}`);
      }
      return deny('VIGIL_ERR_AUTH_FORBIDDEN', 'your role does not allow access to patient data');
    };
    const isPatient = !!p && p.roles.includes('patient') && !p.roles.includes('admin') && !isStaff;
    const patients: PatientSet =
      !p || (!p.roles.includes('admin') && !isStaff && !isIntegration && !isPatient)
        ? { only: new Set() }
        : p.roles.includes('admin')
          ? 'all'
          : isIntegration
            ? { except: refusing }
            : isStaff
              ? { only: team }
              : { only: new Set(p.patientId ? [p.patientId] : []) };
    return {
      decide,
      patientBound: isStaff || isIntegration || isPatient || !!p?.smartClientId,
      patients: limitPatients(p, patients),
    };
  }

  /** Live feed: may `p` receive the stream of `patientId`? */
  canSubscribePatient(p: Principal | undefined, patientId: string): Promise<AccessDecision> {
    return this.canAccessPatient(p, patientId, 'read');
  }
}

/**
 * A device on the FHIR API (a PHD gateway posting its bundles): creates Observations for the patient
 * it is assigned to now (`p.patientId`, read when it authenticated) or for none (the PHD IG's
 * coincident-time Observation has the device as subject), and Device resources (the PHD and the
 * gateway); reads only those (what its conditional creates match); nothing else — no update, no
 * delete, no search of other data.
 */
export function deviceFhir(
  p: Principal,
  resourceType: string,
  action: PatientAction,
  patientId: string | null,
  interaction?: string,
): AccessDecision {
  if (interaction !== undefined && interaction !== 'create' && interaction !== 'read')
    return deny('VIGIL_ERR_AUTH_FORBIDDEN', `devices may not ${interaction} through FHIR`);
  if (resourceType === 'Device') return allow('device registers devices of its bundle');
  if (resourceType !== 'Observation')
    return deny('VIGIL_ERR_AUTH_FORBIDDEN', `devices may not ${action} ${resourceType}`);
  if (patientId === null)
    return action === 'write'
      ? allow('device observation without a patient')
      : deny('VIGIL_ERR_AUTH_FORBIDDEN', 'devices read only their own observations');
  return patientId === p.patientId
    ? allow('the patient the device is assigned to')
    : deny('VIGIL_ERR_AUTH_FORBIDDEN', 'not the patient this device is assigned to');
}

/** MQTT and HTTP ingest: a device publishes only for itself. */
export function devicePublishAllowed(
  authenticatedDeviceId: string | undefined,
  topicDeviceId: string | undefined,
): authenticatedDeviceId is string {
  return !!authenticatedDeviceId && authenticatedDeviceId === topicDeviceId;
}
