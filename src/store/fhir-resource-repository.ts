import type { Sql } from './database.ts';
import {
  Params,
  pointDateSql,
  rangeDateSql,
  type SearchFilter,
  type SearchOptions,
  type TokenValue,
} from './fhir-search-filter.ts';

export interface IndexRows {
  tokens: Array<{ param: string; system: string | null; code: string }>;
  references: Array<{ param: string; target: string }>;
  /** value lower-cased (prefix and :contains); raw as written (:exact, case-sensitive). */
  strings: Array<{ param: string; value: string; raw?: string }>;
  dates: Array<{ param: string; low: string; high: string }>;
}

/** One version of a resource as stored (content has no id/meta.versionId/meta.lastUpdated). */
export interface ResourceVersion {
  resourceType: string;
  id: string;
  versionId: number;
  lastUpdated: string;
  deleted: boolean;
  content: Record<string, unknown>;
}

const iso = (d: unknown) => (d instanceof Date ? d.toISOString() : String(d));

function toVersion(r: Record<string, unknown>): ResourceVersion {
  return {
    resourceType: r['resource_type'] as string,
    id: r['id'] as string,
    versionId: r['version_id'] as number,
    lastUpdated: iso(r['last_updated']),
    deleted: r['deleted'] as boolean,
    content: r['content'] as Record<string, unknown>,
  };
}

const columns = 'resource_type, id, version_id, last_updated, deleted, content';
const indexTables = ['fhir_token', 'fhir_reference', 'fhir_string', 'fhir_date'] as const;

/**
 * Versioned FHIR resources other than Observation (fhir_resource, fhir_resource_history) and their
 * search index (fhir_token, fhir_reference, fhir_string, fhir_date; current version only).
 * Writes should run inside a transaction (the caller's).
 */
export class FhirResourceRepository {
  async read(sql: Sql, type: string, id: string): Promise<ResourceVersion | undefined> {
    const rows = await sql.query(
      `select ${columns} from fhir_resource where resource_type = $1 and id = $2`,
      [type, id],
    );
    return rows[0] ? toVersion(rows[0]) : undefined;
  }

  async readMany(sql: Sql, type: string, ids: readonly string[]): Promise<ResourceVersion[]> {
    if (ids.length === 0) return [];
    const rows = await sql.query(
      `select ${columns} from fhir_resource where resource_type = $1 and id = any($2::text[]) and not deleted`,
      [type, ids],
    );
    return rows.map(toVersion);
  }

  async vread(sql: Sql, type: string, id: string, versionId: number): Promise<ResourceVersion | undefined> {
    const rows = await sql.query(
      `select ${columns} from fhir_resource_history where resource_type = $1 and id = $2 and version_id = $3`,
      [type, id, versionId],
    );
    return rows[0] ? toVersion(rows[0]) : undefined;
  }

  /** Newest first. id undefined = the whole type. */
  async history(
    sql: Sql,
    type: string,
    id: string | undefined,
    opts: { count: number; since?: string },
  ): Promise<ResourceVersion[]> {
    const rows = await sql.query(
      `select ${columns} from fhir_resource_history
       where resource_type = $1 and ($2::text is null or id = $2) and ($3::timestamptz is null or last_updated >= $3)
       order by last_updated desc, version_id desc limit $4`,
      [type, id ?? null, opts.since ?? null, opts.count],
    );
    return rows.map(toVersion);
  }

  /**
   * Writes a new version (create, update or delete tombstone). `ifVersion` makes it conditional on
   * the current version (undefined = unconditional; 0 = must not exist). Returns undefined when the
   * condition fails.
   */
  async write(
    sql: Sql,
    v: {
      type: string;
      id: string;
      content: Record<string, unknown>;
      deleted?: boolean;
      ifVersion?: number;
      index?: IndexRows;
    },
  ): Promise<{ version: ResourceVersion; created: boolean } | undefined> {
    const deleted = v.deleted ?? false;
    const rows = await sql.query(
      `insert into fhir_resource (resource_type, id, version_id, last_updated, deleted, content)
       values ($1, $2, 1, clock_timestamp(), $3, $4::jsonb)
       on conflict (resource_type, id) do update
         set version_id = fhir_resource.version_id + 1, last_updated = clock_timestamp(), deleted = excluded.deleted, content = excluded.content
         where $5::int is null or fhir_resource.version_id = $5::int
       returning ${columns}, (xmax = 0) as inserted`,
      [v.type, v.id, deleted, JSON.stringify(v.content), v.ifVersion ?? null],
    );
    const row = rows[0];
    if (!row) return undefined;
    const version = toVersion(row);
    await sql.query(
      `insert into fhir_resource_history (resource_type, id, version_id, last_updated, deleted, content) values ($1, $2, $3, $4, $5, $6::jsonb)`,
      [v.type, v.id, version.versionId, version.lastUpdated, deleted, JSON.stringify(v.content)],
    );
    await this.#reindex(sql, v.type, v.id, deleted ? undefined : v.index);
    return { version, created: row['inserted'] === true };
  }

