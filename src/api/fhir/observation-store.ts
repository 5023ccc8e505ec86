import type { Observation, Resource } from '@medplum/fhirtypes';
import { readingToObservation, upgradeQualityFlags } from '../../normalize/fhir-observation.ts';
import type { Sql } from '../../store/database.ts';
import {
  type FhirObservationRepository,
  type HistoryVersion,
  isUuid,
  LOINC,
  type ObservationColumns,
  type ObservationRow,
} from '../../store/fhir-observation-repository.ts';
import type { SearchFilter, SearchOptions } from '../../store/fhir-search-filter.ts';
import { badRequest, preconditionFailed, unprocessable } from './outcomes.ts';
import {
  contentOf,
  type Found,
  type HistoryEntry,
  type Stored,
  type TypeStore,
  withMeta,
} from './resource-store.ts';
import { encodeCursor } from './search/cursor.ts';
import { dateRange } from './search/date.ts';
import { normalizeReference } from './search/parse.ts';
import { noteStoredObservation } from './stored-readings.ts';

/** An observation row as FHIR: the stored JSON, or an ingest reading rendered by normalize. */
export function renderRow(row: ObservationRow): Stored {
  let resource: Resource;
  if (row.resource) {
    resource = withMeta(
      upgradeQualityFlags(row.resource),
      'Observation',
      row.id,
      row.versionId,
      row.lastUpdated,
    );
  } else {
    const obs = readingToObservation(row.reading);
    resource = {
      ...obs,
      id: row.id,
      meta: { ...(obs.meta ?? {}), versionId: String(row.versionId), lastUpdated: row.lastUpdated },
    };
  }
  return { resource, versionId: row.versionId, lastUpdated: row.lastUpdated };
}

const refId = (ref: unknown, type: string): string | null => {
  if (typeof ref !== 'string' || !ref) return null;
  const n = normalizeReference(ref);
  return n.startsWith(`${type}/`) ? n.slice(type.length + 1) : null;
};

/** The searchable columns of an Observation written through FHIR. */
export function observationColumns(obs: Observation, id: string): ObservationColumns {
  const codings = obs.code?.coding ?? [];
  const primary = codings.find((c) => c.system === LOINC && c.code) ?? codings.find((c) => c.code);
  const when =
    obs.effectiveDateTime ??
    obs.effectiveInstant ??
    obs.effectivePeriod?.start ??
    obs.effectiveTiming?.event?.[0] ??
    obs.issued;
  const effective = when ? dateRange(when)?.low : new Date().toISOString();
  if (!effective) throw unprocessable(`'${when}' is not a valid date/time`, 'Observation.effective');
  return {
    patientId: refId(obs.subject?.reference, 'Patient'),
    deviceId: refId(obs.device?.reference, 'Device'),
    // A code with only text (valid R4: five official examples) has no primary code: ''.
    code: primary?.code ?? '',
    category: obs.category?.flatMap((c) => c.coding ?? []).find((c) => c.code)?.code ?? null,
    effective,
    value: typeof obs.valueQuantity?.value === 'number' ? obs.valueQuantity.value : null,
    unit: obs.valueQuantity?.code ?? obs.valueQuantity?.unit ?? null,
    // A plain POST always creates (identifier matching only through If-None-Exist or a
    // conditional update): the key is the resource's own id, never its identifier.
    idemKey: `fhir:${id}`,
  };
}

const toHistoryEntry = (h: HistoryVersion): HistoryEntry => ({
  id: h.id,
  versionId: h.versionId,
  lastUpdated: h.lastUpdated,
  ...(h.resource ? { resource: upgradeQualityFlags(h.resource) as unknown as Resource } : {}),
});

/** Observations: the narrow observation table shared with ingest, same ids whichever way they came. */
export class ObservationStore implements TypeStore {
  readonly #repo: FhirObservationRepository;
  constructor(repo: FhirObservationRepository) {
    this.#repo = repo;
  }

  async read(sql: Sql, id: string): Promise<Found | undefined> {
    const row = await this.#repo.get(sql, id);
    if (row) return { kind: 'found', stored: renderRow(row) };
    const t = await this.#repo.tombstone(sql, id);
    return t ? { kind: 'deleted', versionId: t.versionId, lastUpdated: t.lastUpdated } : undefined;
  }

