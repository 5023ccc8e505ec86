/**
 * The search parameters the server supports, per resource type. Generic resources are indexed on
 * write from `paths` (see index-values.ts); Observation and registry Devices are searched through
 * their columns, the definitions here name and describe them for parsing and the CapabilityStatement.
 */
export type ParamType = 'token' | 'reference' | 'string' | 'date' | 'quantity' | 'composite';

export interface SearchParamDef {
  name: string;
  type: ParamType;
  /** Dotted element paths (arrays are flattened at each step). */
  paths: string[];
  /** Reference targets, for a bare id (`patient=123`). */
  targets?: string[];
  documentation: string;
  /** Composite parameters: the token and the quantity parameter of its two parts (`code$value`). */
  components?: [string, string];
  /** The FHIR R4 SearchParameter this one implements, when its name does not say it. */
  definition?: string;
}

const p = (
  name: string,
  type: ParamType,
  paths: string[],
  documentation: string,
  targets?: string[],
): SearchParamDef => ({
  name,
  type,
  paths,
  documentation,
  ...(targets ? { targets } : {}),
});

const identifier = p('identifier', 'token', ['identifier'], 'An identifier (system|value)');
const name = p(
  'name',
  'string',
  ['name'],
  'A portion of the name (starts with, case-insensitive; :exact, :contains)',
);
const family = p('family', 'string', ['name.family'], 'A portion of the family name');
const given = p('given', 'string', ['name.given'], 'A portion of the given name');
const status = p('status', 'token', ['status'], 'Status');

export const resourceTypes = [
  'Patient',
  'Practitioner',
  'PractitionerRole',
  'Organization',
  'CareTeam',
  'Device',
  'DeviceDefinition',
  'DeviceMetric',
  'Observation',
  'Flag',
  'Communication',
  'ServiceRequest',
  'Consent',
  'AuditEvent',
  'Bundle',
  'Group',
  // the remote-monitoring exchange with an EHR (docs/fhir.md): the episode, why, personal targets,
  // symptom check-ins
  'Encounter',
  'Condition',
  'Goal',
  'Questionnaire',
  'QuestionnaireResponse',
  'MedicationRequest',
  'MedicationAdministration',
  'MedicationStatement',
  // the definitions of Vigil's own content (conformance-views.ts)
  'StructureDefinition',
  'CodeSystem',
] as const;
export type SupportedType = (typeof resourceTypes)[number];

/**
 * Read and search only: written by the server itself — Flag (alerts) and Communication
 * (notifications) are views of the alert tables, ServiceRequest of the measurement requests,
 * AuditEvent of the audit log (alert-views.ts), DeviceDefinition of the device-model catalogue
 * (device-definitions.ts).
 */
export const readOnlyTypes: ReadonlySet<string> = new Set([
  'MedicationAdministration',
  'MedicationStatement',
  'AuditEvent',
  'Flag',
  'Communication',
  'DeviceDefinition',
  'ServiceRequest',
  'StructureDefinition',
  'CodeSystem',
]);

/** Common parameters a type's store cannot answer (rejected as unknown, left out of metadata). */
export const unsupportedCommon: Partial<Record<SupportedType, readonly string[]>> = {
  Flag: ['_lastUpdated'],
  Communication: ['_lastUpdated'],
  ServiceRequest: ['_lastUpdated'],
  AuditEvent: ['_lastUpdated'],
  DeviceDefinition: ['_lastUpdated'],
  MedicationAdministration: ['_lastUpdated'],
  MedicationStatement: ['_lastUpdated'],
  StructureDefinition: ['_lastUpdated'],
  CodeSystem: ['_lastUpdated'],
};

export function isSupportedType(t: string): t is SupportedType {
  return (resourceTypes as readonly string[]).includes(t);
}

