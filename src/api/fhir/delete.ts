import { compartmentOf, requireFhirAccess } from './access.ts';
import { methodNotAllowed, notFound, preconditionFailed } from './outcomes.ts';
import { inTransaction } from './respond.ts';
import { readOnlyTypes, type SupportedType } from './search/params.ts';
import { conditionalMatches } from './search.ts';
import type { FhirRequest, FhirResponse, FhirServices } from './types.ts';

/** DELETE [type]/[id] — 204; again on a deleted resource 204; never existed 404. */
export async function deleteResource(
  req: FhirRequest,
  svc: FhirServices,
  type: SupportedType,
  id: string,
): Promise<FhirResponse> {
  if (readOnlyTypes.has(type)) throw methodNotAllowed(`${type} is read-only through this API`);
  requireFhirAccess(req.principal, 'delete', type); // before the resource is known: the type
  return inTransaction(svc, async (s) => {
    const store = s.store.for(type);
    const current = await store.read(s.sql, id);
    if (!current) throw notFound(`${type}/${id} is not known`);
    if (current.kind === 'deleted') return { status: 204 };
    requireFhirAccess(req.principal, 'delete', type, compartmentOf(current.stored.resource));
    await store.delete(s.sql, id);
    return { status: 204 };
  });
}

/** DELETE [type]?criteria — none: 204; one: delete it; several: 412. */
export async function conditionalDelete(
  req: FhirRequest,
  svc: FhirServices,
  type: SupportedType,
  criteria: string,
): Promise<FhirResponse> {
  if (readOnlyTypes.has(type)) throw methodNotAllowed(`${type} is read-only through this API`);
  return inTransaction(svc, async (s) => {
    const matches = await conditionalMatches(s, type, criteria);
    if (matches.length > 1) throw preconditionFailed(`'${criteria}' matches more than one ${type}`);
    const m = matches[0];
    if (!m) return { status: 204 };
    return deleteResource(req, s, type, m.resource.id as string);
  });
}
