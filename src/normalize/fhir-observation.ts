/**
 * Reading ↔ FHIR R4 Observation. Outward, a Reading becomes an Observation conforming to the R4
 * vital-signs profile where its code is a vital sign (clinical-reference §2.1/§2.2): meta.profile,
 * category, LOINC code (+ MDC and second LOINC codings), UCUM quantities, BP as panel 85354-9 with
 * components, subject, device, effectiveDateTime, dataAbsentReason when there is no value.
 * Inward (`observationToReading`), an Observation from replay or the FHIR API becomes a Reading
 * through the same code table and unit rules as any device payload.
 *
 * Vigil-specific content (all in Vigil's one namespace, core/fhir-namespace.ts; listed in
 * docs/fhir.md):
 * - quality flags → one extension VIGIL_QUALITY_FLAG_EXT per flag (valueCoding in VIGIL_QUALITY_FLAG;
 *   StructureDefinition served at /fhir/StructureDefinition/quality-flag). Not `interpretation`:
 *   an EHR shows interpretations as the result's clinical meaning (high, low, abnormal), and a flag
 *   says how far the measurement can be trusted. Flags coded the old way (interpretation) are still
 *   read (`flagsOf`, `upgradeQualityFlags`);
 * - the value as the device sent it before conversion → extension VIGIL_ORIGINAL_EXT (valueQuantity),
 *   on the Observation or on the component;
 * - the payload profile → `meta.source` `urn:vigil:profile:<profile>`;
 * - an unattributed reading (no patient yet) has no `subject`, carries `meta.tag`
 *   VIGIL_TAG#unattributed and claims no vital-signs profile (the profile requires a subject);
 * - the idempotency key → `identifier` with system VIGIL_IDEMPOTENCY;
 * - a reading the patient typed in (transport `patient`) carries `meta.tag`
 *   VIGIL_TAG#patient-entered and no `device` (no device measured it; its internal device id is
 *   `patient:<patientId>`, which keys its idempotency).
 */
import type {
  CodeableConcept,
  Extension,
  Coding as FhirCoding,
  Observation,
  ObservationComponent,
  Quantity,
} from '@medplum/fhirtypes';
import { canonicalVigilUrl, VigilFhir, VigilUrn, vigilUrlAliases } from '../core/fhir-namespace.ts';
import type { Coding, QualityFlag, Reading, ReadingComponent, Transport } from '../core/reading.ts';
import { type CodeDef, getCode, MDC, MDC_TO_LOINC, OBSERVATION_CATEGORY, UCUM } from './codes.ts';
import { IngestError, ingestError } from './errors.ts';
import { hasSampledData, renderWaveform, waveformFromObservation } from './fhir-sampled-data.ts';
import { canonicalize, type GlucoseUnit } from './reading-draft.ts';
import { UNITS } from './units.ts';

export const VIGIL_QUALITY_FLAG = VigilFhir.qualityFlag;
export const VIGIL_QUALITY_FLAG_EXT = VigilFhir.qualityFlagExt;
export const VIGIL_ORIGINAL_EXT = VigilFhir.originalQuantity;
export const VIGIL_TAG = VigilFhir.tag;
export const VIGIL_IDEMPOTENCY = VigilFhir.idempotencyKey;
export const DATA_ABSENT_REASON = 'http://terminology.hl7.org/CodeSystem/data-absent-reason';
export const VITAL_SIGNS_BASE = 'http://hl7.org/fhir/StructureDefinition/';
const SOURCE_PREFIX = VigilUrn.profilePrefix;
/** `meta.tag` code (system VIGIL_TAG) of a reading the patient typed in. */
export const PATIENT_ENTERED = 'patient-entered';
/** The device id a patient-entered reading is kept under (no device measured it). */
export const patientEntryDevice = (patientId: string) => `patient:${patientId}`;

const CATEGORY_DISPLAY: Record<string, string> = {
  'vital-signs': 'Vital Signs',
  laboratory: 'Laboratory',
  activity: 'Activity',
  therapy: 'Therapy',
  survey: 'Survey',
  exam: 'Exam',
  procedure: 'Procedure',
};

function quantity(value: number, ucum: string): Quantity {
  return { value, unit: UNITS.get(ucum)?.display ?? ucum, system: UCUM, code: ucum };
}

