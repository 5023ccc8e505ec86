import { vigilUrlAliases } from '../../../core/fhir-namespace.ts';
import {
  type DatePrefix,
  datePrefixes,
  type QuantityValue,
  type SearchFilter,
  type SearchOptions,
  type TokenValue,
} from '../../../store/fhir-search-filter.ts';
import { badRequest, notSupported } from '../outcomes.ts';
import { decodeCursor } from './cursor.ts';
import { parseDateValue } from './date.ts';
import {
  commonParams,
  isSupportedType,
  resourceTypes,
  resultParams,
  type SearchParamDef,
  type SupportedType,
  searchParams,
  storeKind,
  unsupportedCommon,
} from './params.ts';
import { unitEquivalents } from './units.ts';

/** A chained parameter (`subject.identifier=…`, `subject:Patient.name=…`), resolved by search.ts. */
export interface ChainSpec {
  /** The query key as sent (for messages and the lenient report). */
  key: string;
  /** The reference parameter of the searched type. */
  param: string;
  /** The types the chain may go to (the type modifier, or every supported target). */
  targets: SupportedType[];
  /** The parameter on the target (`identifier`, `name:exact`) and its raw value. */
  chained: string;
  value: string;
}

/** A reverse chain (`_has:Observation:subject:code=…`), resolved by search.ts. */
export interface HasSpec {
  key: string;
  /** The searched type (what `param` points at). */
  target: SupportedType;
  /** The type whose resources refer to the searched one. */
  from: SupportedType;
  /** The reference parameter of `from` that points at the searched resource. */
  param: string;
  /** The parameter on `from` and its raw value. */
  on: string;
  value: string;
}

export interface ParsedSearch {
  filters: SearchFilter[];
  options: SearchOptions;
  /** `_include` values (`Observation:patient`). */
  include: string[];
  /** `_revinclude` values (`Observation:subject`). */
  revinclude: string[];
  chains: ChainSpec[];
  has: HasSpec[];
  /** Parameters ignored under `Prefer: handling=lenient` (reported as a warning). */
  ignored: string[];
  /** `_total`: accurate and estimate both count in SQL; none leaves Bundle.total out. */
  total?: 'accurate' | 'estimate' | 'none';
  /** `_summary` other than count (true, data, text) — applied to each resource returned. */
  summary?: 'true' | 'data' | 'text';
  /** `_elements`: top-level elements to return (plus id, meta and the mandatory ones). */
  elements?: string[];
}

export const defaultCount = 50;
export const maxCount = 1000;

const sortable: Partial<Record<SupportedType, readonly string[]>> = {
  Observation: ['date', '_lastUpdated', '_id'],
  // Views of other modules' tables: newest first, no other order.
  Flag: [],
  Communication: [],
  ServiceRequest: [],
  AuditEvent: [],
};
const genericSortable = ['_lastUpdated', '_id'];
/** Reference parameters of `type` whose targets include a supported type. */
function referenceParams(type: SupportedType) {
  return Object.values(searchParams[type]).filter(
    (d) => d.type === 'reference' && (d.targets ?? []).some(isSupportedType),
  );
}

/** `_include=Type:param`: every reference parameter of the type whose targets Vigil stores. */
export function includesFor(type: SupportedType): readonly string[] {
  return referenceParams(type).map((d) => `${type}:${d.name}`);
}

/**
 * `_revinclude=Other:param`: every reference parameter of another type that can point at `type`,
 * where the other type's store can search by it (the views answer `patient`/`subject` only, and
 * AuditEvent's are single-valued, so not there).
 */
export function revincludesFor(type: SupportedType): readonly string[] {
  const out: string[] = [];
  for (const from of resourceTypes) {
    if (from === 'AuditEvent') continue;
    for (const d of referenceParams(from)) {
      if (!(d.targets ?? []).includes(type)) continue;
      if (storeKind(from) === 'view' && !(d.name === 'patient' || d.name === 'subject')) continue;
      if (from === 'Device' && d.name !== 'patient') continue;
      out.push(`${from}:${d.name}`);
    }
  }
  return out;
}

