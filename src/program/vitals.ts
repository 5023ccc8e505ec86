/**
 * The vitals the dashboard shows: which stored codes make each one, its label and display unit. The
 * dashboard's own vocabulary (`hr`, `spo2`, …) keeps LOINC codes out of the browser's routes.
 * Codes from src/detect/codes.ts (clinical-reference §2.2, §2.3).
 */
import { LocalCode, Loinc, MGDL_PER_MMOLL } from '../detect/codes.ts';

export const vitalKeys = ['hr', 'spo2', 'rr', 'temp', 'bp', 'weight', 'glucose', 'news2'] as const;
export type VitalKey = (typeof vitalKeys)[number];

export interface VitalDef {
  key: VitalKey;
  label: string;
  unit: string;
  codes: string[];
  /** Series the chart draws: `value`, or the components of a panel. */
  components?: Array<{ name: string; code: string }>;
  /** Decimal places shown. */
  digits: number;
}

export const vitals: Record<VitalKey, VitalDef> = {
  hr: {
    key: 'hr',
    label: 'Heart rate',
    unit: '/min',
    codes: [Loinc.heartRate, Loinc.heartRatePulseOximetry],
    digits: 0,
  },
  spo2: { key: 'spo2', label: 'SpO₂', unit: '%', codes: [Loinc.spo2, Loinc.spo2PulseOximetry], digits: 0 },
  rr: { key: 'rr', label: 'Respiration', unit: '/min', codes: [Loinc.respRate], digits: 0 },
  temp: { key: 'temp', label: 'Temperature', unit: '°C', codes: [Loinc.bodyTemp], digits: 1 },
  bp: {
    key: 'bp',
    label: 'Blood pressure',
    unit: 'mmHg',
    codes: [Loinc.bpPanel],
    components: [
      { name: 'systolic', code: Loinc.systolic },
      { name: 'diastolic', code: Loinc.diastolic },
    ],
    digits: 0,
  },
  weight: { key: 'weight', label: 'Weight', unit: 'kg', codes: [Loinc.bodyWeight], digits: 1 },
  glucose: {
    key: 'glucose',
    label: 'Glucose',
    unit: 'mg/dL',
    codes: [Loinc.cgmMass, Loinc.cgmMoles, Loinc.smbgMass, Loinc.smbgMoles],
    digits: 0,
  },
  news2: { key: 'news2', label: 'NEWS2', unit: 'score', codes: [LocalCode.news2Score], digits: 0 },
};

export const CGM_CODES: readonly string[] = [Loinc.cgmMass, Loinc.cgmMoles];
export const MOLAR_GLUCOSE_CODES: readonly string[] = [Loinc.cgmMoles, Loinc.smbgMoles];
export { MGDL_PER_MMOLL };

const byCode = new Map<string, VitalKey>();
for (const v of Object.values(vitals)) for (const c of v.codes) byCode.set(c, v.key);
byCode.set(Loinc.systolic, 'bp');
byCode.set(Loinc.diastolic, 'bp');

/** A vital key, or a stored code → its vital key. */
export function vitalOf(codeOrKey: string): VitalKey | undefined {
  if ((vitalKeys as readonly string[]).includes(codeOrKey)) return codeOrKey as VitalKey;
  return byCode.get(codeOrKey);
}

/** Temperature is stored in Cel, weight in kg (normalize converts); glucose may come in mmol/L. */
export function toDisplay(key: VitalKey, value: number, unit: string | null): number {
  if (key === 'glucose' && unit && /mmol/i.test(unit)) return value * MGDL_PER_MMOLL;
  return value;
}
