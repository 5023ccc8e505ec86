import type { Resource } from '@medplum/fhirtypes';
import { AlertFhirView } from '../../alerts/fhir.ts';
import { AuditLog } from '../../audit/audit-log.ts';
import type { Clock } from '../../core/clock.ts';
import type { Logger } from '../../core/logger.ts';
import { AlertRepository } from '../../store/alert-repository.ts';
import type { Database, Sql } from '../../store/database.ts';
import { FhirObservationRepository } from '../../store/fhir-observation-repository.ts';
import {
  distinctTargets,
  FhirResourceRepository,
  type ResourceVersion,
} from '../../store/fhir-resource-repository.ts';
import type { SearchFilter, SearchOptions } from '../../store/fhir-search-filter.ts';
import { MeasurementRequestRepository } from '../../store/measurement-request-repository.ts';
import { AuditEventView, CommunicationView, FlagView, ServiceRequestView } from './alert-views.ts';
import { DefinitionView } from './conformance-views.ts';
import { DeviceDefinitionView } from './device-definitions.ts';
import { RegistryDeviceView } from './device-registry.ts';
import { MedicationAdministrationView, MedicationStatementView } from './medication-views.ts';
import { ObservationStore } from './observation-store.ts';
import { conflict, preconditionFailed } from './outcomes.ts';
import { indexValues } from './search/index-values.ts';
import { ingestTerminology } from './search/ingest-codings.ts';
import type { SupportedType } from './search/params.ts';

/** A current or past version as the API returns it. */
export interface Stored {
  resource: Resource;
  versionId: number;
  lastUpdated: string;
}

export type Found =
  | { kind: 'found'; stored: Stored }
  | { kind: 'deleted'; versionId: number; lastUpdated: string };

export interface HistoryEntry {
  id: string;
  versionId: number;
  lastUpdated: string;
  /** undefined = a delete. */
  resource?: Resource;
}

/** Storage of one resource type, as the interaction handlers see it. */
export interface TypeStore {
  read(sql: Sql, id: string): Promise<Found | undefined>;
  readMany(sql: Sql, ids: readonly string[]): Promise<Stored[]>;
  vread(sql: Sql, id: string, versionId: number): Promise<Found | undefined>;
  history(sql: Sql, id: string | undefined, opts: { count: number; since?: string }): Promise<HistoryEntry[]>;
  /** created false: an equal resource (same idempotency identity) was stored already; it is returned. */
  create(sql: Sql, resource: Resource, id: string): Promise<{ stored: Stored; created: boolean }>;
  /** ifVersion: If-Match. Creates when absent (update-as-create) unless ifVersion is given. */
  update(
    sql: Sql,
    id: string,
    resource: Resource,
    ifVersion?: number,
  ): Promise<{ stored: Stored; created: boolean }>;
  /** false when there was nothing to delete. */
  delete(sql: Sql, id: string): Promise<boolean>;
  search(
    sql: Sql,
    filters: readonly SearchFilter[],
    opts: SearchOptions,
    nowMs: number,
  ): Promise<{ stored: Stored[]; total?: number; cursors?: string[] }>;
  /**
   * Ids of `targetType` the matching resources refer to by `param`, at most `limit` (`_has`); a
   * store without it is answered from a search (search.ts).
   */
  referenced?(
    sql: Sql,
    filters: readonly SearchFilter[],
    param: string,
    targetType: string,
    limit: number,
    nowMs: number,
  ): Promise<string[] | undefined>;
}

/** resourceType, id, meta (with versionId, lastUpdated) first, then the content as written. */
export function withMeta(
  content: Record<string, unknown>,
  type: string,
  id: string,
  versionId: number,
  lastUpdated: string,
): Resource {
  const {
    resourceType: _t,
    id: _i,
    meta,
    ...rest
  } = content as { resourceType?: string; id?: string; meta?: Record<string, unknown> };
  return {
    resourceType: type,
    id,
    meta: { ...(meta ?? {}), versionId: String(versionId), lastUpdated },
    ...rest,
  } as Resource;
}

/** What is kept of a resource: everything but id, meta.versionId and meta.lastUpdated. */
export function contentOf(resource: Resource): Record<string, unknown> {
  const { id: _id, meta, ...rest } = resource as Resource & { meta?: Record<string, unknown> };
  const { versionId: _v, lastUpdated: _l, ...keptMeta } = meta ?? {};
  return Object.keys(keptMeta).length ? { ...rest, meta: keptMeta } : { ...rest };
}

