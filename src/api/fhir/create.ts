import { newId } from '../../core/ids.ts';
import { compartmentOf, requireFhirAccess } from './access.ts';
import { methodNotAllowed, preconditionFailed } from './outcomes.ts';
import { bodyResource, inTransaction, writeResponse } from './respond.ts';
import { readOnlyTypes, type SupportedType } from './search/params.ts';
import { conditionalMatches } from './search.ts';
import type { FhirRequest, FhirResponse, FhirServices } from './types.ts';
import { validateForWrite } from './validate.ts';

/**
 * POST [type] — the server assigns the id (any id in the body is ignored, as the spec says).
 * `If-None-Exist: <criteria>` makes it conditional: one match → 200 with that resource, none →
 * create, several → 412.
 */
export async function createResource(
  req: FhirRequest,
  svc: FhirServices,
  type: SupportedType,
  assignedId?: string,
): Promise<FhirResponse> {
  if (readOnlyTypes.has(type)) throw methodNotAllowed(`${type} is read-only through this API`);
  requireFhirAccess(req.principal, 'create', type); // before the resource is known: the type
  const resource = bodyResource(req, type);
  requireFhirAccess(req.principal, 'create', type, compartmentOf(resource));
  const { id: _ignored, ...rest } = resource;
  return inTransaction(svc, async (s) => {
    // Nothing that fails validation is stored: R4, shipped profiles, local references (validate.ts).
    const warnings = await validateForWrite(
      s,
      { ...rest, resourceType: type } as typeof resource,
      req.baseUrl,
    );
    const criteria = req.headers['if-none-exist'];
    if (criteria) {
      const matches = await conditionalMatches(s, type, criteria);
      if (matches.length > 1)
        throw preconditionFailed(`If-None-Exist '${criteria}' matches more than one ${type}`);
      if (matches[0]) {
        // The match is returned: only to who may read it (else its existence is all that shows).
        requireFhirAccess(req.principal, 'read', type, compartmentOf(matches[0].resource));
        return writeResponse(req, 200, matches[0], false, warnings);
      }
    }
    const id = assignedId ?? newId();
    const { stored, created } = await s.store
      .for(type)
      .create(s.sql, { ...rest, id, resourceType: type } as typeof resource, id);
    return writeResponse(req, created ? 201 : 200, stored, true, warnings);
  });
}
