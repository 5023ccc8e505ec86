import type { Resource } from '@medplum/fhirtypes';
import type { AlertFhirView } from '../../alerts/fhir.ts';
import { requestAsServiceRequest, statusesOfFhir } from '../../alerts/measurement-requests.ts';
import { auditEventsAsFhir } from '../../audit/audit-fhir.ts';
import type { AuditLog } from '../../audit/audit-log.ts';
import type { Sql } from '../../store/database.ts';
import { Params, type SearchFilter, type SearchOptions } from '../../store/fhir-search-filter.ts';
import type { MeasurementRequestRepository } from '../../store/measurement-request-repository.ts';
import { badRequest, methodNotAllowed } from './outcomes.ts';
import type { Found, HistoryEntry, Stored, TypeStore } from './resource-store.ts';

/**
 * Read-only FHIR stores over tables other modules own, as the device registry is served:
 * - Flag = an alert, Communication = a notification, rendered by the alert module's AlertFhirView
 *   (src/alerts/fhir.ts) — the one place that knows how an alert looks as FHIR;
 * - ServiceRequest = a measurement request (a repeat home reading detection asked for), rendered by
 *   the alert module's requestAsServiceRequest (src/alerts/measurement-requests.ts);
 * - AuditEvent = a record of the audit log, through the security module's auditEventsAsFhir.
 * Writes are refused (405: the types are in `readOnlyTypes`, and these stores refuse too).
 * Searches select ids here (so filters and paging are exact), then the owner's view renders each.
 */

const uuidRe = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (s: string) => uuidRe.test(s);

export function stored(resource: Resource): Stored {
  const meta = resource.meta ?? {};
  const versionId = Number(meta.versionId ?? 1);
  const lastUpdated =
    meta.lastUpdated ??
    (resource as { sent?: string }).sent ??
    (resource as { recorded?: string }).recorded ??
    new Date(0).toISOString();
  return {
    resource: { ...resource, meta: { ...meta, versionId: String(versionId), lastUpdated } } as Resource,
    versionId,
    lastUpdated,
  };
}

