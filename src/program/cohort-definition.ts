/**
 * A cohort definition (docs/populations.md): criteria combined with AND over programs, stored
 * Conditions, measures over a window and alerts. Pure validation with coded errors, and the
 * translation into one SQL query that runs on PGlite and PostgreSQL alike.
 */
import { VigilError } from '../core/errors.ts';
import { Severity } from '../core/severity.ts';
import { Loinc } from '../detect/codes.ts';
import { PROGRAM_SYSTEM } from './dashboard-data.ts';

export const comparisons = ['<', '<=', '>', '>=', '='] as const;
export type Comparison = (typeof comparisons)[number];
export const statistics = ['mean', 'min', 'max', 'count'] as const;
export type Statistic = (typeof statistics)[number];

export type Criterion =
  /** Enrolled in a monitoring program (latest monitoring configuration, else the care team's program). */
  | { kind: 'program'; program: string }
  /** A stored Condition with this code (SNOMED CT, ICD-10, …), not inactive, in remission or resolved. */
  | { kind: 'condition'; code: string; system?: string }
  /** mean / min / max / count of a LOINC code's values over the last `days` days, compared. */
  | { kind: 'measure'; code: string; statistic: Statistic; days: number; op: Comparison; value: number }
  /** Readings of a LOINC code per week over the last `days` days (count × 7 / days), compared. */
  | { kind: 'readings-per-week'; code: string; days: number; op: Comparison; value: number }
  /** Alerts (of a rule and/or severity) raised over the last `days` days, compared. */
  | { kind: 'alerts'; rule?: string; severity?: Severity; days: number; op: Comparison; value: number };

export interface CohortDefinition {
  criteria: Criterion[];
}

export const MAX_CRITERIA = 12;
export const MAX_WINDOW_DAYS = 366;

const invalid = (path: string, message: string): VigilError =>
  new VigilError('VIGIL_ERR_PROGRAM_COHORT_INVALID', `${path}: ${message}`, 400, { path });

const isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function text(o: Record<string, unknown>, key: string, path: string, optional = false): string | undefined {
  const v = o[key];
  if (v === undefined && optional) return undefined;
  if (typeof v !== 'string' || v.length === 0 || v.length > 200 || !/^[\x21-\x7e]+$/.test(v))
    throw invalid(`${path}.${key}`, 'must be a code of 1–200 printable characters without spaces');
  return v;
}

function days(o: Record<string, unknown>, path: string): number {
  const v = o['days'];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > MAX_WINDOW_DAYS)
    throw invalid(`${path}.days`, `must be a whole number of days from 1 to ${MAX_WINDOW_DAYS}`);
  return v;
}

function comparison(o: Record<string, unknown>, path: string): { op: Comparison; value: number } {
  const op = o['op'];
  if (typeof op !== 'string' || !(comparisons as readonly string[]).includes(op))
    throw invalid(`${path}.op`, `must be one of ${comparisons.join(' ')}`);
  const value = o['value'];
  if (typeof value !== 'number' || !Number.isFinite(value) || Math.abs(value) > 1e9)
    throw invalid(`${path}.value`, 'must be a finite number');
  return { op: op as Comparison, value };
}

function only(o: Record<string, unknown>, keys: readonly string[], path: string): void {
  for (const k of Object.keys(o)) if (!keys.includes(k)) throw invalid(`${path}.${k}`, 'unknown property');
}