/** Parameters answering `:missing`, per store. */
const observationMissing = new Set([
  'patient',
  'subject',
  'device',
  'encounter',
  'category',
  'identifier',
  'value-quantity',
  'component-code',
  'component-value-quantity',
]);
/** Observation token parameters answering `:text`. */
const observationText = new Set(['code', 'component-code', 'combo-code']);
/** Observation reference parameters answering `:identifier`. */
const observationIdentifier = new Set(['patient', 'subject', 'device', 'encounter']);
/** Most targets a chain or `_has` may resolve to (beyond: too costly). */
export const maxChainMatches = 1000;
export function sortsFor(type: SupportedType): readonly string[] {
  return sortable[type] ?? genericSortable;
}

/**
 * Parses search parameters. Unknown or unsupported parameters are a 400 unless `lenient`, in which
 * case they are listed in `ignored`.
 */
export function parseSearch(type: SupportedType, query: URLSearchParams, lenient: boolean): ParsedSearch {
  const defs = searchParams[type];
  const filters: SearchFilter[] = [];
  const ignored: string[] = [];
  const options: SearchOptions = { count: defaultCount, offset: 0, sort: [], countOnly: false };
  const include: string[] = [];
  const revinclude: string[] = [];
  const chains: ChainSpec[] = [];
  const has: HasSpec[] = [];
  const presentation: Pick<ParsedSearch, 'total' | 'summary' | 'elements'> = {};
  const reject = (msg: string, key: string, unsupported = false) => {
    if (!lenient) throw unsupported ? notSupported(msg) : badRequest(msg, key);
    ignored.push(key);
  };

  for (const [key, raw] of query) {
    if (key.startsWith('_has:')) {
      const h = parseHas(type, key, raw);
      if (typeof h === 'string') reject(h, key, true);
      else has.push(h);
      continue;
    }
    if (key.includes('.')) {
      const c = parseChain(type, key, raw);
      if (typeof c === 'string') reject(c, key, true);
      else chains.push(c);
      continue;
    }
    const [name = '', modifier] = key.split(':', 2) as [string, string | undefined];
    if (resultParams.has(name)) {
      switch (name) {
        case '_count': {
          const n = Number(raw);
          if (!Number.isInteger(n) || n < 0)
            throw badRequest(`_count must be a non-negative integer, got '${raw}'`, '_count');
          options.count = Math.min(n, maxCount);
          break;
        }
        case '_offset': {
          const n = Number(raw);
          if (!Number.isInteger(n) || n < 0)
            throw badRequest(`_offset must be a non-negative integer, got '${raw}'`, '_offset');
          options.offset = n;
          break;
        }
        case '_sort':
          for (const s of raw.split(',')) {
            if (!sortsFor(type).includes(s.replace(/^-/, '')))
              reject(`cannot sort ${type} by '${s}' (supported: ${sortsFor(type).join(', ')})`, '_sort');
            else options.sort.push(s);
          }
          break;
        case '_cursor':
          options.after = decodeCursor(raw);
          break;
        case '_summary':
          if (raw === 'count') options.countOnly = true;
          else if (raw === 'true' || raw === 'data' || raw === 'text') presentation.summary = raw;
          else if (raw !== 'false')
            reject(`_summary=${raw} is not a _summary value (true, text, data, count, false)`, '_summary');
          break;
        case '_include':
          if (modifier) reject(`_include:${modifier} is not supported (no iterate)`, key, true);
          else if (!includesFor(type).includes(raw))
            reject(
              `_include=${raw} is not supported for ${type} (supported: ${includesFor(type).join(', ') || 'none'})`,
              '_include',
              true,
            );
          else include.push(raw);
          break;
        case '_revinclude':
          if (modifier) reject(`_revinclude:${modifier} is not supported (no iterate)`, key, true);
          else if (!revincludesFor(type).includes(raw))
            reject(
              `_revinclude=${raw} is not supported for ${type} (supported: ${revincludesFor(type).join(', ') || 'none'})`,
              '_revinclude',
              true,
            );
          else revinclude.push(raw);
          break;
        case '_total':
          if (raw === 'accurate' || raw === 'estimate' || raw === 'none') presentation.total = raw;
          else reject(`_total=${raw} is not a _total value (none, estimate, accurate)`, '_total');
          break;
        case '_elements': {
          const els = raw
            .split(',')
            .map((e) => e.trim())
            .filter((e) => e !== '');
          if (els.some((e) => !/^[a-z][A-Za-z0-9]*(\[x\])?$/.test(e)))
            reject(`_elements=${raw}: list top-level element names`, '_elements');
          else presentation.elements = els;
          break;
        }
        default:
          break; // _format, _pretty: presentation only
      }
      continue;
    }
    const def: SearchParamDef | undefined = unsupportedCommon[type]?.includes(name)
      ? undefined
      : (commonParams[name] ?? defs[name]);
    if (!def) {
      reject(`unknown search parameter '${name}' for ${type}`, key);
      continue;
    }
    if (modifier === 'missing') {
      if (raw !== 'true' && raw !== 'false')
        throw badRequest(`${key} takes true or false, got '${raw}'`, key);
      if (!answersMissing(type, def))
        reject(`modifier ':missing' is not supported on '${name}' of ${type}`, key, true);
      else filters.push({ kind: 'missing', param: def.name, missing: raw === 'true' });
      continue;
    }
    const values = splitValues(raw);
    if (values.length === 0) continue;
    const filter = toFilter(type, def, modifier, values, key);
    if (filter) filters.push(filter);
    else reject(`modifier ':${modifier}' is not supported on '${name}' of ${type}`, key, true);
  }
  return { filters, options, include, revinclude, chains, has, ignored, ...presentation };
}

