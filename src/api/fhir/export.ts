import type { Group, Resource } from '@medplum/fhirtypes';
import { newId } from '../../core/ids.ts';
import { authorizeFhir, compartmentOf, requireFhirAccess } from './access.ts';
import { badRequest, forbidden, notFound, outcome } from './outcomes.ts';
import { dateRange } from './search/date.ts';
import { isSupportedType, resourceTypes, type SupportedType, searchParams } from './search/params.ts';
import type { FhirRequest, FhirResponse, FhirServices } from './types.ts';

export type ExportLevel = 'system' | 'patient' | 'group';

/** Types in the Patient compartment (exported at Patient and Group level). */
export const compartmentTypes: readonly SupportedType[] = resourceTypes.filter(
  (t) => t === 'Patient' || 'patient' in searchParams[t],
);
const ndjsonFormats = new Set(['application/fhir+ndjson', 'application/ndjson', 'ndjson']);

/**
 * Bulk Data kick-off: GET|POST [base]/$export, Patient/$export, Group/[id]/$export.
 * 202 Accepted with Content-Location of the status URL; the job runs in the background.
 */
export async function exportKickoff(
  req: FhirRequest,
  svc: FhirServices,
  level: ExportLevel,
  groupId?: string,
): Promise<FhirResponse> {
  if (req.method !== 'GET' && req.method !== 'POST') throw badRequest('$export is GET or POST');
  const params = new URLSearchParams(req.query);
  if (req.method === 'POST' && req.body && typeof req.body === 'object') {
    for (const p of (
      req.body as { parameter?: Array<{ name: string; valueString?: string; valueInstant?: string }> }
    ).parameter ?? []) {
      const v = p.valueString ?? p.valueInstant;
      if (v !== undefined) params.append(p.name, v);
    }
  }
  const format = params.get('_outputFormat');
  if (format && !ndjsonFormats.has(format))
    throw badRequest(`_outputFormat '${format}' is not supported (application/fhir+ndjson)`, '_outputFormat');
  for (const k of params.keys()) {
    if (!['_type', '_since', '_outputFormat'].includes(k))
      throw badRequest(`$export parameter '${k}' is not supported`, k);
  }
  const allowed = level === 'system' ? resourceTypes : compartmentTypes;
  // Without _type: every type the principal may export (an integration's scopes, never AuditEvent).
  const types = params.get('_type')
    ? (params.get('_type') as string).split(',')
    : allowed.filter((t) => authorizeFhir(req.principal, 'export', t));
  if (!types.length) requireFhirAccess(req.principal, 'export', allowed[0] ?? 'Patient');
  for (const t of types) {
    if (!isSupportedType(t) || !allowed.includes(t))
      throw badRequest(`_type '${t}' cannot be exported at ${level} level`, '_type');
    requireFhirAccess(req.principal, 'export', t);
  }
  const sinceRaw = params.get('_since');
  const since = sinceRaw ? dateRange(sinceRaw)?.low : null;
  if (sinceRaw && !since) throw badRequest(`_since '${sinceRaw}' is not an instant`, '_since');
  if (level === 'group') {
    const g = await svc.store.for('Group').read(svc.sql, groupId as string);
    if (g?.kind !== 'found') throw notFound(`Group/${groupId} is not known`);
  }
  const id = newId();
  const requestUrl = `${req.baseUrl}/${req.path}${req.query.size ? `?${req.query}` : ''}`;
  // Only admins and integrations get here (requireFhirAccess 'export'); an integration's output
  // leaves out patients refusing sharing — when the job runs and again at each download.
  const consentFilter = req.principal.roles.includes('admin') ? null : 'integration-sharing';
  await svc.sql.query(
    `insert into fhir_export_job (id, status, level, group_id, types, since, request_url, owner_id, consent_filter) values ($1, 'accepted', $2, $3, $4::jsonb, $5, $6, $7, $8)`,
    [id, level, groupId ?? null, JSON.stringify(types), since, requestUrl, req.principal.id, consentFilter],
  );
  svc.startExport(id);
  return {
    status: 202,
    headers: { 'content-location': `${req.baseUrl}/$export-status/${id}` },
    resource: outcome('information', 'informational', `export ${id} accepted`),
  };
}

