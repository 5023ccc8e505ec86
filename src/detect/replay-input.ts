import type { Coding, DeviceStatusReport, Reading, ReadingComponent } from '../core/reading.ts';
import { isObject, type Raw } from './config-fields.ts';
import { type PatientEnrolment, validateEnrolment } from './program-config.ts';

/**
 * Replay input, one JSON object per line (NDJSON). Three shapes are accepted:
 *
 * 1. Native (the simple format):
 *    {"patient":"p1","device":"oxi-1","time":"2026-03-01T08:00:00Z","code":"2708-6","value":91,"unit":"%",
 *     "flags":["motion-artifact"],"components":[{"code":"8480-6","value":150,"unit":"mm[Hg]"}],
 *     "valueCode":"A","codings":[{"system":"urn:iso:std:iso:11073:10101","code":"147842"}],"id":"optional"}
 *    and device status lines: {"type":"status","patient":"p1","device":"oxi-1","time":"…",
 *     "batteryPercent":15,"clockOffsetSeconds":-400,"errors":["sensor-fault"]}
 *    and enrolment lines, which enrol a patient from that event time on (replacing any earlier
 *    enrolment of theirs; state of surviving rules is kept), fields as a patient enrolment:
 *    {"type":"enrol","patient":"p1","time":"…","programs":["copd"],"spo2Scale":2,
 *     "rules":{"hypoxaemia":{"persistSeconds":30}},"disable":["rr-high"]}
 * 2. A canonical Vigil Reading (has `effective` and `patientId`).
 * 3. A FHIR R4 Observation: LOINC from `code.coding` (system http://loinc.org; other codings kept),
 *    `valueQuantity` (value, UCUM `code` or `unit`), `valueCodeableConcept`, `component`,
 *    `effectiveDateTime` (or `effectivePeriod.start`), `subject` Patient/<id>, `device` Device/<id>.
 */
export type ReplayItem =
  | { kind: 'reading'; reading: Reading }
  | { kind: 'status'; report: DeviceStatusReport }
  | { kind: 'enrol'; patientId: string; effective: string; enrolment: PatientEnrolment };

const LOINC = 'http://loinc.org';

export function parseReplayItem(input: unknown, n: number): ReplayItem {
  const o = typeof input === 'string' ? (JSON.parse(input) as unknown) : input;
  if (!isObject(o)) throw new Error(`line ${n}: expected a JSON object`);
  if (o.resourceType === 'Observation') return { kind: 'reading', reading: fromFhir(o, n) };
  if (typeof o.effective === 'string' && 'patientId' in o && typeof o.code === 'string') {
    const rd = o as unknown as Partial<Reading> & Reading;
    return {
      kind: 'reading',
      reading: { ...rd, components: rd.components ?? [], codings: rd.codings ?? [], flags: rd.flags ?? [] },
    };
  }
  const time = req(o, 'time', n);
  const patientId = typeof o.patient === 'string' ? o.patient : null;
  const deviceId = typeof o.device === 'string' ? o.device : 'unknown';
  if (o.type === 'enrol') {
    if (typeof o.patient !== 'string' || o.patient === '')
      throw new Error(`line ${n}: enrol needs "patient"`);
    const { type: _t, patient: _p, time: _time, ...fields } = o;
    let enrolment: PatientEnrolment;
    try {
      enrolment = validateEnrolment(fields, `line ${n}`);
    } catch (e) {
      throw new Error(`line ${n}: ${(e as Error).message}`);
    }
    return { kind: 'enrol', patientId: o.patient, effective: iso(time, n), enrolment };
  }
  if (o.type === 'status') {
    const report: DeviceStatusReport = {
      deviceId,
      patientId,
      effective: iso(time, n),
      received: iso(time, n),
    };
    if (typeof o.batteryPercent === 'number') report.batteryPercent = o.batteryPercent;
    if (typeof o.clockOffsetSeconds === 'number') report.clockOffsetSeconds = o.clockOffsetSeconds;
    if (Array.isArray(o.errors)) report.errors = o.errors.map(String);
    return { kind: 'status', report };
  }
  const code = req(o, 'code', n);
  const r: Reading = {
    id: typeof o.id === 'string' ? o.id : `line-${n}`,
    deviceId,
    patientId,
    code,
    codings: Array.isArray(o.codings) ? (o.codings as Coding[]) : [],
    category: 'vital-signs',
    value: typeof o.value === 'number' ? o.value : null,
    unit: typeof o.unit === 'string' ? o.unit : null,
    components: Array.isArray(o.components) ? (o.components as ReadingComponent[]) : [],
    effective: iso(time, n),
    // When the line says when it arrived (the simulator's `received`), keep it: gaps are judged on arrival.
    received: typeof o.received === 'string' ? iso(o.received, n) : iso(time, n),
    flags: Array.isArray(o.flags) ? o.flags.map(String) : [],
    idempotencyKey: `${deviceId}:${code}:${time}`,
    transport: 'replay',
    profile: 'replay-native',
  };
  if (typeof o.valueCode === 'string') r.valueCode = o.valueCode;
  return { kind: 'reading', reading: r };
}

