import type { Bundle, BundleEntry, BundleLink, Resource } from '@medplum/fhirtypes';
import type { Principal } from '../../auth/token-service.ts';
import type { SearchFilter } from '../../store/fhir-search-filter.ts';
import { compartmentOf, isCompartmentBound, requireFhirAccess, restrictSearch } from './access.ts';
import { badRequest, FhirError, isFhirError, notSupported, outcome, tooCostly } from './outcomes.ts';
import type { Stored } from './resource-store.ts';
import { isLenient } from './respond.ts';
import { valuesAt } from './search/index-values.ts';
import { isSupportedType, type SupportedType, searchParams } from './search/params.ts';
import {
  type ChainSpec,
  type HasSpec,
  maxChainMatches,
  normalizeReference,
  type ParsedSearch,
  parseSearch,
} from './search/parse.ts';
import { subset } from './search/subset.ts';
import type { FhirRequest, FhirResponse, FhirServices } from './types.ts';

/** The single patient a search is restricted to, if any (for compartment-bound principals). */
function searchCompartment(type: SupportedType, filters: readonly SearchFilter[]): string | undefined {
  for (const f of filters) {
    if (type === 'Patient' && f.kind === 'id' && f.values.length === 1) return f.values[0];
    if (f.kind === 'reference' && (f.param === 'patient' || f.param === 'subject') && f.values.length === 1) {
      const v = f.values[0] as string;
      if (!v.includes('/')) return v;
      if (v.startsWith('Patient/')) return v.slice('Patient/'.length);
    }
  }
  return undefined;
}

/** GET [type]?… and POST [type]/_search */
export async function searchResources(
  req: FhirRequest,
  svc: FhirServices,
  type: SupportedType,
  query: URLSearchParams,
): Promise<FhirResponse> {
  const parsed = parseSearch(type, query, isLenient(req));
  // Chains and _has become plain filters first (the ids they resolve to, under the same access).
  await resolveIndirect(req, svc, parsed);
  const compartment = isCompartmentBound(req.principal) ? searchCompartment(type, parsed.filters) : undefined;
  requireFhirAccess(req.principal, 'search', type, compartment);
  // Only the patients the principal may read, in the SQL itself (paging and counts included).
  parsed.filters = restrictSearch(req.principal, type, parsed.filters);
  const store = svc.store.for(type);
  const now = svc.clock.now();
  const self = `${req.baseUrl}/${type}${query.size ? `?${query}` : ''}`;
  if (parsed.options.countOnly) {
    const r = await store.search(svc.sql, parsed.filters, parsed.options, now);
    const bundle: Bundle = {
      resourceType: 'Bundle',
      type: 'searchset',
      total: r.total ?? 0,
      link: [{ relation: 'self', url: self }],
    };
    return { status: 200, resource: bundle };
  }
  const { count, offset } = parsed.options;
  const r = await store.search(svc.sql, parsed.filters, { ...parsed.options, count: count + 1 }, now);
  const page = r.stored.slice(0, count);
  const link: BundleLink[] = [{ relation: 'self', url: self }];
  if (r.stored.length > count) {
    const next = new URLSearchParams(query);
    next.set('_offset', String(offset + count));
    // Keyset paging where the store supports it: the next page starts after the last row, so a deep
    // page costs what the first one does (the offset stays for the previous link).
    const cursor = r.cursors?.[count - 1];
    if (cursor) next.set('_cursor', cursor);
    else next.delete('_cursor');
    if (!next.has('_count')) next.set('_count', String(count));
    link.push({ relation: 'next', url: `${req.baseUrl}/${type}?${next}` });
  }
  if (offset > 0) {
    const prev = new URLSearchParams(query);
    prev.set('_offset', String(Math.max(0, offset - count)));
    prev.delete('_cursor');
    link.push({ relation: 'previous', url: `${req.baseUrl}/${type}?${prev}` });
  }
  const entry: BundleEntry[] = page.map((s) => ({
    fullUrl: `${req.baseUrl}/${type}/${s.resource.id}`,
    resource: subset(s.resource, parsed.summary, parsed.elements),
    search: { mode: 'match' },
  }));
  for (const s of await includes(svc, req.principal, type, parsed.include, page)) {
    entry.push({
      fullUrl: `${req.baseUrl}/${s.resource.resourceType}/${s.resource.id}`,
      resource: s.resource,
      search: { mode: 'include' },
    });
  }
  const rev = await revincludes(svc, req.principal, type, parsed.revinclude, page);
  for (const s of rev.stored) {
    entry.push({
      fullUrl: `${req.baseUrl}/${s.resource.resourceType}/${s.resource.id}`,
      resource: s.resource,
      search: { mode: 'include' },
    });
  }
  if (rev.truncated.length) {
    entry.push({
      resource: outcome(
        'warning',
        'too-costly',
        `_revinclude=${rev.truncated.join(', ')}: only the first ${maxRevinclude} referring resources of this page are included (page with a smaller _count)`,
      ),
      search: { mode: 'outcome' },
    });
  }
  if (parsed.ignored.length) {
    entry.push({
      resource: outcome(
        'warning',
        'not-supported',
        `ignored search parameters: ${parsed.ignored.join(', ')}`,
      ),
      search: { mode: 'outcome' },
    });
  }
  const bundle: Bundle = { resourceType: 'Bundle', type: 'searchset', link, entry };
  if (parsed.total !== 'none') {
    // Known without counting when everything fits on the first page; `_total` asks for it always
    // (counted in SQL with the same filters, access restriction included).
    if (offset === 0 && !parsed.options.after && r.stored.length <= count) bundle.total = page.length;
    else if (parsed.total)
      bundle.total =
        (await store.search(svc.sql, parsed.filters, { ...parsed.options, countOnly: true }, now)).total ?? 0;
  }
  return { status: 200, resource: bundle };
}

