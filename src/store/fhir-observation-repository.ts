import type { Reading } from '../core/reading.ts';
import type { Sql } from './database.ts';
import {
  Params,
  pointDateSql,
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
const oColumns = obsColumns
  .split(',')
  .map((c) => `o.${c.trim()}`)
  .join(', ');
const codings = `coalesce(o.resource -> 'code' -> 'coding', o.data -> 'codings')`;

function toRow(r: Record<string, unknown>): ObservationRow {
  return {
    id: r['id'] as string,
    versionId: r['version_id'] as number,
    lastUpdated: iso(r['last_updated']),
    resource: (r['resource'] as Record<string, unknown> | null) ?? null,
    reading: rowToReading(r),
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
  async get(sql: Sql, id: string): Promise<ObservationRow | undefined> {
    if (!isUuid(id)) return undefined;
    const rows = await sql.query(`select ${obsColumns} from observation where id = $1`, [id]);
    return rows[0] ? toRow(rows[0]) : undefined;
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
   * Search. A `code` filter becomes a union of two index-friendly branches per value — the primary
   * code column (index patient_id, code, effective) and any coding (GIN on the codings) — so both
   * ingest readings and FHIR-written Observations match on every coding they carry.
   */
  async search(
    sql: Sql,
    filters: readonly SearchFilter[],
    opts: SearchOptions,
    nowMs: number,
  ): Promise<{ rows: ObservationRow[]; total?: number }> {
    const params = new Params();
    const where: string[] = [];
    let branches: string[] = ['true'];
    let branched = false;
    for (const f of filters) {
      if (f.kind === 'token' && f.param === 'code' && !f.not && !branched) {
        branched = true;
        branches = f.values.flatMap((v) => codeBranches(v, params));
        continue;
      }
      where.push(obsFilterSql(f, params, nowMs));
    }
    const common = where.length ? where.join(' and ') : 'true';
    if (opts.countOnly) {
      const sqlText =
        branches.length === 1
          ? `select count(*)::int as n from observation o where ${common} and ${branches[0]}`
          : `select count(*)::int as n from (${branches.map((b) => `select o.id from observation o where ${common} and ${b}`).join(' union ')}) u`;
      const rows = await sql.query<{ n: number }>(sqlText, params.values);
      return { rows: [], total: rows[0]?.n ?? 0 };
    }
    const order = orderSql(opts.sort);
    const limit = params.add(opts.count);
    const offset = params.add(opts.offset);
    let text: string;
    if (branches.length === 1) {
      text = `select ${oColumns} from observation o where ${common} and ${branches[0]} order by ${order('o.')} limit ${limit} offset ${offset}`;
    } else {
      const window = params.add(opts.count + opts.offset);
      const parts = branches.map(
        (b) =>
          `(select ${oColumns} from observation o where ${common} and ${b} order by ${order('o.')} limit ${window})`,
      );
      text = `select * from (${parts.join(' union ')}) u order by ${order('u.')} limit ${limit} offset ${offset}`;
    }
    const rows = await sql.query(text, params.values);
    return { rows: rows.map(toRow) };
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
    const rows = await sql.query(
      `select l.* from (${codes}) k cross join lateral (
         select ${oColumns} from observation o where o.patient_id = ${p} and o.code = k.code${cat}
         order by o.effective desc, o.id desc limit ${max}
       ) l order by l.code, l.effective desc, l.id desc`,
      params.values,
    );
    return rows.map(toRow);
  }
}

function orderSql(sort: readonly string[]): (alias: string) => string {
  const keys = sort.length ? sort : ['-date'];
  return (a) =>
    keys
      .map((s) => {
        const desc = s.startsWith('-') ? 'desc' : 'asc';
        const name = s.replace(/^-/, '');
        const col = name === 'date' ? 'effective' : name === '_lastUpdated' ? 'last_updated' : 'id';
        return `${a}${col} ${desc}`;
      })
      .concat(`${a}id ${keys[0]?.startsWith('-') ? 'desc' : 'asc'}`)
      .join(', ');
}

function codeBranches(v: TokenValue, params: Params): string[] {
  if (v.code === undefined) {
    if (v.system === LOINC)
      return [
        'o.resource is null',
        `${codings} @> ${params.add(JSON.stringify([{ system: LOINC }]))}::jsonb`,
      ];
    return [`${codings} @> ${params.add(JSON.stringify([{ system: v.system ?? undefined }]))}::jsonb`];
  }
  const coding = v.system ? { system: v.system, code: v.code } : { code: v.code };
  const json = `${params.add(JSON.stringify([coding]))}::jsonb`;
  const contains = `${codings} @> ${json}`;
  if (v.system === null) return [contains];
  if (v.system === undefined || v.system === LOINC) {
    return [`(o.code = ${params.add(v.code)} and (o.resource is null or ${contains}))`, contains];
  }
  return [contains];
}

function refIds(values: readonly string[], type: string): string[] {
  return values
    .filter((v) => !v.includes('/') || v.startsWith(`${type}/`))
    .map((v) => v.replace(`${type}/`, ''));
}

function obsFilterSql(f: SearchFilter, params: Params, nowMs: number): string {
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
      return 'false';
    }
    case 'token': {
      let sqlText: string;
      if (f.param === 'category') {
        const codes = f.values.map((v) => v.code).filter((c): c is string => c !== undefined);
        sqlText = codes.length ? `o.category = any(${params.add(codes)}::text[])` : 'true';
      } else if (f.param === 'code') {
        sqlText = `(${f.values.flatMap((v) => codeBranches(v, params)).join(' or ')})`;
      } else sqlText = 'false';
      return f.not ? `not ${sqlText}` : sqlText;
    }
    case 'string':
      return 'false';
    default:
      return exhaustive(f);
  }
}

function exhaustive(x: never): never {
  throw new Error(`unhandled filter ${JSON.stringify(x)}`);
}