/** Patient ids of the Patient references among the values (a bare id is a Patient id). */
function patientIds(values: readonly string[]): string[] {
  return values
    .filter((v) => !v.includes('/') || v.startsWith('Patient/'))
    .map((v) => v.replace(/^Patient\//, ''));
}

/**
 * A filter of a kind these views do not know fails closed: an access restriction added by the
 * access layer (`notPatients`) is honoured, anything else unknown selects nothing.
 */
export function restriction(f: SearchFilter, params: Params, col: string): string {
  const r = f as unknown as { kind: string; ids?: unknown };
  if (r.kind === 'notPatients' && Array.isArray(r.ids))
    return r.ids.length ? `${col} <> all(${params.add(r.ids)}::text[])` : 'true';
  return 'false';
}

/** `_id` (uuids) or `patient`/`subject` (Patient references) as a condition on these columns. */
export function idOrPatient(
  f: Extract<SearchFilter, { kind: 'id' | 'reference' }>,
  params: Params,
  cols: { id: string; patient: string },
): string {
  const ids = f.kind === 'id' ? f.values.filter(isUuid) : patientIds(f.values);
  if (!ids.length) return 'false';
  return f.kind === 'id'
    ? `${cols.id} = any(${params.add(ids)}::uuid[])`
    : `${cols.patient} = any(${params.add(ids)}::text[])`;
}

export function unsupported(
  f: Extract<SearchFilter, { kind: 'lastUpdated' | 'date' | 'string' }>,
  type: string,
): never {
  throw badRequest(`${f.kind === 'lastUpdated' ? '_lastUpdated' : f.param} is not supported on ${type}`);
}

export abstract class ReadOnlyView implements TypeStore {
  abstract readonly type: string;
  abstract get(id: string): Promise<Resource | undefined>;
  abstract search(
    sql: Sql,
    filters: readonly SearchFilter[],
    opts: SearchOptions,
    nowMs: number,
  ): Promise<{ stored: Stored[]; total?: number }>;

  async read(_sql: Sql, id: string): Promise<Found | undefined> {
    const r = await this.get(id);
    return r ? { kind: 'found', stored: stored(r) } : undefined;
  }
  async readMany(_sql: Sql, ids: readonly string[]): Promise<Stored[]> {
    const out: Stored[] = [];
    for (const id of ids) {
      const r = await this.get(id);
      if (r) out.push(stored(r));
    }
    return out;
  }
  /** The count, or the page of ids `select <id> from <from>` finds (newest first), rendered. */
  protected async page(
    sql: Sql,
    from: string,
    cols: { id: string; created: string },
    params: Params,
    opts: SearchOptions,
  ): Promise<{ stored: Stored[]; total?: number }> {
    if (opts.countOnly) {
      const rows = await sql.query<{ n: number }>(`select count(*)::int as n from ${from}`, params.values);
      return { stored: [], total: rows[0]?.n ?? 0 };
    }
    const rows = await sql.query<{ id: string }>(
      `select ${cols.id} from ${from} order by ${cols.created} desc, ${cols.id} desc limit ${params.add(opts.count)} offset ${params.add(opts.offset)}`,
      params.values,
    );
    return {
      stored: await this.readMany(
        sql,
        rows.map((r) => r.id),
      ),
    };
  }
  /** Only the current version is kept by the owning module. */
  async vread(sql: Sql, id: string, versionId: number): Promise<Found | undefined> {
    const f = await this.read(sql, id);
    return f?.kind === 'found' && f.stored.versionId === versionId ? f : undefined;
  }
  async history(sql: Sql, id: string | undefined, opts: { count: number }): Promise<HistoryEntry[]> {
    const current =
      id !== undefined
        ? await this.readMany(sql, [id])
        : (
            await this.search(
              sql,
              [],
              { count: opts.count, offset: 0, sort: [], countOnly: false },
              Date.now(),
            )
          ).stored;
    return current.map((s) => ({
      id: s.resource.id as string,
      versionId: s.versionId,
      lastUpdated: s.lastUpdated,
      resource: s.resource,
    }));
  }
  async create(): Promise<never> {
    throw methodNotAllowed(`${this.type} is read-only through this API`);
  }
  async update(): Promise<never> {
    throw methodNotAllowed(`${this.type} is read-only through this API`);
  }
  async delete(): Promise<never> {
    throw methodNotAllowed(`${this.type} is read-only through this API`);
  }
}

/** Tokens of a filter as codes (system ignored unless it contradicts `system`). */
function codes(f: Extract<SearchFilter, { kind: 'token' }>, system?: string): string[] {
  return f.values
    .filter((v) => v.code !== undefined && (v.system === undefined || !system || v.system === system))
    .map((v) => v.code as string);
}

const activeStates = ['open', 'acknowledged', 'snoozed', 'escalated'];
const FLAG_CATEGORY = 'http://terminology.hl7.org/CodeSystem/flag-category';
const COMMUNICATION_CATEGORY = 'http://terminology.hl7.org/CodeSystem/communication-category';

/** Alerts as Flag: `_id`, `patient`, `subject`, `status` (active | inactive), `category` (clinical). */
export class FlagView extends ReadOnlyView {
  readonly type = 'Flag';
  readonly #view: AlertFhirView;
  constructor(view: AlertFhirView) {
    super();
    this.#view = view;
  }
  async get(id: string) {
    return isUuid(id) ? ((await this.#view.flag(id)) as Resource | undefined) : undefined;
  }
  async search(sql: Sql, filters: readonly SearchFilter[], opts: SearchOptions) {
    const params = new Params();
    const where = filters.map((f) => {
      switch (f.kind) {
        case 'id':
        case 'reference':
          return idOrPatient(f, params, { id: 'id', patient: 'patient_id' });
        case 'token': {
          let cond = 'false';
          if (f.param === 'status') {
            const s = codes(f);
            const states = [
              ...(s.includes('active') ? activeStates : []),
              ...(s.includes('inactive') ? ['resolved'] : []),
            ];
            cond = states.length ? `state = any(${params.add(states)}::text[])` : 'false';
          } else if (f.param === 'category')
            cond = codes(f, FLAG_CATEGORY).includes('clinical') ? 'true' : 'false';
          return f.not ? `not (${cond})` : cond;
        }
        case 'lastUpdated':
        case 'date':
        case 'string':
          return unsupported(f, this.type);
        default:
          return restriction(f, params, 'patient_id');
      }
    });
    const w = where.length ? `where ${where.join(' and ')}` : '';
    return this.page(sql, `alert ${w}`, { id: 'id', created: 'created_at' }, params, opts);
  }
}

/** Notifications as Communication: `_id`, `patient`, `subject`, `category` (alert). Newest first. */
export class CommunicationView extends ReadOnlyView {
  readonly type = 'Communication';
  readonly #view: AlertFhirView;
  constructor(view: AlertFhirView) {
    super();
    this.#view = view;
  }
  async get(id: string) {
    return isUuid(id) ? ((await this.#view.communication(id)) as Resource | undefined) : undefined;
  }
  async search(sql: Sql, filters: readonly SearchFilter[], opts: SearchOptions) {
    const params = new Params();
    const where = filters.map((f) => {
      switch (f.kind) {
        case 'id':
        case 'reference':
          return idOrPatient(f, params, { id: 'n.id', patient: 'a.patient_id' });
        case 'token': {
          const cond =
            f.param === 'category'
              ? codes(f, COMMUNICATION_CATEGORY).includes('alert')
                ? 'true'
                : 'false'
              : 'false';
          return f.not ? `not (${cond})` : cond;
        }
        case 'lastUpdated':
        case 'date':
        case 'string':
          return unsupported(f, this.type);
        default:
          return restriction(f, params, 'a.patient_id');
      }
    });
    const from = `alert_notification n join alert a on a.id = n.alert_id ${where.length ? `where ${where.join(' and ')}` : ''}`;
    return this.page(sql, from, { id: 'n.id', created: 'n.created_at' }, params, opts);
  }
}

/**
 * Measurement requests as ServiceRequest: `_id`, `patient`, `subject`, `status` (active = open,
 * completed = fulfilled, revoked = expired or cancelled), `code` (LOINC of the measurement asked
 * for). Newest first.
 */
export class ServiceRequestView extends ReadOnlyView {
  readonly type = 'ServiceRequest';
  readonly #repo: MeasurementRequestRepository;
  constructor(repo: MeasurementRequestRepository) {
    super();
    this.#repo = repo;
  }
  async get(id: string) {
    if (!isUuid(id)) return undefined;
    const m = await this.#repo.get(id);
    return m ? (requestAsServiceRequest(m) as unknown as Resource) : undefined;
  }
  async search(sql: Sql, filters: readonly SearchFilter[], opts: SearchOptions) {
    const params = new Params();
    const where = filters.map((f) => {
      switch (f.kind) {
        case 'id':
        case 'reference':
          return idOrPatient(f, params, { id: 'id', patient: 'patient_id' });
        case 'token': {
          let cond = 'false';
          if (f.param === 'status') {
            const s = statusesOfFhir(codes(f));
            cond = s.length ? `status = any(${params.add(s)}::text[])` : 'false';
          } else if (f.param === 'code') {
            const c = codes(f, 'http://loinc.org');
            cond = c.length ? `code = any(${params.add(c)}::text[])` : 'false';
          }
          return f.not ? `not (${cond})` : cond;
        }
        case 'lastUpdated':
        case 'date':
        case 'string':
          return unsupported(f, this.type);
        default:
          return restriction(f, params, 'patient_id');
      }
    });
    const w = where.length ? `where ${where.join(' and ')}` : '';
    return this.page(sql, `measurement_request ${w}`, { id: 'id', created: 'requested_at' }, params, opts);
  }
}

/** Most matches an AuditEvent search pages through (auditEventsAsFhir answers the newest 1000). */
const auditWindow = 1000;

/**
 * The audit log as AuditEvent, through auditEventsAsFhir (newest first): `_id`, `patient`, `agent`,
 * `entity`, `type`, `subtype`, `action`, `outcome`, `date` (ge gt le lt eq). Pages reach the newest
 * 1000 matches; the whole log is at /api/v1/audit/export.
 */
export class AuditEventView extends ReadOnlyView {
  readonly type = 'AuditEvent';
  readonly #audit: AuditLog;
  constructor(audit: AuditLog) {
    super();
    this.#audit = audit;
  }
  async get(id: string) {
    if (!isUuid(id)) return undefined;
    return (await auditEventsAsFhir(this.#audit, { _id: id }))[0] as Resource | undefined;
  }
  async search(_sql: Sql, filters: readonly SearchFilter[], opts: SearchOptions) {
    const q = new URLSearchParams();
    let ids: string[] | undefined;
    let excluded: Set<string> | undefined;
    const one = (name: string, values: readonly string[]) => {
      if (values.length !== 1)
        throw badRequest(`AuditEvent search takes one value of ${name} (no comma lists)`, name);
      q.set(name, values[0] as string);
    };
    for (const f of filters) {
      switch (f.kind) {
        case 'id':
          ids = f.values;
          break;
        case 'reference':
          if (f.param === 'patient') one('patient', patientIds(f.values));
          else if (f.param === 'agent') one('agent', f.values);
          else if (f.param === 'entity') one('entity', f.values);
          break;
        case 'token':
          if (f.not) throw badRequest(`${f.param}:not is not supported on AuditEvent`, f.param);
          one(f.param, codes(f));
          break;
        case 'date':
          for (const v of f.values) {
            if (v.prefix === 'ge') q.append('date', `ge${v.low}`);
            else if (v.prefix === 'gt') q.append('date', `ge${v.high}`);
            else if (v.prefix === 'lt') q.append('date', `lt${v.low}`);
            else if (v.prefix === 'le') q.append('date', `lt${v.high}`);
            else if (v.prefix === 'eq') {
              q.append('date', `ge${v.low}`);
              q.append('date', `lt${v.high}`);
            } else throw badRequest(`date prefix '${v.prefix}' is not supported on AuditEvent`, 'date');
          }
          break;
        case 'lastUpdated':
        case 'string':
          throw badRequest(
            `${f.kind === 'lastUpdated' ? '_lastUpdated' : f.param} is not supported on AuditEvent`,
          );
        default: {
          const r = f as unknown as { kind: string; ids?: string[] };
          if (r.kind !== 'notPatients' || !Array.isArray(r.ids)) return { stored: [], total: 0 };
          excluded = new Set(r.ids);
        }
      }
    }
    const wanted = opts.countOnly ? auditWindow : opts.offset + opts.count;
    if (wanted > auditWindow && !ids)
      throw badRequest(
        `AuditEvent search pages through the newest ${auditWindow} matches; use /api/v1/audit/export`,
      );
    q.set('_count', String(Math.min(wanted, auditWindow)));
    let events: Resource[] = [];
    if (ids) {
      for (const id of ids.filter(isUuid)) {
        q.set('_id', id);
        events.push(...((await auditEventsAsFhir(this.#audit, q)) as Resource[]));
      }
    } else events = (await auditEventsAsFhir(this.#audit, q)) as Resource[];
    if (excluded) {
      const ex = excluded;
      events = events.filter(
        (e) =>
          !(e as { entity?: Array<{ what?: { reference?: string } }> }).entity?.some((en) =>
            ex.has((en.what?.reference ?? '').replace(/^Patient\//, '')),
          ),
      );
    }
    if (opts.countOnly) return { stored: [], total: events.length };
    return { stored: events.slice(opts.offset, opts.offset + opts.count).map(stored) };
  }
}