function originalExt(o: { value: number; unit: string } | undefined): Extension[] | undefined {
  return o ? [{ url: VIGIL_ORIGINAL_EXT, valueQuantity: quantity(o.value, o.unit) }] : undefined;
}

function flagExt(flag: QualityFlag): Extension {
  return { url: VIGIL_QUALITY_FLAG_EXT, valueCoding: { system: VIGIL_QUALITY_FLAG, code: flag } };
}

/** Vigil's quality-flag system, in its internal or a legacy form. */
const QUALITY_FLAG_SYSTEMS: ReadonlySet<string> = new Set(vigilUrlAliases(VIGIL_QUALITY_FLAG));

/**
 * The quality flags of an Observation: its quality-flag extensions and, as earlier versions wrote
 * them, `interpretation` codings in the quality-flag system (any of its legacy forms).
 */
export function flagsOf(obs: Pick<Observation, 'extension' | 'interpretation'>): QualityFlag[] {
  const out: QualityFlag[] = [];
  for (const e of obs.extension ?? []) {
    const c = e.url === VIGIL_QUALITY_FLAG_EXT ? e.valueCoding : undefined;
    if (c?.code && (!c.system || QUALITY_FLAG_SYSTEMS.has(c.system))) out.push(c.code);
  }
  for (const i of obs.interpretation ?? [])
    for (const c of i.coding ?? [])
      if (c.code && c.system && QUALITY_FLAG_SYSTEMS.has(c.system) && !out.includes(c.code)) out.push(c.code);
  return out;
}

/**
 * Read-time mapping of a stored Observation JSON (an earlier version in history, one written
 * through FHIR the old way): `interpretation` entries that only carry quality-flag codings become
 * quality-flag extensions; other interpretations stay. Returns the same object when nothing moves.
 */
export function upgradeQualityFlags<T extends object>(resource: T): T {
  const obs = resource as Pick<Observation, 'extension' | 'interpretation'>;
  const interp = obs.interpretation;
  if (!interp?.length) return resource;
  const isFlag = (i: CodeableConcept) =>
    (i.coding?.length ?? 0) > 0 &&
    (i.coding ?? []).every((c) => c.system && QUALITY_FLAG_SYSTEMS.has(c.system));
  if (!interp.some(isFlag)) return resource;
  const moved = interp.filter(isFlag).flatMap((i) => (i.coding ?? []).map((c) => c.code as string));
  const keep = interp.filter((i) => !isFlag(i));
  const { interpretation: _old, ...rest } = obs as Record<string, unknown>;
  const have = flagsOf({ extension: obs.extension ?? [] });
  return {
    ...rest,
    extension: [...(obs.extension ?? []), ...moved.filter((f) => !have.includes(f)).map(flagExt)],
    ...(keep.length ? { interpretation: keep } : {}),
  } as unknown as T;
}

function codeConcept(def: CodeDef, extra: readonly Coding[] = []): CodeableConcept {
  // Codings stored before the one namespace may name a legacy Vigil system (the NEWS2 score's
  // second coding): served in the one namespace, and never twice the primary code.
  const seen = new Set([`${def.system}|${def.code}`]);
  const others: Coding[] = [];
  for (const c of extra) {
    const system = canonicalVigilUrl(c.system);
    const key = `${system}|${c.code}`;
    if (seen.has(key)) continue;
    seen.add(key);
    others.push({ ...c, system });
  }
  return {
    coding: [{ system: def.system, code: def.code, display: def.display }, ...others],
    text: def.display,
  };
}

function absent(reason: string): CodeableConcept {
  return { coding: [{ system: DATA_ABSENT_REASON, code: reason }] };
}

function requireDef(code: string): CodeDef {
  const def = getCode(code);
  if (!def) throw ingestError(IngestError.unknownCode, `no code table entry for ${code}`, { code });
  return def;
}