function req(o: Raw, key: string, n: number): string {
  const v = o[key];
  if (typeof v !== 'string' || v === '') throw new Error(`line ${n}: missing "${key}"`);
  return v;
}

function iso(t: string, n: number): string {
  const ms = Date.parse(t);
  if (Number.isNaN(ms)) throw new Error(`line ${n}: bad time ${JSON.stringify(t)}`);
  return new Date(ms).toISOString();
}

function codings(cc: unknown): Coding[] {
  if (!isObject(cc) || !Array.isArray(cc.coding)) return [];
  return cc.coding
    .filter(isObject)
    .map((c) => ({ system: String(c.system ?? ''), code: String(c.code ?? '') }));
}

function loincOf(cc: unknown): string | undefined {
  return codings(cc).find((c) => c.system === LOINC)?.code;
}

function quantity(q: unknown): { value: number; unit: string | null } | null {
  if (!isObject(q) || typeof q.value !== 'number') return null;
  const unit = typeof q.code === 'string' ? q.code : typeof q.unit === 'string' ? q.unit : null;
  return { value: q.value, unit };
}

function ref(r: unknown, type: string): string | null {
  if (!isObject(r) || typeof r.reference !== 'string') return null;
  const [t, id] = r.reference.split('/').slice(-2);
  return t === type && id !== undefined ? id : null;
}

function fromFhir(o: Raw, n: number): Reading {
  const all = codings(o.code);
  const code = loincOf(o.code) ?? all[0]?.code;
  if (code === undefined) throw new Error(`line ${n}: Observation without code.coding`);
  const period = isObject(o.effectivePeriod) ? o.effectivePeriod.start : undefined;
  const time =
    typeof o.effectiveDateTime === 'string'
      ? o.effectiveDateTime
      : typeof period === 'string'
        ? period
        : undefined;
  if (time === undefined) throw new Error(`line ${n}: Observation without effectiveDateTime`);
  const q = quantity(o.valueQuantity);
  const components: ReadingComponent[] = [];
  if (Array.isArray(o.component)) {
    for (const c of o.component.filter(isObject)) {
      const cq = quantity(c.valueQuantity);
      const cc = loincOf(c.code);
      if (cq !== null && cc !== undefined)
        components.push({ code: cc, value: cq.value, unit: cq.unit ?? '' });
    }
  }
  const deviceId = ref(o.device, 'Device') ?? 'unknown';
  const r: Reading = {
    id: typeof o.id === 'string' ? o.id : `line-${n}`,
    deviceId,
    patientId: ref(o.subject, 'Patient'),
    code,
    codings: all.filter((c) => !(c.system === LOINC && c.code === code)),
    category: 'vital-signs',
    value: q?.value ?? null,
    unit: q?.unit ?? null,
    components,
    effective: iso(time, n),
    received: iso(time, n),
    flags: [],
    idempotencyKey: `${deviceId}:${code}:${time}`,
    transport: 'fhir',
    profile: 'fhir-observation',
  };
  const vc = codings(o.valueCodeableConcept)[0]?.code;
  if (vc !== undefined) r.valueCode = vc;
  return r;
}