/** Most resources one `_revinclude` adds to a page. */
export const maxRevinclude = 1000;

/** Resources of another type that refer to the page by `_revinclude=Type:param`, readable by the principal. */
async function revincludes(
  svc: FhirServices,
  principal: Principal,
  type: SupportedType,
  revinclude: readonly string[],
  page: readonly Stored[],
): Promise<{ stored: Stored[]; truncated: string[] }> {
  const stored: Stored[] = [];
  const truncated: string[] = [];
  if (!page.length) return { stored, truncated };
  const refs = page.map((s) => `${type}/${s.resource.id}`);
  const seen = new Set<string>();
  for (const rev of revinclude) {
    const [from = '', param = ''] = rev.split(':');
    if (!isSupportedType(from) || !isAllowedSearch(principal, from)) continue;
    const filters = restrictSearch(principal, from, [{ kind: 'reference', param, values: refs }]);
    const r = await svc.store
      .for(from)
      .search(
        svc.sql,
        filters,
        { count: maxRevinclude + 1, offset: 0, sort: [], countOnly: false },
        svc.clock.now(),
      );
    if (r.stored.length > maxRevinclude) truncated.push(rev);
    for (const s of r.stored.slice(0, maxRevinclude)) {
      const key = `${s.resource.resourceType}/${s.resource.id}`;
      if (seen.has(key) || !isAllowedRead(principal, s.resource)) continue;
      seen.add(key);
      stored.push(s);
    }
  }
  return { stored, truncated };
}

function isAllowedSearch(principal: Principal, type: SupportedType): boolean {
  try {
    requireFhirAccess(principal, 'search', type);
    return true;
  } catch {
    return false;
  }
}

/**
 * Chained parameters and `_has` as filters: the chained (or reverse-chained) search runs first
 * under the principal's access, and its matches (at most maxChainMatches, beyond: too costly)
 * become a reference (chain) or `_id` (`_has`) filter of the outer search.
 */
async function resolveIndirect(req: FhirRequest, svc: FhirServices, parsed: ParsedSearch): Promise<void> {
  // Under lenient handling an inner parameter or modifier that is not supported drops the whole
  // chain (reported like any ignored parameter) — ignoring only the inner part would match all.
  const lenient = (e: unknown, key: string) => {
    if (!isLenient(req) || !isFhirError(e) || e.outcome.issue?.[0]?.code !== 'not-supported') throw e;
    parsed.ignored.push(key);
  };
  for (const c of parsed.chains) {
    try {
      parsed.filters.push(await resolveChain(req, svc, c));
    } catch (e) {
      lenient(e, c.key);
    }
  }
  // An outer `_id` narrows the inner search of `_has` to those targets (the result is intersected
  // with it anyway), so `Patient?_id=a,b&_has:Observation:…` reads only a's and b's rows.
  const ids = parsed.filters.find((f) => f.kind === 'id');
  for (const h of parsed.has) {
    try {
      parsed.filters.push(await resolveHas(req, svc, h, ids?.kind === 'id' ? ids.values : undefined));
    } catch (e) {
      lenient(e, h.key);
    }
  }
}

/** The inner search's filters, its errors naming the whole parameter (with their own code). */
function innerFilters(req: FhirRequest, type: SupportedType, key: string, chained: string, value: string) {
  try {
    const inner = parseSearch(type, new URLSearchParams([[chained, value]]), false);
    return restrictSearch(req.principal, type, inner.filters);
  } catch (e) {
    const issue = isFhirError(e) && e.status === 400 ? e.outcome.issue?.[0] : undefined;
    if (!issue) throw e;
    const code = issue.details?.coding?.[0]?.code;
    throw new FhirError(
      400,
      outcome('error', issue.code, `${key}: ${issue.diagnostics ?? 'invalid'}`, key, code),
    );
  }
}

