/**
 * Population analytics (docs/populations.md): saved cohorts, their evaluation for one caller, the
 * cohort views (BP control rate, TIR distribution, monthly outcome trend) and the exports (CSV,
 * FHIR R4 Group). One query per concern, never one per patient.
 */
import { toCsv } from '../core/csv.ts';
import { VigilError } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import { Loinc } from '../detect/codes.ts';
import type { Sql } from '../store/database.ts';
import { cgmMetrics, type GlucosePoint } from './cgm-metrics.ts';
import {
  type CohortDefinition,
  type CohortQueryOptions,
  cohortSql,
  criterionLabel,
  Params,
  validateCohortDefinition,
} from './cohort-definition.ts';
import { displayName, type PatientContent } from './dashboard-data.ts';
import { CGM_CODES, MGDL_PER_MMOLL, MOLAR_GLUCOSE_CODES } from './vitals.ts';

const DAY = 86_400_000;

export interface SavedCohort {
  id: string;
  name: string;
  description: string | null;
  definition: CohortDefinition;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
}

const iso = (v: unknown) => (v instanceof Date ? v : new Date(String(v))).toISOString();
const json = <T>(v: unknown): T => (typeof v === 'string' ? JSON.parse(v) : v) as T;

function rowToCohort(r: Record<string, unknown>): SavedCohort {
  return {
    id: r['id'] as string,
    name: r['name'] as string,
    description: (r['description'] as string | null) ?? null,
    definition: json<CohortDefinition>(r['definition']),
    createdBy: r['created_by'] as string,
    createdAt: iso(r['created_at']),
    updatedAt: iso(r['updated_at']),
  };
}

/** Saved cohort definitions (table `cohort`, migration 0530). */
export class CohortRepository {
  readonly #sql: Sql;
  constructor(sql: Sql) {
    this.#sql = sql;
  }

  async create(
    input: { name: unknown; description?: unknown; definition: unknown },
    createdBy: string,
    now: number,
  ): Promise<SavedCohort> {
    const name = typeof input.name === 'string' ? input.name.trim() : '';
    if (!name || name.length > 200)
      throw new VigilError('VIGIL_ERR_PROGRAM_COHORT_INVALID', 'name: 1–200 characters', 400, {
        path: 'name',
      });
    if (
      input.description !== undefined &&
      (typeof input.description !== 'string' || input.description.length > 2000)
    )
      throw new VigilError('VIGIL_ERR_PROGRAM_COHORT_INVALID', 'description: at most 2000 characters', 400, {
        path: 'description',
      });
    const definition = validateCohortDefinition(input.definition);
    const at = new Date(now).toISOString();
    const [row] = await this.#sql.query<Record<string, unknown>>(
      `insert into cohort (id, name, description, definition, created_by, created_at, updated_at)
       values ($1, $2, $3, $4::jsonb, $5, $6, $6) returning *`,
      [
        newId(),
        name,
        (input.description as string | undefined) ?? null,
        JSON.stringify(definition),
        createdBy,
        at,
      ],
    );
    return rowToCohort(row as Record<string, unknown>);
  }

  async list(): Promise<SavedCohort[]> {
    const rows = await this.#sql.query<Record<string, unknown>>(
      'select * from cohort order by name, created_at',
    );
    return rows.map(rowToCohort);
  }

  async get(id: string): Promise<SavedCohort> {
    const rows = /^[0-9a-f-]{36}$/i.test(id)
      ? await this.#sql.query<Record<string, unknown>>('select * from cohort where id = $1', [id])
      : [];
    if (!rows[0]) throw new VigilError('VIGIL_ERR_PROGRAM_COHORT_NOT_FOUND', 'no such cohort', 404);
    return rowToCohort(rows[0]);
  }

  async delete(id: string): Promise<void> {
    await this.get(id);
    await this.#sql.query('delete from cohort where id = $1', [id]);
  }
}

export interface CohortMember {
  patientId: string;
  name: string;
  /** Per criterion: 1 for a program or condition match, else the statistic / rate / count. */
  values: Array<number | null>;
}

export interface CohortEvaluation {
  asOf: string;
  count: number;
  criteria: string[];
  members: CohortMember[];
  offset: number;
  limit: number;
}

const num = (v: unknown) => (v === null || v === undefined ? null : Math.round(Number(v) * 100) / 100);

