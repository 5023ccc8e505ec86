/** What a patient sees of an Observation: the kind of reading, its value in their units, its time. */

export type Kind =
  | 'bloodPressure'
  | 'heartRate'
  | 'spo2'
  | 'weight'
  | 'temperature'
  | 'glucose'
  | 'respiratoryRate'
  | 'other';

export type Units = 'metric' | 'us';

const kindByLoinc: Record<string, Kind> = {
  '85354-9': 'bloodPressure',
  '8480-6': 'bloodPressure',
  '8867-4': 'heartRate',
  '59408-5': 'spo2',
  '2708-6': 'spo2',
  '29463-7': 'weight',
  '8310-5': 'temperature',
  '9279-1': 'respiratoryRate',
  '2339-0': 'glucose',
  '15074-8': 'glucose',
  '14743-9': 'glucose',
  '41653-7': 'glucose',
  '99504-3': 'glucose',
  '105272-9': 'glucose',
};

interface Quantity {
  value?: number;
  unit?: string;
  code?: string;
}
export interface Observation {
  id: string;
  meta?: { tag?: Array<{ system?: string; code?: string }> };
  code?: { coding?: Array<{ system?: string; code?: string }> };
  category?: Array<{ coding?: Array<{ system?: string; code?: string }> }>;
  effectiveDateTime?: string;
  valueQuantity?: Quantity;
  component?: Array<{ code?: { coding?: Array<{ code?: string }> }; valueQuantity?: Quantity }>;
}

export interface PatientReading {
  id: string;
  kind: Kind;
  at: string;
  /** The value as the patient reads it, in their units. */
  text: string;
  /** Typed in by the patient (meta.tag …/CodeSystem/tag#patient-entered), not sent by a device. */
  entered: boolean;
}

const VIGIL_TAG = 'https://vigil.example.org/fhir/CodeSystem/tag';
export const isPatientEntered = (o: Observation) =>
  o.meta?.tag?.some((t) => t.system === VIGIL_TAG && t.code === 'patient-entered') ?? false;

// Display only: the stored value is never changed. 1 lb = 0.45359237 kg (exact, by definition);
// glucose 1 mmol/L = 18.016 mg/dL (as src/normalize/units.ts).
const KG_PER_LB = 0.45359237;
const MG_DL_PER_MMOL_L = 18.016;

export function kindOf(o: Observation): Kind {
  for (const c of o.code?.coding ?? []) {
    const k = c.code ? kindByLoinc[c.code] : undefined;
    if (k) return k;
  }
  return 'other';
}

function fmt(n: number, digits: number, locale: string): string {
  return new Intl.NumberFormat(locale, { maximumFractionDigits: digits }).format(n);
}

export function readingOf(o: Observation, units: Units, locale: string): PatientReading | undefined {
  // Inhaler and pill-bottle events are shown under "My medicines", not as readings.
  if (o.category?.some((c) => c.coding?.some((x) => x.code === 'therapy'))) return undefined;
  const kind = kindOf(o);
  const at = o.effectiveDateTime;
  if (!at) return undefined;
  const q = o.valueQuantity;
  let text: string | undefined;
  if (kind === 'bloodPressure') {
    const part = (code: string) =>
      o.component?.find((c) => c.code?.coding?.some((x) => x.code === code))?.valueQuantity?.value;
    const sys = part('8480-6');
    const dia = part('8462-4');
    if (sys !== undefined && dia !== undefined) text = `${fmt(sys, 0, locale)}/${fmt(dia, 0, locale)} mmHg`;
  } else if (q?.value !== undefined) {
    const unit = q.code ?? q.unit ?? '';
    if (kind === 'weight' && unit === 'kg' && units === 'us')
      text = `${fmt(q.value / KG_PER_LB, 1, locale)} lb`;
    else if (kind === 'glucose' && unit === 'mg/dL' && units === 'metric')
      text = `${fmt(q.value / MG_DL_PER_MMOL_L, 1, locale)} mmol/L`;
    else if (kind === 'glucose' && unit === 'mmol/L' && units === 'us')
      text = `${fmt(q.value * MG_DL_PER_MMOL_L, 0, locale)} mg/dL`;
    else if (kind === 'temperature' && unit === 'Cel')
      text =
        units === 'us' ? `${fmt((q.value * 9) / 5 + 32, 1, locale)} °F` : `${fmt(q.value, 1, locale)} °C`;
    else
      text = `${fmt(q.value, 1, locale)} ${unit === '%' ? '%' : unit === '/min' ? '/min' : (q.unit ?? unit)}`;
  }
  return text ? { id: o.id, kind, at, text, entered: isPatientEntered(o) } : undefined;
}

/** The latest reading of each kind, newest first. */
export function latestByKind(rs: PatientReading[]): PatientReading[] {
  const seen = new Map<Kind, PatientReading>();
  for (const r of [...rs].sort((a, b) => b.at.localeCompare(a.at)))
    if (!seen.has(r.kind)) seen.set(r.kind, r);
  return [...seen.values()];
}