  /** Rewrites the search index of the current version (resources written without one). */
  async reindex(sql: Sql, type: string, id: string, index: IndexRows): Promise<void> {
    await this.#reindex(sql, type, id, index);
  }

  async #reindex(sql: Sql, type: string, id: string, index: IndexRows | undefined): Promise<void> {
    for (const t of indexTables)
      await sql.query(`delete from ${t} where resource_type = $1 and id = $2`, [type, id]);
    if (!index) return;
    if (index.tokens.length)
      await sql.query(
        `insert into fhir_token (resource_type, id, param, system, code)
         select $1, $2, x.param, x.system, x.code from jsonb_to_recordset($3::jsonb) as x(param text, system text, code text)`,
        [type, id, JSON.stringify(index.tokens)],
      );
    if (index.references.length)
      await sql.query(
        `insert into fhir_reference (resource_type, id, param, target)
         select $1, $2, x.param, x.target from jsonb_to_recordset($3::jsonb) as x(param text, target text)`,
        [type, id, JSON.stringify(index.references)],
      );
    if (index.strings.length)
      await sql.query(
        `insert into fhir_string (resource_type, id, param, value, raw)
         select $1, $2, x.param, x.value, x.raw from jsonb_to_recordset($3::jsonb) as x(param text, value text, raw text)`,
        [type, id, JSON.stringify(index.strings)],
      );
    if (index.dates.length)
      await sql.query(
        `insert into fhir_date (resource_type, id, param, low, high)
         select $1, $2, x.param, x.low, x.high from jsonb_to_recordset($3::jsonb) as x(param text, low timestamptz, high timestamptz)`,
        [type, id, JSON.stringify(index.dates)],
      );
  }

  /** Current, non-deleted resources matching every filter; newest first unless sorted otherwise. */
  async search(
    sql: Sql,
    type: string,
    filters: readonly SearchFilter[],
    opts: SearchOptions,
    nowMs: number,
  ): Promise<{ versions: ResourceVersion[]; total?: number }> {
    const params = new Params();
    const where = [`r.resource_type = ${params.add(type)}`, 'not r.deleted'];
    for (const f of filters) where.push(filterSql(f, params, nowMs));
    const whereSql = where.join(' and ');
    if (opts.countOnly) {
      const rows = await sql.query<{ n: number }>(
        `select count(*)::int as n from fhir_resource r where ${whereSql}`,
        params.values,
      );
      return { versions: [], total: rows[0]?.n ?? 0 };
    }
    const order = opts.sort.length
      ? opts.sort
          .map(
            (s) =>
              `${s.replace(/^-/, '') === '_id' ? 'r.id' : 'r.last_updated'} ${s.startsWith('-') ? 'desc' : 'asc'}`,
          )
          .join(', ')
      : 'r.last_updated desc';
    const rows = await sql.query(
      `select ${columns.replace(/(\w+)/g, 'r.$1')} from fhir_resource r where ${whereSql}
       order by ${order}, r.id limit ${params.add(opts.count)} offset ${params.add(opts.offset)}`,
      params.values,
    );
    return { versions: rows.map(toVersion) };
  }
}

/**
 * Ids of `targetType` that the resources matching the filters refer to by `param` (for `_has`),
 * at most `limit`.
 */
