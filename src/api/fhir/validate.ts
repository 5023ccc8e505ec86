import { validateResource as medplumValidate, OperationOutcomeError } from '@medplum/core';
import type { OperationOutcomeIssue, Resource, StructureDefinition } from '@medplum/fhirtypes';
import { isUuid } from '../../store/fhir-observation-repository.ts';
import { invalidResource } from './outcomes.ts';
import { isSupportedType } from './search/params.ts';
import type { FhirServices } from './types.ts';
import { definitions } from './validation/definitions.ts';
import { unstorable } from './validation/safe-json.ts';
import { type FoundReference, walkResource } from './validation/walk.ts';

export const idPattern = /^[A-Za-z0-9\-.]{1,64}$/;

/** The outcome of validating a resource: what refuses it (by status) and what only warns. */
export interface Validation {
  /** Against R4 itself: structure, types, cardinality, required value sets (400). */
  errors: OperationOutcomeIssue[];
  /** Against a profile Vigil ships that the resource claims, or local references (422). */
  unprocessable: OperationOutcomeIssue[];
  warnings: OperationOutcomeIssue[];
  references: FoundReference[];
}

const isError = (i: OperationOutcomeIssue) => i.severity === 'error' || i.severity === 'fatal';

function medplum(resource: Resource, profile?: StructureDefinition): OperationOutcomeIssue[] {
  try {
    return medplumValidate(resource, profile ? { profile } : undefined);
  } catch (e) {
    if (e instanceof OperationOutcomeError) return e.outcome.issue ?? [];
    // The validator itself failed on hostile input: still a refusal, never a 500.
    return [
      { severity: 'error', code: 'structure', diagnostics: `the resource cannot be validated: ${String(e)}` },
    ];
  }
}

/**
 * "Expected array" on an element is followed by one "additional property" per character of the
 * string it got; the first says it all.
 */
function compact(issues: OperationOutcomeIssue[]): OperationOutcomeIssue[] {
  const arrays = issues
    .filter((i) => /Expected array/i.test(i.details?.text ?? ''))
    .flatMap((i) => i.expression ?? []);
  return issues.filter(
    (i) => !(i.expression ?? []).some((e) => arrays.some((a) => e !== a && e.startsWith(`${a}.`))),
  );
}

/**
 * Validates a resource against R4 (Medplum's validator with the official StructureDefinitions, plus
 * required bindings of codes) and the profiles in meta.profile that Vigil ships (vital signs); a
 * profile Vigil does not have is a warning. Pure: references are only collected here.
 */
export function checkResource(resource: Resource): Validation {
  const out: Validation = { errors: [], unprocessable: [], warnings: [], references: [] };
  const bad = unstorable(resource, resource.resourceType);
  if (bad) {
    out.errors.push({
      severity: 'error',
      code: 'invalid',
      diagnostics: `${bad.path} ${bad.problem}`,
      expression: [bad.path],
    });
    return out;
  }
  const defs = definitions();
  if (resource.id !== undefined && (typeof resource.id !== 'string' || !idPattern.test(resource.id)))
    out.errors.push({
      severity: 'error',
      code: 'value',
      diagnostics: `'${String(resource.id)}' is not a valid FHIR id`,
      expression: [`${resource.resourceType}.id`],
    });
  for (const i of compact(medplum(resource))) (isError(i) ? out.errors : out.warnings).push(i);
  const walked = walkResource(defs, resource as unknown as Record<string, unknown>);
  out.errors.push(...walked.issues);
  out.references = walked.references;
  const claimed = resource.meta?.profile;
  if (Array.isArray(claimed) && out.errors.length === 0) {
    claimed.forEach((url, i) => {
      if (typeof url !== 'string') return;
      const profile = defs.profiles.get(url.split('|')[0] as string);
      if (!profile) {
        out.warnings.push({
          severity: 'warning',
          code: 'not-supported',
          diagnostics: `profile ${url} is not known to this server; the resource was validated against R4 only`,
          expression: [`${resource.resourceType}.meta.profile[${i}]`],
        });
        return;
      }
      for (const issue of compact(medplum(resource, profile)))
        if (isError(issue))
          out.unprocessable.push({
            ...issue,
            diagnostics: `${issue.details?.text ?? issue.diagnostics ?? issue.code} (profile ${url})`,
            details: { text: `${issue.details?.text ?? issue.diagnostics ?? issue.code} (profile ${url})` },
          });
    });
  }
  return out;
}

/** Relative (or under our base) 'Type/id[/_history/v]' → [Type, id]; anything else: not local. */
export function localTarget(reference: string, baseUrl: string): [string, string] | undefined {
  let r = reference;
  if (r.startsWith(`${baseUrl}/`)) r = r.slice(baseUrl.length + 1);
  const m = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?$/.exec(r);
  return m ? [m[1] as string, m[2] as string] : undefined;
}

/**
 * The check every write passes before anything is stored: R4 and shipped profiles (checkResource),
 * then each reference to a local target — its type allowed by the element, and the target stored
 * (or being created by the same transaction, `svc.pending`). Throws 400 / 422 with every problem;
 * returns the warnings.
 */
export async function validateForWrite(
  svc: FhirServices,
  resource: Resource,
  baseUrl: string,
): Promise<OperationOutcomeIssue[]> {
  const v = checkResource(resource);
  if (v.errors.length) throw invalidResource(400, v.errors);
  const problems = [...v.unprocessable];
  const wrongType: OperationOutcomeIssue[] = [];
  const known = definitions().types;
  for (const ref of v.references) {
    const local = localTarget(ref.reference, baseUrl);
    if (!local) continue;
    const [type, id] = local;
    if (!known.has(type)) {
      wrongType.push({
        severity: 'error',
        code: 'invalid',
        diagnostics: `'${ref.reference}' names no FHIR resource type`,
        expression: [ref.expression],
      });
      continue;
    }
    if (ref.targets.length && !ref.targets.includes('Resource') && !ref.targets.includes(type)) {
      wrongType.push({
        severity: 'error',
        code: 'invalid',
        diagnostics: `'${ref.reference}': a ${type} is not allowed here (allowed: ${ref.targets.join(', ')})`,
        expression: [ref.expression],
      });
      continue;
    }
    if (ref.nested) continue;
    if (!isSupportedType(type)) {
      v.warnings.push({
        severity: 'warning',
        code: 'not-found',
        diagnostics: `'${ref.reference}' was not checked: this server does not store ${type}`,
        expression: [ref.expression],
      });
      continue;
    }
    if (type === resource.resourceType && id === resource.id) continue;
    // Vigil's Observation ids are UUIDs it assigns: another id names no Observation of this
    // server (a PHD coincident time stamp, an example panel's members), so it cannot be checked.
    if (type === 'Observation' && !isUuid(id)) {
      v.warnings.push({
        severity: 'warning',
        code: 'not-found',
        diagnostics: `'${ref.reference}' was not checked: Observation ids of this server are UUIDs`,
        expression: [ref.expression],
      });
      continue;
    }
    if (svc.pending?.has(`${type}/${id}`)) continue;
    const found = await svc.store.for(type).read(svc.sql, id);
    if (found?.kind !== 'found')
      problems.push({
        severity: 'error',
        code: 'not-found',
        diagnostics: `'${ref.reference}' does not resolve: no ${type}/${id} is stored${found?.kind === 'deleted' ? ' (deleted)' : ''}`,
        expression: [ref.expression],
      });
  }
  if (wrongType.length) throw invalidResource(400, [...wrongType, ...problems]);
  if (problems.length) throw invalidResource(422, problems);
  return v.warnings;
}
