/**
 * Vigil's own FHIR namespace: every code system, identifier system and extension Vigil defines is
 * named here, under ONE base (docs/fhir.md#vigils-own-systems-and-extensions, ADR 0022).
 *
 * Inside Vigil (stored data, pure modules, tests) the base is always DEFAULT_FHIR_NAMESPACE. A
 * deployment that names its own base (`VIGIL_FHIR_NAMESPACE`) sees it at the FHIR boundary only:
 * `fhirNamespaceRewriter` turns the internal base into the deployment's on the way out and back on
 * the way in, so what is stored never depends on the setting and changing it later breaks nothing.
 *
 * Earlier versions used three placeholder bases (`https://vigil.example.org/fhir`, which stays the
 * default, `https://vigil.dev/fhir` and `https://vigil.health/fhir`) and coded the NEWS2 score
 * under a second system (`https://vigil.dev/fhir/CodeSystem/detect`). Those are legacy aliases:
 * accepted on write and search, and served as the one namespace (LEGACY_FHIR_BASES).
 */

/**
 * The documented default base. `example.org` is reserved (RFC 2606): it never resolves, so a
 * production deployment names a base it controls (VIGIL_FHIR_NAMESPACE); the definitions are served
 * by Vigil itself at `[fhir base]/StructureDefinition/<id>` and `[fhir base]/CodeSystem/<id>`.
 */
export const DEFAULT_FHIR_NAMESPACE = 'https://vigil.example.org/fhir';
const NS = DEFAULT_FHIR_NAMESPACE;

/** Every Vigil code system, identifier system and extension URL (internal form). */
export const VigilFhir = {
  // code systems
  /** Device quality and status flags (the quality-flag extension's values). */
  qualityFlag: `${NS}/CodeSystem/quality-flag`,
  /** Vigil's local observation codes (`vigil-…`: NEWS2 score, oxygen supplement, ACVPU, adherence events). */
  observation: `${NS}/CodeSystem/observation`,
  /** ACVPU consciousness answers. */
  acvpu: `${NS}/CodeSystem/acvpu`,
  /** meta.tag codes (`unattributed`). */
  tag: `${NS}/CodeSystem/tag`,
  /** VIGIL_ERR_* codes in OperationOutcome.issue.details. */
  error: `${NS}/CodeSystem/error`,
  /** Remote-monitoring programs (Group and CareTeam codes). */
  monitoringProgram: `${NS}/CodeSystem/monitoring-program`,
  /** Alert rules (Flag.code). */
  alertRule: `${NS}/CodeSystem/alert-rule`,
  /** Why a notification was sent (Communication.reasonCode). */
  notificationReason: `${NS}/CodeSystem/notification-reason`,
  // extensions
  /** A device quality or status flag on an Observation (valueCoding in qualityFlag). */
  qualityFlagExt: `${NS}/StructureDefinition/quality-flag`,
  /** The value as the device sent it before unit conversion (valueQuantity). */
  originalQuantity: `${NS}/StructureDefinition/original-quantity`,
  /** The adherence device of a MedicationRequest. */
  adherenceDevice: `${NS}/StructureDefinition/adherence-device`,
  alertSeverity: `${NS}/StructureDefinition/alert-severity`,
  alertState: `${NS}/StructureDefinition/alert-state`,
  measurementRequestStatus: `${NS}/StructureDefinition/measurement-request-status`,
  measurementRequestOutcome: `${NS}/StructureDefinition/measurement-request-outcome`,
  // identifier systems
  /** An ingest reading's idempotency key (Observation.identifier). */
  idempotencyKey: `${NS}/NamingSystem/idempotency-key`,
  simulatedPatient: `${NS}/sid/simulated-patient`,
  demoPractitioner: `${NS}/sid/demo-practitioner`,
} as const;

/**
 * Vigil's fixed URNs. They are product identifiers rather than deployment names, and some of them
 * are inside hash-chained audit records and stored Consents, so they are not rewritten by the
 * namespace setting; listed here so that every Vigil system comes from this one module.
 */
