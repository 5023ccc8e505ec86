import { isVigilError } from '../../core/errors.ts';
import { processBundle } from './batch.ts';
import { createResource } from './create.ts';
import { conditionalDelete, deleteResource } from './delete.ts';
import { exportDownload, exportKickoff, exportStatus } from './export.ts';
import { historyResource } from './history.ts';
import { lastn } from './lastn.ts';
import { capabilityStatement } from './metadata.ts';
import { everything, systemHistory, validateOperation } from './operations.ts';
import { badRequest, FhirError, isFhirError, methodNotAllowed, notFound, outcome } from './outcomes.ts';
import { patchResource } from './patch.ts';
import { readResource } from './read.ts';
import { isSupportedType, type SupportedType } from './search/params.ts';
import { searchResources } from './search.ts';
import { subscriptionRoute } from './subscriptions/routes.ts';
import type { FhirRequest, FhirResponse, FhirServices } from './types.ts';
import { conditionalUpdate, updateResource } from './update.ts';
import { idPattern } from './validate.ts';
import { vreadResource } from './vread.ts';

function typeOf(name: string): SupportedType {
  if (!isSupportedType(name))
    throw notFound(`resource type '${name}' is not supported by this server (see /metadata)`);
  return name;
}

/** Client text fit to quote in an OperationOutcome (no control characters or lone surrogates). */
const printable = (s: string) =>
  [...s.slice(0, 64)].map((c) => (/^[\p{L}\p{N}\p{P}\p{S} ]$/u.test(c) ? c : '\uFFFD')).join('');

/** Dispatches a FHIR request to its interaction; throws FhirError for every refusal. */
export async function route(req: FhirRequest, svc: FhirServices): Promise<FhirResponse> {
  const seg = req.path.split('/').filter((s) => s !== '');
  const m = req.method === 'HEAD' ? 'GET' : req.method;
  const [a, b, c, d] = seg;
  const none = () => methodNotAllowed(`${req.method} is not supported on /${req.path}`);

  if (a === undefined) {
    if (m === 'POST') return processBundle(req, svc);
    throw none();
  }
  if (a === 'metadata' && seg.length === 1) {
    if (m === 'GET') return capabilityStatement(req);
    throw none();
  }
  if (a === '_history' && seg.length === 1) {
    if (m === 'GET') return systemHistory(req, svc);
    throw none();
  }
  if (a === '$export' && seg.length === 1) return exportKickoff(req, svc, 'system');
  if (a === '$export-status' && b && seg.length === 2) return exportStatus(req, svc, b);
  if (a === '$export-file' && b && c && seg.length === 3) return exportDownload(req, svc, b, c);
  if (a === 'Patient' && b === '$export' && seg.length === 2) return exportKickoff(req, svc, 'patient');
  if (a === 'Group' && b && c === '$export' && seg.length === 3) return exportKickoff(req, svc, 'group', b);

  if (a === 'Subscription' || a === 'SubscriptionTopic') return subscriptionRoute(req, svc, seg);
  const type = typeOf(a);
  if (seg.length === 1) {
    if (m === 'GET') return searchResources(req, svc, type, req.query);
    if (m === 'POST') return createResource(req, svc, type);
    if (m === 'PUT' && req.query.size) return conditionalUpdate(req, svc, type, req.query.toString());
    if (m === 'DELETE' && req.query.size) return conditionalDelete(req, svc, type, req.query.toString());
    throw none();
  }
  if (b === '_search' && seg.length === 2 && m === 'POST') {
    const form = typeof req.body === 'string' ? new URLSearchParams(req.body) : new URLSearchParams();
    for (const [k, v] of req.query) form.append(k, v);
    return searchResources(req, svc, type, form);
  }
  if (b === '_history' && seg.length === 2) {
    if (m === 'GET') return historyResource(req, svc, type);
    throw none();
  }
  if (b === '$lastn' && seg.length === 2 && type === 'Observation') {
    if (m === 'GET') return lastn(req, svc);
    throw none();
  }
  if (b === '$validate' && seg.length === 2) {
    if (m === 'POST') return validateOperation(req, svc, type);
    throw none();
  }
  if (b === undefined || b.startsWith('$')) throw notFound(`operation '${b}' is not supported on ${type}`);
  if (!idPattern.test(b)) throw badRequest(`'${printable(b)}' is not a valid FHIR id`, `${type}.id`);
  if (seg.length === 3 && c === '$everything' && type === 'Patient') {
    if (m === 'GET') return everything(req, svc, b);
    throw none();
  }
  if (seg.length === 3 && c === '$validate') {
    if (m === 'POST') return validateOperation(req, svc, type);
    throw none();
  }
  if (seg.length === 2) {
    if (m === 'PATCH') return patchResource(req, svc, type, b);
    if (m === 'GET') return readResource(req, svc, type, b);
    if (m === 'PUT') return updateResource(req, svc, type, b);
    if (m === 'DELETE') return deleteResource(req, svc, type, b);
    throw none();
  }
  if (c === '_history' && m === 'GET') {
    if (seg.length === 3) return historyResource(req, svc, type, b);
    if (seg.length === 4 && d) return vreadResource(req, svc, type, b, d);
  }
  throw notFound(`no FHIR interaction at /${req.path}`);
}

/** route() with every failure as an OperationOutcome response (the HTTP layer and batch use this). */
export async function handleFhir(req: FhirRequest, svc: FhirServices): Promise<FhirResponse> {
  try {
    return await route(req, svc);
  } catch (e) {
    return errorResponse(e, svc);
  }
}

export function errorResponse(e: unknown, svc: Pick<FhirServices, 'log'>): FhirResponse {
  if (isFhirError(e)) return { status: e.status, resource: e.outcome };
  if (isVigilError(e)) {
    const status = e.status >= 400 && e.status < 600 ? e.status : 400;
    const code =
      status === 401 ? 'login' : status === 403 ? 'forbidden' : status === 404 ? 'not-found' : 'processing';
    return { status, resource: outcome('error', code, `${e.code}: ${e.message}`, undefined, e.code) };
  }
  svc.log.error({ err: e }, 'FHIR request failed');
  return {
    status: 500,
    resource: outcome('fatal', 'exception', 'internal error', undefined, 'VIGIL_ERR_INTERNAL'),
  };
}

export { FhirError };
