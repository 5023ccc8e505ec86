/**
 * Search criteria in a storage-neutral shape: the FHIR layer parses query strings into these, the
 * repositories turn them into SQL. Values inside one filter are OR-ed, filters are AND-ed.
 */
export type DatePrefix = 'eq' | 'ne' | 'lt' | 'gt' | 'le' | 'ge' | 'sa' | 'eb' | 'ap';
export const datePrefixes: readonly DatePrefix[] = ['eq', 'ne', 'lt', 'gt', 'le', 'ge', 'sa', 'eb', 'ap'];

/** A date search value as the range it denotes: [low, high) in ISO UTC. */
export interface DateValue {
  prefix: DatePrefix;
  low: string;
  high: string;
}

export interface TokenValue {
  /** undefined = any system; null = no system (`|code`). */
  system?: string | null;
  /** undefined = any code (`system|`). */
  code?: string;
}

/**
 * A number or quantity search value: the number as given, the range its precision denotes
 * ([low, high): `5.4` is [5.35, 5.45)), and the unit. `equivalents` are the same value converted
 * to the other units of the same dimension (UCUM), any of which matches.
 */
export interface QuantityValue {
  prefix: DatePrefix;
  value: number;
  low: number;
  high: number;
  /** undefined = any system. */
  system?: string;
  /** undefined = any unit; matched against the quantity's code or, without a system, its unit. */
  code?: string;
  equivalents?: Array<{ code: string; value: number; low: number; high: number }>;
}

export type SearchFilter =
  | { kind: 'id'; values: string[] }
  | { kind: 'lastUpdated'; values: DateValue[] }
  | { kind: 'token'; param: string; values: TokenValue[]; not?: boolean }
  | { kind: 'reference'; param: string; values: string[] } // 'Type/id' or bare id
  | { kind: 'string'; param: string; values: string[]; mode: 'prefix' | 'exact' | 'contains' }
  | { kind: 'date'; param: string; values: DateValue[] }
  | { kind: 'quantity'; param: string; values: QuantityValue[] }
  /** A composite `code$value` (code-value-quantity …): both parts hold of the same element. */
  | { kind: 'composite'; param: string; values: Array<{ code: TokenValue; quantity: QuantityValue }> }
  /** `:missing=true|false`: the element is absent (true) or present (false). */
  | { kind: 'missing'; param: string; missing: boolean }
  /** `:text` on a token: the CodeableConcept's text or a coding's display starts with a value. */
  | { kind: 'tokenText'; param: string; values: string[] }
  /** `:identifier` on a reference: the Reference.identifier (system|value). */
  | { kind: 'referenceIdentifier'; param: string; values: TokenValue[] }
  /**
   * Access restriction, set by the FHIR access layer (never parsed from a query): nothing in the
   * compartment of these patients — a Patient by its id, anything else by its `patient` reference.
   * Resources of no patient pass. (The positive form is a plain `id` / `reference` filter.)
   */
  | { kind: 'notPatients'; ids: string[] };

export interface SearchOptions {
  count: number;
  offset: number;
  /** 'date' | '-date' | '_lastUpdated' | '-_lastUpdated' | '_id' … */
  sort: string[];
  countOnly: boolean;
  /**
   * Keyset paging (stores that support it): continue after this row in the sort order — the first
   * sort key's value as the store wrote it and the row id. Replaces `offset` when given.
   */
  after?: { key: string; id: string };
}

/** Collects positional parameters for one SQL statement. */
export class Params {
  readonly values: unknown[] = [];
  add(v: unknown): string {
    this.values.push(v);
    return `$${this.values.length}`;
  }
}

/**
 * SQL for a date value against a point-in-time column (`t`). The value denotes [low, high).
 * `ap` is "approximately": within 10 % of the distance between the value and now, each side.
 */