export function readingToObservation(reading: Reading): Observation {
  const def = requireDef(reading.code);
  const attributed = reading.patientId !== null;
  const meta: NonNullable<Observation['meta']> = { source: `${SOURCE_PREFIX}${reading.profile}` };
  // The vital-signs profile needs a subject, so only attributed readings claim it.
  if (def.vitalSignsProfile && attributed) meta.profile = [`${VITAL_SIGNS_BASE}${def.vitalSignsProfile}`];
  if (!attributed)
    meta.tag = [{ system: VIGIL_TAG, code: 'unattributed', display: 'No patient assigned yet' }];
  if (reading.transport === 'patient')
    meta.tag = [
      ...(meta.tag ?? []),
      { system: VIGIL_TAG, code: PATIENT_ENTERED, display: 'Entered by the patient' },
    ];

  const obs: Observation = {
    resourceType: 'Observation',
    id: reading.id,
    meta,
    identifier: [{ system: VIGIL_IDEMPOTENCY, value: reading.idempotencyKey }],
    status: reading.resultStatus ?? (reading.flags.includes('early-estimate') ? 'preliminary' : 'final'),
    category: [
      {
        coding: [
          {
            system: OBSERVATION_CATEGORY,
            code: def.category,
            display: CATEGORY_DISPLAY[def.category] ?? def.category,
          },
        ],
      },
    ],
    code: codeConcept(def, reading.codings),
  };
  if (attributed) obs.subject = { reference: `Patient/${reading.patientId}` };
  obs.effectiveDateTime = reading.effective;
  // `issued` is "when this version was made available": for us the receive time. The device's own
  // time of measurement is effectiveDateTime; keeping both shows device clock drift and delays.
  obs.issued = reading.received;
  if (reading.transport !== 'patient') obs.device = { reference: `Device/${reading.deviceId}` };

  if (def.kind === 'waveform') {
    renderWaveform(obs, reading);
  } else if (def.kind === 'panel') {
    obs.component = panelComponents(def, reading);
    if (reading.dataAbsentReason) obs.dataAbsentReason = absent(reading.dataAbsentReason);
  } else if (reading.valueCode !== undefined) {
    const answer = def.valueCodes?.find((v) => v.code === reading.valueCode);
    obs.valueCodeableConcept = {
      coding: [
        {
          system: def.valueSystem ?? def.system,
          code: reading.valueCode,
          ...(answer ? { display: answer.display } : {}),
        },
      ],
    };
  } else if (reading.value !== null && reading.unit !== null) {
    obs.valueQuantity = quantity(reading.value, reading.unit);
    const ext = originalExt(reading.original);
    if (ext) obs.extension = ext;
  } else {
    obs.dataAbsentReason = absent(reading.dataAbsentReason ?? 'unknown');
  }

  if (reading.flags.length > 0) obs.extension = [...(obs.extension ?? []), ...reading.flags.map(flagExt)];
  const notes = [...(reading.notes ?? [])];
  if (notes.length > 0) obs.note = notes.map((text) => ({ text }));
  return obs;
}

function panelComponents(def: CodeDef, reading: Reading): ObservationComponent[] {
  if (reading.components.length === 0) {
    // No numbers (the cuff sent NaN): the required members still appear, each with the reason, so
    // the Observation conforms to the bp profile.
    return (def.components ?? [])
      .filter((c) => c.required)
      .map((c) => ({
        code: codeConcept(requireDef(c.code)),
        dataAbsentReason: absent(reading.dataAbsentReason ?? 'unknown'),
      }));
  }
  return reading.components.map((c: ReadingComponent) => {
    const comp: ObservationComponent = {
      code: codeConcept(requireDef(c.code), c.codings),
      valueQuantity: quantity(c.value, c.unit),
    };
    const ext = originalExt(c.original);
    if (ext) comp.extension = ext;
    return comp;
  });
}

// ------------------------------------------------------------------------------------------------

export interface ObservationToReadingOptions {
  transport: Transport;
  /** Receive time (UTC ISO) when the Observation has no `issued`. */
  received: string;
  /** Reading id when the Observation has none (FHIR create assigns one). */
  id?: string;
  /** Device when the Observation references none. */
  deviceId?: string;
  programGlucoseUnit?: GlucoseUnit;
}

function invalid(field: string, message: string): never {
  throw ingestError(IngestError.invalidField, `Observation.${field}: ${message}`, {
    field: `Observation.${field}`,
  });
}

