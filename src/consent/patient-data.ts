import type { Clock } from '../core/clock.ts';
import { VigilError } from '../core/errors.ts';
import type { Database, Sql } from '../store/database.ts';

export const patientIdPattern = /^[A-Za-z0-9.-]{1,64}$/;

/** Renders an `observation` row (all columns) as a FHIR Observation. */
export type ObservationRenderer = (row: Record<string, unknown>) => Record<string, unknown>;

/** Another module's erasure step for its own tables (alerts, programs, …): returns rows removed. */
export type ErasureStep = (tx: Sql, patientId: string) => Promise<Record<string, number>>;

const optionalTables = ['fhir_token', 'fhir_reference', 'fhir_string', 'fhir_date'];

/**
 * A patient's data as a whole: export (every resource about the patient as FHIR NDJSON — the
 * GDPR right of access and portability) and erasure (right to erasure). The audit trail is kept:
 * it is a legal record (GDPR art. 17(3)(b), HIPAA 164.316) and names the patient only by id.
 */
export class PatientDataService {
  readonly #db: Database;
  readonly #clock: Clock;
  readonly #render: ObservationRenderer;
  readonly erasureSteps: ErasureStep[] = [];

  constructor(db: Database, clock: Clock, render: ObservationRenderer) {
    this.#db = db;
    this.#clock = clock;
    this.#render = render;
  }

  static checkId(patientId: string): void {
    if (!patientIdPattern.test(patientId))
      throw new VigilError('VIGIL_ERR_API_VALIDATION', 'patient id must be a FHIR id', 400);
  }

