import { compartmentOf, requireFhirAccess } from './access.ts';
import { gone, notFound } from './outcomes.ts';
import { versionHeaders } from './respond.ts';
import type { SupportedType } from './search/params.ts';
import type { FhirRequest, FhirResponse, FhirServices } from './types.ts';

/** GET [type]/[id] */
export async function readResource(
  req: FhirRequest,
  svc: FhirServices,
  type: SupportedType,
  id: string,
): Promise<FhirResponse> {
  requireFhirAccess(req.principal, 'read', type); // before the resource is known: the type
  const f = await svc.store.for(type).read(svc.sql, id);
  if (!f) throw notFound(`${type}/${id} is not known`);
  if (f.kind === 'deleted') throw gone(`${type}/${id} was deleted (version ${f.versionId})`);
  requireFhirAccess(req.principal, 'read', type, compartmentOf(f.stored.resource));
  return { status: 200, resource: f.stored.resource, headers: versionHeaders(f.stored) };
}
