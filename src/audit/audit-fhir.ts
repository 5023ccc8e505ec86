import type { AuditEventResource } from './audit-event.ts';
import type { AuditLog, AuditQuery } from './audit-log.ts';

/**
 * AuditEvent read/search for the FHIR API: takes FHIR search parameters (patient, agent, type,
 * subtype, action, outcome, entity-type, date=geYYYY…/ltYYYY…, _count) and answers AuditEvent
 * resources, newest first. Only administrators may call it (the caller enforces that through
 * the access policy: `policy.authorizeFhir(principal, 'AuditEvent', 'read')`).
 */
export async function auditEventsAsFhir(
  audit: AuditLog,
  params: URLSearchParams | Record<string, string>,
): Promise<AuditEventResource[]> {
  const p = params instanceof URLSearchParams ? params : new URLSearchParams(params);
  const q: AuditQuery = {};
  const ref = (v: string | null, type: string) => (v ? v.replace(new RegExp(`^${type}/`), '') : undefined);
  q.patient = ref(p.get('patient'), 'Patient');
  q.agent = p.get('agent') ?? undefined;
  q.type = p.get('type')?.split('|').at(-1);
  q.subtype = p.get('subtype')?.split('|').at(-1);
  q.action = p.get('action') ?? undefined;
  q.outcome = p.get('outcome') ?? undefined;
  q.entityType = p.get('entity-type') ?? undefined;
  q.entityId = p.get('entity')?.split('/').at(-1);
  for (const d of p.getAll('date')) {
    const m = /^(ge|gt|le|lt|eq)?(.+)$/.exec(d);
    if (!m?.[2]) continue;
    if (m[1] === 'ge' || m[1] === 'gt') q.since = m[2];
    else if (m[1] === 'le' || m[1] === 'lt') q.until = m[2];
  }
  const count = Number(p.get('_count') ?? 100);
  q.limit = Number.isFinite(count) ? Math.min(Math.max(count, 1), 1000) : 100;
  if (p.get('_id')) {
    const id = p.get('_id');
    return (await audit.search({ ...q, limit: 1000 })).map((r) => r.event).filter((e) => e.id === id);
  }
  return (await audit.search(q)).map((r) => r.event);
}
