import type { Reading } from '../core/reading.ts';
import type { Sql } from './database.ts';
import {
  Params,
  pointDateSql,
  type QuantityValue,
  quantitySql,
  type SearchFilter,
  type SearchOptions,
  type TokenValue,
} from './fhir-search-filter.ts';
import { readingColumns, rowToReading } from './observation-repository.ts';

export const LOINC = 'http://loinc.org';

/** An observation row: an ingest reading (resource null) or a FHIR-written Observation. */
export interface ObservationRow {
  id: string;
  versionId: number;
  lastUpdated: string;
  /** The FHIR JSON as written (no id / versionId / lastUpdated), or null for an ingest reading. */
  resource: Record<string, unknown> | null;
  reading: Reading;
}

/** The searchable columns of a FHIR-written Observation. */
export interface ObservationColumns {
  patientId: string | null;
  deviceId: string | null;
  code: string;
  category: string | null;
  effective: string;
  value: number | null;
  unit: string | null;
  idemKey: string;
}

export interface HistoryVersion {
  id: string;
  versionId: number;
  lastUpdated: string;
  deleted: boolean;
  /** Full rendered resource of that version (null for a tombstone). */
  resource: Record<string, unknown> | null;
}

const iso = (d: unknown) => (d instanceof Date ? d.toISOString() : String(d));
const uuidRe = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (s: string) => uuidRe.test(s);

const obsColumns = `${readingColumns}, version_id, last_updated, resource`;
/** FHIR-written rows' codings (partial GIN index observation_fhir_codings, 0110_fhir_codings.sql). */
const fhirCodings = `(o.resource -> 'code' -> 'coding')`;
const UCUM = 'http://unitsofmeasure.org';

/**
 * What the terminology says about ingest rows' codings (they have no coding index): see
 * src/api/fhir/search/ingest-codings.ts for the one built from normalize's code tables.
 */
export interface CodingTerminology {
  /** The identifier system under which ingest readings render their idempotency key. */
  idempotencySystem?: string;
  /** The code system of a primary code (undefined: not a code ingest writes). */
  systemOf(code: string): string | undefined;
  /** Primary codes of ingest rows that may carry (system, code) among their extra codings. */
  carriersOf(system: string | undefined, code: string): string[];
  /** Primary codes of that system. */
  primariesOf(system: string): string[];
  /** Primary codes of ingest rows that may carry an extra coding of that system. */
  carriersOfSystem(system: string): string[];
  /** Primary codes of panels (the only ingest rows with components); undefined: unknown. */
  panelCodes?: string[];
  /** Codes ingest writes whose display matches (`:text`): starts with the text, or a word of it does. */
  codesWithText?(text: string): string[];
}

/** Without a terminology: primary codes are LOINC, extra codings of ingest rows are not searched. */
const noTerminology: CodingTerminology = {
  systemOf: () => LOINC,
  carriersOf: () => [],
  primariesOf: () => [],
  carriersOfSystem: () => [],
};

function toRow(r: Record<string, unknown>): ObservationRow {
  return {
    id: r['id'] as string,
    versionId: r['version_id'] as number,
    lastUpdated: iso(r['last_updated']),
    resource: (r['resource'] as Record<string, unknown> | null) ?? null,
    reading: rowToReading(r),
  };
}

/**
 * Reads return each row as ONE json array (`packed`) rather than 14 columns: the drivers decode a
 * result field by field (PGlite copies and UTF-8-decodes every one), which cost more than the query
 * itself for a page of 100; a single JSON.parse per row is far cheaper. Times are formatted as
 * Date.toISOString() would. Element 14 is the keyset sort key when the query names one.
 */