/** The code we know among an element's codings: LOINC/local first, then MDC mapped to LOINC. */
function knownCode(concept: CodeableConcept | undefined, field: string): { def: CodeDef; others: Coding[] } {
  const codings = concept?.coding ?? [];
  const direct = codings.find(
    (c) => c.code && c.system && getCode(c.code)?.system === canonicalVigilUrl(c.system),
  );
  const viaMdc = direct
    ? undefined
    : codings.find((c) => c.system === MDC && c.code && MDC_TO_LOINC.has(c.code));
  const code = direct?.code ?? (viaMdc?.code ? MDC_TO_LOINC.get(viaMdc.code)?.loinc : undefined);
  const def = code ? getCode(code) : undefined;
  if (!def) {
    throw ingestError(IngestError.unknownCode, `Observation.${field}: no supported LOINC or MDC coding`, {
      field: `Observation.${field}`,
      codings: codings.map((c) => `${c.system}|${c.code}`),
    });
  }
  const others = codings
    .filter((c) => !(c.system && canonicalVigilUrl(c.system) === def.system && c.code === def.code))
    .filter((c): c is FhirCoding & { system: string; code: string } => !!c.system && !!c.code)
    .map((c) => ({ system: c.system, code: c.code, ...(c.display ? { display: c.display } : {}) }));
  return { def, others };
}

function ucumOf(q: Quantity | undefined, field: string): { value: number; unit: string } {
  if (!q || typeof q.value !== 'number') invalid(field, 'valueQuantity.value required');
  const unit = q.system === UCUM && q.code ? q.code : (q.code ?? q.unit);
  if (!unit)
    throw ingestError(IngestError.unitMismatch, `Observation.${field}: unit required`, {
      field: `Observation.${field}`,
    });
  return { value: q.value, unit };
}

const IDEMPOTENCY_SYSTEMS: ReadonlySet<string> = new Set(vigilUrlAliases(VIGIL_IDEMPOTENCY));

function originalFrom(ext: Extension[] | undefined): { value: number; unit: string } | undefined {
  const q = ext?.find((e) => e.url === VIGIL_ORIGINAL_EXT)?.valueQuantity;
  return q && typeof q.value === 'number' && q.code ? { value: q.value, unit: q.code } : undefined;
}

export function observationToReading(obs: Observation, opts: ObservationToReadingOptions): Reading {
  if (obs?.resourceType !== 'Observation') invalid('resourceType', 'must be Observation');
  const id = opts.id ?? obs.id;
  if (!id) invalid('id', 'missing (and no id given)');
  if (hasSampledData(obs)) return waveformObservationToReading(obs, id, opts);
  const { def, others } = knownCode(obs.code, 'code');
  const ctx = opts.programGlucoseUnit ? { programGlucoseUnit: opts.programGlucoseUnit } : {};

  const effective = obs.effectiveDateTime ?? obs.effectivePeriod?.start ?? obs.effectiveInstant;
  if (!effective || Number.isNaN(Date.parse(effective)))
    invalid('effective[x]', 'a dateTime with a time is required');
  const subjectRef = obs.subject?.reference;
  if (subjectRef && !subjectRef.startsWith('Patient/')) invalid('subject', 'must reference a Patient');
  const deviceRef = obs.device?.reference;
  // A patient-entered reading names no device: it is kept under the patient's own entry id.
  const patientEntered =
    !deviceRef &&
    subjectRef &&
    obs.meta?.tag?.some((t) => t.system === VIGIL_TAG && t.code === PATIENT_ENTERED)
      ? patientEntryDevice(subjectRef.slice('Patient/'.length))
      : undefined;
  const deviceId = deviceRef?.startsWith('Device/')
    ? deviceRef.slice('Device/'.length)
    : (patientEntered ?? opts.deviceId);
  if (!deviceId) invalid('device', 'a Device reference is required');

  const flags = flagsOf(obs);
  const notes = (obs.note ?? []).map((n) => n.text).filter((t): t is string => typeof t === 'string');
  const identifier = obs.identifier?.find((i) => i.system && IDEMPOTENCY_SYSTEMS.has(i.system))?.value;
  const source = obs.meta?.source;
  const reading: Reading = {
    id,
    deviceId,
    patientId: subjectRef ? subjectRef.slice('Patient/'.length) : null,
    code: def.code,
    codings: others,
    category: def.category,
    value: null,
    unit: null,
    components: [],
    effective: new Date(effective).toISOString(),
    received: obs.issued ? new Date(obs.issued).toISOString() : opts.received,
    flags,
    idempotencyKey: identifier ?? `${deviceId}|t:${new Date(effective).toISOString()}|${def.code}`,
    transport: opts.transport,
    profile: source?.startsWith(SOURCE_PREFIX) ? source.slice(SOURCE_PREFIX.length) : 'fhir',
  };
  if (notes.length) reading.notes = notes;
  if (obs.status === 'corrected') reading.resultStatus = 'corrected';

  if (def.kind === 'panel') {
    reading.components = (obs.component ?? [])
      .filter((c) => c.valueQuantity)
      .map((c, i) => {
        const k = knownCode(c.code, `component[${i}].code`);
        const sent = originalFrom(c.extension);
        const q = ucumOf(c.valueQuantity, `component[${i}]`);
        const canon = canonicalize(k.def.code, q.value, q.unit, ctx, `Observation.component[${i}]`);
        const comp: ReadingComponent = { code: canon.code, value: canon.value, unit: canon.unit };
        if (k.others.length) comp.codings = k.others;
        const orig = sent ?? canon.original;
        if (orig) comp.original = orig;
        return comp;
      });
    const dar =
      obs.dataAbsentReason?.coding?.[0]?.code ??
      obs.component?.find((c) => c.dataAbsentReason)?.dataAbsentReason?.coding?.[0]?.code;
    if (reading.components.length === 0) {
      if (!dar) invalid('component', `${def.display} needs components or a dataAbsentReason`);
      reading.dataAbsentReason = dar;
    }
  } else if (def.kind === 'coded') {
    const code = obs.valueCodeableConcept?.coding?.find((c) =>
      def.valueCodes?.some((v) => v.code === c.code),
    )?.code;
    if (!code)
      invalid('valueCodeableConcept', `one of ${def.valueCodes?.map((v) => v.code).join(', ')} required`);
    reading.valueCode = code;
  } else if (obs.valueQuantity) {
    const q = ucumOf(obs.valueQuantity, 'valueQuantity');
    const canon = canonicalize(def.code, q.value, q.unit, ctx, 'Observation.valueQuantity');
    reading.code = canon.code;
    reading.category = requireDef(canon.code).category;
    reading.value = canon.value;
    reading.unit = canon.unit;
    const orig = originalFrom(obs.extension) ?? canon.original;
    if (orig) reading.original = orig;
  } else {
    const dar = obs.dataAbsentReason?.coding?.[0]?.code;
    if (!dar) invalid('value[x]', 'valueQuantity or dataAbsentReason required');
    reading.dataAbsentReason = dar;
  }
  // Same coding order as normalize produces: the code table's extra codings first, then the rest.
  const extras = (requireDef(reading.code).extraCodings ?? []).map((c) => ({ ...c }));
  const seen = new Set(extras.map((c) => `${c.system}|${c.code}`));
  reading.codings = [...extras, ...reading.codings.filter((c) => !seen.has(`${c.system}|${c.code}`))];
  return reading;
}

