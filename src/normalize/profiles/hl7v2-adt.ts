/**
 * HL7 v2 ADT (admission, discharge, transfer) messages as a hospital's ADT system or interface
 * engine sends them over MLLP: A01 admit, A02 transfer, A03 discharge, A04 register, A08 update,
 * A11 cancel admit, A13 cancel discharge, A40 merge. Pure: bytes → one typed event, or a coded
 * VigilError. Fields from the HL7 v2.5 segment definitions (ch. 3 MSH/EVN/PID/PV1/MRG, ch. 2A CX,
 * HD, PL, XPN); the same fields in every 2.x the listener accepts. ADT is not in
 * clinical-reference.md: the field positions below are HL7's, the FHIR mappings (patient class,
 * sex) are those of the HL7 v2-to-FHIR mapping and are marked unverified where they are used.
 */
import { VigilError } from '../../core/errors.ts';
import { cxIdentifiers, type PatientIdentifier } from './hl7v2-cx.ts';
import { comp, type Er7Message, parseEr7, parseHl7Time, repetitions, type Segment } from './hl7v2-er7.ts';
import { decodeHl7Text } from './hl7v2-pcd01.ts';

export type { PatientIdentifier };

export const AdtError = {
  /** PID-3 carries no identifier with a value: the patient cannot be matched or created. */
  noPatientId: 'VIGIL_ERR_HL7V2_ADT_NO_PATIENT_ID',
  /** A40 without MRG-1 (the merged patient's identifiers). */
  noMergeId: 'VIGIL_ERR_HL7V2_ADT_NO_MERGE_ID',
  /** A02 without PV1-3 (the new bed). */
  noLocation: 'VIGIL_ERR_HL7V2_ADT_NO_LOCATION',
  /** The event (MSH-9.2) is not one Vigil reads. */
  unsupportedEvent: 'VIGIL_ERR_HL7V2_UNSUPPORTED_MESSAGE',
  missingControlId: 'VIGIL_ERR_HL7V2_MISSING_CONTROL_ID',
  unsupportedVersion: 'VIGIL_ERR_HL7V2_UNSUPPORTED_VERSION',
} as const;

const adtError = (code: string, message: string, field?: string) =>
  new VigilError(code, message, 422, field ? { field } : undefined);

export const adtEvents = ['A01', 'A02', 'A03', 'A04', 'A08', 'A11', 'A13', 'A40'] as const;
export type AdtEvent = (typeof adtEvents)[number];

export interface AdtPatient {
  identifiers: PatientIdentifier[];
  family: string | null;
  given: string[];
  /** FHIR administrative gender, from PID-8. */
  gender: 'male' | 'female' | 'other' | 'unknown' | null;
  /** FHIR date (YYYY, YYYY-MM or YYYY-MM-DD) from PID-7. */
  birthDate: string | null;
}

export interface AdtLocation {
  /** The bed key: PV1-3 components point of care ^ room ^ bed ^ facility (namespace), trailing empty ones dropped. */
  key: string;
  display: string;
}

export interface AdtMessage {
  controlId: string;
  event: AdtEvent;
  /** MSH-3 namespace id (the sending application). */
  sender: string;
  /** When the event happened: EVN-6, else EVN-2, else MSH-7, else the receipt (epoch ms). */
  eventAt: number;
  patient: AdtPatient;
  /** PV1-2 patient class (table 0004: I, O, E, P, R, B …). */
  patientClass: string | null;
  location: AdtLocation | null;
  priorLocation: AdtLocation | null;
  /** PV1-19 visit number. */
  visitNumber: string | null;
  /** PV1-44 / PV1-45 (epoch ms). */
  admitAt: number | null;
  dischargeAt: number | null;
  /** A40: MRG-1, the identifiers of the patient merged into the one of PID. */
  mergedIdentifiers: PatientIdentifier[];
}

/**
 * PID-8 → FHIR gender. UNVERIFIED (not in clinical-reference.md): the v2-to-FHIR mapping's
 * table 0001 → AdministrativeGender (M male, F female, O/A other, U/N unknown).
 */
const GENDER: Record<string, AdtPatient['gender']> = {
  M: 'male',
  F: 'female',
  O: 'other',
  A: 'other',
  U: 'unknown',
  N: 'unknown',
};

function birthDateOf(value: string): string | null {
  const m = /^(\d{4})(\d{2})?(\d{2})?/.exec(value.trim());
  if (!m) return null;
  return [m[1], m[2], m[3]].filter(Boolean).join('-');
}

