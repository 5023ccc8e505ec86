/**
 * HL7 v2 acknowledgements (clinical-reference §4.1): `MSH|…|ACK^<trigger>^ACK|<new id>|P|2.6` +
 * `MSA|<code>|<original MSH-10>` (+ `ERR` when refused). Original-mode codes AA/AE/AR by default;
 * enhanced-mode CA/CE/CR when configured. Vigil sends exactly one acknowledgement per message,
 * whatever MSH-15/16 ask (devices swap them, e.g. `NE|AL`), and only after the message's readings
 * are durable.
 *
 * ERR-3 uses HL7 table 0357 (message error condition codes, HL7 v2.6 ch. 2); the table is not in
 * clinical-reference.md — the codes used are the basic ones every version since 2.3 defines.
 */
import { escapeEr7 } from './er7-escape.ts';

export type AckOutcome = 'accept' | 'error' | 'reject';
export type AckMode = 'original' | 'enhanced';

/** The MSH facts of the message being acknowledged (absent when it could not be read). */
export interface AckSubject {
  controlId: string;
  version: string;
  processingId: string;
  sendingApplication: string;
  sendingFacility: string;
  /** MSH-9 as read (`ORU^R01`, `ADT^A01`): the acknowledgement echoes its trigger event. */
  messageType?: string;
}

export interface AckError {
  /** Vigil reason code (VIGIL_ERR_…), sent in ERR-5. */
  code: string;
  message: string;
  /** `OBX[8]-2`, `MSH-10`: becomes the ERR-2 location. */
  field?: string | undefined;
}

const CODES: Record<AckMode, Record<AckOutcome, string>> = {
  original: { accept: 'AA', error: 'AE', reject: 'AR' },
  enhanced: { accept: 'CA', error: 'CE', reject: 'CR' },
};

/** HL7 table 0357 condition for a Vigil reason code. */
function hl7Condition(code: string): [string, string] {
  if (code.endsWith('_UNSUPPORTED_MESSAGE')) return ['200', 'Unsupported message type'];
  if (code.endsWith('_UNSUPPORTED_VERSION')) return ['203', 'Unsupported version id'];
  if (code.endsWith('_UNKNOWN_DEVICE') || code.endsWith('_AMBIGUOUS_DEVICE'))
    return ['204', 'Unknown key identifier'];
  if (code.endsWith('_MISSING_CONTROL_ID') || code.endsWith('_MISSING_VALUE_TYPE'))
    return ['101', 'Required field missing'];
  if (code.endsWith('_MALFORMED') || code.endsWith('_ALARM_NONE')) return ['100', 'Segment sequence error'];
  if (code.endsWith('_ALARM_NO_EVENT')) return ['101', 'Required field missing'];
  if (code.endsWith('_ALARM_PHASE') || code.endsWith('_ALARM_PRIORITY'))
    return ['103', 'Table value not found'];
  if (code.endsWith('_ALARM_NO_PATIENT')) return ['204', 'Unknown key identifier'];
  if (/_ADT_NO_(PATIENT_ID|MERGE_ID|LOCATION)$/.test(code)) return ['101', 'Required field missing'];
  if (
    /_(ADT_SENDER_NOT_ALLOWED|ADT_UNKNOWN_PATIENT|ADT_AMBIGUOUS_PATIENT|ADT_NO_VISIT|WRONG_PATIENT)$/.test(
      code,
    )
  )
    return ['204', 'Unknown key identifier'];
  if (/_(INVALID_TIME|NOT_A_NUMBER|UNIT_MISMATCH|INVALID_FIELD|IMPLAUSIBLE_VALUE|TIME_IN_FUTURE)$/.test(code))
    return ['102', 'Data type error'];
  return ['207', 'Application internal error'];
}

/** `OBX[8]-2` → `OBX^8^2` (ERL: segment id, sequence, field). */
function location(field: string | undefined): string {
  const m = /^([A-Z][A-Z0-9]{2})(?:\[(\d+)\])?-(\d+)$/.exec(field ?? '');
  return m ? `${m[1]}^${m[2] ?? '1'}^${m[3]}` : '';
}

export function hl7Timestamp(ms: number): string {
  const d = new Date(ms);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}+0000`;
}

export function buildAck(opts: {
  subject: AckSubject | undefined;
  outcome: AckOutcome;
  mode: AckMode;
  ackControlId: string;
  now: number;
  error?: AckError | undefined;
}): string {
  const s = opts.subject;
  const code = CODES[opts.mode][opts.outcome];
  // The original sender/receiver are swapped; their fields are echoed as sent (standard delimiters).
  const msh = [
    'MSH',
    '^~\\&',
    'VIGIL',
    'VIGIL',
    s?.sendingApplication ?? '',
    s?.sendingFacility ?? '',
    hl7Timestamp(opts.now),
    '',
    // MSH-9 of an ACK: ACK, the trigger event of the message acknowledged, ACK (R01 when unreadable).
    `ACK^${/^[A-Z0-9]{3}$/.test(s?.messageType?.split('^')[1] ?? '') ? s?.messageType?.split('^')[1] : 'R01'}^ACK`,
    opts.ackControlId,
    s?.processingId || 'P',
    /^2\.\d+(\.\d+)?$/.test(s?.version ?? '') ? (s?.version as string) : '2.6',
  ].join('|');
  const segments = [msh];
  const text = opts.error ? escapeEr7(opts.error.message).slice(0, 80) : '';
  segments.push(['MSA', code, escapeEr7(s?.controlId ?? ''), ...(text ? [text] : [])].join('|'));
  if (opts.error && opts.outcome !== 'accept') {
    const [hl7, hl7Text] = hl7Condition(opts.error.code);
    segments.push(
      [
        'ERR',
        '',
        location(opts.error.field),
        `${hl7}^${hl7Text}^HL70357`,
        'E',
        `${opts.error.code}^${opts.error.code}^L`,
        '',
        '',
        escapeEr7(opts.error.message),
      ].join('|'),
    );
  }
  return `${segments.join('\r')}\r`;
}