/** The patients meeting `def` for a caller (readable set), ordered by id; a page of them named. */
export async function evaluateCohort(
  sql: Sql,
  def: CohortDefinition,
  o: CohortQueryOptions & { offset?: number; limit?: number | 'all' },
): Promise<CohortEvaluation> {
  const q = new Params();
  const base = cohortSql(def, o, q);
  const offset = o.offset ?? 0;
  const limit = o.limit ?? 100;
  const page = limit === 'all' ? '' : `limit ${q.add(limit)}::int offset ${q.add(offset)}::int`;
  // one pass: the total rides on every row of the page (counted before the limit)
  const rows = await sql.query<Record<string, unknown>>(
    `select x.*, p.content as patient from (
       select c.*, count(*) over () as total from (${base}) c order by c.patient_id ${page}) x
     join fhir_resource p on p.resource_type = 'Patient' and p.id = x.patient_id
     order by x.patient_id`,
    q.values,
  );
  const total =
    rows.length > 0 ? Number(rows[0]?.['total']) : offset === 0 ? 0 : await countCohort(sql, def, o);
  return {
    asOf: o.asOf,
    count: total,
    criteria: def.criteria.map(criterionLabel),
    members: rows.map((r) => ({
      patientId: r['patient_id'] as string,
      name: displayName(json<PatientContent>(r['patient'])),
      values: def.criteria.map((_, i) => num(r[`c${i}`])),
    })),
    offset,
    limit: limit === 'all' ? rows.length : limit,
  };
}

/** Only the number of patients meeting `def` (the bench's query, and the saved-cohort list). */
export async function countCohort(sql: Sql, def: CohortDefinition, o: CohortQueryOptions): Promise<number> {
  const q = new Params();
  const base = cohortSql(def, o, q);
  const [r] = await sql.query<{ n: number }>(`select count(*)::int as n from (${base}) c`, q.values);
  return Number(r?.n ?? 0);
}

/**
 * Blood-pressure control: a patient's mean systolic and mean diastolic over the window both below
 * the thresholds. The clinical reference (§8) gives the 2017 ACC/AHA categories (stage 2 is ≥ 140
 * or ≥ 90, verified) but no definition of "controlled" for a program: the default, below stage 2,
 * is unverified and configurable (`systolicBelow`, `diastolicBelow`).
 */
export interface BpControlSettings {
  systolicBelow: number;
  diastolicBelow: number;
  days: number;
}
export const defaultBpControl: BpControlSettings = { systolicBelow: 140, diastolicBelow: 90, days: 30 };

/** TIR target for most adults: > 70 % of readings 70–180 mg/dL (clinical-reference §6). */
export const TIR_TARGET_PERCENT = 70;
const TIR_LOW = 70;
const TIR_HIGH = 180;
/** The consensus window for CGM metrics: 14 days (clinical-reference §6). */
export const CGM_WINDOW_DAYS = 14;

export interface CohortView {
  asOf: string;
  members: number;
  bpControl: {
    settings: BpControlSettings & { verified: false };
    patientsWithBp: number;
    controlled: number;
    rate: number | null;
    meanSystolic: number | null;
    meanDiastolic: number | null;
  };
  tir: {
    windowDays: number;
    patientsWithCgm: number;
    sufficient: number;
    meetingTarget: number;
    targetPercent: number;
    /** Patients per 10-point TIR bin: [0,10), [10,20) … [90,100]. */
    bins: Array<{ from: number; to: number; patients: number }>;
    median: number | null;
  };
  trend: Array<{
    month: string;
    patientsWithBp: number;
    bpControlRate: number | null;
    meanSystolic: number | null;
    patientsWithCgm: number;
    meanTir: number | null;
    alerts: number;
  }>;
}

const bpValues = (members: string, since: string, until: string) => `
  select o.patient_id, e->>'code' as code, (e->>'value')::float8 as v, o.effective
  from observation o join ${members} m on m.patient_id = o.patient_id
  cross join lateral jsonb_array_elements(o.data->'components') e
  where o.code = '${Loinc.bpPanel}' and o.effective >= ${since} and o.effective < ${until}
    and e->>'code' in ('${Loinc.systolic}', '${Loinc.diastolic}')
  union all
  select o.patient_id, o.code, o.value, o.effective from observation o join ${members} m on m.patient_id = o.patient_id
  where o.code in ('${Loinc.systolic}', '${Loinc.diastolic}') and o.value is not null
    and o.effective >= ${since} and o.effective < ${until}`;

const glucoseMgdl = (o: string) =>
  `case when ${o}.code in (${MOLAR_GLUCOSE_CODES.map((c) => `'${c}'`).join(', ')}) then ${o}.value * ${MGDL_PER_MMOLL} else ${o}.value end`;