  async exists(patientId: string): Promise<boolean> {
    const rows = await this.#db.query(
      `select 1 from fhir_resource where resource_type = 'Patient' and id = $1 and not deleted`,
      [patientId],
    );
    return rows.length > 0;
  }

  /** Every resource about the patient, one FHIR JSON per line: Patient, linked resources, Observations, AuditEvents. */
  async *exportNdjson(patientId: string, opts: { includeAudit?: boolean } = {}): AsyncGenerator<string> {
    PatientDataService.checkId(patientId);
    const linked = await this.#db.query<{
      resource_type: string;
      id: string;
      version_id: number | string;
      last_updated: string | Date;
      content: Record<string, unknown>;
    }>(
      `select resource_type, id, version_id, last_updated, content from fhir_resource where not deleted and (
         (resource_type = 'Patient' and id = $1) or (resource_type <> 'Patient' and content::text like $2))
       order by resource_type = 'Patient' desc, resource_type, id`,
      [patientId, `%"Patient/${patientId}"%`],
    );
    // The stored content is the resource body; its id and version live in the row (as a FHIR read renders them).
    for (const r of linked)
      yield JSON.stringify({
        resourceType: r.resource_type,
        ...r.content,
        id: r.id,
        meta: {
          ...(r.content['meta'] as Record<string, unknown> | undefined),
          versionId: String(r.version_id),
          lastUpdated: new Date(r.last_updated).toISOString(),
        },
      });
    let after = '';
    for (;;) {
      const rows = await this.#db.query<Record<string, unknown>>(
        'select * from observation where patient_id = $1 and id::text > $2 order by id::text limit 1000',
        [patientId, after],
      );
      for (const row of rows) yield JSON.stringify(this.#render(row));
      if (rows.length < 1000) break;
      after = String(rows.at(-1)?.['id']);
    }
    if (opts.includeAudit ?? true) {
      let seq = 0;
      for (;;) {
        const rows = await this.#db.query<{ seq: string | number; content: unknown }>(
          'select seq, content from audit_event where patient_id = $1 and seq > $2 order by seq limit 1000',
          [patientId, seq],
        );
        for (const r of rows) yield JSON.stringify(r.content);
        if (rows.length < 1000) break;
        seq = Number(rows.at(-1)?.seq);
      }
    }
  }

  /** Erases the patient's data; returns what was removed per kind. */
  async erase(patientId: string, erasedBy: string): Promise<Record<string, number>> {
    PatientDataService.checkId(patientId);
    const present = new Set(
      (
        await this.#db.query<{ name: string }>(
          `select table_name as name from information_schema.tables where table_schema = current_schema() and table_name = any($1::text[])`,
          [[...optionalTables, 'observation_history']],
        )
      ).map((r) => r.name),
    );
    const counts: Record<string, number> = {};
    await this.#db.transaction(async (tx) => {
      const n = async (key: string, sql: string, params: unknown[]) => {
        const rows = await tx.query(sql, params);
        counts[key] = (counts[key] ?? 0) + rows.length;
        return rows;
      };
      // The patient's business identifiers (MRN, …): a dead letter or an export may carry them.
      const identifiers = (
        await tx.query<{ v: string }>(
          `select distinct i->>'value' as v from fhir_resource r, jsonb_array_elements(
             case when jsonb_typeof(r.content->'identifier') = 'array' then r.content->'identifier' else '[]'::jsonb end) i
           where r.resource_type = 'Patient' and r.id = $1 and i->>'value' is not null`,
          [patientId],
        )
      )
        .map((r) => r.v)
        .filter((v) => v.length >= 3);
      // Raw payloads of the patient's devices received while assigned may hold patient data.
      await n(
        'deadLetters',
        `delete from dead_letter d using device_assignment a
         where a.patient_id = $1 and d.device_id = a.device_id and d.received >= a.period_start
           and (a.period_end is null or d.received < a.period_end) returning d.id`,
        [patientId],
      );
      // …and any dead letter that names the patient (an HL7 v2 PID, a JSON reading with its id), as a
      // whole token: a JSON string, an HL7 v2 field or component, a FHIR reference.
      const tokens = [patientId, ...identifiers].flatMap((v) => [
        `"${v}"`,
        `Patient/${v}`,
        `|${v}|`,
        `|${v}^`,
        `^${v}^`,
        `^${v}|`,
      ]);
      await n(
        'deadLetters',
        `delete from dead_letter d where exists (
           select 1 from unnest($1::text[]) t where position(convert_to(t, 'UTF8') in d.payload) > 0) returning d.id`,
        [tokens],
      );
      // Alerts (FHIR Flag, Communication and DetectedIssue are views of them) with their timeline,
      // timers, notifications (the alert as sent) and the delivery outbox.
      const alertIds = (
        await tx.query<{ id: string }>('select id from alert where patient_id = $1', [patientId])
      ).map((r) => r.id);
      if (alertIds.length) {
        await tx.query(
          `delete from alert_delivery_attempt where delivery_id in (select d.id from alert_delivery d
             join alert_notification nt on nt.id = d.notification_id where nt.alert_id = any($1::uuid[]))`,
          [alertIds],
        );
        await n(
          'alertDeliveries',
          `delete from alert_delivery where notification_id in
             (select id from alert_notification where alert_id = any($1::uuid[])) returning id`,
          [alertIds],
        );
        await n(
          'alertNotifications',
          'delete from alert_notification where alert_id = any($1::uuid[]) returning id',
          [alertIds],
        );
        await tx.query('delete from alert_timer where alert_id = any($1::uuid[])', [alertIds]);
        await n('alertEvents', 'delete from alert_event where alert_id = any($1::uuid[]) returning id', [
          alertIds,
        ]);
        await n('alerts', 'delete from alert where id = any($1::uuid[]) returning id', [alertIds]);
      }
      // Detection: monitoring settings (every version) and the rule engine's saved state.
      await n('monitoringConfig', 'delete from monitoring_config where patient_id = $1 returning version', [
        patientId,
      ]);
      await n('engineState', 'delete from engine_state where patient_id = $1 returning patient_id', [
        patientId,
      ]);
      // Bulk export output that holds the patient: the files go, the job says why.
      const like = [patientId, ...identifiers].map((v) => `%${v.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
      const jobs = await n(
        'exportJobs',
        `update fhir_export_job j set status = 'failed', error = 'output removed by a patient erasure'
         where j.request_url like any($1::text[]) or j.group_id = $2 or exists (
           select 1 from fhir_export_file f where f.job_id = j.id and f.content like any($1::text[]))
         returning j.id`,
        [like, patientId],
      );
      if (jobs.length)
        await tx.query('delete from fhir_export_file where job_id = any($1::uuid[])', [
          jobs.map((j) => j['id']),
        ]);
      await tx.query(
        `update fhir_export_job set request_url = replace(request_url, $2, '(erased)'),
           group_id = case when group_id = $2 then '(erased)' else group_id end where id = any($1::uuid[])`,
        [jobs.map((j) => j['id']), patientId],
      );
      const obs = await n('observations', 'delete from observation where patient_id = $1 returning id', [
        patientId,
      ]);
      if (present.has('observation_history') && obs.length) {
        await tx.query('delete from observation_history where id = any($1::uuid[])', [
          obs.map((o) => o['id']),
        ]);
      }
      const resources = await tx.query<{ resource_type: string; id: string }>(
        `select resource_type, id from fhir_resource where (resource_type = 'Patient' and id = $1)
           or (resource_type <> 'Patient' and content::text like $2)`,
        [patientId, `%"Patient/${patientId}"%`],
      );
      for (const r of resources) {
        await tx.query('delete from fhir_resource_history where resource_type = $1 and id = $2', [
          r.resource_type,
          r.id,
        ]);
        await tx.query('delete from fhir_resource where resource_type = $1 and id = $2', [
          r.resource_type,
          r.id,
        ]);
        for (const t of optionalTables) {
          if (present.has(t))
            await tx.query(`delete from ${t} where resource_type = $1 and id = $2`, [r.resource_type, r.id]);
        }
        counts[`fhir:${r.resource_type}`] = (counts[`fhir:${r.resource_type}`] ?? 0) + 1;
      }
      await n('deviceAssignments', 'delete from device_assignment where patient_id = $1 returning id', [
        patientId,
      ]);
      const users = await n(
        'accountsDisabled',
        'update app_user set disabled = true, patient_id = null, updated_at = now() where patient_id = $1 returning id',
        [patientId],
      );
      if (users.length) {
        await tx.query(
          `update auth_session set revoked_at = $2, revoked_reason = 'erasure' where user_id = any($1::uuid[]) and revoked_at is null`,
          [users.map((u) => u['id']), new Date(this.#clock.now()).toISOString()],
        );
      }
      for (const step of this.erasureSteps) {
        for (const [k, v] of Object.entries(await step(tx, patientId))) counts[k] = (counts[k] ?? 0) + v;
      }
      await tx.query(
        `insert into patient_erasure (patient_id, erased_at, erased_by, counts) values ($1, $2, $3, $4::jsonb)
         on conflict (patient_id) do update set erased_at = $2, erased_by = $3, counts = $4::jsonb`,
        [patientId, new Date(this.#clock.now()).toISOString(), erasedBy, JSON.stringify(counts)],
      );
    });
    return counts;
  }
}