async function ownJob(req: FhirRequest, svc: FhirServices, id: string): Promise<Record<string, unknown>> {
  if (!/^[0-9a-f-]{36}$/i.test(id)) throw notFound(`export ${id} is not known`);
  const rows = await svc.sql.query('select * from fhir_export_job where id = $1', [id]);
  const job = rows[0];
  if (!job) throw notFound(`export ${id} is not known`);
  if (job['owner_id'] !== req.principal.id && !req.principal.roles.includes('admin'))
    throw forbidden('this export belongs to someone else');
  return job;
}

/** GET $export-status/[id]: 202 while running, 200 with the manifest when done; DELETE cancels. */
export async function exportStatus(req: FhirRequest, svc: FhirServices, id: string): Promise<FhirResponse> {
  const job = await ownJob(req, svc, id);
  if (req.method === 'DELETE') {
    await svc.sql.query(
      `update fhir_export_job set status = 'cancelled' where id = $1 and status in ('accepted', 'running')`,
      [id],
    );
    await svc.sql.query('delete from fhir_export_file where job_id = $1', [id]);
    return { status: 202, resource: outcome('information', 'informational', `export ${id} cancelled`) };
  }
  if (req.method !== 'GET') throw badRequest('$export-status is GET or DELETE');
  const status = job['status'] as string;
  if (status === 'accepted' || status === 'running')
    return { status: 202, headers: { 'x-progress': status, 'retry-after': '1' } };
  if (status === 'cancelled') throw notFound(`export ${id} was cancelled`);
  if (status === 'failed')
    return { status: 500, resource: outcome('error', 'exception', `export failed: ${String(job['error'])}`) };
  const files = await svc.sql.query<{ seq: number; resource_type: string; count: number }>(
    'select seq, resource_type, count from fhir_export_file where job_id = $1 order by seq',
    [id],
  );
  const manifest = {
    transactionTime: (job['created_at'] as Date).toISOString(),
    request: job['request_url'],
    requiresAccessToken: true,
    output: files.map((f) => ({
      type: f.resource_type,
      url: `${req.baseUrl}/$export-file/${id}/${f.seq}`,
      count: f.count,
    })),
    error: [],
  };
  return { status: 200, raw: { contentType: 'application/json', body: JSON.stringify(manifest) } };
}

/** GET $export-file/[id]/[seq]: one NDJSON file (authenticated, owner only). */
export async function exportDownload(
  req: FhirRequest,
  svc: FhirServices,
  id: string,
  seq: string,
): Promise<FhirResponse> {
  const job = await ownJob(req, svc, id);
  const rows = await svc.sql.query<{ content: string }>(
    'select content from fhir_export_file where job_id = $1 and seq = $2',
    [id, Number(seq) || 0],
  );
  if (!rows[0]) throw notFound(`export ${id} has no file ${seq}`);
  let body = rows[0].content;
  if (job['consent_filter'] === 'integration-sharing') {
    // A refusal recorded after the job ran applies to the download too.
    const refusing = await svc.consentRefusing('integration-sharing');
    if (refusing.size) {
      const kept = body
        .split('\n')
        .filter((l) => l !== '' && !refusing.has(compartmentOf(JSON.parse(l) as Resource) ?? ''));
      body = kept.length ? `${kept.join('\n')}\n` : '';
    }
  }
  return { status: 200, raw: { contentType: 'application/fhir+ndjson', body } };
}

export function groupPatients(g: Group): string[] {
  return (g.member ?? [])
    .map((m) => m.entity?.reference ?? '')
    .filter((r) => r.startsWith('Patient/'))
    .map((r) => r.slice('Patient/'.length));
}
