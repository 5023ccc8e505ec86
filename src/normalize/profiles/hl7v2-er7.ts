/**
 * HL7 v2 "ER7" (pipe-and-hat) syntax: message → segments → fields → repetitions → components →
 * subcomponents, with the delimiters each message declares in MSH-1/MSH-2 and the standard escape
 * sequences decoded. Pure and strict: what is not HL7 v2 is refused with a coded error.
 *
 * Why not an npm parser: the maintained one (`@medplum/hl7`) pins `@medplum/core` 5 (this project
 * pins 4.x for its FHIR tests) and would pull a 3 MB FHIR client into the server; `simple-hl7`
 * depends on moment and watch; `node-hl7-client` brings its own MLLP client and ACK model. PCD-01
 * needs only delimiter splitting and escape decoding (HL7 v2.6 ch. 2.5–2.7), which fits in this file
 * and is tested against every message of the corpus.
 */
import { VigilError } from '../../core/errors.ts';

export const Hl7v2Error = {
  /** Not an HL7 v2 message: no MSH first, bad delimiters, a segment name that is not 3 letters. */
  malformed: 'VIGIL_ERR_HL7V2_MALFORMED',
  /** A message type other than ORU^R01 (PCD-01) or ORU^R40 (PCD-04). */
  unsupportedMessage: 'VIGIL_ERR_HL7V2_UNSUPPORTED_MESSAGE',
  /** An HL7 version Vigil does not read (not 2.x). */
  unsupportedVersion: 'VIGIL_ERR_HL7V2_UNSUPPORTED_VERSION',
  /** MSH-10 (message control id) empty: it cannot be acknowledged or de-duplicated. */
  missingControlId: 'VIGIL_ERR_HL7V2_MISSING_CONTROL_ID',
  /** An OBX carries a value (OBX-5) but no value type (OBX-2). */
  missingValueType: 'VIGIL_ERR_HL7V2_MISSING_VALUE_TYPE',
  /** A timestamp that is not HL7 TS (YYYYMMDDHHMM[SS[.S]][+/-ZZZZ]) or not a real date. */
  invalidTime: 'VIGIL_ERR_HL7V2_INVALID_TIME',
  /** PCD-04: an alarm (OBR) without an identity facet (no MDC_EVT_… event). */
  alarmNoEvent: 'VIGIL_ERR_HL7V2_ALARM_NO_EVENT',
  /** PCD-04: the event phase facet is missing or not an ACM phase. */
  alarmPhase: 'VIGIL_ERR_HL7V2_ALARM_PHASE',
  /** PCD-04: no alarm priority, or one that is not PH/PM/PL/PN. */
  alarmPriority: 'VIGIL_ERR_HL7V2_ALARM_PRIORITY',
  /** PCD-04: ORU^R40 without an OBR (no alarm at all). */
  alarmNone: 'VIGIL_ERR_HL7V2_ALARM_NONE',
} as const;
export type Hl7v2ErrorCode = (typeof Hl7v2Error)[keyof typeof Hl7v2Error];

export function hl7v2Error(code: Hl7v2ErrorCode, message: string, field?: string): VigilError {
  return new VigilError(code, message, 422, field ? { field } : undefined);
}

export interface Delimiters {
  field: string;
  component: string;
  repetition: string;
  escape: string;
  subcomponent: string;
}

export interface Segment {
  name: string;
  /** Raw (still escaped) fields; `fields[n]` is field n as HL7 numbers it (MSH-1 is the separator). */
  fields: string[];
}

export interface Er7Message {
  delimiters: Delimiters;
  segments: Segment[];
}

const SEGMENT_NAME = /^[A-Z][A-Z0-9]{2}$/;

/** Splits a message. Segments end in CR; LF and CRLF are tolerated (files, some gateways). */
export function parseEr7(text: string): Er7Message {
  const body = text.replace(/^\uFEFF/, '');
  if (!body.startsWith('MSH') || body.length < 8) {
    throw hl7v2Error(Hl7v2Error.malformed, 'message does not start with an MSH segment');
  }
  const field = body[3] as string;
  const enc = body.slice(4, 8);
  const delimiters: Delimiters = {
    field,
    component: enc[0] as string,
    repetition: enc[1] as string,
    escape: enc[2] as string,
    subcomponent: enc[3] as string,
  };
  const all = [field, ...enc];
  if (new Set(all).size !== 5 || all.some((c) => /[A-Za-z0-9\r\n ]/.test(c))) {
    throw hl7v2Error(Hl7v2Error.malformed, 'MSH-1/MSH-2 do not declare five distinct delimiters', 'MSH-2');
  }
  const segments: Segment[] = [];
  for (const line of body.split(/\r\n|\r|\n/)) {
    if (line.trim() === '') continue;
    const name = line.slice(0, 3);
    if (!SEGMENT_NAME.test(name) || (line.length > 3 && line[3] !== field)) {
      throw hl7v2Error(Hl7v2Error.malformed, `segment ${segments.length + 1} has no valid name`);
    }
    const parts = line.split(field);
    // MSH-1 is the field separator itself, so MSH's fields are shifted by one.
    const fields = name === 'MSH' ? ['MSH', field, ...parts.slice(1)] : parts;
    segments.push({ name, fields });
  }
  return { delimiters, segments };
}

