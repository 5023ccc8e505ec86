/**
 * Typing in a reading (docs/patient-app.md): the kinds a patient may enter, the unit each is typed
 * in (the patient's own: lb, °F, mg/dL or kg, °C, mmol/L) and the body the API takes. The server
 * converts to the stored units through the same normalization as a device reading and keeps what
 * was typed as the original value, so nothing is converted here.
 */
import type { Kind, Units } from './readings.ts';

export const entryKinds = ['bloodPressure', 'heartRate', 'spo2', 'weight', 'temperature', 'glucose'] as const;
export type EntryKind = (typeof entryKinds)[number];

export const isEntryKind = (k: Kind): k is EntryKind => (entryKinds as readonly string[]).includes(k);

/** The reading-format type (docs/reading-format.md) of each kind. */
const typeOf: Record<EntryKind, string> = {
  bloodPressure: 'blood-pressure',
  heartRate: 'heart-rate',
  spo2: 'spo2',
  weight: 'weight',
  temperature: 'temperature',
  glucose: 'glucose',
};

/** The unit a kind is typed in: the UCUM code sent and the label shown. */
export function entryUnit(kind: EntryKind, units: Units): { ucum: string; label: string } {
  switch (kind) {
    case 'bloodPressure':
      return { ucum: 'mm[Hg]', label: 'mmHg' };
    case 'heartRate':
      return { ucum: '/min', label: '/min' };
    case 'spo2':
      return { ucum: '%', label: '%' };
    case 'weight':
      return units === 'us' ? { ucum: '[lb_av]', label: 'lb' } : { ucum: 'kg', label: 'kg' };
    case 'temperature':
      return units === 'us' ? { ucum: '[degF]', label: '°F' } : { ucum: 'Cel', label: '°C' };
    case 'glucose':
      return units === 'us' ? { ucum: 'mg/dL', label: 'mg/dL' } : { ucum: 'mmol/L', label: 'mmol/L' };
  }
}

/**
 * A number as a patient types it, in any of the app's languages: a decimal comma (es), Arabic-Indic
 * digits and the Arabic decimal separator (ar), spaces. Undefined when it is not one number.
 */
export function parseTypedNumber(text: string): number | undefined {
  const ascii = text
    .trim()
    .replace(/[\u0660-\u0669]/g, (d) => String(d.charCodeAt(0) - 0x0660))
    .replace(/[\u06F0-\u06F9]/g, (d) => String(d.charCodeAt(0) - 0x06f0))
    .replace(/[\u066B,]/g, '.')
    .replace(/\s/g, '');
  if (!/^\d+(\.\d+)?$/.test(ascii)) return undefined;
  return Number(ascii);
}

export interface EntryBody {
  messageId: string;
  type: string;
  unit: string;
  time: string;
  value?: number;
  systolic?: number;
  diastolic?: number;
}

/** The API body, or the name of the field that is not a number. */
export function entryBody(
  kind: EntryKind,
  units: Units,
  fields: { value?: string; systolic?: string; diastolic?: string },
  messageId: string,
  now: Date,
): EntryBody | { invalid: 'value' | 'systolic' | 'diastolic' } {
  const base = { messageId, type: typeOf[kind], unit: entryUnit(kind, units).ucum, time: now.toISOString() };
  if (kind === 'bloodPressure') {
    const systolic = parseTypedNumber(fields.systolic ?? '');
    if (systolic === undefined) return { invalid: 'systolic' };
    const diastolic = parseTypedNumber(fields.diastolic ?? '');
    if (diastolic === undefined) return { invalid: 'diastolic' };
    return { ...base, systolic, diastolic };
  }
  const value = parseTypedNumber(fields.value ?? '');
  if (value === undefined) return { invalid: 'value' };
  return { ...base, value };
}