const iso8601 = (c: string) => `to_char(${c} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
const packed = (a: string, sortKey = 'null') =>
  `json_build_array(${a}id, ${a}patient_id, ${a}device_id, ${a}code, ${a}category, ${iso8601(`${a}effective`)}, ${iso8601(`${a}received`)}, ${a}value, ${a}unit, ${a}data, ${a}idem_key, ${a}version_id, ${iso8601(`${a}last_updated`)}, ${a}resource, ${sortKey})`;

type Packed = [
  string,
  string | null,
  string | null,
  string,
  string | null,
  string,
  string,
  number | null,
  string | null,
  Record<string, unknown> | null,
  string,
  number,
  string,
  Record<string, unknown> | null,
  string | null,
];

function unpack(v: unknown): ObservationRow & { sortKey: string } {
  const r = (typeof v === 'string' ? JSON.parse(v) : v) as Packed;
  const data = (r[9] ?? {}) as Partial<Reading>;
  return {
    id: r[0],
    versionId: r[11],
    lastUpdated: r[12],
    resource: r[13] ?? null,
    sortKey: r[14] ?? '',
    reading: {
      ...data,
      id: r[0],
      patientId: r[1] ?? null,
      deviceId: r[2] ?? '',
      code: r[3],
      category: r[4] ?? 'vital-signs',
      effective: r[5],
      received: r[6],
      value: r[7] ?? null,
      unit: r[8] ?? null,
      idempotencyKey: r[10],
      codings: data.codings ?? [],
      components: data.components ?? [],
      flags: data.flags ?? [],
    } as Reading,
  };
}

function toHistory(r: Record<string, unknown>): HistoryVersion {
  return {
    id: r['id'] as string,
    versionId: r['version_id'] as number,
    lastUpdated: iso(r['last_updated']),
    deleted: r['deleted'] as boolean,
    resource: r['deleted'] ? null : (r['resource'] as Record<string, unknown>),
  };
}

/**
 * Observations through FHIR: the narrow `observation` table (shared with ingest) plus
 * `observation_history` for earlier versions and tombstones.
 */
export class FhirObservationRepository {
  readonly #terms: CodingTerminology;
  constructor(terms: CodingTerminology = noTerminology) {
    this.#terms = terms;
  }

  async get(sql: Sql, id: string): Promise<ObservationRow | undefined> {
    if (!isUuid(id)) return undefined;
    const rows = await sql.query<{ r: unknown }>(`select ${packed('')} as r from observation where id = $1`, [
      id,
    ]);
    return rows[0] ? unpack(rows[0].r) : undefined;
  }

  async getMany(sql: Sql, ids: readonly string[]): Promise<ObservationRow[]> {
    const valid = ids.filter(isUuid);
    if (!valid.length) return [];
    const rows = await sql.query(`select ${obsColumns} from observation where id = any($1::uuid[])`, [valid]);
    return rows.map(toRow);
  }

  async tombstone(sql: Sql, id: string): Promise<HistoryVersion | undefined> {
    if (!isUuid(id)) return undefined;
    const rows = await sql.query(
      'select id, version_id, last_updated, deleted, resource from observation_history where id = $1 order by version_id desc limit 1',
      [id],
    );
    const h = rows[0] ? toHistory(rows[0]) : undefined;
    return h?.deleted ? h : undefined;
  }

  async version(sql: Sql, id: string, versionId: number): Promise<HistoryVersion | undefined> {
    if (!isUuid(id)) return undefined;
    const rows = await sql.query(
      'select id, version_id, last_updated, deleted, resource from observation_history where id = $1 and version_id = $2',
      [id, versionId],
    );
    return rows[0] ? toHistory(rows[0]) : undefined;
  }

  /** Stored versions, newest first (the current version of an untouched ingest row is not among them). */
  async history(
    sql: Sql,
    id: string | undefined,
    opts: { count: number; since?: string },
  ): Promise<HistoryVersion[]> {
    if (id !== undefined && !isUuid(id)) return [];
    const rows = await sql.query(
      `select id, version_id, last_updated, deleted, resource from observation_history
       where ($1::uuid is null or id = $1) and ($2::timestamptz is null or last_updated >= $2)
       order by last_updated desc, version_id desc limit $3`,
      [id ?? null, opts.since ?? null, opts.count],
    );
    return rows.map(toHistory);
  }

  /**
   * Inserts a FHIR-written Observation (version 1) unless its idempotency key is stored already;
   * returns the id that holds that key and whether it was created now.
   */
  async insert(
    sql: Sql,
    id: string,
    cols: ObservationColumns,
    resource: Record<string, unknown>,
    render: (version: { versionId: number; lastUpdated: string }) => Record<string, unknown>,
  ): Promise<{ row: ObservationRow; created: boolean }> {
    const rows = await sql.query(
      `insert into observation (id, patient_id, device_id, code, category, effective, received, value, unit, data, idem_key, version_id, last_updated, resource)
       values ($1, $2, $3, $4, $5, $6, clock_timestamp(), $7, $8, '{}'::jsonb, $9, 1, clock_timestamp(), $10::jsonb)
       on conflict (idem_key) do nothing
       returning ${obsColumns}`,
      [
        id,
        cols.patientId,
        cols.deviceId,
        cols.code,
        cols.category,
        cols.effective,
        cols.value,
        cols.unit,
        cols.idemKey,
        JSON.stringify(resource),
      ],
    );
    if (rows[0]) {
      const row = toRow(rows[0]);
      await this.#addHistory(sql, row.id, row.versionId, row.lastUpdated, render(row));
      return { row, created: true };
    }
    const existing = await sql.query(`select ${obsColumns} from observation where idem_key = $1`, [
      cols.idemKey,
    ]);
    if (!existing[0]) throw new Error('observation idempotency key conflict without a row');
    return { row: toRow(existing[0]), created: false };
  }

  /**
   * Replaces the current version (`previous` is the rendered current version, kept in history if
   * it is not there yet). Returns undefined when `ifVersion` does not match.
   */
  async update(
    sql: Sql,
    id: string,
    cols: ObservationColumns,
    resource: Record<string, unknown>,
    ifVersion: number | undefined,
    previous: HistoryVersion,
    render: (version: { versionId: number; lastUpdated: string }) => Record<string, unknown>,
  ): Promise<ObservationRow | undefined> {
    const rows = await sql.query(
      `update observation set patient_id = $2, device_id = $3, code = $4, category = $5, effective = $6, value = $7, unit = $8,
         version_id = version_id + 1, last_updated = clock_timestamp(), resource = $9::jsonb
       where id = $1 and ($10::int is null or version_id = $10::int)
       returning ${obsColumns}`,
      [
        id,
        cols.patientId,
        cols.deviceId,
        cols.code,
        cols.category,
        cols.effective,
        cols.value,
        cols.unit,
        JSON.stringify(resource),
        ifVersion ?? null,
      ],
    );
    if (!rows[0]) return undefined;
    const row = toRow(rows[0]);
    await this.#addHistory(sql, id, previous.versionId, previous.lastUpdated, previous.resource ?? {});
    await this.#addHistory(sql, id, row.versionId, row.lastUpdated, render(row));
    return row;
  }

  /** Deletes the row, keeping its last version and a tombstone in history. */
  async delete(sql: Sql, id: string, previous: HistoryVersion): Promise<void> {
    await this.#addHistory(sql, id, previous.versionId, previous.lastUpdated, previous.resource ?? {});
    await sql.query('delete from observation where id = $1', [id]);
    await sql.query(
      `insert into observation_history (id, version_id, last_updated, deleted, resource) values ($1, $2, clock_timestamp(), true, '{}'::jsonb)
       on conflict do nothing`,
      [id, previous.versionId + 1],
    );
  }

  async #addHistory(
    sql: Sql,
    id: string,
    versionId: number,
    lastUpdated: string,
    resource: Record<string, unknown>,
  ): Promise<void> {
    await sql.query(
      `insert into observation_history (id, version_id, last_updated, deleted, resource) values ($1, $2, $3, false, $4::jsonb)
       on conflict do nothing`,
      [id, versionId, lastUpdated, JSON.stringify(resource)],
    );
  }

  /**
   * Search. A `code` filter becomes disjoint, index-friendly branches per value (see codeBranches),
   * each ordered and limited on its own, then merged: ingest rows by their primary code column
   * (index patient_id, code, effective), ingest rows by an extra coding (the candidate primary codes
   * from the terminology, rechecked against data.codings), and FHIR-written rows by any coding of
   * resource.code (partial GIN index over FHIR-written rows only, so ingest pays nothing for it).
   * Each row comes back with its keyset cursor (`sortKey`: the first sort column as text).
   */
  async search(
    sql: Sql,
    filters: readonly SearchFilter[],
    opts: SearchOptions,
    nowMs: number,
  ): Promise<{ rows: Array<ObservationRow & { sortKey: string }>; total?: number }> {
    const params = new Params();
    const { common, branches, disjoint } = this.#conditions(filters, params, nowMs);
    if (opts.countOnly) {
      const sqlText =
        branches.length === 1
          ? `select count(*)::int as n from observation o where ${common} and ${branches[0]}`
          : `select count(*)::int as n from (${branches.map((b) => `select o.id from observation o where ${common} and ${b}`).join(disjoint ? ' union all ' : ' union ')}) u`;
      const rows = await sql.query<{ n: number }>(sqlText, params.values);
      return { rows: [], total: rows[0]?.n ?? 0 };
    }
    const keys = sortKeys(opts.sort);
    const order = (a: string) => keys.map((k) => `${a}${k.col} ${k.dir}`).join(', ');
    const first = keys[0] as SortKey;
    let after = '';
    if (opts.after && opts.sort.length <= 1) {
      const op = first.dir === 'desc' ? '<' : '>';
      const id = `${params.add(opts.after.id)}::uuid`;
      if (first.col === 'id') after = ` and o.id ${op} ${id}`;
      else {
        const v = `${params.add(opts.after.key)}::timestamptz`;
        after = ` and o.${first.col} ${op}= ${v} and (o.${first.col}, o.id) ${op} (${v}, ${id})`;
      }
    }
    const offsetN = opts.after ? 0 : opts.offset;
    const cols = `o.id, o.effective, o.last_updated, ${packed('o.', `o.${first.col}::text`)} as r`;
    const limit = params.add(opts.count);
    const offset = params.add(offsetN);
    let text: string;
    if (branches.length === 1) {
      text = `select ${packed('o.', `o.${first.col}::text`)} as r from observation o where ${common} and ${branches[0]}${after} order by ${order('o.')} limit ${limit} offset ${offset}`;
    } else {
      const window = params.add(opts.count + offsetN);
      const parts = branches.map(
        (b) =>
          `(select ${cols} from observation o where ${common} and ${b}${after} order by ${order('o.')} limit ${window})`,
      );
      // Branches of one code value are disjoint (no dedupe); a comma list may match a row twice.
      const merged = disjoint
        ? parts.join(' union all ')
        : `select distinct on (id) * from (${parts.join(' union all ')}) d`;
      text = `select r from (${merged}) u order by ${order('u.')} limit ${limit} offset ${offset}`;
    }
    const rows = await sql.query<{ r: unknown }>(text, params.values);
    return { rows: rows.map((x) => unpack(x.r)) };
  }

  /** The WHERE of a search: the code filter as disjoint branches (see search), the rest AND-ed. */
  #conditions(filters: readonly SearchFilter[], params: Params, nowMs: number) {
    const where: string[] = [];
    let branches: string[] = ['true'];
    let branched = false;
    let disjoint = true;
    for (const f of filters) {
      if (f.kind === 'token' && f.param === 'code' && !f.not && !branched) {
        branched = true;
        branches = f.values.flatMap((v) => codeBranches(this.#terms, v, params));
        disjoint = f.values.length === 1;
        if (!branches.length) branches = ['false'];
        continue;
      }
      where.push(obsFilterSql(this.#terms, f, params, nowMs));
    }
    return { common: where.length ? where.join(' and ') : 'true', branches, disjoint };
  }

  /**
   * The distinct patients (`patient_id`) or devices (`device_id`) of the observations matching the
   * filters, at most `limit` (for `_has`).
   */
  async distinct(
    sql: Sql,
    filters: readonly SearchFilter[],
    column: 'patient_id' | 'device_id',
    limit: number,
    nowMs: number,
  ): Promise<string[]> {
    const params = new Params();
    const { common, branches } = this.#conditions(filters, params, nowMs);
    const rows = await sql.query<{ v: string }>(
      `select distinct o.${column} as v from observation o where ${common} and (${branches.join(' or ')}) and o.${column} is not null limit ${params.add(limit)}`,
      params.values,
    );
    return rows.map((r) => r.v);
  }

  /** Keyset scan by id (bulk export): rows after `afterId`, optionally only these patients' (or any attributed one). */
  async scan(
    sql: Sql,
    afterId: string | null,
    limit: number,
    patients?: readonly string[] | 'attributed',
  ): Promise<ObservationRow[]> {
    const cond =
      patients === 'attributed'
        ? 'and patient_id is not null'
        : patients
          ? 'and patient_id = any($3::text[])'
          : '';
    const rows = await sql.query(
      `select ${obsColumns} from observation where ($1::uuid is null or id > $1::uuid) ${cond} order by id limit $2`,
      patients && patients !== 'attributed' ? [afterId, limit, patients] : [afterId, limit],
    );
    return rows.map(toRow);
  }

  /** The latest `max` observations per code for a patient (codes given, or every code the patient has). */
  async lastn(
    sql: Sql,
    patientId: string,
    opts: { codes?: string[]; category?: string[]; max: number },
  ): Promise<ObservationRow[]> {
    const params = new Params();
    const p = params.add(patientId);
    const max = params.add(opts.max);
    const cat = opts.category?.length ? ` and o.category = any(${params.add(opts.category)}::text[])` : '';
    const codes = opts.codes?.length
      ? `select unnest(${params.add(opts.codes)}::text[]) as code`
      : `with recursive c as (
           (select code from observation where patient_id = ${p} order by code limit 1)
           union all
           select (select o.code from observation o where o.patient_id = ${p} and o.code > c.code order by o.code limit 1) from c where c.code is not null
         ) select code from c where code is not null`;
    const rows = await sql.query<{ r: unknown }>(
      `select ${packed('l.')} as r from (${codes}) k cross join lateral (
         select o.* from observation o where o.patient_id = ${p} and o.code = k.code${cat}
         order by o.effective desc, o.id desc limit ${max}
       ) l order by l.code, l.effective desc, l.id desc`,
      params.values,
    );
    return rows.map((x) => unpack(x.r));
  }
}

interface SortKey {
  col: 'effective' | 'last_updated' | 'id';
  dir: 'asc' | 'desc';
}

/** The sort keys as columns, always ending with id (a total order, which keyset paging needs). */
function sortKeys(sort: readonly string[]): SortKey[] {
  const keys: SortKey[] = (sort.length ? sort : ['-date']).map((s) => {
    const name = s.replace(/^-/, '');
    return {
      col: name === 'date' ? 'effective' : name === '_lastUpdated' ? 'last_updated' : 'id',
      dir: s.startsWith('-') ? 'desc' : 'asc',
    };
  });
  const first = keys[0] as SortKey;
  if (first.col !== 'id' || keys.length > 1) keys.push({ col: 'id', dir: first.dir });
  return keys;
}

/**
 * Disjoint conditions for one token value of `code`: ingest rows by the primary code column, ingest
 * rows by an extra coding (candidate primary codes from the terminology, then data.codings must
 * contain the coding — the MDC → LOINC map is many-to-one), FHIR-written rows by any coding.
 */
function codeBranches(terms: CodingTerminology, v: TokenValue, params: Params): string[] {
  const out: string[] = [];
  const json = (c: Record<string, string>) => `${params.add(JSON.stringify([c]))}::jsonb`;
  if (v.code === undefined) {
    if (!v.system) return [`o.resource is not null and ${fhirCodings} is not null`];
    const coding = json({ system: v.system });
    const primaries = terms.primariesOf(v.system);
    const carriers = terms.carriersOfSystem(v.system).filter((c) => !primaries.includes(c));
    if (primaries.length) out.push(`o.resource is null and o.code = any(${params.add(primaries)}::text[])`);
    if (carriers.length)
      out.push(
        `o.resource is null and o.code = any(${params.add(carriers)}::text[]) and o.data -> 'codings' @> ${coding}`,
      );
    out.push(`o.resource is not null and ${fhirCodings} @> ${coding}`);
    return out;
  }
  const coding = json(v.system ? { system: v.system, code: v.code } : { code: v.code });
  if (v.system !== null) {
    const system = terms.systemOf(v.code) ?? LOINC;
    if (v.system === undefined || v.system === system)
      out.push(`o.resource is null and o.code = ${params.add(v.code)}`);
    const carriers = terms.carriersOf(v.system, v.code);
    if (carriers.length)
      out.push(
        `o.resource is null and o.code = any(${params.add(carriers)}::text[]) and o.data -> 'codings' @> ${coding}`,
      );
  }
  out.push(`o.resource is not null and ${fhirCodings} @> ${coding}`);
  return out;
}

function refIds(values: readonly string[], type: string): string[] {
  return values
    .filter((v) => !v.includes('/') || v.startsWith(`${type}/`))
    .map((v) => v.replace(`${type}/`, ''));
}

function obsFilterSql(terms: CodingTerminology, f: SearchFilter, params: Params, nowMs: number): string {
  switch (f.kind) {
    case 'id': {
      const ids = f.values.filter(isUuid);
      return ids.length ? `o.id = any(${params.add(ids)}::uuid[])` : 'false';
    }
    case 'lastUpdated':
      return `(${f.values.map((v) => pointDateSql('o.last_updated', v, params, nowMs)).join(' or ')})`;
    case 'date':
      return `(${f.values.map((v) => pointDateSql('o.effective', v, params, nowMs)).join(' or ')})`;
    case 'reference': {
      if (f.param === 'patient' || f.param === 'subject') {
        const ids = refIds(f.values, 'Patient');
        const others =
          f.param === 'subject' ? f.values.filter((v) => v.includes('/') && !v.startsWith('Patient/')) : [];
        const conds: string[] = [];
        if (ids.length === 1) conds.push(`o.patient_id = ${params.add(ids[0])}`);
        else if (ids.length) conds.push(`o.patient_id = any(${params.add(ids)}::text[])`);
        if (others.length)
          conds.push(`(o.resource -> 'subject' ->> 'reference') = any(${params.add(others)}::text[])`);
        return conds.length ? `(${conds.join(' or ')})` : 'false';
      }
      if (f.param === 'device') {
        const ids = refIds(f.values, 'Device');
        return ids.length ? `o.device_id = any(${params.add(ids)}::text[])` : 'false';
      }
      if (f.param === 'encounter') {
        const refs = f.values.map((v) => (v.includes('/') ? v : `Encounter/${v}`));
        return `(o.resource -> 'encounter' ->> 'reference') = any(${params.add(refs)}::text[])`;
      }
      return 'false';
    }
    case 'token': {
      let sqlText: string;
      if (f.param === 'category') {
        const codes = f.values.map((v) => v.code).filter((c): c is string => c !== undefined);
        sqlText = codes.length ? `o.category = any(${params.add(codes)}::text[])` : 'true';
      } else if (f.param === 'code') {
        sqlText = `(${f.values.flatMap((v) => codeBranches(terms, v, params)).join(' or ') || 'false'})`;
      } else if (f.param === 'status') {
        // Ingest readings render as final, or preliminary when flagged an early estimate, or
        // corrected (HL7 OBX-11 C, data.resultStatus).
        const codes = f.values.map((v) => v.code).filter((c): c is string => c !== undefined);
        sqlText = codes.length
          ? `coalesce(o.resource ->> 'status', o.data ->> 'resultStatus', case when (o.data -> 'flags') @> '["early-estimate"]'::jsonb then 'preliminary' else 'final' end) = any(${params.add(codes)}::text[])`
          : 'true';
      } else if (f.param === 'identifier') {
        sqlText = `(${f.values.map((v) => identifierSql(terms, v, params)).join(' or ') || 'false'})`;
      } else if (f.param === 'component-code') {
        sqlText = `(${f.values.map((v) => componentCodeSql(terms, v, params)).join(' or ') || 'false'})`;
      } else if (f.param === 'combo-code') {
        sqlText = `(${f.values.flatMap((v) => [...codeBranches(terms, v, params), componentCodeSql(terms, v, params)]).join(' or ') || 'false'})`;
      } else sqlText = 'false';
      return f.not ? `not coalesce(${sqlText}, false)` : sqlText;
    }
    case 'string':
      return 'false';
    case 'quantity':
      return `(${f.values.map((q) => quantityParamSql(f.param, undefined, q, params)).join(' or ') || 'false'})`;
    case 'composite': {
      const qty = compositeQuantity[f.param];
      if (!qty) return 'false';
      return `(${f.values.map((v) => quantityParamSql(qty, v.code, v.quantity, params, terms)).join(' or ') || 'false'})`;
    }
    case 'missing': {
      const cond = missingSql(terms, f.param, params);
      return f.missing ? `(${cond})` : `not (${cond})`;
    }
    case 'tokenText':
      return `(${f.values.map((v) => textSql(terms, f.param, v, params)).join(' or ') || 'false'})`;
    case 'referenceIdentifier': {
      const el = f.param === 'patient' ? 'subject' : f.param;
      const conds = f.values.map((v) => {
        const ident: Record<string, string> = {};
        if (v.system) ident['system'] = v.system;
        if (v.code !== undefined) ident['value'] = v.code;
        return `(o.resource -> ${params.add(el)} -> 'identifier') @> ${params.add(JSON.stringify(ident))}::jsonb`;
      });
      return `(o.resource is not null and (${conds.join(' or ') || 'false'}))`;
    }
    case 'notPatients':
      // Access restriction (FHIR access layer): no row of these patients; unattributed rows pass.
      return f.ids.length
        ? `(o.patient_id is null or o.patient_id <> all(${params.add(f.ids)}::text[]))`
        : 'true';
    default:
      return exhaustive(f);
  }
}

/** The quantity half of each composite parameter (the code half is the same element's code). */
const compositeQuantity: Record<string, string> = {
  'code-value-quantity': 'value-quantity',
  'component-code-value-quantity': 'component-value-quantity',
  'combo-code-value-quantity': 'combo-value-quantity',
};

/** A jsonb number as float8 (null when it is not a number, so a stray string never fails a query). */
const num = (j: string) => `(case when jsonb_typeof(${j}) = 'number' then (${j})::text::float8 end)`;
const comps = (j: string) =>
  `jsonb_array_elements(case when jsonb_typeof(${j}) = 'array' then ${j} else '[]'::jsonb end)`;
const ingestComponents = comps(`o.data -> 'components'`);
const fhirComponents = comps(`o.resource -> 'component'`);

/**
 * The unit part of a quantity value against a value, its unit code, and (FHIR-written) its system
 * and unit text: with UCUM or no system the stored code (ingest rows are UCUM); another system
 * only FHIR-written quantities of that system; no system also matches the unit text.
 */
function unitSql(
  q: { system?: string },
  code: string | undefined,
  cols: { code: string; system: string | null; unit: string | null },
  params: Params,
): string {
  const parts: string[] = [];
  if (q.system !== undefined) {
    if (cols.system === null) {
      if (q.system !== UCUM) return 'false';
    } else parts.push(`${cols.system} = ${params.add(q.system)}`);
  }
  if (code !== undefined) {
    const c = params.add(code);
    parts.push(
      q.system === undefined && cols.unit !== null
        ? `(${cols.code} = ${c} or ${cols.unit} = ${c})`
        : `${cols.code} = ${c}`,
    );
  }
  return parts.length ? parts.join(' and ') : 'true';
}

/** Each unit the value may be stored in (its own and its UCUM equivalents), OR-ed. */
function valueInUnits(
  q: QuantityValue,
  valueCol: string,
  cols: { code: string; system: string | null; unit: string | null },
  params: Params,
): string {
  const alts: Array<{
    code: string | undefined;
    v: { value: number; low: number; high: number; prefix: QuantityValue['prefix'] };
  }> = [
    { code: q.code, v: q },
    ...(q.equivalents ?? []).map((e) => ({ code: e.code, v: { ...e, prefix: q.prefix } })),
  ];
  return `(${alts.map((a) => `(${quantitySql(valueCol, a.v, params)} and ${unitSql(q, a.code, cols, params)})`).join(' or ')})`;
}

/** A component code (token) against an ingest component `c` ({code, codings}). */
function ingestComponentCode(v: TokenValue, params: Params): string {
  if (v.system === null) return 'false';
  if (v.code === undefined)
    return v.system === LOINC
      ? 'true'
      : `coalesce(c -> 'codings', '[]'::jsonb) @> ${params.add(JSON.stringify([{ system: v.system }]))}::jsonb`;
  const parts: string[] = [];
  if (v.system === undefined || v.system === LOINC) parts.push(`c ->> 'code' = ${params.add(v.code)}`);
  const coding = v.system ? { system: v.system, code: v.code } : { code: v.code };
  parts.push(`coalesce(c -> 'codings', '[]'::jsonb) @> ${params.add(JSON.stringify([coding]))}::jsonb`);
  return `(${parts.join(' or ')})`;
}

/** A code (token) against a FHIR CodeableConcept expression. */
function conceptCode(concept: string, v: TokenValue, params: Params): string {
  if (v.system === null)
    return `exists (select 1 from ${comps(`${concept} -> 'coding'`)} x where x ->> 'code' = ${params.add(v.code ?? '')} and not (x ? 'system'))`;
  const coding: Record<string, string> = {};
  if (v.system !== undefined) coding['system'] = v.system;
  if (v.code !== undefined) coding['code'] = v.code;
  return `(${concept} -> 'coding') @> ${params.add(JSON.stringify([coding]))}::jsonb`;
}

function panelGuard(terms: CodingTerminology, params: Params): string {
  return terms.panelCodes ? ` and o.code = any(${params.add(terms.panelCodes)}::text[])` : '';
}

/**
 * value-quantity, component-value-quantity and combo-value-quantity, optionally with a code that
 * must hold of the same element (the composite parameters): the Observation's own code and value,
 * or one component's.
 */
function quantityParamSql(
  param: string,
  code: TokenValue | undefined,
  q: QuantityValue,
  params: Params,
  terms: CodingTerminology = noTerminology,
): string {
  const parts: string[] = [];
  if (param === 'value-quantity' || param === 'combo-value-quantity') {
    const own = valueInUnits(
      q,
      'o.value',
      {
        code: 'o.unit',
        system: `coalesce(o.resource -> 'valueQuantity' ->> 'system', '${UCUM}')`,
        unit: `(o.resource -> 'valueQuantity' ->> 'unit')`,
      },
      params,
    );
    const codeCond = code ? ` and (${codeBranches(terms, code, params).join(' or ') || 'false'})` : '';
    parts.push(`(${own}${codeCond})`);
  }
  if (param === 'component-value-quantity' || param === 'combo-value-quantity') {
    const ingest = valueInUnits(
      q,
      num(`c -> 'value'`),
      { code: `(c ->> 'unit')`, system: null, unit: null },
      params,
    );
    const ingestCode = code ? ` and ${ingestComponentCode(code, params)}` : '';
    parts.push(
      `(o.resource is null${panelGuard(terms, params)} and exists (select 1 from ${ingestComponents} c where ${ingest}${ingestCode}))`,
    );
    const fhir = valueInUnits(
      q,
      num(`c -> 'valueQuantity' -> 'value'`),
      {
        code: `(c -> 'valueQuantity' ->> 'code')`,
        system: `(c -> 'valueQuantity' ->> 'system')`,
        unit: `(c -> 'valueQuantity' ->> 'unit')`,
      },
      params,
    );
    const fhirCode = code ? ` and ${conceptCode(`(c -> 'code')`, code, params)}` : '';
    parts.push(
      `(o.resource is not null and exists (select 1 from ${fhirComponents} c where ${fhir}${fhirCode}))`,
    );
  }
  return `(${parts.join(' or ') || 'false'})`;
}

/** component-code (and the component half of combo-code). */
function componentCodeSql(terms: CodingTerminology, v: TokenValue, params: Params): string {
  return `((o.resource is null${panelGuard(terms, params)} and exists (select 1 from ${ingestComponents} c where ${ingestComponentCode(v, params)}))
    or (o.resource is not null and exists (select 1 from ${fhirComponents} c where ${conceptCode(`(c -> 'code')`, v, params)})))`;
}

/** `:missing=true`: the element is absent (ingest rows by what they render). */
function missingSql(terms: CodingTerminology, param: string, params: Params): string {
  const fhirAbsent = (el: string) => `(o.resource -> ${params.add(el)}) is null`;
  const split = (ingest: string, el: string) =>
    `(case when o.resource is null then ${ingest} else ${fhirAbsent(el)} end)`;
  switch (param) {
    case 'patient':
      return 'o.patient_id is null';
    case 'subject':
      return split('o.patient_id is null', 'subject');
    case 'device':
      return split('false', 'device');
    case 'encounter':
      return split('true', 'encounter');
    case 'category':
      return split('false', 'category');
    case 'identifier':
      return split('false', 'identifier');
    case 'value-quantity':
      return split('(o.value is null or o.unit is null)', 'valueQuantity');
    case 'component-code':
      return split(
        terms.panelCodes
          ? `not (o.code = any(${params.add(terms.panelCodes)}::text[]))`
          : `not exists (select 1 from ${ingestComponents} c)`,
        'component',
      );
    case 'component-value-quantity':
      return `(case when o.resource is null then not exists (select 1 from ${ingestComponents} c where ${num(`c -> 'value'`)} is not null)
        else not exists (select 1 from ${fhirComponents} c where c -> 'valueQuantity' is not null) end)`;
    default:
      return 'false';
  }
}

/** `:text`: a CodeableConcept's text or a coding's display starts with the text, or a word in it does. */
function textSql(terms: CodingTerminology, param: string, text: string, params: Params): string {
  const t = text.toLowerCase().replace(/[%_\\]/g, '\\$&');
  const start = params.add(`${t}%`);
  const word = params.add(`% ${t}%`);
  const like = (e: string) => `(lower(${e}) like ${start} or lower(${e}) like ${word})`;
  const concept = (c: string) =>
    `(${like(`${c} ->> 'text'`)} or exists (select 1 from ${comps(`${c} -> 'coding'`)} x where ${like(`x ->> 'display'`)}))`;
  const codes = terms.codesWithText?.(text) ?? [];
  const parts: string[] = [];
  if (param === 'code' || param === 'combo-code') {
    if (codes.length) parts.push(`(o.resource is null and o.code = any(${params.add(codes)}::text[]))`);
    parts.push(`(o.resource is not null and ${concept(`(o.resource -> 'code')`)})`);
  }
  if (param === 'component-code' || param === 'combo-code') {
    if (codes.length)
      parts.push(
        `(o.resource is null and exists (select 1 from ${ingestComponents} c where c ->> 'code' = any(${params.add(codes)}::text[])))`,
      );
    parts.push(
      `(o.resource is not null and exists (select 1 from ${fhirComponents} c where ${concept(`(c -> 'code')`)}))`,
    );
  }
  return `(${parts.join(' or ') || 'false'})`;
}

/**
 * An identifier token: FHIR-written rows by containment in resource.identifier; ingest rows by
 * their idempotency key, which they render as an identifier of the terminology's system.
 */
function identifierSql(terms: CodingTerminology, v: TokenValue, params: Params): string {
  const ident: Record<string, string> = {};
  if (v.system) ident['system'] = v.system;
  if (v.code !== undefined) ident['value'] = v.code;
  const parts = [
    `(o.resource is not null and (o.resource -> 'identifier') @> ${params.add(JSON.stringify([ident]))}::jsonb)`,
  ];
  const sys = terms.idempotencySystem;
  if (sys && v.code !== undefined && (v.system === undefined || v.system === sys))
    parts.push(`(o.resource is null and o.idem_key = ${params.add(v.code)})`);
  return `(${parts.join(' or ')})`;
}

function exhaustive(x: never): never {
  throw new Error(`unhandled filter ${JSON.stringify(x)}`);
}
