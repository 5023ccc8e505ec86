import type { Resource } from '@medplum/fhirtypes';
import { applyPatch, type Operation } from 'rfc6902';
import { compartmentOf, requireFhirAccess } from './access.ts';
import { applyFhirPathPatch, type FhirPathOperation, fhirPathOperations } from './fhirpath-patch.ts';
import { badRequest, gone, methodNotAllowed, notFound, unprocessable } from './outcomes.ts';
import { inTransaction, parseIfMatch } from './respond.ts';
import { readOnlyTypes, type SupportedType } from './search/params.ts';
import type { FhirRequest, FhirResponse, FhirServices } from './types.ts';
import { updateResource } from './update.ts';

const ops = new Set(['add', 'remove', 'replace', 'move', 'copy', 'test']);

/**
 * The JSON Patch document of a PATCH: the body itself (Content-Type application/json-patch+json),
 * or inside a transaction a Binary carrying it base64-encoded, as FHIR R4 §3.1.0.7.1 describes.
 */
function patchDocument(req: FhirRequest): Operation[] | FhirPathOperation[] {
  let body = req.body;
  if ((body as { resourceType?: unknown } | undefined)?.resourceType === 'Parameters')
    return fhirPathOperations(body as Record<string, unknown>);
  const binary = body as { resourceType?: unknown; contentType?: unknown; data?: unknown } | undefined;
  if (binary?.resourceType === 'Binary') {
    if (binary.contentType !== 'application/json-patch+json' || typeof binary.data !== 'string')
      throw badRequest('a PATCH Binary must carry application/json-patch+json data', 'Binary.contentType');
    try {
      body = JSON.parse(Buffer.from(binary.data, 'base64').toString('utf8'));
    } catch {
      throw badRequest('the PATCH Binary data is not a JSON Patch document', 'Binary.data');
    }
  }
  if (!Array.isArray(body))
    throw badRequest('a PATCH body must be a JSON Patch document (an array of operations)');
  body.forEach((op: unknown, i) => {
    const o = op as { op?: unknown; path?: unknown; from?: unknown };
    if (
      !o ||
      typeof o !== 'object' ||
      typeof o.op !== 'string' ||
      !ops.has(o.op) ||
      typeof o.path !== 'string'
    )
      throw badRequest(`operation ${i} is not a JSON Patch operation (op and path)`, `[${i}]`);
    if ((o.op === 'move' || o.op === 'copy') && typeof o.from !== 'string')
      throw badRequest(`operation ${i} (${o.op}) needs from`, `[${i}].from`);
    if (['add', 'replace', 'test'].includes(o.op) && !('value' in o))
      throw badRequest(`operation ${i} (${o.op}) needs value`, `[${i}].value`);
  });
  return body as Operation[];
}

/**
 * PATCH [type]/[id] with a JSON Patch or a FHIRPath Patch (a Parameters body, fhirpath-patch.ts): applied to the current version, then stored as an update —
 * so the result passes the same validation, access checks and If-Match as a PUT. The patch may not
 * change resourceType or id.
 */
export async function patchResource(
  req: FhirRequest,
  svc: FhirServices,
  type: SupportedType,
  id: string,
): Promise<FhirResponse> {
  if (readOnlyTypes.has(type)) throw methodNotAllowed(`${type} is read-only through this API`);
  requireFhirAccess(req.principal, 'update', type);
  const patch = patchDocument(req);
  const fhirPath = (req.body as { resourceType?: unknown } | undefined)?.resourceType === 'Parameters';
  const ifVersion = parseIfMatch(req.headers['if-match']);
  return inTransaction(svc, async (s) => {
    const f = await s.store.for(type).read(s.sql, id);
    if (!f) throw notFound(`${type}/${id} is not known`);
    if (f.kind === 'deleted') throw gone(`${type}/${id} was deleted (version ${f.versionId})`);
    requireFhirAccess(req.principal, 'update', type, compartmentOf(f.stored.resource));
    const target = structuredClone(f.stored.resource) as unknown as Record<string, unknown>;
    if (fhirPath) applyFhirPathPatch(target, patch as FhirPathOperation[]);
    else {
      const results = applyPatch(target, patch as Operation[]);
      const failed = results.findIndex((r) => r !== null);
      if (failed >= 0)
        throw unprocessable(
          `operation ${failed} cannot be applied: ${results[failed]?.message}`,
          `[${failed}]`,
        );
    }
    if (target['resourceType'] !== type || target['id'] !== id)
      throw unprocessable('a PATCH may not change resourceType or id');
    const { meta, ...rest } = target as { meta?: Record<string, unknown> };
    const { versionId: _v, lastUpdated: _l, ...keptMeta } = meta ?? {};
    const body = { ...rest, ...(Object.keys(keptMeta).length ? { meta: keptMeta } : {}) } as Resource;
    return updateResource(
      {
        ...req,
        method: 'PUT',
        body,
        headers: { ...req.headers, 'if-match': ifVersion === undefined ? undefined : String(ifVersion) },
      },
      s,
      type,
      id,
    );
  });
}