/** The modifiers a parameter of `type` accepts (what toFilter takes; the CapabilityStatement lists them). */
export function modifiersFor(type: SupportedType, def: SearchParamDef): string[] {
  const kind = storeKind(type);
  const out: string[] = [];
  if (def.name === '_id' || def.name === '_lastUpdated') return out;
  switch (def.type) {
    case 'token':
      if (type !== 'AuditEvent') out.push('not');
      if (kind === 'observation' && observationText.has(def.name)) out.push('text');
      break;
    case 'reference':
      if (kind === 'observation' && observationIdentifier.has(def.name)) out.push('identifier');
      out.push(...(def.targets ?? []).filter(isSupportedType));
      break;
    case 'string':
      out.push('exact', 'contains');
      break;
    default:
      break;
  }
  if (answersMissing(type, def)) out.push('missing');
  return out;
}

function answersMissing(type: SupportedType, def: SearchParamDef): boolean {
  const kind = storeKind(type);
  if (kind === 'observation') return observationMissing.has(def.name);
  return kind === 'generic' && !def.name.startsWith('_');
}

/** `ref[:Type].param[:modifier]` — one level only. */
function parseChain(type: SupportedType, key: string, value: string): ChainSpec | string {
  const dot = key.indexOf('.');
  const head = key.slice(0, dot);
  const chained = key.slice(dot + 1);
  const [param = '', typeModifier] = head.split(':', 2) as [string, string | undefined];
  const def = searchParams[type][param];
  if (def?.type !== 'reference')
    return `chained parameter '${key}': '${param}' is not a reference search parameter of ${type}`;
  if (chained.includes('.') || chained.startsWith('_has'))
    return `chained parameter '${key}': chains go one level deep (${param}.<parameter>)`;
  let targets = (def.targets ?? []).filter(isSupportedType);
  if (typeModifier) {
    if (!isSupportedType(typeModifier) || !targets.includes(typeModifier))
      return `chained parameter '${key}': ${typeModifier} is not a type '${param}' refers to`;
    targets = [typeModifier];
  }
  const name = chained.split(':', 1)[0] ?? '';
  targets = targets.filter((t) => commonParams[name] ?? searchParams[t][name]);
  if (!targets.length)
    return `chained parameter '${key}': no type '${param}' refers to has a search parameter '${name}'`;
  return { key, param, targets, chained, value };
}