export async function distinctTargets(
  sql: Sql,
  type: string,
  filters: readonly SearchFilter[],
  param: string,
  targetType: string,
  limit: number,
  nowMs: number,
): Promise<string[]> {
  const params = new Params();
  const where = [`r.resource_type = ${params.add(type)}`, 'not r.deleted'];
  for (const f of filters) where.push(filterSql(f, params, nowMs));
  const rows = await sql.query<{ t: string }>(
    `select distinct x.target as t from fhir_resource r join fhir_reference x on ${owner('x')}
     where ${where.join(' and ')} and x.param = ${params.add(param)} and x.target like ${params.add(`${targetType}/%`)}
     limit ${params.add(limit)}`,
    params.values,
  );
  return rows.map((r) => r.t.slice(targetType.length + 1));
}

function owner(alias: string): string {
  return `${alias}.resource_type = r.resource_type and ${alias}.id = r.id`;
}

function tokenSql(alias: string, v: TokenValue, params: Params): string {
  const parts: string[] = [];
  if (v.code !== undefined) parts.push(`${alias}.code = ${params.add(v.code)}`);
  if (v.system === null) parts.push(`${alias}.system is null`);
  else if (v.system !== undefined) parts.push(`${alias}.system = ${params.add(v.system)}`);
  return parts.length ? `(${parts.join(' and ')})` : 'true';
}

function filterSql(f: SearchFilter, params: Params, nowMs: number): string {
  switch (f.kind) {
    case 'id':
      return `r.id = any(${params.add(f.values)}::text[])`;
    case 'lastUpdated':
      return `(${f.values.map((v) => pointDateSql('r.last_updated', v, params, nowMs)).join(' or ')})`;
    case 'token': {
      const any = f.values.map((v) => tokenSql('t', v, params)).join(' or ');
      const sub = `exists (select 1 from fhir_token t where ${owner('t')} and t.param = ${params.add(f.param)} and (${any}))`;
      return f.not ? `not ${sub}` : sub;
    }
    case 'reference': {
      if (!f.values.length) return 'false';
      const full = f.values.filter((v) => v.includes('/'));
      const bare = f.values.filter((v) => !v.includes('/'));
      const conds: string[] = [];
      if (full.length) conds.push(`x.target = any(${params.add(full)}::text[])`);
      for (const b of bare) conds.push(`x.target like ${params.add(`%/${b.replace(/[%_\\]/g, '\\$&')}`)}`);
      return `exists (select 1 from fhir_reference x where ${owner('x')} and x.param = ${params.add(f.param)} and (${conds.join(' or ')}))`;
    }
    case 'string': {
      const conds = f.values.map((v) => {
        const s = v.toLowerCase();
        const esc = s.replace(/[%_\\]/g, '\\$&');
        // Case- and accent-sensitive on the value as written (rows indexed before raw existed: on
        // the lower-cased value).
        if (f.mode === 'exact')
          return `(s.value = ${params.add(s)} and coalesce(s.raw = ${params.add(v)}, true))`;
        if (f.mode === 'contains') return `s.value like ${params.add(`%${esc}%`)}`;
        return `s.value like ${params.add(`${esc}%`)}`;
      });
      return `exists (select 1 from fhir_string s where ${owner('s')} and s.param = ${params.add(f.param)} and (${conds.join(' or ')}))`;
    }
    case 'date': {
      const conds = f.values.map((v) => rangeDateSql('d.low', 'd.high', v, params, nowMs));
      return `exists (select 1 from fhir_date d where ${owner('d')} and d.param = ${params.add(f.param)} and (${conds.join(' or ')}))`;
    }
    case 'missing': {
      const p = params.add(f.param);
      const absent = indexTables
        .map((t) => `not exists (select 1 from ${t} m where ${owner('m')} and m.param = ${p})`)
        .join(' and ');
      return f.missing ? `(${absent})` : `not (${absent})`;
    }
    case 'quantity':
    case 'composite':
    case 'tokenText':
    case 'referenceIdentifier':
      return 'false'; // refused by the parser for these types (storeKind generic)
    case 'notPatients': {
      if (!f.ids.length) return 'true';
      const refs = params.add(f.ids.map((id) => `Patient/${id}`));
      return `not (r.resource_type = 'Patient' and r.id = any(${params.add(f.ids)}::text[])) and not exists (select 1 from fhir_reference x where ${owner('x')} and x.param = 'patient' and x.target = any(${refs}::text[]))`;
    }
    default:
      return exhaustive(f);
  }
}

function exhaustive(x: never): never {
  throw new Error(`unhandled filter ${JSON.stringify(x)}`);
}
