import type { Bundle, BundleEntry, OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import type { SearchFilter } from '../../store/fhir-search-filter.ts';
import { isCompartmentBound, patientCompartmentTypes, requireFhirAccess, restrictSearch } from './access.ts';
import { historyResource } from './history.ts';
import { allOk, badRequest, forbidden, gone, isFhirError, notFound, withVigilCode } from './outcomes.ts';
import { bodyResource } from './respond.ts';
import { dateRange } from './search/date.ts';
import { resourceTypes, type SupportedType, searchParams } from './search/params.ts';
import { maxCount } from './search/parse.ts';
import type { FhirRequest, FhirResponse, FhirServices } from './types.ts';
import { validateForWrite } from './validate.ts';

/**
 * POST [type]/$validate (and [type]/[id]/$validate): the resource — the body, or a Parameters'
 * `resource` — checked exactly as a write would be (R4, shipped profiles, local references), and
 * nothing stored. 200 with an OperationOutcome listing every issue; "All OK" when there are none.
 */
export async function validateOperation(
  req: FhirRequest,
  svc: FhirServices,
  type: SupportedType,
): Promise<FhirResponse> {
  requireFhirAccess(req.principal, 'read', type);
  let body = req.body as { resourceType?: unknown; parameter?: Array<{ name?: string; resource?: unknown }> };
  if (body?.resourceType === 'Parameters' && type !== ('Parameters' as string)) {
    const r = body.parameter?.find((p) => p.name === 'resource')?.resource;
    if (!r)
      throw badRequest('$validate with Parameters needs a parameter named resource', 'Parameters.parameter');
    body = r as typeof body;
  }
  const resource = bodyResource({ ...req, body }, type);
  let issues: OperationOutcomeIssue[];
  try {
    issues = (await validateForWrite(svc, resource, req.baseUrl)).map((w) => withVigilCode(w));
  } catch (e) {
    if (!isFhirError(e)) throw e;
    issues = e.outcome.issue ?? [];
  }
  const outcome = allOk('validation found no errors');
  if (issues.length) outcome.issue = issues;
  return { status: 200, resource: outcome };
}

/** Types of the Patient compartment that $everything returns (the audit trail is not the record). */
const everythingTypes = resourceTypes.filter(
  (t) =>
    t !== 'Patient' && t !== 'AuditEvent' && patientCompartmentTypes.has(t) && 'patient' in searchParams[t],
);

/**
 * GET Patient/[id]/$everything: the Patient and every resource of its compartment the principal
 * may read (Observations, CareTeams, Devices, Consents, Flags, Communications), each type up to
 * 1000 newest; `_since` (changed at or after), `_type` (comma list) narrow it.
 */
export async function everything(req: FhirRequest, svc: FhirServices, id: string): Promise<FhirResponse> {
  requireFhirAccess(req.principal, 'read', 'Patient');
  const f = await svc.store.for('Patient').read(svc.sql, id);
  if (!f) throw notFound(`Patient/${id} is not known`);
  if (f.kind === 'deleted') throw gone(`Patient/${id} was deleted (version ${f.versionId})`);
  requireFhirAccess(req.principal, 'read', 'Patient', id);
  const sinceRaw = req.query.get('_since');
  const since = sinceRaw ? dateRange(sinceRaw) : undefined;
  if (sinceRaw && !since) throw badRequest(`_since '${sinceRaw}' is not an instant`, '_since');
  const typeParam = req.query.get('_type');
  const wanted = typeParam ? typeParam.split(',').map((t) => t.trim()) : undefined;
  for (const t of wanted ?? [])
    if (t !== 'Patient' && !(everythingTypes as string[]).includes(t))
      throw badRequest(`_type '${t}' is not a type of the Patient compartment this server returns`, '_type');
  const changed = (r: Resource) => !since || (r.meta?.lastUpdated ?? '') >= since.low;
  const entry: BundleEntry[] = [];
  const add = (r: Resource) =>
    entry.push({
      fullUrl: `${req.baseUrl}/${r.resourceType}/${r.id}`,
      resource: r,
      search: { mode: 'match' },
    });
  if ((!wanted || wanted.includes('Patient')) && changed(f.stored.resource)) add(f.stored.resource);
  for (const type of everythingTypes) {
    if (wanted && !wanted.includes(type)) continue;
    try {
      requireFhirAccess(req.principal, 'search', type, id);
    } catch {
      continue; // a type this principal may not read: left out, as a search would refuse it
    }
    const filters: SearchFilter[] = restrictSearch(req.principal, type, [
      { kind: 'reference', param: 'patient', values: [`Patient/${id}`] },
    ]);
    const r = await svc.store
      .for(type)
      .search(svc.sql, filters, { count: maxCount, offset: 0, sort: [], countOnly: false }, svc.clock.now());
    for (const s of r.stored) if (changed(s.resource)) add(s.resource);
  }
  const bundle: Bundle = {
    resourceType: 'Bundle',
    type: 'searchset',
    total: entry.length,
    link: [
      {
        relation: 'self',
        url: `${req.baseUrl}/Patient/${id}/$everything${req.query.size ? `?${req.query}` : ''}`,
      },
    ],
    entry,
  };
  return { status: 200, resource: bundle };
}

/**
 * GET [base]/_history: every type's history merged, newest first (`_count`, `_since`). For
 * principals bound to patients it would span everyone's record: administrators and integrations only.
 */
export async function systemHistory(req: FhirRequest, svc: FhirServices): Promise<FhirResponse> {
  if (isCompartmentBound(req.principal))
    throw forbidden('VIGIL_ERR_AUTH_FORBIDDEN: the history of the whole server is for administrators');
  const count = Math.min(Number(req.query.get('_count') ?? 100), maxCount);
  const parts: BundleEntry[] = [];
  for (const type of resourceTypes) {
    if (type === 'AuditEvent') continue; // the audit trail has its own export
    try {
      requireFhirAccess(req.principal, 'history', type);
    } catch {
      continue;
    }
    const r = await historyResource(req, svc, type);
    parts.push(...(((r.resource as Bundle).entry ?? []) as BundleEntry[]));
  }
  parts.sort((a, b) => (b.response?.lastModified ?? '').localeCompare(a.response?.lastModified ?? ''));
  const bundle: Bundle = {
    resourceType: 'Bundle',
    type: 'history',
    link: [{ relation: 'self', url: `${req.baseUrl}/_history${req.query.size ? `?${req.query}` : ''}` }],
    entry: parts.slice(0, count),
  };
  return { status: 200, resource: bundle };
}