async function resolveChain(req: FhirRequest, svc: FhirServices, c: ChainSpec): Promise<SearchFilter> {
  const refs: string[] = [];
  const targets = c.targets.filter((t) => isAllowedSearch(req.principal, t));
  if (!targets.length) requireFhirAccess(req.principal, 'search', c.targets[0] as SupportedType);
  for (const t of targets) {
    const filters = innerFilters(req, t, c.key, c.chained, c.value);
    const r = await svc.store
      .for(t)
      .search(
        svc.sql,
        filters,
        { count: maxChainMatches + 1, offset: 0, sort: [], countOnly: false },
        svc.clock.now(),
      );
    refs.push(...r.stored.map((s) => `${t}/${s.resource.id}`));
    if (refs.length > maxChainMatches)
      throw tooCostly(
        `${c.key}=${c.value} matches more than ${maxChainMatches} ${t} resources; narrow it (e.g. a full system|value)`,
      );
  }
  return { kind: 'reference', param: c.param, values: refs };
}

async function resolveHas(
  req: FhirRequest,
  svc: FhirServices,
  h: HasSpec,
  outerIds?: readonly string[],
): Promise<SearchFilter> {
  requireFhirAccess(req.principal, 'search', h.from);
  const filters = innerFilters(req, h.from, h.key, h.on, h.value);
  if (outerIds)
    filters.push({ kind: 'reference', param: h.param, values: outerIds.map((id) => `${h.target}/${id}`) });
  const target = h.target;
  const store = svc.store.for(h.from);
  const now = svc.clock.now();
  let ids = await store.referenced?.(svc.sql, filters, h.param, target, maxChainMatches + 1, now);
  if (!ids) {
    // From a search: the references of up to maxChainMatches matching resources.
    const r = await store.search(
      svc.sql,
      filters,
      { count: maxChainMatches + 1, offset: 0, sort: [], countOnly: false },
      now,
    );
    if (r.stored.length > maxChainMatches)
      throw tooCostly(
        `${h.key}=${h.value} matches more than ${maxChainMatches} ${h.from} resources; narrow it`,
      );
    const set = new Set<string>();
    const def = searchParams[h.from][h.param];
    for (const s of r.stored)
      for (const path of def?.paths ?? [])
        for (const v of valuesAt(s.resource, path)) {
          const ref = (v as { reference?: unknown }).reference;
          if (typeof ref !== 'string') continue;
          const n = normalizeReference(ref);
          if (n.startsWith(`${target}/`)) set.add(n.slice(target.length + 1));
        }
    ids = [...set];
  }
  if (ids.length > maxChainMatches)
    throw tooCostly(
      `${h.key}=${h.value} refers to more than ${maxChainMatches} ${target} resources; narrow it`,
    );
  return { kind: 'id', values: ids };
}

/** Resources named by `_include=Type:param` in the page, readable by the principal. */
async function includes(
  svc: FhirServices,
  principal: Principal,
  type: SupportedType,
  include: readonly string[],
  page: readonly Stored[],
): Promise<Stored[]> {
  const wanted = new Map<string, Set<string>>();
  for (const inc of include) {
    const param = inc.split(':')[1] ?? '';
    const def = searchParams[type][param];
    if (!def) continue;
    for (const s of page) {
      for (const path of def.paths) {
        for (const v of valuesAt(s.resource, path)) {
          const ref = (v as { reference?: unknown }).reference;
          if (typeof ref !== 'string') continue;
          const [t, id] = normalizeReference(ref).split('/');
          if (!t || !id || !isSupportedType(t) || (param === 'patient' && t !== 'Patient')) continue;
          if (!wanted.has(t)) wanted.set(t, new Set());
          wanted.get(t)?.add(id);
        }
      }
    }
  }
  const out: Stored[] = [];
  for (const [t, ids] of wanted) {
    if (!isSupportedType(t)) continue;
    for (const s of await svc.store.for(t).readMany(svc.sql, [...ids])) {
      if (isAllowedRead(principal, s.resource)) out.push(s);
    }
  }
  return out;
}

function isAllowedRead(principal: Principal, r: Resource): boolean {
  try {
    requireFhirAccess(principal, 'read', r.resourceType, compartmentOf(r));
    return true;
  } catch {
    return false;
  }
}

/**
 * The resources a conditional interaction's criteria match (at most `limit`). Criteria must be
 * understood: an unknown parameter is a 400, never an accidental match-all.
 */
export async function conditionalMatches(
  svc: FhirServices,
  type: SupportedType,
  criteria: string,
  limit = 2,
): Promise<Stored[]> {
  const query = new URLSearchParams(criteria.replace(/^\?/, ''));
  const parsed = parseSearch(type, query, false);
  // Conditional criteria are plain parameters: a chain, _has or _revinclude there is refused rather
  // than silently ignored (which could match the wrong resource).
  const indirect = [...parsed.chains.map((c) => c.key), ...parsed.has.map((x) => x.key)];
  if (parsed.revinclude.length) indirect.push('_revinclude');
  if (parsed.include.length) indirect.push('_include');
  if (indirect.length)
    throw notSupported(`conditional criteria '${criteria}' cannot use ${indirect.join(', ')}`);
  if (parsed.filters.length === 0)
    throw badRequest(`conditional criteria '${criteria}' select nothing specific`);
  const r = await svc.store
    .for(type)
    .search(
      svc.sql,
      parsed.filters,
      { count: limit, offset: 0, sort: [], countOnly: false },
      svc.clock.now(),
    );
  return r.stored;
}