/** Validates an untrusted definition; throws VIGIL_ERR_PROGRAM_COHORT_INVALID naming the path. */
export function validateCohortDefinition(input: unknown): CohortDefinition {
  if (!isObj(input)) throw invalid('definition', 'must be an object');
  only(input, ['criteria'], 'definition');
  const list = input['criteria'];
  if (!Array.isArray(list) || list.length === 0 || list.length > MAX_CRITERIA)
    throw invalid('definition.criteria', `must be a list of 1 to ${MAX_CRITERIA} criteria`);
  const criteria = list.map((c, i): Criterion => {
    const path = `definition.criteria[${i}]`;
    if (!isObj(c)) throw invalid(path, 'must be an object');
    switch (c['kind']) {
      case 'program':
        only(c, ['kind', 'program'], path);
        return { kind: 'program', program: text(c, 'program', path) as string };
      case 'condition': {
        only(c, ['kind', 'code', 'system'], path);
        const system = text(c, 'system', path, true);
        return { kind: 'condition', code: text(c, 'code', path) as string, ...(system ? { system } : {}) };
      }
      case 'measure': {
        only(c, ['kind', 'code', 'statistic', 'days', 'op', 'value'], path);
        const s = c['statistic'];
        if (typeof s !== 'string' || !(statistics as readonly string[]).includes(s))
          throw invalid(`${path}.statistic`, `must be one of ${statistics.join(', ')}`);
        return {
          kind: 'measure',
          code: text(c, 'code', path) as string,
          statistic: s as Statistic,
          days: days(c, path),
          ...comparison(c, path),
        };
      }
      case 'readings-per-week':
        only(c, ['kind', 'code', 'days', 'op', 'value'], path);
        return {
          kind: 'readings-per-week',
          code: text(c, 'code', path) as string,
          days: days(c, path),
          ...comparison(c, path),
        };
      case 'alerts': {
        only(c, ['kind', 'rule', 'severity', 'days', 'op', 'value'], path);
        const rule = text(c, 'rule', path, true);
        const sev = c['severity'];
        if (sev !== undefined && !(Object.values(Severity) as unknown[]).includes(sev))
          throw invalid(`${path}.severity`, `must be one of ${Object.values(Severity).join(', ')}`);
        return {
          kind: 'alerts',
          ...(rule ? { rule } : {}),
          ...(sev ? { severity: sev as Severity } : {}),
          days: days(c, path),
          ...comparison(c, path),
        };
      }
      default:
        throw invalid(`${path}.kind`, 'must be program, condition, measure, readings-per-week or alerts');
    }
  });
  return { criteria };
}

/** A short label per criterion (CSV column headers, the dashboard). */
export function criterionLabel(c: Criterion): string {
  switch (c.kind) {
    case 'program':
      return `program ${c.program}`;
    case 'condition':
      return `condition ${c.system ? `${c.system}|` : ''}${c.code}`;
    case 'measure':
      return `${c.statistic} ${c.code} ${c.days}d ${c.op} ${c.value}`;
    case 'readings-per-week':
      return `readings/week ${c.code} ${c.days}d ${c.op} ${c.value}`;
    case 'alerts':
      return `alerts${c.rule ? ` ${c.rule}` : ''}${c.severity ? ` ${c.severity}` : ''} ${c.days}d ${c.op} ${c.value}`;
  }
}

/**
 * Panel components stored inside their panel's row (`data.components`): a measure of systolic
 * pressure reads the blood-pressure panels (clinical-reference §2.2).
 */
const panelOf: Record<string, string> = {
  [Loinc.systolic]: Loinc.bpPanel,
  [Loinc.diastolic]: Loinc.bpPanel,
};

/** Collects positional parameters ($1, $2, …) for one statement. */
export class Params {
  readonly values: unknown[] = [];
  add(v: unknown): string {
    this.values.push(v);
    return `$${this.values.length}`;
  }
}

/**
 * The values of a code for patient `p.id` in [since, asOf): the row's own value, and for a panel
 * component its value inside the panel's rows.
 */
function valuesOf(code: string, since: string, until: string, q: Params): string {
  const c = q.add(code);
  const win = `o.patient_id = p.id and o.effective >= ${since} and o.effective < ${until}`;
  const own = `select o.value as x from observation o where ${win} and o.code = ${c}`;
  const panel = panelOf[code];
  if (!panel) return own;
  return `${own} union all
    select (e->>'value')::float8 as x from observation o cross join lateral jsonb_array_elements(o.data->'components') e
    where ${win} and o.code = ${q.add(panel)} and e->>'code' = ${c}`;
}

export interface CohortQueryOptions {
  /** The instant windows end at (exclusive), ISO 8601. */
  asOf: string;
  /** The patients the caller may read ('all' for an administrator). */
  readable: 'all' | ReadonlySet<string>;
}

/**
 * One SQL statement selecting `patient_id` and, per criterion, `c0 … cN` (its value for the
 * patient: 1 for a program or condition match, the statistic, readings per week, alert count), for
 * every readable, undeleted Patient meeting all criteria. Set criteria (program, condition, access)
 * filter first, the windowed values are computed only for the patients left (`offset 0` keeps the
 * planner from inlining the value columns into the outer filter and computing them twice).
 */