const found = (v: ResourceVersion): Found =>
  v.deleted
    ? { kind: 'deleted', versionId: v.versionId, lastUpdated: v.lastUpdated }
    : { kind: 'found', stored: toStored(v) };
const toStored = (v: ResourceVersion): Stored => ({
  resource: withMeta(v.content, v.resourceType, v.id, v.versionId, v.lastUpdated),
  versionId: v.versionId,
  lastUpdated: v.lastUpdated,
});

/** Versioned JSON in fhir_resource with a search index written alongside. */
export class GenericStore implements TypeStore {
  readonly #type: SupportedType;
  readonly #repo: FhirResourceRepository;
  constructor(type: SupportedType, repo: FhirResourceRepository) {
    this.#type = type;
    this.#repo = repo;
  }
  async read(sql: Sql, id: string) {
    const v = await this.#repo.read(sql, this.#type, id);
    return v ? found(v) : undefined;
  }
  async readMany(sql: Sql, ids: readonly string[]) {
    return (await this.#repo.readMany(sql, this.#type, ids)).map(toStored);
  }
  async vread(sql: Sql, id: string, versionId: number) {
    const v = await this.#repo.vread(sql, this.#type, id, versionId);
    return v ? found(v) : undefined;
  }
  async history(sql: Sql, id: string | undefined, opts: { count: number; since?: string }) {
    return (await this.#repo.history(sql, this.#type, id, opts)).map((v) => ({
      id: v.id,
      versionId: v.versionId,
      lastUpdated: v.lastUpdated,
      ...(v.deleted ? {} : { resource: toStored(v).resource }),
    }));
  }
  async create(sql: Sql, resource: Resource, id: string) {
    const r = await this.#write(sql, id, resource, 0);
    if (!r) throw conflict(`${this.#type}/${id} exists already`);
    return r;
  }
  async update(sql: Sql, id: string, resource: Resource, ifVersion?: number) {
    const r = await this.#write(sql, id, resource, ifVersion);
    if (!r) throw preconditionFailed(`${this.#type}/${id} is not at version ${ifVersion} (If-Match)`);
    return r;
  }
  async #write(sql: Sql, id: string, resource: Resource, ifVersion: number | undefined) {
    const content = contentOf(resource);
    const r = await this.#repo.write(sql, {
      type: this.#type,
      id,
      content,
      ...(ifVersion !== undefined ? { ifVersion } : {}),
      index: indexValues(this.#type, resource),
    });
    return r ? { stored: toStored(r.version), created: r.created } : undefined;
  }
  async delete(sql: Sql, id: string) {
    const cur = await this.#repo.read(sql, this.#type, id);
    if (!cur || cur.deleted) return false;
    await this.#repo.write(sql, { type: this.#type, id, content: cur.content, deleted: true });
    return true;
  }
  async search(sql: Sql, filters: readonly SearchFilter[], opts: SearchOptions, nowMs: number) {
    const r = await this.#repo.search(sql, this.#type, filters, opts, nowMs);
    return { stored: r.versions.map(toStored), ...(r.total !== undefined ? { total: r.total } : {}) };
  }
  async referenced(
    sql: Sql,
    filters: readonly SearchFilter[],
    param: string,
    targetType: string,
    limit: number,
    nowMs: number,
  ) {
    return distinctTargets(sql, this.#type, filters, param, targetType, limit, nowMs);
  }
}

/**
 * Devices: the device registry is the source of truth (rendered read-only); Devices written through
 * FHIR (a PHD gateway's) are generic resources.
 */