/** `_has:Type:ref:param[:modifier]` — one level only. */
function parseHas(type: SupportedType, key: string, value: string): HasSpec | string {
  const [, from = '', param = '', ...rest] = key.split(':');
  const on = rest.join(':');
  if (!isSupportedType(from)) return `'${key}': ${from || '(none)'} is not a supported resource type`;
  const def = searchParams[from][param];
  if (def?.type !== 'reference' || !(def.targets ?? []).includes(type))
    return `'${key}': '${param}' is not a reference search parameter of ${from} that refers to ${type}`;
  if (on === '') return `'${key}': name the parameter of ${from} to test (_has:${from}:${param}:<parameter>)`;
  if (on.startsWith('_has') || on.includes('.'))
    return `'${key}': _has goes one level deep (no nested _has or chain)`;
  if (!revincludesFor(type).includes(`${from}:${param}`))
    return `'${key}': ${from} cannot be searched by '${param}' here`;
  return { key, target: type, from, param, on, value };
}

/** Splits a comma list, honouring `\,` escapes. */
function splitValues(raw: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (c === '\\' && i + 1 < raw.length) {
      cur += raw[++i];
    } else if (c === ',') {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out.filter((v) => v !== '');
}

function toFilter(
  type: SupportedType,
  def: SearchParamDef,
  modifier: string | undefined,
  values: string[],
  key: string,
): SearchFilter | undefined {
  const kind = storeKind(type);
  if (def.name === '_id') {
    if (modifier) return undefined;
    return { kind: 'id', values };
  }
  if (def.name === '_lastUpdated') {
    if (modifier) return undefined;
    return { kind: 'lastUpdated', values: values.map((v) => dateOrThrow(v, key)) };
  }
  switch (def.type) {
    case 'token':
      if (modifier === 'text')
        return kind === 'observation' && observationText.has(def.name)
          ? { kind: 'tokenText', param: def.name, values }
          : undefined;
      if (modifier && modifier !== 'not') return undefined;
      if (modifier === 'not' && type === 'AuditEvent') return undefined;
      return {
        kind: 'token',
        param: def.name,
        values: values.flatMap(tokenWithAliases),
        ...(modifier === 'not' ? { not: true } : {}),
      };
    case 'reference': {
      if (modifier === 'identifier')
        return kind === 'observation' && observationIdentifier.has(def.name)
          ? { kind: 'referenceIdentifier', param: def.name, values: values.flatMap(tokenWithAliases) }
          : undefined;
      if (modifier && !(def.targets ?? []).includes(modifier)) return undefined;
      const refs = values.map((v) =>
        normalizeReference(modifier && !v.includes('/') ? `${modifier}/${v}` : v),
      );
      return { kind: 'reference', param: def.name, values: refs };
    }
    case 'string':
      if (modifier && modifier !== 'exact' && modifier !== 'contains') return undefined;
      return {
        kind: 'string',
        param: def.name,
        values,
        mode: (modifier as 'exact' | 'contains' | undefined) ?? 'prefix',
      };
    case 'date':
      if (modifier) return undefined;
      return { kind: 'date', param: def.name, values: values.map((v) => dateOrThrow(v, key)) };
    case 'quantity':
      if (modifier || kind !== 'observation') return undefined;
      return { kind: 'quantity', param: def.name, values: values.map((v) => quantityOrThrow(v, key)) };
    case 'composite': {
      if (modifier || kind !== 'observation') return undefined;
      return {
        kind: 'composite',
        param: def.name,
        values: values.map((v) => {
          const dollar = v.indexOf('$');
          if (dollar < 0)
            throw badRequest(
              `'${v}' is not a composite value: code$value-quantity (e.g. http://loinc.org|8867-4$gt100)`,
              key,
            );
          const code = parseToken(v.slice(0, dollar));
          if (code.code === undefined) throw badRequest(`'${v}': the code part needs a code`, key);
          return { code, quantity: quantityOrThrow(v.slice(dollar + 1), key) };
        }),
      };
    }
    default:
      return undefined;
  }
}

const numberRe = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/**
 * `[prefix]number[|system|code]`. The number's precision gives its range (`5.4` is [5.35, 5.45),
 * `100` is [99.5, 100.5), `1e2` is [50, 150)); a UCUM unit Vigil knows also matches its
 * conversions to the other units of its dimension.
 */
export function parseQuantity(raw: string): QuantityValue | undefined {
  const bar = raw.indexOf('|');
  const head = bar < 0 ? raw : raw.slice(0, bar);
  let prefix: DatePrefix = 'eq';
  let num = head;
  const m = /^([a-z]{2})(.*)$/.exec(head);
  if (m) {
    if (!datePrefixes.includes(m[1] as DatePrefix)) return undefined;
    prefix = m[1] as DatePrefix;
    num = m[2] as string;
  }
  if (!numberRe.test(num)) return undefined;
  const value = Number(num);
  if (!Number.isFinite(value)) return undefined;
  const half = precisionHalf(num);
  const out: QuantityValue = { prefix, value, low: value - half, high: value + half };
  if (bar >= 0) {
    const rest = raw.slice(bar + 1);
    const bar2 = rest.indexOf('|');
    if (bar2 < 0) return undefined;
    const system = rest.slice(0, bar2);
    const code = rest.slice(bar2 + 1);
    if (code.includes('|')) return undefined;
    if (system) out.system = system;
    if (code) out.code = code;
    if (code && (!system || system === UCUM_SYSTEM)) {
      const eq = unitEquivalents(code, out);
      if (eq.length) out.equivalents = eq;
    }
  }
  return out;
}

const UCUM_SYSTEM = 'http://unitsofmeasure.org';

/** Half of the last significant digit's unit: 5.4 → 0.05, 100 → 0.5, 1e2 → 50. */
function precisionHalf(num: string): number {
  const [mant = '', exp = '0'] = num.replace(/^[+-]/, '').split(/[eE]/);
  const dot = mant.indexOf('.');
  const decimals = dot < 0 ? 0 : mant.length - dot - 1;
  return 0.5 * 10 ** (Number(exp) - decimals);
}

function quantityOrThrow(v: string, key: string): QuantityValue {
  const q = parseQuantity(v);
  if (!q)
    throw badRequest(
      `'${v}' is not a valid quantity search value (optional prefix eq|ne|lt|gt|le|ge|sa|eb|ap, a number, then optionally |system|code)`,
      key,
    );
  return q;
}

function dateOrThrow(v: string, key: string) {
  const d = parseDateValue(v);
  if (!d)
    throw badRequest(
      `'${v}' is not a valid date search value (optional prefix eq|ne|lt|gt|le|ge|sa|eb|ap, then YYYY[-MM[-DD[Thh:mm[:ss[.sss]][Z|±hh:mm]]]])`,
      key,
    );
  return d;
}

export function parseToken(v: string): TokenValue {
  const bar = v.indexOf('|');
  if (bar < 0) return { code: v };
  const system = v.slice(0, bar);
  const code = v.slice(bar + 1);
  return { system: system === '' ? null : system, ...(code === '' ? {} : { code }) };
}

/**
 * A token whose system is one of Vigil's own, in each form stored data may hold it (the one
 * namespace and the legacy placeholder bases, core/fhir-namespace.ts): resources written before the
 * one namespace are found by either.
 */
function tokenWithAliases(v: string): TokenValue[] {
  const t = parseToken(v);
  if (!t.system) return [t];
  return vigilUrlAliases(t.system).map((system) => ({ ...t, system }));
}

/** 'http://base/fhir/Patient/1' → 'Patient/1'; 'Patient/1/_history/2' → 'Patient/1'; '1' stays. */
export function normalizeReference(ref: string): string {
  const m = /(?:^|\/)([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?$/.exec(ref);
  return m ? `${m[1]}/${m[2]}` : ref;
}
