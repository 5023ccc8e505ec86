/**
 * HL7 v2 CX (extended composite id, v2.5 ch. 2A) → FHIR Identifier: PID-3 and MRG-1 patient
 * identifiers, shared by the ADT profile and the wrong-patient check of PCD-01/04 messages.
 * The system comes from the assigning authority (CX-4, an HD: namespace & universal id & type).
 */
import type { Er7Message, Segment } from './hl7v2-er7.ts';
import { repetitions } from './hl7v2-er7.ts';

/** A patient identifier (CX) as a FHIR identifier: system from the assigning authority (CX-4). */
export interface PatientIdentifier {
  /** `urn:oid:…` (HD-3 ISO), `urn:uuid:…`, the URI (HD-3 URI), else `urn:vigil:hl7v2:authority:<namespace>`; null when CX-4 is empty. */
  system: string | null;
  value: string;
  /** CX-5 identifier type (table 0203: MR, PI, …). */
  type: string | null;
}

/** CX repetitions → identifiers (those with a value). */
export function cxIdentifiers(msg: Er7Message, seg: Segment | undefined, n: number): PatientIdentifier[] {
  const out: PatientIdentifier[] = [];
  const sub = msg.delimiters.subcomponent;
  for (const rep of repetitions(msg, seg, n)) {
    const value = (rep[0] ?? '').trim();
    if (!value) continue;
    const [ns = '', uid = '', uidType = ''] = (rep[3] ?? '').split(sub).map((s) => s.trim());
    out.push({ system: authoritySystem(ns, uid, uidType), value, type: (rep[4] ?? '').trim() || null });
  }
  return out;
}

function authoritySystem(ns: string, uid: string, uidType: string): string | null {
  const t = uidType.toUpperCase();
  if (uid && t === 'ISO' && /^[0-2](\.\d+)+$/.test(uid)) return `urn:oid:${uid}`;
  if (uid && t === 'UUID') return `urn:uuid:${uid.toLowerCase()}`;
  if (uid && t === 'URI') return uid;
  if (ns) return `urn:vigil:hl7v2:authority:${encodeURIComponent(ns)}`;
  return null;
}

/** The identifiers of the first PID (PID-3), for the wrong-patient check of PCD-01 messages. */
export function pidIdentifiersOf(msg: Er7Message): PatientIdentifier[] {
  return cxIdentifiers(
    msg,
    msg.segments.find((s) => s.name === 'PID'),
    3,
  );
}
