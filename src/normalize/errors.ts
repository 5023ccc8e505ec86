/**
 * Reason codes for payloads normalize refuses. Ingest stores the code with the dead letter and
 * returns it to the sender; `details.field` names the offending field (JSON path or byte offset).
 */
import { VigilError } from '../core/errors.ts';

export const IngestError = {
  /** Body is not JSON / not an object of the expected shape. */
  malformedJson: 'VIGIL_ERR_INGEST_MALFORMED_JSON',
  /** A field is missing, has the wrong type or an unknown value (details.field says which). */
  invalidField: 'VIGIL_ERR_INGEST_INVALID_FIELD',
  /** A GATT value is shorter than its flags announce. */
  truncatedGatt: 'VIGIL_ERR_INGEST_TRUNCATED_GATT',
  /** A GATT value has bytes left over, a bad size byte or a failing CRC. */
  malformedGatt: 'VIGIL_ERR_INGEST_MALFORMED_GATT',
  /** Characteristic UUID or profile name Vigil has no decoder for. */
  unsupportedFormat: 'VIGIL_ERR_INGEST_UNSUPPORTED_FORMAT',
  /** Value outside the plausibility range of its code (codes.ts). Refused, never clamped. */
  implausibleValue: 'VIGIL_ERR_INGEST_IMPLAUSIBLE_VALUE',
  /** Not a finite number (NaN, Infinity, a string where a number belongs). */
  notANumber: 'VIGIL_ERR_INGEST_NOT_A_NUMBER',
  /** Unit unknown, or of another dimension than the code (mg/dL for a heart rate). */
  unitMismatch: 'VIGIL_ERR_INGEST_UNIT_MISMATCH',
  /** Code (LOINC, MDC, friendly name) that codes.ts does not know. */
  unknownCode: 'VIGIL_ERR_INGEST_UNKNOWN_CODE',
  /** Device time more than 5 minutes after the receive time. */
  timeInFuture: 'VIGIL_ERR_INGEST_TIME_IN_FUTURE',
  /** Time missing an offset, not ISO 8601, or an impossible calendar date. */
  invalidTime: 'VIGIL_ERR_INGEST_INVALID_TIME',
  /** Panel without its required components (blood pressure without diastolic). */
  incompletePanel: 'VIGIL_ERR_INGEST_INCOMPLETE_PANEL',
  /**
   * A waveform strip that cannot be stored exactly: no sample period, a data value that is not an
   * integer count or marker, a count not a multiple of `dimensions`, more than MAX_STRIP_SAMPLES.
   */
  invalidWaveform: 'VIGIL_ERR_INGEST_INVALID_WAVEFORM',
  /** A payload that decodes to no reading and no status. */
  empty: 'VIGIL_ERR_INGEST_EMPTY',
  /** A mapping template that fails validation at load (not an ingest-time error). */
  invalidTemplate: 'VIGIL_ERR_NORMALIZE_INVALID_TEMPLATE',
} as const;
export type IngestErrorCode = (typeof IngestError)[keyof typeof IngestError];

export function ingestError(
  code: IngestErrorCode,
  message: string,
  details?: Record<string, unknown>,
): VigilError {
  // 422: the request was well-formed HTTP but its content cannot be accepted.
  const status = code === IngestError.malformedJson ? 400 : 422;
  return new VigilError(code, message, status, details);
}
