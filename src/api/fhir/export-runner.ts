import type { Group, Resource } from '@medplum/fhirtypes';
import type { AuditEventResource } from '../../audit/audit-event.ts';
import { AuditLog } from '../../audit/audit-log.ts';
import { systemClock } from '../../core/clock.ts';
import type { Logger } from '../../core/logger.ts';
import type { Database } from '../../store/database.ts';
import { FhirObservationRepository } from '../../store/fhir-observation-repository.ts';
import type { SearchFilter } from '../../store/fhir-search-filter.ts';
import { compartmentOf } from './access.ts';
import { groupPatients } from './export.ts';
import { renderRow } from './observation-store.ts';
import type { ResourceStore } from './resource-store.ts';
import type { SupportedType } from './search/params.ts';

const page = 1000;

/** The patient an AuditEvent is about (its entity in the Patient role). */
function auditPatientOf(e: AuditEventResource): string | null {
  const ref = e.entity?.find((x) => x.role?.code === '1')?.what?.reference;
  return ref?.startsWith('Patient/') ? ref.slice('Patient/'.length) : null;
}
const perFile = 10_000;

/**
 * Runs a bulk export job in-process: every requested type, as NDJSON files of up to 10,000
 * resources kept in fhir_export_file. Observations are scanned by id (keyset), never by offset.
 */
export async function runExport(
  db: Database,
  store: ResourceStore,
  jobId: string,
  log: Logger,
  consentRefusing: (purpose: 'integration-sharing') => Promise<Set<string>>,
): Promise<void> {
  const claimed = await db.query<{
    types: string[];
    level: string;
    group_id: string | null;
    since: Date | null;
    consent_filter: string | null;
  }>(
    `update fhir_export_job set status = 'running' where id = $1 and status = 'accepted' returning types, level, group_id, since, consent_filter`,
    [jobId],
  );
  const job = claimed[0];
  if (!job) return;
  try {
    // An integration's export leaves out the patients who refuse sharing (read now, at run time).
    const refusing =
      job.consent_filter === 'integration-sharing' ? await consentRefusing('integration-sharing') : undefined;
    const shared = (patientId: string | null) => !refusing || !patientId || !refusing.has(patientId);
    let patients: string[] | undefined;
    if (job.level === 'group') {
      const g = await store.for('Group').read(db, job.group_id as string);
      patients = g?.kind === 'found' ? groupPatients(g.stored.resource as Group) : [];
    }
    const since = job.since ? job.since.toISOString() : undefined;
    let seq = 0;
    for (const type of job.types as SupportedType[]) {
      let lines: string[] = [];
      const flush = async () => {
        if (!lines.length) return;
        const cancelled = await db.query(
          `select 1 from fhir_export_job where id = $1 and status = 'cancelled'`,
          [jobId],
        );
        if (cancelled.length) throw new Error('cancelled');
        await db.query(
          'insert into fhir_export_file (job_id, seq, resource_type, count, content) values ($1, $2, $3, $4, $5)',
          [jobId, seq++, type, lines.length, `${lines.join('\n')}\n`],
        );
        lines = [];
      };
      const add = async (r: Resource) => {
        lines.push(JSON.stringify(r));
        if (lines.length >= perFile) await flush();
      };
      if (type === 'AuditEvent') {
        // The whole log, oldest first, paged by sequence number (keyset) — not the FHIR search,
        // which reaches only the newest 1000 matches. Group level: each member's records.
        const audit = new AuditLog(db, systemClock, log);
        const scopes = patients ? patients.map((patient) => ({ patient })) : [{}];
        for (const scope of scopes) {
          for await (const r of audit.export({ ...scope, ...(since ? { since } : {}) })) {
            const patient = auditPatientOf(r.event);
            if (job.level === 'patient' && !patient) continue;
            if (shared(patient)) await add(r.event as unknown as Resource);
          }
        }
      } else if (type === 'Observation') {
        const repo = new FhirObservationRepository();
        let after: string | null = null;
        for (;;) {
          const scope = patients ?? (job.level === 'patient' ? 'attributed' : undefined);
          const rows = await repo.scan(db, after, page, scope);
          for (const row of rows) {
            if (since && row.lastUpdated < since) continue;
            const r = renderRow(row).resource;
            if (shared(compartmentOf(r))) await add(r);
          }
          if (rows.length < page) break;
          after = (rows.at(-1) as { id: string }).id;
        }
      } else {
        const filters: SearchFilter[] = [];
        if (since) filters.push({ kind: 'lastUpdated', values: [{ prefix: 'ge', low: since, high: since }] });
        if (patients) {
          if (!patients.length) continue;
          filters.push(
            type === 'Patient'
              ? { kind: 'id', values: patients }
              : { kind: 'reference', param: 'patient', values: patients.map((p) => `Patient/${p}`) },
          );
        }
        for (let offset = 0; ; offset += page) {
          const r = await store
            .for(type)
            .search(db, filters, { count: page, offset, sort: ['_id'], countOnly: false }, Date.now());
          for (const s of r.stored) if (shared(compartmentOf(s.resource))) await add(s.resource);
          if (r.stored.length < page) break;
        }
      }
      await flush();
    }
    await db.query(
      `update fhir_export_job set status = 'completed', completed_at = now() where id = $1 and status = 'running'`,
      [jobId],
    );
    log.info({ jobId, files: seq }, 'bulk export completed');
  } catch (e) {
    if (e instanceof Error && e.message === 'cancelled') return;
    log.error({ err: e, jobId }, 'bulk export failed');
    await db.query(`update fhir_export_job set status = 'failed', error = $2 where id = $1`, [
      jobId,
      e instanceof Error ? e.message : String(e),
    ]);
  }
}