  async readMany(sql: Sql, ids: readonly string[]) {
    return (await this.#repo.getMany(sql, ids)).map(renderRow);
  }

  async vread(sql: Sql, id: string, versionId: number): Promise<Found | undefined> {
    const row = await this.#repo.get(sql, id);
    if (row && row.versionId === versionId) return { kind: 'found', stored: renderRow(row) };
    const h = await this.#repo.version(sql, id, versionId);
    if (!h) return undefined;
    if (!h.resource) return { kind: 'deleted', versionId: h.versionId, lastUpdated: h.lastUpdated };
    return {
      kind: 'found',
      stored: {
        // versions stored before flags moved to the extension are served the new way
        resource: upgradeQualityFlags(h.resource) as unknown as Resource,
        versionId: h.versionId,
        lastUpdated: h.lastUpdated,
      },
    };
  }

  async history(
    sql: Sql,
    id: string | undefined,
    opts: { count: number; since?: string },
  ): Promise<HistoryEntry[]> {
    const versions = (await this.#repo.history(sql, id, opts)).map(toHistoryEntry);
    if (id !== undefined) {
      const row = await this.#repo.get(sql, id);
      if (row && !versions.some((v) => v.versionId === row.versionId)) {
        const s = renderRow(row);
        versions.unshift({ id, versionId: s.versionId, lastUpdated: s.lastUpdated, resource: s.resource });
      }
    }
    return versions;
  }

  async create(sql: Sql, resource: Resource, id: string) {
    const obs = resource as Observation;
    const content = contentOf(obs);
    const stored = await this.#create(sql, obs, content, id);
    if (stored.created) noteStoredObservation(sql, obs, id, stored.stored.lastUpdated);
    return stored;
  }

  async #create(sql: Sql, obs: Observation, content: ReturnType<typeof contentOf>, id: string) {
    const { row, created } = await this.#repo.insert(
      sql,
      id,
      observationColumns(obs, id),
      content,
      (v) =>
        withMeta(content, 'Observation', id, v.versionId, v.lastUpdated) as unknown as Record<
          string,
          unknown
        >,
    );
    return { stored: renderRow(row), created };
  }

  async update(sql: Sql, id: string, resource: Resource, ifVersion?: number) {
    if (!isUuid(id))
      throw badRequest(
        `Observation ids are UUIDs assigned by the server; '${id}' is not one`,
        'Observation.id',
      );
    const current = await this.#repo.get(sql, id);
    if (!current) {
      if (ifVersion !== undefined) throw preconditionFailed(`Observation/${id} does not exist (If-Match)`);
      if (await this.#repo.tombstone(sql, id))
        throw badRequest(`Observation/${id} was deleted; its id cannot be reused`);
      return this.create(sql, resource, id);
    }
    const obs = resource as Observation;
    const content = contentOf(obs);
    const prev = renderRow(current);
    const cols = { ...observationColumns(obs, id), idemKey: current.reading.idempotencyKey };
    const row = await this.#repo.update(
      sql,
      id,
      cols,
      content,
      ifVersion,
      {
        id,
        versionId: prev.versionId,
        lastUpdated: prev.lastUpdated,
        deleted: false,
        resource: prev.resource as unknown as Record<string, unknown>,
      },
      (v) =>
        withMeta(content, 'Observation', id, v.versionId, v.lastUpdated) as unknown as Record<
          string,
          unknown
        >,
    );
    if (!row) throw preconditionFailed(`Observation/${id} is not at version ${ifVersion} (If-Match)`);
    const stored = renderRow(row);
    noteStoredObservation(sql, obs, id, stored.lastUpdated); // a corrected value is evaluated too
    return { stored, created: false };
  }

  async delete(sql: Sql, id: string) {
    const current = await this.#repo.get(sql, id);
    if (!current) return false;
    const prev = renderRow(current);
    await this.#repo.delete(sql, id, {
      id,
      versionId: prev.versionId,
      lastUpdated: prev.lastUpdated,
      deleted: false,
      resource: prev.resource as unknown as Record<string, unknown>,
    });
    return true;
  }

  async search(sql: Sql, filters: readonly SearchFilter[], opts: SearchOptions, nowMs: number) {
    const r = await this.#repo.search(sql, filters, opts, nowMs);
    return {
      stored: r.rows.map(renderRow),
      ...(r.total !== undefined ? { total: r.total } : {}),
      // Keyset cursors for the next link (one sort key, so the order is (key, id)).
      ...(opts.sort.length <= 1 ? { cursors: r.rows.map((row) => encodeCursor(row.sortKey, row.id)) } : {}),
    };
  }

  async referenced(
    sql: Sql,
    filters: readonly SearchFilter[],
    param: string,
    targetType: string,
    limit: number,
    nowMs: number,
  ) {
    // Patients and devices are columns; other references (encounter, a Group subject) by search.
    if ((param === 'patient' || param === 'subject') && targetType === 'Patient')
      return this.#repo.distinct(sql, filters, 'patient_id', limit, nowMs);
    if (param === 'device' && targetType === 'Device')
      return this.#repo.distinct(sql, filters, 'device_id', limit, nowMs);
    return undefined;
  }

  async lastn(
    sql: Sql,
    patientId: string,
    opts: { codes?: string[]; category?: string[]; max: number },
  ): Promise<Stored[]> {
    return (await this.#repo.lastn(sql, patientId, opts)).map(renderRow);
  }
}
