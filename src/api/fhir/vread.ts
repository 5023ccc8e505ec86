import { compartmentOf, requireFhirAccess } from './access.ts';
import { badRequest, gone, notFound } from './outcomes.ts';
import { versionHeaders } from './respond.ts';
import type { SupportedType } from './search/params.ts';
import type { FhirRequest, FhirResponse, FhirServices } from './types.ts';

/** GET [type]/[id]/_history/[vid] */
export async function vreadResource(
  req: FhirRequest,
  svc: FhirServices,
  type: SupportedType,
  id: string,
  vid: string,
): Promise<FhirResponse> {
  requireFhirAccess(req.principal, 'vread', type); // before the resource is known: the type
  const versionId = Number(vid);
  if (!Number.isInteger(versionId) || versionId < 1) throw badRequest(`'${vid}' is not a version id`);
  const f = await svc.store.for(type).vread(svc.sql, id, versionId);
  if (!f) throw notFound(`${type}/${id} has no version ${vid}`);
  if (f.kind === 'deleted') throw gone(`${type}/${id} version ${vid} is a deletion`);
  requireFhirAccess(req.principal, 'vread', type, compartmentOf(f.stored.resource));
  return { status: 200, resource: f.stored.resource, headers: versionHeaders(f.stored) };
}