/** An Observation with SampledData (FHIR create, the PHD IG rtsa examples) → a waveform Reading. */
function waveformObservationToReading(
  obs: Observation,
  id: string,
  opts: ObservationToReadingOptions,
): Reading {
  const effective = obs.effectiveDateTime ?? obs.effectivePeriod?.start ?? obs.effectiveInstant;
  if (!effective || Number.isNaN(Date.parse(effective)))
    invalid('effective[x]', 'a dateTime with a time is required');
  const at = new Date(effective).toISOString();
  const deviceRef = obs.device?.reference;
  const deviceId = deviceRef?.startsWith('Device/') ? deviceRef.slice('Device/'.length) : opts.deviceId;
  if (!deviceId) invalid('device', 'a Device reference is required');
  const subjectRef = obs.subject?.reference;
  if (subjectRef && !subjectRef.startsWith('Patient/')) invalid('subject', 'must reference a Patient');
  const strip = waveformFromObservation(obs, at);
  const identifier = obs.identifier?.find((i) => i.system && IDEMPOTENCY_SYSTEMS.has(i.system))?.value;
  const source = obs.meta?.source;
  const flags = flagsOf(obs);
  return {
    id,
    deviceId,
    patientId: subjectRef ? subjectRef.slice('Patient/'.length) : null,
    code: strip.code,
    codings: strip.codings,
    category: strip.category,
    value: null,
    unit: null,
    components: [],
    effective: at,
    received: obs.issued ? new Date(obs.issued).toISOString() : opts.received,
    flags,
    idempotencyKey: identifier ?? `${deviceId}|t:${at}|${strip.code}`,
    transport: opts.transport,
    profile: source?.startsWith(SOURCE_PREFIX) ? source.slice(SOURCE_PREFIX.length) : 'fhir',
    waveform: { channels: strip.channels },
  };
}