export function pointDateSql(col: string, v: DateValue, params: Params, nowMs: number): string {
  const lo = () => `${params.add(v.low)}::timestamptz`;
  const hi = () => `${params.add(v.high)}::timestamptz`;
  switch (v.prefix) {
    case 'eq':
      return `(${col} >= ${lo()} and ${col} < ${hi()})`;
    case 'ne':
      return `not (${col} >= ${lo()} and ${col} < ${hi()})`;
    case 'lt':
    case 'eb':
      return `${col} < ${lo()}`;
    case 'le':
      return `${col} < ${hi()}`;
    case 'gt':
    case 'sa':
      return `${col} >= ${hi()}`;
    case 'ge':
      return `${col} >= ${lo()}`;
    case 'ap': {
      const [a, b] = approximate(v, nowMs);
      return `(${col} >= ${params.add(a)}::timestamptz and ${col} < ${params.add(b)}::timestamptz)`;
    }
    default:
      return exhaustive(v.prefix);
  }
}

/** SQL for a date value against a stored range [lowCol, highCol). */
export function rangeDateSql(
  lowCol: string,
  highCol: string,
  v: DateValue,
  params: Params,
  nowMs: number,
): string {
  const lo = () => `${params.add(v.low)}::timestamptz`;
  const hi = () => `${params.add(v.high)}::timestamptz`;
  switch (v.prefix) {
    case 'eq':
      return `(${lowCol} >= ${lo()} and ${highCol} <= ${hi()})`;
    case 'ne':
      return `not (${lowCol} >= ${lo()} and ${highCol} <= ${hi()})`;
    case 'lt':
      return `${lowCol} < ${lo()}`;
    case 'le':
      return `${lowCol} < ${hi()}`;
    case 'gt':
      return `${highCol} > ${hi()}`;
    case 'ge':
      return `${highCol} > ${lo()}`;
    case 'sa':
      return `${lowCol} >= ${hi()}`;
    case 'eb':
      return `${highCol} <= ${lo()}`;
    case 'ap': {
      const [a, b] = approximate(v, nowMs);
      return `(${lowCol} < ${params.add(b)}::timestamptz and ${highCol} > ${params.add(a)}::timestamptz)`;
    }
    default:
      return exhaustive(v.prefix);
  }
}

/**
 * SQL for a quantity value against a numeric expression (`col`, a point value). `ap` is within 10 %
 * of the value; `sa`/`eb` of a point are `gt`/`lt`.
 */
export function quantitySql(
  col: string,
  v: { value: number; low: number; high: number; prefix: DatePrefix },
  params: Params,
): string {
  const n = (x: number) => `${params.add(x)}::float8`;
  switch (v.prefix) {
    case 'eq':
      return `(${col} >= ${n(v.low)} and ${col} < ${n(v.high)})`;
    case 'ne':
      return `not (${col} >= ${n(v.low)} and ${col} < ${n(v.high)})`;
    case 'lt':
    case 'eb':
      return `${col} < ${n(v.value)}`;
    case 'le':
      return `${col} <= ${n(v.value)}`;
    case 'gt':
    case 'sa':
      return `${col} > ${n(v.value)}`;
    case 'ge':
      return `${col} >= ${n(v.value)}`;
    case 'ap': {
      const slack = Math.max(Math.abs(v.value) * 0.1, (v.high - v.low) / 2);
      return `(${col} >= ${n(v.value - slack)} and ${col} <= ${n(v.value + slack)})`;
    }
    default:
      return exhaustive(v.prefix);
  }
}

function approximate(v: DateValue, nowMs: number): [string, string] {
  const low = Date.parse(v.low);
  const high = Date.parse(v.high);
  const slack = Math.max(Math.abs(nowMs - low) * 0.1, high - low);
  return [new Date(low - slack).toISOString(), new Date(high + slack).toISOString()];
}

function exhaustive(x: never): never {
  throw new Error(`unhandled date prefix ${String(x)}`);
}
