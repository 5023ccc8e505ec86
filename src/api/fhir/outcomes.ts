import type { OperationOutcome, OperationOutcomeIssue } from '@medplum/fhirtypes';

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

export function outcome(
  severity: OperationOutcomeIssue['severity'],
  code: OperationOutcomeIssue['code'],
  diagnostics: string,
  expression?: string,
): OperationOutcome {
  const issue: OperationOutcomeIssue = { severity, code, diagnostics };
  if (expression) issue.expression = [expression];
  return { resourceType: 'OperationOutcome', issue: [issue] };
}

export const allOk = (diagnostics = 'All OK'): OperationOutcome =>
  outcome('information', 'informational', diagnostics);

export const badRequest = (details: string, expression?: string) =>
  new FhirError(400, outcome('error', 'invalid', details, expression));
export const unauthorized = (details = 'a bearer access token is required') =>
  new FhirError(401, outcome('error', 'login', details));
export const forbidden = (details = 'access to this resource is not allowed') =>
  new FhirError(403, outcome('error', 'forbidden', details));
export const notFound = (details: string) => new FhirError(404, outcome('error', 'not-found', details));
export const notSupported = (details: string) =>
  new FhirError(400, outcome('error', 'not-supported', details));
export const methodNotAllowed = (details: string) =>
  new FhirError(405, outcome('error', 'not-supported', details));
export const gone = (details: string) => new FhirError(410, outcome('error', 'deleted', details));
export const conflict = (details: string) => new FhirError(409, outcome('error', 'conflict', details));
export const preconditionFailed = (details: string) =>
  new FhirError(412, outcome('error', 'conflict', details));
export const unprocessable = (details: string, expression?: string) =>
  new FhirError(422, outcome('error', 'processing', details, expression));
export const tooCostly = (details: string) => new FhirError(400, outcome('error', 'too-costly', details));

export function isFhirError(e: unknown): e is FhirError {
  return e instanceof FhirError;
}
