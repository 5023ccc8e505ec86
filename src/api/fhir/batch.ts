import type { Bundle, BundleEntry, OperationOutcome, Resource } from '@medplum/fhirtypes';
import { newId } from '../../core/ids.ts';
import { createResource } from './create.ts';
import { badRequest, forbidden, isFhirError, preconditionFailed } from './outcomes.ts';
import { errorResponse, handleFhir, route } from './router.ts';
import { isSupportedType } from './search/params.ts';
import { conditionalMatches } from './search.ts';
import type { FhirRequest, FhirResponse, FhirServices } from './types.ts';

const statusText: Record<number, string> = {
  200: '200 OK',
  201: '201 Created',
  204: '204 No Content',
  400: '400 Bad Request',
  401: '401 Unauthorized',
  403: '403 Forbidden',
  404: '404 Not Found',
  405: '405 Method Not Allowed',
  409: '409 Conflict',
  410: '410 Gone',
  412: '412 Precondition Failed',
  422: '422 Unprocessable Entity',
  500: '500 Internal Server Error',
};

/** Processing order inside a transaction (FHIR R4 §3.1.0.11.2). */
const order: Record<string, number> = { DELETE: 0, POST: 1, PUT: 2, PATCH: 2, GET: 3, HEAD: 3 };

interface Planned {
  index: number;
  entry: BundleEntry;
  req: FhirRequest;
  /** POST with an id chosen in advance (so references to its fullUrl resolve). */
  assignedId?: string;
  /** A conditional create that matched: answer with the existing resource, create nothing. */
  matched?: FhirResponse;
}

/** POST [base] with a batch or transaction Bundle. */
export async function processBundle(req: FhirRequest, svc: FhirServices): Promise<FhirResponse> {
  const bundle = req.body as Bundle | undefined;
  if (bundle?.resourceType !== 'Bundle') throw badRequest('POST to the base needs a Bundle', 'resourceType');
  if (bundle.type !== 'batch' && bundle.type !== 'transaction')
    throw badRequest(`Bundle.type must be batch or transaction, not '${bundle.type}'`, 'Bundle.type');
  const entries = bundle.entry ?? [];
  if (bundle.type === 'batch') {
    const out: BundleEntry[] = [];
    for (const [i, e] of entries.entries()) {
      let res: FhirResponse;
      try {
        res = await handleFhir(entryRequest(req, e, i), svc);
      } catch (err) {
        res = errorResponse(err, svc);
      }
      out.push(responseEntry(req, res));
    }
    return { status: 200, resource: { resourceType: 'Bundle', type: 'batch-response', entry: out } };
  }
  try {
    const results = await svc.db.transaction(async (tx) => {
      const s: FhirServices = { ...svc, sql: tx };
      const plan = entries.map((e, i) => ({ index: i, entry: e, req: entryRequest(req, e, i) }) as Planned);
      const refs = await resolveIds(plan, s);
      const responses = new Array<FhirResponse>(plan.length);
      for (const p of [...plan].sort(
        (x, y) => (order[x.req.method] ?? 9) - (order[y.req.method] ?? 9) || x.index - y.index,
      )) {
        if (p.matched) {
          responses[p.index] = p.matched;
          continue;
        }
        const body = p.req.body === undefined ? undefined : rewriteReferences(p.req.body, refs);
        const r = { ...p.req, ...(body !== undefined ? { body } : {}) };
        const res = p.assignedId
          ? await createResource(r, s, p.req.path as never, p.assignedId)
          : await route(r, s);
        if (res.status >= 400) throw Object.assign(new Error('entry failed'), { response: res });
        responses[p.index] = res;
      }
      return responses;
    });
    return {
      status: 200,
      resource: {
        resourceType: 'Bundle',
        type: 'transaction-response',
        entry: results.map((r) => responseEntry(req, r)),
      },
    };
  } catch (e) {
    const failed = (e as { response?: FhirResponse }).response;
    if (failed) return failed;
    if (isFhirError(e)) {
      const oc = e.outcome as OperationOutcome;
      return { status: e.status, resource: oc };
    }
    return errorResponse(e, svc);
  }
}