const cgmCodes = CGM_CODES.map((c) => `'${c}'`).join(', ');

const round1 = (x: number) => Math.round(x * 10) / 10;
const ratio = (a: number, b: number) => (b > 0 ? Math.round((a / b) * 1000) / 1000 : null);

/** Months `YYYY-MM` (UTC) from `months - 1` before asOf's month to asOf's month. */
export function monthsEnding(asOf: number, months: number): string[] {
  const d = new Date(asOf);
  const out: string[] = [];
  for (let i = months - 1; i >= 0; i--) {
    const m = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - i, 1));
    out.push(m.toISOString().slice(0, 7));
  }
  return out;
}

/** Distributions and the monthly trend of a cohort's members (evaluated for the caller as of `asOf`). */
export async function cohortView(
  sql: Sql,
  def: CohortDefinition,
  o: CohortQueryOptions & { months?: number; bp?: BpControlSettings },
): Promise<CohortView> {
  const bp = o.bp ?? defaultBpControl;
  const months = o.months ?? 6;
  const asOfMs = Date.parse(o.asOf);
  const q = new Params();
  const members = `with members as materialized (select patient_id from (${cohortSql(def, o, q)}) c)`;
  const cohortParams = q.values.length;
  const asOf = `${q.add(o.asOf)}::timestamptz`;
  const base = q.values.length;
  const at = (extra: unknown[]) => [...q.values.slice(0, base), ...extra];
  const p = (i: number) => `$${base + i}`;

  const [count] = await sql.query<{ n: number }>(
    `${members} select count(*)::int as n from members`,
    q.values.slice(0, cohortParams),
  );

  const [b] = await sql.query<Record<string, unknown>>(
    `${members}, bpv as (${bpValues('members', `(${asOf} - ${p(1)}::int * interval '1 day')`, asOf)}),
     per as (select patient_id, avg(v) filter (where code = '${Loinc.systolic}') as sbp,
       avg(v) filter (where code = '${Loinc.diastolic}') as dbp from bpv group by patient_id)
     select count(*)::int as with_bp,
       count(*) filter (where sbp < ${p(2)}::float8 and dbp < ${p(3)}::float8)::int as controlled,
       avg(sbp)::float8 as sbp, avg(dbp)::float8 as dbp
     from per where sbp is not null and dbp is not null`,
    at([bp.days, bp.systolicBelow, bp.diastolicBelow]),
  );

  // TIR distribution through the project's CGM metric code, per patient over the consensus window
  const from = asOfMs - CGM_WINDOW_DAYS * DAY;
  const glucose = await sql.query<{ patient_id: string; t: number; mgdl: number }>(
    `${members} select o.patient_id, (extract(epoch from o.effective) * 1000)::float8 as t, (${glucoseMgdl('o')})::float8 as mgdl
     from observation o join members m on m.patient_id = o.patient_id
     where o.code in (${cgmCodes}) and o.value is not null
       and o.effective >= (${asOf} - ${p(1)}::int * interval '1 day') and o.effective < ${asOf}`,
    at([CGM_WINDOW_DAYS]),
  );
  const byPatient = new Map<string, GlucosePoint[]>();
  for (const g of glucose) {
    const list = byPatient.get(g.patient_id) ?? [];
    list.push({ t: Number(g.t), mgdl: Number(g.mgdl) });
    byPatient.set(g.patient_id, list);
  }
  const bins = Array.from({ length: 10 }, (_, i) => ({ from: i * 10, to: i * 10 + 10, patients: 0 }));
  const tirs: number[] = [];
  let sufficient = 0;
  for (const points of byPatient.values()) {
    const m = cgmMetrics(points, { from, to: asOfMs - 1 });
    if (m.inRange === null) continue;
    tirs.push(m.inRange);
    if (m.sufficient) sufficient++;
    (bins[Math.min(9, Math.floor(m.inRange / 10))] as { patients: number }).patients++;
  }
  tirs.sort((a, c) => a - c);
  const mid = tirs.length
    ? tirs.length % 2
      ? tirs[(tirs.length - 1) / 2]
      : ((tirs[tirs.length / 2 - 1] as number) + (tirs[tirs.length / 2] as number)) / 2
    : null;

  // monthly trend (UTC months) of the current members' outcomes
  const monthList = monthsEnding(asOfMs, months);
  const start = `${monthList[0]}-01T00:00:00Z`;
  const month = (c: string) => `to_char(${c} at time zone 'UTC', 'YYYY-MM')`;
  const bpMonths = await sql.query<Record<string, unknown>>(
    `${members}, bpv as (${bpValues('members', `${p(1)}::timestamptz`, asOf)}),
     per as (select patient_id, ${month('effective')} as month, avg(v) filter (where code = '${Loinc.systolic}') as sbp,
       avg(v) filter (where code = '${Loinc.diastolic}') as dbp from bpv group by patient_id, ${month('effective')})
     select month, count(*)::int as n, count(*) filter (where sbp < ${p(2)}::float8 and dbp < ${p(3)}::float8)::int as controlled,
       avg(sbp)::float8 as sbp from per where sbp is not null and dbp is not null group by month`,
    at([start, bp.systolicBelow, bp.diastolicBelow]),
  );
  const cgmMonths = await sql.query<Record<string, unknown>>(
    `${members}, per as (select o.patient_id, ${month('o.effective')} as month,
       avg(case when (${glucoseMgdl('o')}) between ${TIR_LOW} and ${TIR_HIGH} then 100.0 else 0 end) as tir
       from observation o join members m on m.patient_id = o.patient_id
       where o.code in (${cgmCodes}) and o.value is not null and o.effective >= ${p(1)}::timestamptz and o.effective < ${asOf}
       group by o.patient_id, ${month('o.effective')})
     select month, count(*)::int as n, avg(tir)::float8 as tir from per group by month`,
    at([start]),
  );
  const alertMonths = await sql.query<Record<string, unknown>>(
    `${members} select ${month('a.created_at')} as month, count(*)::int as n
     from alert a join members m on m.patient_id = a.patient_id
     where a.created_at >= ${p(1)}::timestamptz and a.created_at < ${asOf} group by 1`,
    at([start]),
  );
  const byMonth = (rows: Array<Record<string, unknown>>) =>
    new Map(rows.map((r) => [r['month'] as string, r]));
  const bm = byMonth(bpMonths);
  const cm = byMonth(cgmMonths);
  const am = byMonth(alertMonths);
  const withBp = Number(b?.['with_bp'] ?? 0);
  const controlled = Number(b?.['controlled'] ?? 0);
  const opt = (v: unknown) => (v === null || v === undefined ? null : round1(Number(v)));
  return {
    asOf: o.asOf,
    members: Number(count?.n ?? 0),
    bpControl: {
      settings: { ...bp, verified: false },
      patientsWithBp: withBp,
      controlled,
      rate: ratio(controlled, withBp),
      meanSystolic: opt(b?.['sbp']),
      meanDiastolic: opt(b?.['dbp']),
    },
    tir: {
      windowDays: CGM_WINDOW_DAYS,
      patientsWithCgm: tirs.length,
      sufficient,
      meetingTarget: tirs.filter((t) => t > TIR_TARGET_PERCENT).length,
      targetPercent: TIR_TARGET_PERCENT,
      bins,
      median: mid === null || mid === undefined ? null : round1(mid),
    },
    trend: monthList.map((m) => {
      const x = bm.get(m);
      const c = cm.get(m);
      const n = Number(x?.['n'] ?? 0);
      return {
        month: m,
        patientsWithBp: n,
        bpControlRate: ratio(Number(x?.['controlled'] ?? 0), n),
        meanSystolic: opt(x?.['sbp']),
        patientsWithCgm: Number(c?.['n'] ?? 0),
        meanTir: opt(c?.['tir']),
        alerts: Number(am.get(m)?.['n'] ?? 0),
      };
    }),
  };
}

/** RFC 4180 CSV of the members (formula cells neutralised): id, name, one column per criterion. */
export function cohortCsv(e: CohortEvaluation): string {
  return toCsv(
    ['patientId', 'name', ...e.criteria],
    e.members.map((m) => [m.patientId, m.name, ...m.values.map((v) => (v === null ? '' : v))]),
  );
}

/** The members as a FHIR R4 Group: an actual group of persons, each a Patient reference. */
export function cohortGroup(c: SavedCohort, e: CohortEvaluation): Record<string, unknown> {
  return {
    resourceType: 'Group',
    id: c.id,
    meta: { lastUpdated: e.asOf },
    identifier: [{ system: 'urn:vigil:cohort', value: c.id }],
    active: true,
    type: 'person',
    actual: true,
    name: c.name,
    quantity: e.members.length,
    member: e.members.map((m) => ({ entity: { reference: `Patient/${m.patientId}`, display: m.name } })),
  };
}
