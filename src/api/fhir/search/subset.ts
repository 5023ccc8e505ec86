import type { Resource } from '@medplum/fhirtypes';
import { definitions } from '../validation/definitions.ts';

const SUBSETTED = { system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue', code: 'SUBSETTED' };

/** Top-level element names of a type that match a predicate on their definition (choice [x] expanded by prefix). */
function topLevel(type: string, keep: (el: { isSummary?: boolean; min?: number }) => boolean): string[] {
  return definitions()
    .children(type, type)
    .filter(keep)
    .map((el) => (el.path ?? '').slice(type.length + 1));
}

const matches = (key: string, names: readonly string[]) =>
  names.some((n) => (n.endsWith('[x]') ? key.startsWith(n.slice(0, -3)) : key === n));

/**
 * `_summary=true|text|data` and `_elements` applied to one resource (FHIR R4 §3.1.1.5.7–8):
 * true keeps the elements R4 marks isSummary, text keeps the narrative and the mandatory elements,
 * data drops the narrative, `_elements` keeps those listed plus the mandatory ones. id, meta and
 * resourceType always stay; a subset is tagged SUBSETTED.
 */
export function subset(
  resource: Resource,
  summary?: 'true' | 'data' | 'text',
  elements?: readonly string[],
): Resource {
  if (!summary && !elements) return resource;
  const type = resource.resourceType;
  const mandatory = topLevel(type, (el) => (el.min ?? 0) > 0);
  let names: string[] | undefined;
  if (summary === 'true') names = topLevel(type, (el) => el.isSummary === true);
  else if (summary === 'text') names = ['text', ...mandatory];
  else if (elements) names = [...elements, ...mandatory];
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(resource)) {
    if (k === 'resourceType' || k === 'id' || k === 'meta') out[k] = v;
    else if (summary === 'data') {
      if (k !== 'text') out[k] = v;
    } else if (names && matches(k, names)) out[k] = v;
  }
  const meta = (out['meta'] as Record<string, unknown> | undefined) ?? {};
  out['meta'] = { ...meta, tag: [...((meta['tag'] as unknown[] | undefined) ?? []), SUBSETTED] };
  return out as unknown as Resource;
}