/** Field `n` of a segment, raw. */
export function rawField(seg: Segment | undefined, n: number): string {
  return seg?.fields[n] ?? '';
}

/**
 * A component (1-based) of the first repetition of field `n`, unescaped; `component` 0 = the whole
 * first repetition unescaped.
 */
export function comp(msg: Er7Message, seg: Segment | undefined, n: number, component = 1): string {
  if (component === 0) {
    if (seg?.name === 'MSH' && (n === 1 || n === 2)) return rawField(seg, n);
    return unescapeEr7(rawField(seg, n).split(msg.delimiters.repetition)[0] ?? '', msg.delimiters);
  }
  return repetitions(msg, seg, n)[0]?.[component - 1] ?? '';
}

/** All repetitions of field `n`, each split into unescaped components. */
export function repetitions(msg: Er7Message, seg: Segment | undefined, n: number): string[][] {
  if (seg?.name === 'MSH' && (n === 1 || n === 2)) return [[rawField(seg, n)]];
  const raw = rawField(seg, n);
  if (raw === '') return [];
  const d = msg.delimiters;
  return raw.split(d.repetition).map((rep) => rep.split(d.component).map((c) => unescapeEr7(c, d)));
}

/** Decodes \F\ \S\ \T\ \R\ \E\ and \Xhh..\; formatting escapes (\H\, \N\, \.br\ …) are dropped. */
export function unescapeEr7(value: string, d: Delimiters): string {
  if (!value.includes(d.escape)) return value;
  let out = '';
  let i = 0;
  while (i < value.length) {
    const ch = value[i] as string;
    if (ch !== d.escape) {
      out += ch;
      i++;
      continue;
    }
    const end = value.indexOf(d.escape, i + 1);
    if (end < 0) {
      out += value.slice(i); // a lone escape character: keep it as sent
      break;
    }
    const seq = value.slice(i + 1, end);
    if (seq === 'F') out += d.field;
    else if (seq === 'S') out += d.component;
    else if (seq === 'T') out += d.subcomponent;
    else if (seq === 'R') out += d.repetition;
    else if (seq === 'E') out += d.escape;
    else if (/^X([0-9A-Fa-f]{2})+$/.test(seq)) out += Buffer.from(seq.slice(1), 'hex').toString('latin1');
    i = end + 1;
  }
  return out;
}

/** Escapes text for an ER7 field with the standard delimiters (used in ACK segments). */
export function escapeEr7(value: string): string {
  return value
    .replace(/\\/g, '\\E\\')
    .replace(/\|/g, '\\F\\')
    .replace(/\^/g, '\\S\\')
    .replace(/&/g, '\\T\\')
    .replace(/~/g, '\\R\\')
    .replace(/[\r\n]+/g, ' ');
}

/**
 * An HL7 TS/DTM (`YYYYMMDDHHMM[SS[.S…]][+/-ZZZZ]`) → epoch ms, and whether it carried an offset.
 * Less than minute precision is refused: a reading needs a time of day. Without an offset the time
 * is read in `fallbackOffsetMinutes` (the caller documents which one that is).
 */
export function parseHl7Time(
  value: string,
  field: string,
  fallbackOffsetMinutes: number,
): { ms: number; hadOffset: boolean; offsetMinutes: number } {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(?:(\d{2})(?:\.(\d{1,4}))?)?([+-]\d{4})?$/.exec(
    value.trim(),
  );
  if (!m) {
    throw hl7v2Error(
      Hl7v2Error.invalidTime,
      `${field} ${JSON.stringify(value)} is not an HL7 timestamp with at least minutes (YYYYMMDDHHMM[SS][+ZZZZ])`,
      field,
    );
  }
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const utc = Date.UTC(year, month - 1, day, Number(h), Number(mi), Number(s ?? 0));
  const probe = new Date(utc);
  const ok =
    probe.getUTCFullYear() === year &&
    probe.getUTCMonth() === month - 1 &&
    probe.getUTCDate() === day &&
    Number(h) < 24 &&
    Number(mi) < 60 &&
    Number(s ?? 0) < 60;
  let offsetMinutes = fallbackOffsetMinutes;
  if (zone) {
    const zh = Number(zone.slice(1, 3));
    const zm = Number(zone.slice(3, 5));
    if (zh > 14 || zm > 59)
      throw hl7v2Error(Hl7v2Error.invalidTime, `${field} has an impossible offset`, field);
    offsetMinutes = (zone[0] === '-' ? -1 : 1) * (zh * 60 + zm);
  }
  if (!ok)
    throw hl7v2Error(Hl7v2Error.invalidTime, `${field} ${JSON.stringify(value)} is not a real date`, field);
  const ms = utc + Math.round(Number(`0.${frac ?? '0'}`) * 1000) - offsetMinutes * 60_000;
  return { ms, hadOffset: zone !== undefined, offsetMinutes };
}
