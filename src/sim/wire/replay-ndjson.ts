/**
 * The offline record format: one JSON object per line, in the "native" shape `vigil replay` reads
 * (detect/replay-input.ts): `{patient, device, time, code (LOINC), value, unit (UCUM), components,
 * flags, id}` and device status lines `{type:"status", patient, device, time, batteryPercent}`.
 * Extra fields `received` (when the device sent it) and `transport` are informative.
 */
import type { Emission } from '../devices/device.ts';
import type { SimReading } from './native-json.ts';

/** Friendly type → LOINC (the subset the simulator sends; normalize/codes.ts is the full table). */
export const LOINC_BY_TYPE: Readonly<Record<string, string>> = {
  'blood-pressure': '85354-9',
  'heart-rate': '8867-4',
  spo2: '2708-6',
  'respiratory-rate': '9279-1',
  temperature: '8310-5',
  weight: '29463-7',
  'cgm-glucose': '99504-3',
};

/** MDC codes the simulator sends (clinical-reference §3.2) → LOINC; the MDC coding is kept beside it. */
export const LOINC_BY_MDC: Readonly<Record<string, string>> = {
  '147842': '8867-4',
  '149530': '8867-4',
};

const BP_COMPONENTS = { systolic: '8480-6', diastolic: '8462-4', mean: '8478-0' } as const;

export interface ReplayLine {
  type?: 'status';
  patient: string;
  device: string;
  time: string;
  code?: string;
  value?: number;
  unit?: string;
  components?: { code: string; value: number; unit: string }[];
  flags?: string[];
  codings?: { system: string; code: string }[];
  batteryPercent?: number;
  id?: string;
  received: string;
  transport: string;
}

export function replayLines(e: Emission, patientId: string): ReplayLine[] {
  if (e.malformed) return [];
  const received = new Date(e.sendAt).toISOString();
  const base = { patient: patientId, device: e.deviceId, received, transport: e.transport };
  const out: ReplayLine[] = [];
  for (const r of e.readings) {
    if (r.battery !== undefined)
      out.push({ type: 'status', ...base, time: r.time, batteryPercent: r.battery });
    if (r.type !== undefined || r.code !== undefined) out.push(readingLine(r, base));
  }
  return out;
}

function readingLine(
  r: SimReading,
  base: { patient: string; device: string; received: string; transport: string },
): ReplayLine {
  const code = r.code ? LOINC_BY_MDC[r.code.code] : LOINC_BY_TYPE[r.type as string];
  if (!code) throw new Error(`no LOINC code for simulated type ${r.type ?? r.code?.code}`);
  const line: ReplayLine = { ...base, time: r.time, code };
  if (r.code) line.codings = [{ ...r.code }];
  if (r.messageId) line.id = r.messageId;
  if (r.components) {
    line.components = Object.entries(r.components).map(([k, v]) => ({
      code: BP_COMPONENTS[k as keyof typeof BP_COMPONENTS],
      value: v as number,
      unit: r.unit ?? 'mm[Hg]',
    }));
  } else {
    if (r.value !== undefined) line.value = r.value;
    if (r.unit !== undefined) line.unit = r.unit;
  }
  if (r.flags?.length) line.flags = r.flags;
  return line;
}