function locationOf(msg: Er7Message, seg: Segment | undefined, n: number): AdtLocation | null {
  const rep = repetitions(msg, seg, n)[0] ?? [];
  const facility = (rep[3] ?? '').split(msg.delimiters.subcomponent)[0] ?? '';
  const parts = [rep[0] ?? '', rep[1] ?? '', rep[2] ?? '', facility].map((p) => p.trim());
  while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  if (parts.length === 0) return null;
  return { key: parts.join('^'), display: parts.filter(Boolean).join(' ') };
}

/** Reads an ADT message; throws a coded VigilError (AE/AR reasons of docs/errors/hl7v2.md). */
export function parseAdt(payload: Uint8Array | string, receivedAt: number): AdtMessage {
  const msg = parseEr7(decodeHl7Text(payload));
  const msh = msg.segments[0] as Segment;
  const seg = (name: string) => msg.segments.find((s) => s.name === name);
  const controlId = comp(msg, msh, 10, 0);
  if (!controlId) throw adtError(AdtError.missingControlId, 'MSH-10 (message control id) is empty', 'MSH-10');
  const version = comp(msg, msh, 12, 1);
  if (!/^2\.\d/.test(version))
    throw adtError(AdtError.unsupportedVersion, `HL7 version ${version || '(none)'} is not 2.x`, 'MSH-12');
  const type = comp(msg, msh, 9, 1);
  // MSH-9.2, else EVN-1 (the event type code, kept in 2.5 for backward compatibility).
  const event = comp(msg, msh, 9, 2) || comp(msg, seg('EVN'), 1, 1);
  if (type !== 'ADT' || !(adtEvents as readonly string[]).includes(event)) {
    throw adtError(
      AdtError.unsupportedEvent,
      `message type ${[type, event].filter(Boolean).join('^') || '(none)'} is not an ADT event Vigil reads (${adtEvents.join(', ')})`,
      'MSH-9',
    );
  }
  const mshTime = comp(msg, msh, 7, 1);
  const offset = /[+-]\d{4}$/.test(mshTime) ? parseHl7Time(mshTime, 'MSH-7', 0).offsetMinutes : 0;
  const time = (s: Segment | undefined, n: number, field: string): number | null => {
    const v = comp(msg, s, n, 1);
    return v ? parseHl7Time(v, field, offset).ms : null;
  };
  const evn = seg('EVN');
  const eventAt =
    time(evn, 6, 'EVN-6') ?? time(evn, 2, 'EVN-2') ?? (mshTime ? time(msh, 7, 'MSH-7') : null) ?? receivedAt;
  const pid = seg('PID');
  const identifiers = cxIdentifiers(msg, pid, 3);
  if (identifiers.length === 0)
    throw adtError(AdtError.noPatientId, 'PID-3 (patient identifier list) has no identifier', 'PID-3');
  const name = repetitions(msg, pid, 5)[0] ?? [];
  const family = (name[0] ?? '').split(msg.delimiters.subcomponent)[0]?.trim() || null;
  const given = [name[1], name[2]].map((g) => (g ?? '').trim()).filter(Boolean);
  const pv1 = seg('PV1');
  const location = locationOf(msg, pv1, 3);
  const mrg = seg('MRG');
  const mergedIdentifiers = cxIdentifiers(msg, mrg, 1);
  if (event === 'A40' && mergedIdentifiers.length === 0)
    throw adtError(AdtError.noMergeId, 'A40 needs MRG-1 (prior patient identifier list)', 'MRG-1');
  if (event === 'A02' && !location)
    throw adtError(AdtError.noLocation, 'A02 needs PV1-3 (the new assigned location)', 'PV1-3');
  return {
    controlId,
    event: event as AdtEvent,
    sender: comp(msg, msh, 3, 1),
    eventAt,
    patient: {
      identifiers,
      family,
      given,
      gender: GENDER[comp(msg, pid, 8, 1).toUpperCase()] ?? null,
      birthDate: birthDateOf(comp(msg, pid, 7, 1)),
    },
    patientClass: comp(msg, pv1, 2, 1) || null,
    location,
    priorLocation: locationOf(msg, pv1, 6),
    visitNumber: comp(msg, pv1, 19, 1) || null,
    admitAt: time(pv1, 44, 'PV1-44'),
    dischargeAt: time(pv1, 45, 'PV1-45'),
    mergedIdentifiers,
  };
}

/** MSH-3's first component (the sending application), read before anything else of the message. */
export function adtSender(payload: Uint8Array | string): string {
  const msg = parseEr7(decodeHl7Text(payload));
  return comp(msg, msg.segments[0], 3, 1);
}