export const searchParams: Record<SupportedType, Record<string, SearchParamDef>> = index({
  Patient: [
    identifier,
    name,
    family,
    given,
    p('birthdate', 'date', ['birthDate'], 'The date of birth'),
    p('gender', 'token', ['gender'], 'Administrative gender'),
    p('general-practitioner', 'reference', ['generalPractitioner'], 'General practitioner', [
      'Practitioner',
      'PractitionerRole',
      'Organization',
    ]),
    p('organization', 'reference', ['managingOrganization'], 'Managing organization', ['Organization']),
  ],
  Practitioner: [identifier, name, family, given],
  PractitionerRole: [
    identifier,
    p('practitioner', 'reference', ['practitioner'], 'The practitioner', ['Practitioner']),
    p('organization', 'reference', ['organization'], 'The organization', ['Organization']),
    p('role', 'token', ['code'], 'The role'),
  ],
  Organization: [identifier, p('name', 'string', ['name', 'alias'], 'A portion of the name or alias')],
  CareTeam: [
    identifier,
    status,
    p('patient', 'reference', ['subject'], 'The patient the care team is for', ['Patient']),
    p('subject', 'reference', ['subject'], 'The subject', ['Patient', 'Group']),
    p('participant', 'reference', ['participant.member'], 'A member of the team', [
      'Practitioner',
      'PractitionerRole',
      'Patient',
      'Organization',
      'CareTeam',
      'RelatedPerson',
    ]),
    p('category', 'token', ['category'], 'Type of team'),
  ],
  Device: [
    identifier,
    p('patient', 'reference', ['patient'], 'The patient the device is assigned to', ['Patient']),
    p('type', 'token', ['type'], 'The type of device'),
    p('manufacturer', 'string', ['manufacturer'], 'The manufacturer'),
    p('model', 'string', ['modelNumber'], 'The model number'),
  ],
  DeviceDefinition: [
    p(
      'identifier',
      'token',
      ['identifier'],
      'The model id (urn:vigil:device-model-id) or the UDI-DI (GS1 or HIBCC system)',
    ),
    p('type', 'token', ['type'], 'The kind of device (urn:vigil:device-kind)'),
  ],
  DeviceMetric: [
    identifier,
    p('source', 'reference', ['source'], 'The device that produces the metric', ['Device']),
    p('parent', 'reference', ['parent'], 'The parent device', ['Device']),
    p('type', 'token', ['type'], 'The metric type'),
    p('category', 'token', ['category'], 'The metric category'),
  ],
  Observation: [
    p('patient', 'reference', ['subject'], 'The patient the observation is about', ['Patient']),
    p('subject', 'reference', ['subject'], 'The subject (Patient/x or Device/x)', [
      'Patient',
      'Device',
      'Group',
      'Location',
    ]),
    p('code', 'token', ['code'], 'Any coding of the code (system|code; comma = or)'),
    p('category', 'token', ['category'], 'The category (vital-signs, laboratory, …)'),
    p('date', 'date', ['effective'], 'The effective time (all prefixes: eq ne lt gt le ge sa eb ap)'),
    p('device', 'reference', ['device'], 'The device that made the observation', ['Device', 'DeviceMetric']),
    p(
      'status',
      'token',
      ['status'],
      'The status (final, amended, preliminary, …; ingest readings are final or preliminary)',
    ),
    p(
      'identifier',
      'token',
      ['identifier'],
      'A business identifier (system|value); ingest readings by their idempotency key',
    ),
    p('encounter', 'reference', ['encounter'], 'The encounter', ['Encounter']),
    p(
      'value-quantity',
      'quantity',
      ['valueQuantity'],
      'The value ([prefix]number[|system|code]; prefixes eq ne lt gt le ge sa eb ap; UCUM units convert within a dimension)',
    ),
    p('component-code', 'token', ['component.code'], 'A component code (system|code)'),
    p('combo-code', 'token', ['code', 'component.code'], 'The code or a component code'),
    p(
      'component-value-quantity',
      'quantity',
      ['component.valueQuantity'],
      'A component value (as value-quantity)',
    ),
    p(
      'combo-value-quantity',
      'quantity',
      ['valueQuantity', 'component.valueQuantity'],
      'The value or a component value (as value-quantity)',
    ),
    {
      ...p(
        'code-value-quantity',
        'composite',
        [],
        'Code and value together: code$value-quantity (e.g. http://loinc.org|8867-4$gt100)',
      ),
      components: ['code', 'value-quantity'],
    },
    {
      ...p(
        'component-code-value-quantity',
        'composite',
        [],
        'A component with that code and value: code$value-quantity (e.g. http://loinc.org|8480-6$ge140)',
      ),
      components: ['component-code', 'component-value-quantity'],
    },
    {
      ...p(
        'combo-code-value-quantity',
        'composite',
        [],
        'The Observation or one of its components with that code and value',
      ),
      components: ['combo-code', 'combo-value-quantity'],
    },
  ],
  // Flag and Communication are views of the alert tables: only what those views can answer.
  Flag: [
    p(
      'status',
      'token',
      ['status'],
      'active (open, acknowledged, snoozed, escalated) or inactive (resolved)',
    ),
    p('patient', 'reference', ['subject'], 'The patient', ['Patient']),
    p('subject', 'reference', ['subject'], 'The subject (a Patient)', ['Patient']),
    p('category', 'token', ['category'], 'The category (every alert is clinical)'),
  ],
  Communication: [
    p('patient', 'reference', ['subject'], 'The patient the alert was about', ['Patient']),
    p('subject', 'reference', ['subject'], 'The subject (a Patient)', ['Patient']),
    p('category', 'token', ['category'], 'The category (every notification is alert)'),
  ],
  // Measurement requests (repeat home readings detection asked for): what the view can answer.
  ServiceRequest: [
    p('status', 'token', ['status'], 'active (open), completed (fulfilled) or revoked (expired, cancelled)'),
    p('code', 'token', ['code'], 'The LOINC code of the measurement asked for'),
    p('patient', 'reference', ['subject'], 'The patient', ['Patient']),
    p('subject', 'reference', ['subject'], 'The subject (a Patient)', ['Patient']),
  ],
  Consent: [
    identifier,
    status,
    p('patient', 'reference', ['patient'], 'The patient', ['Patient']),
    p('category', 'token', ['category'], 'The category'),
    p('date', 'date', ['dateTime'], 'When recorded'),
  ],
  AuditEvent: [
    p('type', 'token', ['type'], 'The event type'),
    p('subtype', 'token', ['subtype'], 'The event subtype'),
    p('action', 'token', ['action'], 'The action'),
    p('date', 'date', ['recorded'], 'When recorded'),
    p('agent', 'reference', ['agent.who'], 'Who took part', [
      'Practitioner',
      'PractitionerRole',
      'Patient',
      'Device',
      'Organization',
      'RelatedPerson',
    ]),
    p('entity', 'reference', ['entity.what'], 'The entity involved', ['Patient', 'Observation', 'Device']),
    p('patient', 'reference', ['entity.what'], 'The patient involved', ['Patient']),
    p('outcome', 'token', ['outcome'], 'The outcome'),
  ],
  Bundle: [identifier, p('type', 'token', ['type'], 'The bundle type')],
  // Prescriptions a patient's adherence devices are scored against (docs/adherence.md).
  MedicationRequest: [
    identifier,
    status,
    p('intent', 'token', ['intent'], 'The intent (order, plan, …)'),
    p('patient', 'reference', ['subject'], 'The patient', ['Patient']),
    p('subject', 'reference', ['subject'], 'The subject (a Patient)', ['Patient']),
    p('code', 'token', ['medicationCodeableConcept'], 'The medication code'),
    p('authoredon', 'date', ['authoredOn'], 'When the request was written'),
  ],
  // Views of the adherence devices' stored events (smart inhalers, pill bottles).
  MedicationAdministration: [
    p('patient', 'reference', ['subject'], 'The patient', ['Patient']),
    p('subject', 'reference', ['subject'], 'The subject (a Patient)', ['Patient']),
    p('request', 'reference', ['request'], 'The MedicationRequest the dose belongs to', [
      'MedicationRequest',
    ]),
    p('device', 'reference', ['device'], 'The inhaler', ['Device']),
    p('effective-time', 'date', ['effectiveDateTime'], 'When the dose was given'),
  ],
  MedicationStatement: [
    p('patient', 'reference', ['subject'], 'The patient', ['Patient']),
    p('subject', 'reference', ['subject'], 'The subject (a Patient)', ['Patient']),
    p('effective', 'date', ['effectiveDateTime'], 'When the bottle was opened'),
  ],
  Group: [
    identifier,
    p('type', 'token', ['type'], 'The kind of members'),
    p('member', 'reference', ['member.entity'], 'A member', [
      'Patient',
      'Practitioner',
      'PractitionerRole',
      'Device',
      'Group',
    ]),
  ],
  Encounter: [
    identifier,
    status,
    p('patient', 'reference', ['subject'], 'The patient', ['Patient']),
    p('subject', 'reference', ['subject'], 'The subject (a Patient or Group)', ['Patient', 'Group']),
    p('class', 'token', ['class'], 'The class (e.g. VR virtual, HH home health, IMP inpatient)'),
    p('type', 'token', ['type'], 'The type of encounter'),
    p('date', 'date', ['period'], 'A date within the period of the encounter'),
    p('episode-of-care', 'reference', ['episodeOfCare'], 'The episode of care', ['EpisodeOfCare']),
    p('service-provider', 'reference', ['serviceProvider'], 'The organization responsible', ['Organization']),
  ],
  Condition: [
    identifier,
    p(
      'clinical-status',
      'token',
      ['clinicalStatus'],
      'active, recurrence, relapse, inactive, remission, resolved',
    ),
    p('verification-status', 'token', ['verificationStatus'], 'unconfirmed, provisional, confirmed, …'),
    p('category', 'token', ['category'], 'The category (problem-list-item, encounter-diagnosis)'),
    p('code', 'token', ['code'], 'The condition (SNOMED CT, ICD-10)'),
    p('patient', 'reference', ['subject'], 'The patient', ['Patient']),
    p('subject', 'reference', ['subject'], 'The subject (a Patient or Group)', ['Patient', 'Group']),
    p('encounter', 'reference', ['encounter'], 'The encounter', ['Encounter']),
    p('onset-date', 'date', ['onset'], 'When the condition began (onsetDateTime or onsetPeriod)'),
    p('recorded-date', 'date', ['recordedDate'], 'When it was first recorded'),
  ],
  Goal: [
    identifier,
    p('lifecycle-status', 'token', ['lifecycleStatus'], 'proposed, planned, accepted, active, …'),
    p('achievement-status', 'token', ['achievementStatus'], 'in-progress, improving, achieved, …'),
    p('category', 'token', ['category'], 'The category'),
    p('patient', 'reference', ['subject'], 'The patient', ['Patient']),
    p('subject', 'reference', ['subject'], 'The subject', ['Patient', 'Group', 'Organization']),
    p('target-date', 'date', ['target.dueDate'], 'When a target is due'),
  ],
  Questionnaire: [
    identifier,
    status,
    p('url', 'token', ['url'], 'The canonical URL'),
    p('version', 'token', ['version'], 'The business version'),
    p('name', 'string', ['name'], 'A portion of the computer-friendly name'),
    p('title', 'string', ['title'], 'A portion of the title'),
    p('code', 'token', ['item.code'], 'A code of an item'),
    p('date', 'date', ['date'], 'When last changed'),
  ],
  QuestionnaireResponse: [
    identifier,
    status,
    p('patient', 'reference', ['subject'], 'The patient', ['Patient']),
    p('subject', 'reference', ['subject'], 'The subject'),
    p('questionnaire', 'token', ['questionnaire'], 'The questionnaire answered (its canonical URL)'),
    p('authored', 'date', ['authored'], 'When it was answered'),
    p('author', 'reference', ['author'], 'Who answered', [
      'Patient',
      'Practitioner',
      'PractitionerRole',
      'RelatedPerson',
      'Device',
      'Organization',
    ]),
    p('encounter', 'reference', ['encounter'], 'The encounter', ['Encounter']),
  ],
  StructureDefinition: [p('url', 'token', ['url'], 'The canonical URL')],
  CodeSystem: [p('url', 'token', ['url'], 'The canonical URL')],
});