/** An entry's request as a FhirRequest (url relative to the base, or absolute under it). */
function entryRequest(req: FhirRequest, e: BundleEntry, i: number): FhirRequest {
  const r = e.request;
  if (!r?.method || !r.url)
    throw badRequest(`entry ${i} has no request method and url`, `Bundle.entry[${i}].request`);
  let url = r.url;
  if (url.startsWith(req.baseUrl)) url = url.slice(req.baseUrl.length);
  const u = new URL(url.replace(/^\//, ''), 'http://base/');
  const path = decodeURIComponent(u.pathname.slice(1));
  if (path === '' && r.method === 'POST')
    throw badRequest(
      `entry ${i} posts a Bundle to the base; nesting is not allowed`,
      `Bundle.entry[${i}].request.url`,
    );
  const headers: Record<string, string | undefined> = { prefer: req.headers['prefer'] };
  if (r.ifNoneExist) headers['if-none-exist'] = r.ifNoneExist;
  if (r.ifMatch) headers['if-match'] = r.ifMatch;
  return {
    method: r.method as FhirRequest['method'],
    path,
    query: u.searchParams,
    headers,
    ...(e.resource ? { body: e.resource } : {}),
    principal: req.principal,
    baseUrl: req.baseUrl,
  };
}

/**
 * Before anything is written: gives each POST an id (or the id its If-None-Exist matches) and each
 * conditional PUT its target, so that every `urn:uuid:` (or other fullUrl) reference can be rewritten
 * to `Type/id`.
 */
async function resolveIds(plan: Planned[], svc: FhirServices): Promise<Map<string, string>> {
  const refs = new Map<string, string>();
  for (const p of plan) {
    const type = p.req.path.split('/')[0] ?? '';
    const fullUrl = p.entry.fullUrl;
    if (p.req.method === 'POST' && type === 'Patient' && p.req.principal.kind === 'device') {
      // A device's gateway bundle names its patient as a conditional create (PHD IG): for a device
      // that is the patient it is assigned to, whatever the criteria; it creates no Patient.
      const assigned = p.req.principal.patientId;
      if (!assigned)
        throw forbidden(
          'VIGIL_ERR_AUTH_FORBIDDEN: this device is not assigned to a patient; its bundle cannot name one',
        );
      p.matched = { status: 200, headers: { location: `${p.req.baseUrl}/Patient/${assigned}` } };
      if (fullUrl) refs.set(fullUrl, `Patient/${assigned}`);
      continue;
    }
    if (p.req.method === 'POST' && isSupportedType(type) && !p.req.path.includes('/')) {
      const criteria = p.req.headers['if-none-exist'];
      if (criteria) {
        const matches = await conditionalMatches(svc, type, criteria);
        if (matches.length > 1)
          throw preconditionFailed(
            `entry ${p.index}: ifNoneExist '${criteria}' matches more than one ${type}`,
          );
        const m = matches[0];
        if (m) {
          p.matched = {
            status: 200,
            resource: m.resource,
            headers: {
              etag: `W/"${m.versionId}"`,
              location: `${p.req.baseUrl}/${type}/${m.resource.id}/_history/${m.versionId}`,
            },
          };
          if (fullUrl) refs.set(fullUrl, `${type}/${m.resource.id}`);
          continue;
        }
      }
      p.assignedId = newId();
      p.req.path = type;
      if (fullUrl) refs.set(fullUrl, `${type}/${p.assignedId}`);
    } else if (p.req.method === 'PUT' && isSupportedType(type) && fullUrl) {
      const id = p.req.path.split('/')[1];
      if (id) refs.set(fullUrl, `${type}/${id}`);
      else if (p.req.query.size) {
        const matches = await conditionalMatches(svc, type, p.req.query.toString());
        const m = matches.length === 1 ? matches[0] : undefined;
        if (m) refs.set(fullUrl, `${type}/${m.resource.id}`);
      }
    }
  }
  return refs;
}

/** Replaces every `reference` naming a resolved fullUrl; an unresolved urn:uuid is a 400. */
export function rewriteReferences<T>(node: T, refs: ReadonlyMap<string, string>): T {
  if (Array.isArray(node)) return node.map((n) => rewriteReferences(n, refs)) as T;
  if (!node || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node as Record<string, unknown>)) {
    if (k === 'reference' && typeof v === 'string') {
      const target = refs.get(v);
      if (target) out[k] = target;
      else if (v.startsWith('urn:uuid:') || v.startsWith('urn:oid:'))
        throw badRequest(`reference '${v}' does not name an entry of this Bundle`);
      else out[k] = v;
    } else out[k] = rewriteReferences(v, refs);
  }
  return out as T;
}

function responseEntry(req: FhirRequest, res: FhirResponse): BundleEntry {
  const h = res.headers ?? {};
  const entry: BundleEntry = {
    response: {
      status: statusText[res.status] ?? String(res.status),
      ...(h['location'] ? { location: h['location'] } : {}),
      ...(h['etag'] ? { etag: h['etag'] } : {}),
      ...(h['last-modified'] ? { lastModified: new Date(h['last-modified']).toISOString() } : {}),
      ...(res.status >= 400 && res.resource ? { outcome: res.resource as OperationOutcome } : {}),
    },
  };
  if (res.status < 400 && res.resource) {
    entry.resource = res.resource as Resource;
    if (res.resource.id) entry.fullUrl = `${req.baseUrl}/${res.resource.resourceType}/${res.resource.id}`;
  }
  return entry;
}
