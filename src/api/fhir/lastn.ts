import type { Bundle } from '@medplum/fhirtypes';
import { requireFhirAccess } from './access.ts';
import type { ObservationStore } from './observation-store.ts';
import { badRequest } from './outcomes.ts';
import { isLenient } from './respond.ts';
import { normalizeReference, parseToken } from './search/parse.ts';
import type { FhirRequest, FhirResponse, FhirServices } from './types.ts';

const known = new Set(['patient', 'subject', 'code', 'category', 'max', '_count', '_format', '_pretty']);

/**
 * GET Observation/$lastn?patient=…&max=N[&code=…][&category=…] — the N most recent Observations
 * per code for one patient (codes given, or every code the patient has), newest first per code.
 */
export async function lastn(req: FhirRequest, svc: FhirServices): Promise<FhirResponse> {
  for (const k of req.query.keys()) {
    if (!known.has(k) && !isLenient(req)) throw badRequest(`unknown parameter '${k}' for $lastn`, k);
  }
  const ref = req.query.get('patient') ?? req.query.get('subject');
  if (!ref) throw badRequest('$lastn needs patient (or subject=Patient/…)', 'patient');
  const norm = normalizeReference(ref);
  if (norm.includes('/') && !norm.startsWith('Patient/'))
    throw badRequest('$lastn works per patient', 'subject');
  const patientId = norm.replace('Patient/', '');
  requireFhirAccess(req.principal, 'search', 'Observation', patientId);
  const max = Number(req.query.get('max') ?? 1);
  if (!Number.isInteger(max) || max < 1 || max > 1000)
    throw badRequest('max must be an integer 1..1000', 'max');
  const codes = req.query
    .getAll('code')
    .flatMap((v) => v.split(','))
    .map(parseToken)
    .map((t) => t.code)
    .filter((c): c is string => !!c);
  const category = req.query
    .getAll('category')
    .flatMap((v) => v.split(','))
    .map((v) => parseToken(v).code)
    .filter((c): c is string => !!c);
  const store = svc.store.for('Observation') as ObservationStore;
  const found = await store.lastn(svc.sql, patientId, {
    max,
    ...(codes.length ? { codes } : {}),
    ...(category.length ? { category } : {}),
  });
  const bundle: Bundle = {
    resourceType: 'Bundle',
    type: 'searchset',
    total: found.length,
    link: [{ relation: 'self', url: `${req.baseUrl}/Observation/$lastn?${req.query}` }],
    entry: found.map((s) => ({
      fullUrl: `${req.baseUrl}/Observation/${s.resource.id}`,
      resource: s.resource,
      search: { mode: 'match' },
    })),
  };
  return { status: 200, resource: bundle };
}