export class DeviceStore implements TypeStore {
  readonly #generic: GenericStore;
  readonly #registry: RegistryDeviceView;
  constructor(generic: GenericStore, registry: RegistryDeviceView) {
    this.#generic = generic;
    this.#registry = registry;
  }
  async read(sql: Sql, id: string): Promise<Found | undefined> {
    const d = await this.#registry.get(sql, id);
    return d ? { kind: 'found', stored: d } : this.#generic.read(sql, id);
  }
  async readMany(sql: Sql, ids: readonly string[]) {
    const reg = await this.#registry.getMany(sql, ids);
    const rest = ids.filter((i) => !reg.some((d) => d.resource.id === i));
    return [...reg, ...(await this.#generic.readMany(sql, rest))];
  }
  async vread(sql: Sql, id: string, versionId: number): Promise<Found | undefined> {
    const d = await this.#registry.get(sql, id);
    if (d) return d.versionId === versionId ? { kind: 'found', stored: d } : undefined;
    return this.#generic.vread(sql, id, versionId);
  }
  async history(sql: Sql, id: string | undefined, opts: { count: number; since?: string }) {
    if (id !== undefined) {
      const d = await this.#registry.get(sql, id);
      if (d) return [{ id, versionId: d.versionId, lastUpdated: d.lastUpdated, resource: d.resource }];
    }
    return this.#generic.history(sql, id, opts);
  }
  async create(sql: Sql, resource: Resource, id: string) {
    return this.#generic.create(sql, resource, id);
  }
  async update(sql: Sql, id: string, resource: Resource, ifVersion?: number) {
    await this.#refuseRegistry(sql, id);
    return this.#generic.update(sql, id, resource, ifVersion);
  }
  async delete(sql: Sql, id: string) {
    await this.#refuseRegistry(sql, id);
    return this.#generic.delete(sql, id);
  }
  async #refuseRegistry(sql: Sql, id: string) {
    if (await this.#registry.get(sql, id)) {
      throw conflict(`Device/${id} belongs to the device registry; change it through /api/v1/devices`);
    }
  }
  async search(sql: Sql, filters: readonly SearchFilter[], opts: SearchOptions, nowMs: number) {
    const window = { ...opts, offset: 0, count: opts.offset + opts.count };
    const reg = await this.#registry.search(sql, filters, window, nowMs);
    const gen = await this.#generic.search(sql, filters, window, nowMs);
    if (opts.countOnly) return { stored: [], total: (reg.total ?? 0) + (gen.total ?? 0) };
    return { stored: [...reg.stored, ...gen.stored].slice(opts.offset, opts.offset + opts.count) };
  }
}

/**
 * Storage per resource type. With the database (`views`), Flag, Communication, ServiceRequest and
 * AuditEvent are read-only views of the alert and measurement-request tables and the audit log
 * (alert-views.ts); without it (unit use)
 * they are empty.
 */
export class ResourceStore {
  readonly #stores = new Map<string, TypeStore>();
  constructor(views?: { db: Database; clock: Clock; log: Logger }) {
    const repo = new FhirResourceRepository();
    for (const t of [
      'Patient',
      'Practitioner',
      'PractitionerRole',
      'Organization',
      'CareTeam',
      'DeviceMetric',
      'Consent',
      'Bundle',
      'Group',
      'Encounter',
      'Condition',
      'Goal',
      'Questionnaire',
      'QuestionnaireResponse',
      'MedicationRequest',
    ] as const) {
      this.#stores.set(t, new GenericStore(t, repo));
    }
    if (views) {
      this.#stores.set('MedicationAdministration', new MedicationAdministrationView(views.db));
      this.#stores.set('MedicationStatement', new MedicationStatementView(views.db));
      const alerts = new AlertFhirView(new AlertRepository(views.db));
      this.#stores.set('Flag', new FlagView(alerts));
      this.#stores.set('Communication', new CommunicationView(alerts));
      this.#stores.set('ServiceRequest', new ServiceRequestView(new MeasurementRequestRepository(views.db)));
      // A reader of the audit log (search only; records are written by the security module's log).
      this.#stores.set(
        'AuditEvent',
        new AuditEventView(new AuditLog(views.db, views.clock, views.log.child({ component: 'fhir-audit' }))),
      );
    } else
      for (const t of [
        'Flag',
        'Communication',
        'ServiceRequest',
        'AuditEvent',
        'MedicationAdministration',
        'MedicationStatement',
      ] as const)
        this.#stores.set(t, new GenericStore(t, repo));
    this.#stores.set('DeviceDefinition', new DeviceDefinitionView());
    this.#stores.set('StructureDefinition', new DefinitionView('StructureDefinition'));
    this.#stores.set('CodeSystem', new DefinitionView('CodeSystem'));
    this.#stores.set('Device', new DeviceStore(new GenericStore('Device', repo), new RegistryDeviceView()));
    this.#stores.set('Observation', new ObservationStore(new FhirObservationRepository(ingestTerminology)));
  }
  for(type: SupportedType): TypeStore {
    const s = this.#stores.get(type);
    if (!s) throw new Error(`no store for ${type}`);
    return s;
  }
}
