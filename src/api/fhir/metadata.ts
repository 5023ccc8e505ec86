import type { CapabilityStatement, CapabilityStatementRestResource } from '@medplum/fhirtypes';
import {
  commonParams,
  readOnlyTypes,
  resourceTypes,
  searchParams,
  unsupportedCommon,
} from './search/params.ts';
import { includesFor, modifiersFor, revincludesFor, sortsFor } from './search/parse.ts';
import { backport, topics } from './subscriptions/topics.ts';
import type { FhirRequest, FhirResponse } from './types.ts';

/**
 * Subscription (R4 Subscriptions Backport IG, topic-based): the topics offered as the backport's
 * CapabilityStatement extension, its profile, `$status` and `$events` (docs/fhir.md, Subscriptions).
 */
function subscriptionResource(): CapabilityStatementRestResource {
  return {
    type: 'Subscription',
    profile: `${backport}/StructureDefinition/backport-subscription`,
    extension: topics.map((t) => ({
      url: `${backport}/StructureDefinition/capabilitystatement-subscriptiontopic-canonical`,
      valueCanonical: t.url,
    })),
    interaction: (['read', 'create', 'delete', 'search-type'] as const).map((code) => ({ code })),
    versioning: 'no-version',
    readHistory: false,
    updateCreate: false,
    conditionalCreate: false,
    conditionalUpdate: false,
    conditionalDelete: 'not-supported',
    searchParam: [{ name: 'status', type: 'token', documentation: 'requested, active, error or off' }],
    operation: [
      { name: 'status', definition: `${backport}/OperationDefinition/backport-subscription-status` },
      { name: 'events', definition: `${backport}/OperationDefinition/backport-subscription-events` },
    ],
    documentation:
      'Topic-based (R4 Subscriptions Backport IG): criteria is a topic canonical (GET /fhir/SubscriptionTopic lists them as Basic), filtered by patient with the backport-filter-criteria extension; channel rest-hook; payload empty, id-only or full-resource; heartbeat and timeout extensions. A subscriber sees and receives only its own subscriptions and the events of patients it may read (decided again at delivery). Updates are refused: delete and create again.',
  };
}

