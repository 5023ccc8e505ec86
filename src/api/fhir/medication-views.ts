import type { Resource } from '@medplum/fhirtypes';
import {
  type AdherenceRequest,
  adherenceRequest,
  asMedicationAdministration,
  asMedicationStatement,
  INHALER_CONTROLLER,
  INHALER_RESCUE,
  type MedicationEvent,
  PILL_BOTTLE_OPENING,
  requestFor,
} from '../../program/medication-adherence.ts';
import type { Database, Sql } from '../../store/database.ts';
import {
  Params,
  pointDateSql,
  type SearchFilter,
  type SearchOptions,
} from '../../store/fhir-search-filter.ts';
import { idOrPatient, isUuid, ReadOnlyView, restriction, stored, unsupported } from './alert-views.ts';
import type { Stored } from './resource-store.ts';

/**
 * Adherence devices' stored events as FHIR (src/program/medication-adherence.ts renders them):
 * inhaler actuations as MedicationAdministration, pill-bottle openings as MedicationStatement,
 * each with the id of its stored reading and against the patient's MedicationRequests (read from
 * the FHIR store). Read-only: the events come from devices.
 *
 * Search: `_id`, `patient`/`subject`, `device` (MedicationAdministration), the date parameter, and
 * `request` (MedicationAdministration; matched after loading: at most 5000 of the patient's events).
 */
interface Row {
  id: string;
  patient_id: string;
  device_id: string | null;
  code: string;
  value: number;
  effective: string;
}

const select = `select id::text as id, patient_id, device_id, code, value,
  to_char(effective at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as effective from observation`;

async function requestsOf(sql: Sql, patientIds: readonly string[]): Promise<AdherenceRequest[]> {
  if (patientIds.length === 0) return [];
  const rows = await sql.query<{ id: string; content: Record<string, unknown> }>(
    `select r.id, r.content from fhir_resource r
      where r.resource_type = 'MedicationRequest' and not r.deleted
        and r.content -> 'subject' ->> 'reference' = any($1::text[])`,
    [patientIds.map((p) => `Patient/${p}`)],
  );
  // Stored content carries no id (the row does).
  return rows
    .map((r) => adherenceRequest({ ...r.content, id: r.id }))
    .filter((r): r is AdherenceRequest => r !== undefined);
}

const asEvent = (r: Row): MedicationEvent => ({
  id: r.id,
  patientId: r.patient_id,
  deviceId: r.device_id,
  code: r.code,
  value: Number(r.value),
  effective: r.effective,
});

abstract class MedicationUseView extends ReadOnlyView {
  abstract readonly codes: readonly string[];
  abstract readonly dateParam: string;
  abstract render(e: MedicationEvent, r: AdherenceRequest | undefined): Record<string, unknown>;
  readonly #db: Database;
  constructor(db: Database) {
    super();
    this.#db = db;
  }
  async get(id: string): Promise<Resource | undefined> {
    if (!isUuid(id)) return undefined;
    return (await this.#load(this.#db, [id]))[0]?.resource;
  }
  override async readMany(sql: Sql, ids: readonly string[]): Promise<Stored[]> {
    const found = await this.#load(sql, ids.filter(isUuid));
    const byId = new Map(found.map((f) => [f.id, f.resource]));
    return ids.flatMap((id) => {
      const r = byId.get(id);
      return r ? [stored(r)] : [];
    });
  }
  async #load(sql: Sql, ids: readonly string[]): Promise<Array<{ id: string; resource: Resource }>> {
    if (ids.length === 0) return [];
    const rows = await sql.query<Row>(
      `${select} where id = any($1::uuid[]) and code = any($2::text[]) and patient_id is not null`,
      [ids, this.codes],
    );
    const requests = await requestsOf(sql, [...new Set(rows.map((r) => r.patient_id))]);
    return rows.map((row) => {
      const e = asEvent(row);
      const resource = {
        ...this.render(e, requestFor(e, requests)),
        meta: { versionId: '1', lastUpdated: e.effective },
      } as unknown as Resource;
      return { id: row.id, resource };
    });
  }
  async search(sql: Sql, filters: readonly SearchFilter[], opts: SearchOptions, nowMs: number) {
    const params = new Params();
    const where = [`code = any(${params.add(this.codes)}::text[])`, 'patient_id is not null'];
    let requestIds: string[] | undefined;
    for (const f of filters) {
      switch (f.kind) {
        case 'id':
          where.push(idOrPatient(f, params, { id: 'id', patient: 'patient_id' }));
          break;
        case 'reference':
          if (f.param === 'patient' || f.param === 'subject')
            where.push(idOrPatient(f, params, { id: 'id', patient: 'patient_id' }));
          else if (f.param === 'device') {
            const ids = f.values.map((v) => v.replace(/^Device\//, ''));
            where.push(`device_id = any(${params.add(ids)}::text[])`);
          } else if (f.param === 'request')
            requestIds = f.values.map((v) => v.replace(/^MedicationRequest\//, ''));
          else where.push('false');
          break;
        case 'date':
          if (f.param !== this.dateParam) where.push('false');
          else
            where.push(`(${f.values.map((v) => pointDateSql('effective', v, params, nowMs)).join(' or ')})`);
          break;
        case 'lastUpdated':
        case 'string':
          return unsupported(f, this.type);
        default:
          where.push(restriction(f, params, 'patient_id'));
      }
    }
    const from = `observation where ${where.join(' and ')}`;
    if (!requestIds) return this.page(sql, from, { id: 'id', created: 'effective' }, params, opts);
    // `request`: the match is computed (device link or the one request of the kind), not stored.
    const rows = await sql.query<Row>(
      `${select} where ${where.join(' and ')} order by effective desc, id desc limit 5000`,
      params.values,
    );
    const requests = await requestsOf(sql, [...new Set(rows.map((r) => r.patient_id))]);
    const wanted = new Set(requestIds);
    const ids = rows.filter((r) => wanted.has(requestFor(asEvent(r), requests)?.id ?? '')).map((r) => r.id);
    if (opts.countOnly) return { stored: [], total: ids.length };
    return { stored: await this.readMany(sql, ids.slice(opts.offset, opts.offset + opts.count)) };
  }
}

export class MedicationAdministrationView extends MedicationUseView {
  readonly type = 'MedicationAdministration';
  readonly codes = [INHALER_RESCUE, INHALER_CONTROLLER];
  readonly dateParam = 'effective-time';
  render(e: MedicationEvent, r: AdherenceRequest | undefined) {
    return asMedicationAdministration(e, r);
  }
}

export class MedicationStatementView extends MedicationUseView {
  readonly type = 'MedicationStatement';
  readonly codes = [PILL_BOTTLE_OPENING];
  readonly dateParam = 'effective';
  render(e: MedicationEvent, r: AdherenceRequest | undefined) {
    return asMedicationStatement(e, r);
  }
}
