import type { DeviceStatusReport, Reading, ReadingComponent } from '../core/reading.ts';
import { createEngine, type Engine } from './engine.ts';
import { type PatientEnrolment, validateProgramConfig } from './program-config.ts';

/** Test helpers: readings at event times relative to a fixed start, engines with inline programs. */
export const T0 = Date.parse('2026-03-01T08:00:00Z');
let seq = 0;

export interface ReadingOpts {
  at?: number;
  patientId?: string;
  deviceId?: string;
  unit?: string;
  flags?: string[];
  components?: ReadingComponent[];
  valueCode?: string;
  codings?: Reading['codings'];
}

/** A reading `sec` seconds after T0. */
export function reading(code: string, value: number | null, sec: number, o: ReadingOpts = {}): Reading {
  seq++;
  const at = new Date(T0 + sec * 1000).toISOString();
  const r: Reading = {
    id: `r${seq}`,
    deviceId: o.deviceId ?? 'dev-1',
    patientId: o.patientId ?? 'p1',
    code,
    codings: o.codings ?? [],
    category: 'vital-signs',
    value,
    unit: o.unit ?? null,
    components: o.components ?? [],
    effective: at,
    received: at,
    flags: o.flags ?? [],
    idempotencyKey: `k${seq}`,
    transport: 'http',
    profile: 'test',
  };
  if (o.valueCode !== undefined) r.valueCode = o.valueCode;
  return r;
}

export function bp(sys: number, dia: number, sec: number, o: ReadingOpts = {}): Reading {
  return reading('85354-9', null, sec, {
    ...o,
    components: [
      { code: '8480-6', value: sys, unit: 'mm[Hg]' },
      { code: '8462-4', value: dia, unit: 'mm[Hg]' },
    ],
  });
}

export function status(sec: number, s: Partial<DeviceStatusReport>): DeviceStatusReport {
  const at = new Date(T0 + sec * 1000).toISOString();
  return { deviceId: 'dev-1', patientId: 'p1', effective: at, received: at, ...s };
}

/** An engine whose patient p1 is enrolled in one inline program made of `rules`. */
export function engineWith(rules: unknown[], enrolment: Partial<PatientEnrolment> = {}): Engine {
  const program = validateProgramConfig({ name: 'test', rules });
  return createEngine({ programs: [program], patients: { p1: { programs: ['test'], ...enrolment } } });
}

export const MIN = 60;
export const HOUR = 3600;
export const DAY = 86_400;