function resource(type: (typeof resourceTypes)[number]): CapabilityStatementRestResource {
  const readOnly = readOnlyTypes.has(type);
  const interactions = readOnly
    ? (['read', 'vread', 'search-type', 'history-instance', 'history-type'] as const)
    : ([
        'read',
        'vread',
        'update',
        'patch',
        'delete',
        'history-instance',
        'history-type',
        'create',
        'search-type',
      ] as const);
  const r: CapabilityStatementRestResource = {
    type,
    profile: `http://hl7.org/fhir/StructureDefinition/${type}`,
    interaction: interactions.map((code) => ({ code })),
    versioning: 'versioned-update',
    readHistory: true,
    updateCreate: type !== 'Observation',
    // create.ts and update.ts take conditions for every writable type
    conditionalCreate: !readOnly,
    conditionalUpdate: !readOnly,
    conditionalDelete: readOnly ? 'not-supported' : 'single',
    conditionalRead: 'not-supported',
    referencePolicy: ['literal', 'local'],
    searchInclude: [...includesFor(type)],
    searchRevInclude: [...revincludesFor(type)],
    searchParam: [
      ...Object.values(commonParams).filter((p) => !unsupportedCommon[type]?.includes(p.name)),
      ...Object.values(searchParams[type]),
    ].map((p) => {
      const modifiers = modifiersFor(type, p);
      return {
        name: p.name,
        definition: `http://hl7.org/fhir/SearchParameter/${p.name.startsWith('_') ? `Resource-${p.name.slice(1)}` : `${type}-${p.name}`}`,
        type: p.type,
        documentation: modifiers.length
          ? `${p.documentation}. Modifiers: ${modifiers.map((m) => `:${m}`).join(' ')}`
          : p.documentation,
      };
    }),
  };
  const chains = Object.values(searchParams[type])
    .filter((p) => p.type === 'reference')
    .map((p) => p.name);
  const searchNotes = [
    chains.length
      ? `Chaining one level deep on ${chains.join(', ')} (e.g. ${chains[0]}.identifier=, ${chains[0]}:<Type>.<param>=); a deeper chain is refused (not-supported).`
      : '',
    r.searchRevInclude?.length
      ? `_has one level deep over ${r.searchRevInclude.join(', ')} (_has:<Type>:<param>:<its parameter>=).`
      : '',
    'Chains and _has resolve to at most 1000 resources (beyond: too-costly). Prefer: handling=strict (default) refuses an unknown parameter or modifier with a 400; handling=lenient ignores it and reports it in an OperationOutcome entry.',
  ].filter((x) => x !== '');
  r.documentation = searchNotes.join(' ');
  const validate = {
    name: 'validate',
    definition: 'http://hl7.org/fhir/OperationDefinition/Resource-validate',
  };
  if (!readOnly) r.operation = [validate];
  if (type === 'Observation') {
    r.operation = [
      { name: 'lastn', definition: 'http://hl7.org/fhir/OperationDefinition/Observation-lastn' },
      validate,
    ];
    r.documentation = `${r.documentation} Readings from connected devices and Observations written here share one store and one id space. Sort: ${sortsFor(type).join(', ')} (prefix - for descending). Ids are server-assigned UUIDs (no update-as-create with a client id).`;
  }
  if (type === 'Flag')
    r.documentation =
      `${r.documentation} ` +
      'Vigil alerts, read-only (same id as /api/v1/alerts): status active while open, acknowledged, snoozed or escalated; inactive once resolved. Newest first. Only the current version is kept (history and vread answer it alone).';
  if (type === 'Communication')
    r.documentation =
      `${r.documentation} ` +
      'Alert notifications, read-only: about the Flag of their alert; status from their deliveries (completed once any channel delivered, not-done when all expired). Newest first.';
  if (type === 'ServiceRequest')
    r.documentation =
      'Measurement requests, read-only (same id as /api/v1/patients/{id}/measurement-requests): a repeat home reading Vigil asked of the patient before alarming. status active while open, completed once a reading answered it (supportingInfo), revoked once expired or cancelled (extension measurement-request-status says which). Newest first.';
  if (type === 'MedicationAdministration' || type === 'MedicationStatement')
    r.documentation =
      `${r.documentation} ` +
      "Adherence devices, read-only (same id as the stored reading): smart-inhaler actuations as MedicationAdministration, pill-bottle openings as MedicationStatement (status unknown: opened, not seen taken), against the patient's MedicationRequest. Newest first.";
  if (type === 'AuditEvent')
    r.documentation =
      `${r.documentation} ` +
      'The audit log, read-only, for administrators: newest first; search pages reach the newest 1000 matches (the whole log: /api/v1/audit/export). One value per parameter.';
  if (type === 'Device')
    r.documentation =
      `${r.documentation} ` +
      'Devices of the Vigil device registry are listed here read-only (same id); Devices written through FHIR are stored as sent.';
  if (type === 'DeviceDefinition')
    r.documentation =
      'The device-model catalogue, read-only (same id as /api/v1/device-models): UDI-DI, the FDA and EU MDR regulatory record, SBOM and end of support, and open recalls and advisories as properties. Only the current version is kept.';
  if (type === 'StructureDefinition' || type === 'CodeSystem')
    r.documentation = `The definitions of Vigil's own content, read-only (shipped with Vigil; docs/fhir.md lists every Vigil URL): ${type}/quality-flag.`;
  if (type === 'Patient' || type === 'Group')
    r.operation = [
      ...(r.operation ?? []),
      { name: 'export', definition: 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export' },
    ];
  if (type === 'Patient')
    r.operation = [
      ...(r.operation ?? []),
      { name: 'everything', definition: 'http://hl7.org/fhir/OperationDefinition/Patient-everything' },
    ];
  return r;
}

/** GET metadata — what this server supports, truthfully. */
export async function capabilityStatement(req: FhirRequest): Promise<FhirResponse> {
  const cs: CapabilityStatement = {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: '2025-01-01',
    publisher: 'Vigil',
    kind: 'instance',
    software: { name: 'Vigil', version: '0.1.0' },
    implementation: { description: 'Vigil FHIR R4 API', url: req.baseUrl },
    fhirVersion: '4.0.1',
    format: ['application/fhir+json', 'application/json'],
    instantiates: ['http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data'],
    rest: [
      {
        mode: 'server',
        security: {
          cors: true,
          // SMART App Launch: the OAuth endpoints (the same as /.well-known/smart-configuration).
          extension: [
            {
              url: 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris',
              extension: [
                { url: 'authorize', valueUri: `${req.baseUrl.replace(/\/fhir$/, '')}/oauth/authorize` },
                { url: 'token', valueUri: `${req.baseUrl.replace(/\/fhir$/, '')}/oauth/token` },
                { url: 'revoke', valueUri: `${req.baseUrl.replace(/\/fhir$/, '')}/auth/revoke` },
              ],
            },
          ],
          service: [
            {
              coding: [
                {
                  system: 'http://terminology.hl7.org/CodeSystem/restful-security-service',
                  code: 'SMART-on-FHIR',
                },
              ],
              text: 'OAuth2 bearer token',
            },
          ],
          description:
            'SMART App Launch 2 and Backend Services (see /fhir/.well-known/smart-configuration). Every request but metadata needs a bearer access token (Authorization: Bearer …). Staff roles (admin, clinician, nurse) see their care teams (admins all); integrations and backend services need SMART system scopes (system/<Type>.read|rs, system/*.*); a patient reads their own compartment; a SMART app is limited by its patient/ or user/ scopes on top of its user’s access.',
        },
        resource: [...resourceTypes.map(resource), subscriptionResource()],
        interaction: [{ code: 'transaction' }, { code: 'batch' }, { code: 'history-system' }],
        searchParam: [
          { name: '_count', type: 'number', documentation: 'Page size (max 1000)' },
          { name: '_offset', type: 'number', documentation: 'Paging offset (next links carry it)' },
          { name: '_sort', type: 'string', documentation: 'Sort keys' },
          { name: '_cursor', type: 'string', documentation: 'Keyset paging position (next links carry it)' },
          { name: '_summary', type: 'token', documentation: 'true, text, data, count or false' },
          { name: '_elements', type: 'string', documentation: 'Top-level elements to return' },
          { name: '_total', type: 'token', documentation: 'none, estimate or accurate (Bundle.total)' },
          { name: '_include', type: 'special', documentation: 'See searchInclude per type (no :iterate)' },
          {
            name: '_revinclude',
            type: 'special',
            documentation: 'See searchRevInclude per type (no :iterate; at most 1000 per page and value)',
          },
          {
            name: '_has',
            type: 'special',
            documentation: 'One level: _has:<Type>:<reference param>:<param>=value (see each type)',
          },
        ],
        operation: [
          { name: 'export', definition: 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export' },
        ],
      },
    ],
  };
  return { status: 200, resource: cs };
}
