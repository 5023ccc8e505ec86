import type { Resource } from '@medplum/fhirtypes';
import { newId } from '../../core/ids.ts';
import { compartmentOf, requireFhirAccess } from './access.ts';
import { createResource } from './create.ts';
import { badRequest, methodNotAllowed, preconditionFailed } from './outcomes.ts';
import { bodyResource, inTransaction, parseIfMatch, writeResponse } from './respond.ts';
import { readOnlyTypes, type SupportedType } from './search/params.ts';
import { conditionalMatches } from './search.ts';
import type { FhirRequest, FhirResponse, FhirServices } from './types.ts';
import { validateForWrite } from './validate.ts';

/** PUT [type]/[id] — update, or create with that id (update-as-create). `If-Match` → 412 on a stale version. */
export async function updateResource(
  req: FhirRequest,
  svc: FhirServices,
  type: SupportedType,
  id: string,
): Promise<FhirResponse> {
  if (readOnlyTypes.has(type)) throw methodNotAllowed(`${type} is read-only through this API`);
  requireFhirAccess(req.principal, 'update', type); // before the resource is known: the type
  const resource = bodyResource(req, type);
  if (resource.id === undefined)
    throw badRequest(`the body of PUT ${type}/${id} must carry id '${id}'`, `${type}.id`);
  if (resource.id !== id)
    throw badRequest(`the body's id '${resource.id}' does not match the URL id '${id}'`, `${type}.id`);
  const ifVersion = parseIfMatch(req.headers['if-match']);
  return inTransaction(svc, async (s) => {
    const warnings = await validateForWrite(s, resource, req.baseUrl);
    const store = s.store.for(type);
    const current = await store.read(s.sql, id);
    const before = current?.kind === 'found' ? compartmentOf(current.stored.resource) : undefined;
    requireFhirAccess(req.principal, 'update', type, before ?? compartmentOf(resource));
    if (before !== undefined && before !== compartmentOf(resource))
      requireFhirAccess(req.principal, 'update', type, compartmentOf(resource));
    if (ifVersion !== undefined && current?.kind !== 'found')
      throw preconditionFailed(`${type}/${id} does not exist or was deleted (If-Match)`);
    const { stored, created } = await store.update(s.sql, id, resource as Resource, ifVersion);
    return writeResponse(req, created ? 201 : 200, stored, created, warnings);
  });
}

/** PUT [type]?criteria — none: create; one: update it; several: 412. */
export async function conditionalUpdate(
  req: FhirRequest,
  svc: FhirServices,
  type: SupportedType,
  criteria: string,
): Promise<FhirResponse> {
  return inTransaction(svc, async (s) => {
    const matches = await conditionalMatches(s, type, criteria);
    if (matches.length > 1) throw preconditionFailed(`'${criteria}' matches more than one ${type}`);
    const body = bodyResource(req, type);
    const match = matches[0];
    if (match) {
      const id = match.resource.id as string;
      if (body.id !== undefined && body.id !== id)
        throw badRequest(`the body's id '${body.id}' is not the matching ${type}/${id}`, `${type}.id`);
      return updateResource({ ...req, body: { ...body, id } }, s, type, id);
    }
    if (body.id !== undefined && type !== 'Observation') return updateResource(req, s, type, body.id);
    return createResource(
      { ...req, headers: { ...req.headers, 'if-none-exist': undefined } },
      s,
      type,
      type === 'Observation' ? newId() : undefined,
    );
  });
}