export const VigilUrn = {
  profilePrefix: 'urn:vigil:profile:',
  auditSubtype: 'urn:vigil:audit-subtype',
  user: 'urn:vigil:user',
  client: 'urn:vigil:client',
  role: 'urn:vigil:role',
  request: 'urn:vigil:request',
  auditChain: 'urn:vigil:audit-chain',
  consentPurpose: 'urn:vigil:consent-purpose',
  deviceId: 'urn:vigil:device-id',
  deviceIdentifier: 'urn:vigil:device-identifier',
  deviceKind: 'urn:vigil:device-kind',
  deviceModelId: 'urn:vigil:device-model-id',
  deviceModelProperty: 'urn:vigil:device-model-property',
  rtlsZone: 'urn:vigil:rtls-zone',
} as const;

/** Earlier placeholder bases, read as the one namespace. */
export const LEGACY_FHIR_BASES: readonly string[] = ['https://vigil.dev/fhir', 'https://vigil.health/fhir'];
/** The NEWS2 score's second system (detect coded it beside the observation code system). */
export const LEGACY_DETECT_SYSTEM = 'https://vigil.dev/fhir/CodeSystem/detect';

/** A Vigil URL in its internal form (legacy bases and the old detect system mapped); others unchanged. */
export function canonicalVigilUrl(url: string): string {
  if (url === LEGACY_DETECT_SYSTEM) return VigilFhir.observation;
  for (const b of LEGACY_FHIR_BASES) if (url.startsWith(`${b}/`)) return `${NS}${url.slice(b.length)}`;
  return url;
}

/**
 * The forms a Vigil URL may have in stored data written before the one namespace (the internal one
 * first), for searches to match old and new alike; a URL that is not Vigil's is its only form.
 */
export function vigilUrlAliases(url: string): string[] {
  const canonical = canonicalVigilUrl(url);
  if (!canonical.startsWith(`${NS}/`)) return [url];
  const rest = canonical.slice(NS.length);
  const out = [canonical, ...LEGACY_FHIR_BASES.map((b) => `${b}${rest}`)];
  if (canonical === VigilFhir.observation) out.push(LEGACY_DETECT_SYSTEM);
  return out;
}

const reEscape = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

export interface FhirNamespaceRewriter {
  /** The deployment's base. */
  readonly namespace: string;
  /** Text leaving Vigil (a serialized resource): internal and legacy forms → the deployment's. */
  outbound(text: string): string;
  /** Text entering Vigil (a request body, a search value): the deployment's and legacy forms → internal. */
  inbound(text: string): string;
}

/**
 * Rewrites Vigil URLs in serialized FHIR (one regular-expression pass; a base counts only when
 * `/CodeSystem/`, `/StructureDefinition/`, `/NamingSystem/`, `/ValueSet/` or `/sid/` follows it). With the default namespace, outbound only maps legacy forms of stored data.
 */
export function fhirNamespaceRewriter(namespace: string = NS): FhirNamespaceRewriter {
  const base = namespace.replace(/\/+$/, '');
  // Only Vigil's own kinds of URL follow a base: a deployment whose namespace is also its FHIR
  // server's base keeps its absolute references (`…/fhir/Patient/1`) as they are.
  const kinds = '(?=/(?:CodeSystem|StructureDefinition|NamingSystem|ValueSet|sid)/)';
  const legacy = [
    `${reEscape(LEGACY_DETECT_SYSTEM)}(?![\\w-])`,
    ...LEGACY_FHIR_BASES.map((b) => `${reEscape(b)}${kinds}`),
  ];
  const out = new RegExp([...legacy, ...(base === NS ? [] : [`${reEscape(NS)}${kinds}`])].join('|'), 'g');
  const inb = new RegExp([...legacy, ...(base === NS ? [] : [`${reEscape(base)}${kinds}`])].join('|'), 'g');
  const detectOut = `${base}${VigilFhir.observation.slice(NS.length)}`;
  return {
    namespace: base,
    outbound: (text) =>
      text.includes('https://vigil.') || (base !== NS && text.includes(NS))
        ? text.replace(out, (m) => (m === LEGACY_DETECT_SYSTEM ? detectOut : base))
        : text,
    inbound: (text) =>
      text.includes('https://vigil.') || (base !== NS && text.includes(base))
        ? text.replace(inb, (m) => (m === LEGACY_DETECT_SYSTEM ? VigilFhir.observation : NS))
        : text,
  };
}
