/**
 * Errors with stable codes (VIGIL_ERR_<AREA>_<REASON>), documented in docs/errors.md. The HTTP layer
 * maps `status`; the FHIR layer turns them into OperationOutcomes; ingest stores `code` as the
 * dead-letter reason.
 */
export class VigilError extends Error {
  readonly code: string;
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: string, message: string, status = 400, details?: Record<string, unknown>) {
    super(message);
    this.name = 'VigilError';
    this.code = code;
    this.status = status;
    this.details = details;
  }
}

export function isVigilError(e: unknown): e is VigilError {
  return e instanceof VigilError;
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