function index(
  defs: Record<SupportedType, SearchParamDef[]>,
): Record<SupportedType, Record<string, SearchParamDef>> {
  const out = {} as Record<SupportedType, Record<string, SearchParamDef>>;
  for (const [type, list] of Object.entries(defs) as Array<[SupportedType, SearchParamDef[]]>) {
    out[type] = Object.fromEntries(list.map((d) => [d.name, d]));
  }
  return out;
}

/** Parameters every type supports. */
export const commonParams: Record<string, SearchParamDef> = {
  _id: p('_id', 'token', ['id'], 'Logical id'),
  _lastUpdated: p(
    '_lastUpdated',
    'date',
    ['meta.lastUpdated'],
    'When the resource last changed (all prefixes)',
  ),
};

/** Result parameters understood by search. */
export const resultParams = new Set([
  '_count',
  '_offset',
  '_cursor',
  '_sort',
  '_summary',
  '_include',
  '_total',
  '_format',
  '_pretty',
  '_elements',
  '_revinclude',
]);

/**
 * Which stores answer which modifiers (beyond the plain parameter): `generic` is the indexed
 * fhir_resource store, Observation its own table, the rest views of other tables (no modifiers but
 * `:not` on tokens and the reference type modifier).
 */
export type StoreKind = 'observation' | 'generic' | 'view';
export function storeKind(type: SupportedType): StoreKind {
  if (type === 'Observation') return 'observation';
  if (type === 'Flag' || type === 'Communication' || type === 'AuditEvent' || type === 'Device')
    return 'view';
  return 'generic';
}
