import type { SearchFilter, SearchOptions, TokenValue } from '../../../store/fhir-search-filter.ts';
import { badRequest } from '../outcomes.ts';
import { decodeCursor } from './cursor.ts';
import { parseDateValue } from './date.ts';
import {
  commonParams,
  resultParams,
  type SearchParamDef,
  type SupportedType,
  searchParams,
  unsupportedCommon,
} from './params.ts';

export interface ParsedSearch {
  filters: SearchFilter[];
  options: SearchOptions;
  /** `_include` values (`Observation:patient`). */
  include: string[];
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
const supportedIncludes: Partial<Record<SupportedType, readonly string[]>> = {
  Observation: ['Observation:patient', 'Observation:subject', 'Observation:device'],
  CareTeam: ['CareTeam:participant', 'CareTeam:patient'],
  PractitionerRole: ['PractitionerRole:practitioner', 'PractitionerRole:organization'],
};

export function includesFor(type: SupportedType): readonly string[] {
  return supportedIncludes[type] ?? [];
}
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
  const presentation: Pick<ParsedSearch, 'total' | 'summary' | 'elements'> = {};
  const reject = (msg: string, key: string) => {
    if (!lenient) throw badRequest(msg, key);
    ignored.push(key);
  };

  for (const [key, raw] of query) {
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
          if (!includesFor(type).includes(raw))
            reject(`_include=${raw} is not supported for ${type}`, '_include');
          else include.push(raw);
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
    const values = splitValues(raw);
    if (values.length === 0) continue;
    const filter = toFilter(def, modifier, values, key);
    if (filter) filters.push(filter);
    else reject(`modifier ':${modifier}' is not supported on '${name}'`, key);
  }
  return { filters, options, include, ignored, ...presentation };
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
  def: SearchParamDef,
  modifier: string | undefined,
  values: string[],
  key: string,
): SearchFilter | undefined {
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
      if (modifier && modifier !== 'not') return undefined;
      return {
        kind: 'token',
        param: def.name,
        values: values.map(parseToken),
        ...(modifier === 'not' ? { not: true } : {}),
      };
    case 'reference': {
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
    default:
      return undefined;
  }
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

/** 'http://base/fhir/Patient/1' → 'Patient/1'; 'Patient/1/_history/2' → 'Patient/1'; '1' stays. */
export function normalizeReference(ref: string): string {
  const m = /(?:^|\/)([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?$/.exec(ref);
  return m ? `${m[1]}/${m[2]}` : ref;
}
