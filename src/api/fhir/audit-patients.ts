import type { FhirRequest, FhirResponse } from './types.ts';

/** At most this many patients are named per FHIR interaction (one audit record each). */
const maxPatients = 1000;

function patientRef(ref: unknown): string | undefined {
  if (typeof ref !== 'string') return undefined;
  const m = /(?:^|\/)Patient\/([^/?#]+)/.exec(ref);
  return m?.[1];
}

function addFromResource(out: Set<string>, r: unknown): void {
  if (!r || typeof r !== 'object') return;
  const res = r as Record<string, unknown>;
  if (res['resourceType'] === 'Patient' && typeof res['id'] === 'string') out.add(res['id']);
  for (const field of ['subject', 'patient', 'beneficiary']) {
    const v = res[field];
    const id = patientRef((v as { reference?: unknown } | undefined)?.reference);
    if (id) out.add(id);
  }
  if (res['resourceType'] === 'Bundle' && Array.isArray(res['entry']))
    for (const e of res['entry'] as Array<{ resource?: unknown }>) {
      if (out.size >= maxPatients) return;
      addFromResource(out, e?.resource);
    }
}

/**
 * The patients a FHIR interaction touched, for its audit records: the Patient it names
 * (`Patient/x`, `patient=`/`subject=`), the patients of the resources it read or wrote
 * (response, or request body for a write).
 */
export function patientsOfFhir(req: FhirRequest, res: FhirResponse): string[] {
  const out = new Set<string>();
  const [type, id] = req.path.split('/');
  if (type === 'Patient' && id && !id.startsWith('$')) out.add(id);
  for (const p of ['patient', 'subject', 'patient:Patient', 'subject:Patient'])
    for (const v of req.query.getAll(p))
      for (const one of v.split(',')) {
        const ref = one.includes('/') ? patientRef(one) : one;
        if (ref) out.add(ref);
      }
  if (type === 'Patient' && !id)
    for (const v of req.query.getAll('_id')) for (const one of v.split(',')) out.add(one);
  if (res.status < 400) {
    addFromResource(out, res.resource);
    if (req.method !== 'GET') addFromResource(out, req.body);
  }
  return [...out].filter((p) => p.length > 0 && p.length <= 200).slice(0, maxPatients);
}
