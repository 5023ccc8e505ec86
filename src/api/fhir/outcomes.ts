import type { OperationOutcome, OperationOutcomeIssue } from '@medplum/fhirtypes';
import { VigilFhir } from '../../core/fhir-namespace.ts';

/**
 * OperationOutcome helpers. Every error inside the FHIR surface is one of these, thrown as a
 * FhirError and turned into a response by the router.
 */
export class FhirError extends Error {
  readonly status: number;
  readonly outcome: OperationOutcome;
  constructor(status: number, outcome: OperationOutcome) {
    super(outcome.issue?.[0]?.diagnostics ?? 'FHIR error');
    this.name = 'FhirError';
    this.status = status;
    this.outcome = outcome;
  }
}

/** Code system of Vigil's stable error codes (docs/errors/fhir.md), carried in issue.details. */
export const vigilErrorSystem = VigilFhir.error;

export function outcome(
  severity: OperationOutcomeIssue['severity'],
  code: OperationOutcomeIssue['code'],
  diagnostics: string,
  expression?: string,
  vigilCode?: string,
): OperationOutcome {
  const issue: OperationOutcomeIssue = { severity, code, diagnostics };
  if (vigilCode)
    issue.details = { coding: [{ system: vigilErrorSystem, code: vigilCode }], text: diagnostics };
  if (expression) issue.expression = [expression];
  return { resourceType: 'OperationOutcome', issue: [issue] };
}

const fail = (
  status: number,
  code: OperationOutcomeIssue['code'],
  vigil: string,
  details: string,
  expression?: string,
) => new FhirError(status, outcome('error', code, details, expression, `VIGIL_ERR_FHIR_${vigil}`));

export const allOk = (diagnostics = 'All OK'): OperationOutcome =>
  outcome('information', 'informational', diagnostics);

export const badRequest = (details: string, expression?: string) =>
  fail(400, 'invalid', 'INVALID', details, expression);
export const unauthorized = (details = 'a bearer access token is required') =>
  fail(401, 'login', 'UNAUTHENTICATED', details);
export const forbidden = (details = 'access to this resource is not allowed') =>
  fail(403, 'forbidden', 'FORBIDDEN', details);
export const notFound = (details: string) => fail(404, 'not-found', 'NOT_FOUND', details);
export const notSupported = (details: string) => fail(400, 'not-supported', 'NOT_SUPPORTED', details);
export const methodNotAllowed = (details: string) =>
  fail(405, 'not-supported', 'METHOD_NOT_ALLOWED', details);
export const gone = (details: string) => fail(410, 'deleted', 'GONE', details);
export const conflict = (details: string) => fail(409, 'conflict', 'CONFLICT', details);
export const preconditionFailed = (details: string) => fail(412, 'conflict', 'PRECONDITION_FAILED', details);
export const unprocessable = (details: string, expression?: string) =>
  fail(422, 'processing', 'UNPROCESSABLE', details, expression);
export const tooCostly = (details: string) => fail(400, 'too-costly', 'TOO_COSTLY', details);

export function isFhirError(e: unknown): e is FhirError {
  return e instanceof FhirError;
}

/**
 * A refusal naming each problem (validation): every issue keeps its own FHIRPath expression and
 * carries the Vigil code in its details.
 */
export function invalidResource(status: 400 | 422, issues: readonly OperationOutcomeIssue[]): FhirError {
  const vigil = status === 400 ? 'VIGIL_ERR_FHIR_INVALID' : 'VIGIL_ERR_FHIR_UNPROCESSABLE';
  return new FhirError(status, {
    resourceType: 'OperationOutcome',
    issue: issues.map((i) =>
      withVigilCode(i, i.severity === 'error' || i.severity === 'fatal' ? vigil : undefined),
    ),
  });
}

export function withVigilCode(i: OperationOutcomeIssue, vigil?: string): OperationOutcomeIssue {
  const text = i.details?.text ?? i.diagnostics ?? i.code;
  return {
    severity: i.severity,
    code: i.code,
    ...(vigil ? { details: { coding: [{ system: vigilErrorSystem, code: vigil }], text } } : {}),
    diagnostics: text,
    ...(i.expression?.length ? { expression: i.expression } : {}),
  };
}
