import { readFileSync } from 'node:fs';
import type { Resource } from '@medplum/fhirtypes';
import type { Sql } from '../../store/database.ts';
import type { SearchFilter, SearchOptions } from '../../store/fhir-search-filter.ts';
import { badRequest, methodNotAllowed } from './outcomes.ts';
import type { Found, HistoryEntry, Stored, TypeStore } from './resource-store.ts';

/**
 * The definitions of Vigil's own FHIR content, shipped as JSON in `definitions/` (one file per
 * resource, named `<type>-<id>.json`) and served read-only: StructureDefinition/quality-flag, the
 * extension that carries a reading's quality flags, and CodeSystem/quality-flag, its codes. Their
 * URLs are in the internal namespace like everything stored; the HTTP layer shows the deployment's
 * (core/fhir-namespace.ts).
 */
const files: Record<'StructureDefinition' | 'CodeSystem', readonly string[]> = {
  StructureDefinition: ['quality-flag'],
  CodeSystem: ['quality-flag'],
};

/** The version and date of a definition file stand for its FHIR version (they change together). */
const LAST_UPDATED = '2026-12-03T00:00:00.000Z';

function load(type: keyof typeof files): Stored[] {
  return files[type].map((id) => {
    const resource = JSON.parse(
      readFileSync(new URL(`./definitions/${type}-${id}.json`, import.meta.url), 'utf8'),
    ) as Resource;
    return {
      resource: { ...resource, meta: { versionId: '1', lastUpdated: LAST_UPDATED } } as Resource,
      versionId: 1,
      lastUpdated: LAST_UPDATED,
    };
  });
}

export function definitionResources(type: keyof typeof files): Resource[] {
  return load(type).map((s) => s.resource);
}

/** A read-only view of the shipped definitions of one type: `_id` and `url` (token) searches. */
export class DefinitionView implements TypeStore {
  readonly #type: keyof typeof files;
  #all: Stored[] | undefined;
  constructor(type: keyof typeof files) {
    this.#type = type;
  }
  get #items(): Stored[] {
    this.#all ??= load(this.#type);
    return this.#all;
  }

  async read(_sql: Sql, id: string): Promise<Found | undefined> {
    const s = this.#items.find((x) => x.resource.id === id);
    return s ? { kind: 'found', stored: s } : undefined;
  }
  async readMany(_sql: Sql, ids: readonly string[]): Promise<Stored[]> {
    return this.#items.filter((x) => ids.includes(x.resource.id as string));
  }
  async vread(sql: Sql, id: string, versionId: number): Promise<Found | undefined> {
    const f = await this.read(sql, id);
    return f?.kind === 'found' && f.stored.versionId === versionId ? f : undefined;
  }
  async history(_sql: Sql, id: string | undefined, opts: { count: number }): Promise<HistoryEntry[]> {
    return this.#items
      .filter((s) => id === undefined || s.resource.id === id)
      .slice(0, opts.count)
      .map((s) => ({
        id: s.resource.id as string,
        versionId: 1,
        lastUpdated: s.lastUpdated,
        resource: s.resource,
      }));
  }
  async create(): Promise<never> {
    throw methodNotAllowed(`${this.#type} is read-only: Vigil serves the definitions it ships`);
  }
  async update(): Promise<never> {
    throw methodNotAllowed(`${this.#type} is read-only: Vigil serves the definitions it ships`);
  }
  async delete(): Promise<never> {
    throw methodNotAllowed(`${this.#type} is read-only: Vigil serves the definitions it ships`);
  }
  async search(
    _sql: Sql,
    filters: readonly SearchFilter[],
    opts: SearchOptions,
  ): Promise<{ stored: Stored[]; total?: number }> {
    const hits = this.#items.filter((s) => filters.every((f) => matches(this.#type, s.resource, f)));
    if (opts.countOnly) return { stored: [], total: hits.length };
    return { stored: hits.slice(opts.offset, opts.offset + opts.count), total: hits.length };
  }
}

function matches(type: string, r: Resource, f: SearchFilter): boolean {
  const url = (r as { url?: string }).url;
  switch (f.kind) {
    case 'id':
      return f.values.includes(r.id as string);
    case 'token': {
      if (f.param !== 'url') throw badRequest(`${f.param} is not supported on ${type}`);
      const hit = f.values.some((v) => v.code === undefined || v.code === url);
      return f.not ? !hit : hit;
    }
    case 'missing':
      if (f.param !== 'url') throw badRequest(`${f.param}:missing is not supported on ${type}`);
      return f.missing === (url === undefined);
    case 'notPatients':
      return true; // a definition belongs to no patient
    default:
      throw badRequest(`${'param' in f ? f.param : f.kind} is not supported on ${type}`);
  }
}
