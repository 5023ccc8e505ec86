import type { Resource } from '@medplum/fhirtypes';
import type { IndexRows } from '../../../store/fhir-resource-repository.ts';
import { dateRange } from './date.ts';
import { type SupportedType, searchParams } from './params.ts';
import { normalizeReference } from './parse.ts';

/** Values at a dotted path; arrays are flattened at every step. */
export function valuesAt(node: unknown, path: string): unknown[] {
  let cur: unknown[] = [node];
  for (const step of path.split('.')) {
    const next: unknown[] = [];
    for (const c of cur) {
      if (c === null || typeof c !== 'object') continue;
      const rec = c as Record<string, unknown>;
      // choice types: 'effective' matches effectiveDateTime, effectivePeriod, …
      const keys =
        step in rec
          ? [step]
          : Object.keys(rec).filter((k) => k.startsWith(step) && /^[A-Z]/.test(k.slice(step.length)));
      for (const k of keys) {
        const v = rec[k];
        if (Array.isArray(v)) next.push(...v);
        else if (v !== undefined) next.push(v);
      }
    }
    cur = next;
  }
  return cur;
}

/** Search-index rows of a resource, from the definitions in params.ts. */
export function indexValues(type: SupportedType, resource: Resource): IndexRows {
  const rows: IndexRows = { tokens: [], references: [], strings: [], dates: [] };
  for (const def of Object.values(searchParams[type])) {
    for (const path of def.paths) {
      for (const v of valuesAt(resource, path)) {
        switch (def.type) {
          case 'token':
            for (const t of tokensOf(v)) rows.tokens.push({ param: def.name, ...t });
            break;
          case 'reference': {
            const ref = (v as { reference?: unknown }).reference;
            if (typeof ref === 'string')
              rows.references.push({ param: def.name, target: normalizeReference(ref) });
            break;
          }
          case 'string':
            for (const s of stringsOf(v))
              rows.strings.push({ param: def.name, value: s.toLowerCase(), raw: s });
            break;
          case 'date': {
            const r = datesOf(v);
            if (r) rows.dates.push({ param: def.name, ...r });
            break;
          }
          default:
            break; // quantity and composite: Observation only (its own table)
        }
      }
    }
  }
  return rows;
}

function tokensOf(v: unknown): Array<{ system: string | null; code: string }> {
  if (typeof v === 'string') return [{ system: null, code: v }];
  if (typeof v === 'boolean') return [{ system: null, code: String(v) }];
  if (!v || typeof v !== 'object') return [];
  const o = v as Record<string, unknown>;
  if (Array.isArray(o['coding'])) return (o['coding'] as unknown[]).flatMap(tokensOf);
  if (typeof o['value'] === 'string')
    return [{ system: typeof o['system'] === 'string' ? o['system'] : null, code: o['value'] }];
  if (typeof o['code'] === 'string')
    return [{ system: typeof o['system'] === 'string' ? o['system'] : null, code: o['code'] }];
  return [];
}

function stringsOf(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  if (!v || typeof v !== 'object') return [];
  const o = v as Record<string, unknown>;
  const parts: string[] = [];
  for (const k of ['text', 'family', 'given', 'prefix', 'suffix']) {
    const x = o[k];
    if (typeof x === 'string') parts.push(x);
    else if (Array.isArray(x)) parts.push(...x.filter((s): s is string => typeof s === 'string'));
  }
  return parts;
}

function datesOf(v: unknown): { low: string; high: string } | undefined {
  if (typeof v === 'string') return dateRange(v);
  if (v && typeof v === 'object') {
    const o = v as { start?: string; end?: string };
    const lo = o.start ? dateRange(o.start)?.low : '0001-01-01T00:00:00.000Z';
    const hi = o.end ? dateRange(o.end)?.high : '9999-12-31T00:00:00.000Z';
    if (lo && hi) return { low: lo, high: hi };
  }
  return undefined;
}
