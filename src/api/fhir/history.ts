import type { Bundle } from '@medplum/fhirtypes';
import { compartmentOf, isCompartmentBound, patientCompartmentTypes, requireFhirAccess } from './access.ts';
import { badRequest, forbidden, notFound } from './outcomes.ts';
import { dateRange } from './search/date.ts';
import type { SupportedType } from './search/params.ts';
import { maxCount } from './search/parse.ts';
import type { FhirRequest, FhirResponse, FhirServices } from './types.ts';

/** GET [type]/[id]/_history and GET [type]/_history (newest first; `_count`, `_since`). */
export async function historyResource(
  req: FhirRequest,
  svc: FhirServices,
  type: SupportedType,
  id?: string,
): Promise<FhirResponse> {
  // The history of a whole type spans every patient: for patient-bound principals only where the
  // type belongs to no patient (Practitioner, Organization, …), and then as for its resources.
  if (id === undefined && isCompartmentBound(req.principal) && patientCompartmentTypes.has(type))
    throw forbidden(
      `VIGIL_ERR_AUTH_FORBIDDEN: the history of all ${type} resources is for administrators; ask per resource`,
    );
  if (id === undefined && isCompartmentBound(req.principal))
    requireFhirAccess(req.principal, 'history', type, null);
  requireFhirAccess(req.principal, 'history', type); // before the resource is known: the type
  const count = Math.min(Number(req.query.get('_count') ?? 100), maxCount);
  if (!Number.isInteger(count) || count < 0)
    throw badRequest('_count must be a non-negative integer', '_count');
  const sinceRaw = req.query.get('_since');
  const since = sinceRaw ? dateRange(sinceRaw)?.low : undefined;
  if (sinceRaw && !since) throw badRequest(`_since '${sinceRaw}' is not an instant`, '_since');
  const entries = await svc.store.for(type).history(svc.sql, id, { count, ...(since ? { since } : {}) });
  if (id !== undefined && entries.length === 0) throw notFound(`${type}/${id} is not known`);
  if (id !== undefined) {
    // Every version: a resource moved between patients shows its past only to who may see both.
    for (const e of entries)
      if (e.resource) requireFhirAccess(req.principal, 'history', type, compartmentOf(e.resource));
  }
  const bundle: Bundle = {
    resourceType: 'Bundle',
    type: 'history',
    link: [
      {
        relation: 'self',
        url: `${req.baseUrl}/${type}${id ? `/${id}` : ''}/_history${req.query.size ? `?${req.query}` : ''}`,
      },
    ],
    entry: entries.map((e) => {
      const created = e.versionId === 1;
      return {
        fullUrl: `${req.baseUrl}/${type}/${e.id}`,
        ...(e.resource ? { resource: e.resource } : {}),
        request: {
          method: e.resource ? (created ? 'POST' : 'PUT') : 'DELETE',
          url: created && e.resource ? type : `${type}/${e.id}`,
        },
        response: {
          status: e.resource ? (created ? '201 Created' : '200 OK') : '204 No Content',
          etag: `W/"${e.versionId}"`,
          lastModified: e.lastUpdated,
        },
      };
    }),
  };
  return { status: 200, resource: bundle };
}