export function cohortSql(def: CohortDefinition, o: CohortQueryOptions, q = new Params()): string {
  // added on first use: a parameter no statement text refers to has no type (PostgreSQL refuses it)
  let asOfParam: string | undefined;
  const asOfRef = () => {
    asOfParam ??= `${q.add(o.asOf)}::timestamptz`;
    return asOfParam;
  };
  const where: string[] = [`p.resource_type = 'Patient'`, 'not p.deleted'];
  if (o.readable !== 'all')
    where.push(
      `p.id in (select jsonb_array_elements_text(${q.add(JSON.stringify([...o.readable]))}::jsonb))`,
    );
  const cols: string[] = [];
  const outer: string[] = [];
  def.criteria.forEach((c, i) => {
    const col = `c${i}`;
    if (c.kind === 'program') {
      const prog = q.add(JSON.stringify([c.program]));
      const team = q.add(JSON.stringify([{ coding: [{ system: PROGRAM_SYSTEM, code: c.program }] }]));
      // Driven by the program (GIN index on the enrolment's programs, migration 0530), so its cost
      // follows the program's size, not the population's: the patients whose latest monitoring
      // configuration lists it, and those without any whose active CareTeam carries it.
      where.push(`p.id in (
        select m.patient_id from monitoring_config m where m.enrolment->'programs' @> ${prog}::jsonb
          and m.version = (select max(m2.version) from monitoring_config m2 where m2.patient_id = m.patient_id)
        union
        select substr(t.content->'subject'->>'reference', 9) from fhir_resource t
          where t.resource_type = 'CareTeam' and not t.deleted
          and coalesce(t.content->>'status', 'active') = 'active' and t.content->'category' @> ${team}::jsonb
          and not exists (select 1 from monitoring_config m3
            where m3.patient_id = substr(t.content->'subject'->>'reference', 9)))`);
      cols.push(`1 as ${col}`);
      return;
    }
    if (c.kind === 'condition') {
      // per candidate, through the reference index: its cost follows the candidates, not the
      // number of patients with the condition
      where.push(`exists (select 1 from fhir_reference r
        join fhir_token t on t.resource_type = 'Condition' and t.id = r.id and t.param = 'code'
          and t.code = ${q.add(c.code)} ${c.system ? `and t.system = ${q.add(c.system)}` : ''}
        where r.resource_type = 'Condition' and r.param = 'patient' and r.target = 'Patient/' || p.id
          and not exists (select 1 from fhir_token s where s.resource_type = 'Condition' and s.id = r.id
            and s.param = 'clinical-status' and s.code in ('inactive', 'remission', 'resolved')))`);
      cols.push(`1 as ${col}`);
      return;
    }
    const asOf = asOfRef();
    const since = `(${asOf} - ${q.add(c.days)}::int * interval '1 day')`;
    const cmp = `${c.op} ${q.add(c.value)}::float8`;
    if (c.kind === 'measure') {
      const agg =
        c.statistic === 'mean' ? 'avg(x)' : c.statistic === 'count' ? 'count(x)' : `${c.statistic}(x)`;
      cols.push(`(select ${agg}::float8 from (${valuesOf(c.code, since, asOf, q)}) v) as ${col}`);
    } else if (c.kind === 'readings-per-week') {
      cols.push(
        `(select count(*)::float8 * 7 / ${q.add(c.days)}::int from (${valuesOf(c.code, since, asOf, q)}) v) as ${col}`,
      );
    } else {
      const filters = [
        'a.patient_id = p.id',
        `a.created_at >= ${since}`,
        `a.created_at < ${asOf}`,
        ...(c.rule ? [`a.rule = ${q.add(c.rule)}`] : []),
        ...(c.severity ? [`a.severity = ${q.add(c.severity)}`] : []),
      ];
      cols.push(`(select count(*)::float8 from alert a where ${filters.join(' and ')}) as ${col}`);
    }
    // a mean/min/max over no readings is null: the patient does not meet the criterion
    outer.push(`${col} ${cmp}`);
  });
  const inner = `select p.id as patient_id, ${cols.join(', ')} from fhir_resource p where ${where.join(' and ')} offset 0`;
  return `select * from (${inner}) cohort_rows${outer.length ? ` where ${outer.join(' and ')}` : ''}`;
}
