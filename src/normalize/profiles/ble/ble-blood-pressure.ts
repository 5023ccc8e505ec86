/**
 * Blood Pressure Measurement 0x2A35 and Intermediate Cuff Pressure 0x2A36 (clinical-reference
 * §5.2). Layout: flags(1) · systolic, diastolic, MAP (SFLOAT each) · [date_time] · [pulse rate
 * SFLOAT] · [user id u8] · [measurement status u16]. 0x2A36 reuses the structure with the cuff
 * pressure in the systolic slot.
 *
 * Hand-written: npm has no maintained decoder for the health characteristics (the BLE libraries
 * there are transports); the layout is short and the corpus vectors test it.
 */
import type { QualityFlag } from '../../../core/reading.ts';
import { MDC, mdcCoding } from '../../codes.ts';
import {
  type ProfileContext,
  type ProfileResult,
  panelDraft,
  quantityDraft,
  type ReadingDraft,
} from '../../reading-draft.ts';
import type { MdcFloat } from '../../sfloat.ts';
import { bitFlags, floatValue, hex, timing } from './ble-common.ts';
import { type GattDateTime, GattReader } from './gatt-reader.ts';

export interface BloodPressureMeasurement {
  unit: 'mmHg' | 'kPa';
  systolic: MdcFloat;
  diastolic: MdcFloat;
  meanArterialPressure: MdcFloat;
  timestamp: GattDateTime | null;
  pulseRate: MdcFloat | null;
  userId: number | null;
  measurementStatus: number | null;
}

export function decodeBloodPressure(bytes: Uint8Array, characteristic = '0x2A35'): BloodPressureMeasurement {
  const r = new GattReader(bytes, characteristic);
  const flags = r.u8('flags');
  const m: BloodPressureMeasurement = {
    unit: flags & 0x01 ? 'kPa' : 'mmHg',
    systolic: r.sfloat('systolic'),
    diastolic: r.sfloat('diastolic'),
    meanArterialPressure: r.sfloat('mean arterial pressure'),
    timestamp: flags & 0x02 ? r.dateTime('timestamp') : null,
    pulseRate: flags & 0x04 ? r.sfloat('pulse rate') : null,
    userId: flags & 0x08 ? r.u8('user id') : null,
    measurementStatus: flags & 0x10 ? r.u16('measurement status') : null,
  };
  r.end();
  return m;
}

const STATUS_FLAGS: Record<number, QualityFlag> = {
  0: 'body-movement',
  1: 'cuff-too-loose',
  2: 'irregular-pulse',
  5: 'improper-position',
};

/** Status bits → flags; bits 3–4 are the pulse-rate range (1 above, 2 below). */
export function bpStatusFlags(status: number | null): QualityFlag[] {
  if (status === null) return [];
  const flags = bitFlags(status, STATUS_FLAGS);
  const range = (status >> 3) & 0x3;
  if (range === 1) flags.push('pulse-rate-above-range');
  if (range === 2) flags.push('pulse-rate-below-range');
  return flags;
}

const UCUM_BY_UNIT = { mmHg: 'mm[Hg]', kPa: 'kPa' } as const;

export function bloodPressureProfile(bytes: Uint8Array, ctx: ProfileContext): ProfileResult {
  const m = decodeBloodPressure(bytes);
  const unit = UCUM_BY_UNIT[m.unit];
  const t = timing(m.timestamp, ctx);
  const statusFlags = bpStatusFlags(m.measurementStatus);
  const notes = [...t.notes];
  if (m.userId !== null) notes.push(`ble-user-id ${m.userId}`);
  if (m.measurementStatus !== null) notes.push(`measurement status ${hex(m.measurementStatus)}`);
  const common = { effective: t.effective, profile: 'ble-2a35', notes };
  const readings: ReadingDraft[] = [];

  const sys = m.systolic;
  const dia = m.diastolic;
  if (sys.ok && dia.ok) {
    const components = [
      { code: '8480-6', value: sys.value, unit, field: 'systolic', codings: [mdcCoding('150021')!] },
      { code: '8462-4', value: dia.value, unit, field: 'diastolic', codings: [mdcCoding('150022')!] },
    ];
    if (m.meanArterialPressure.ok) {
      const map = m.meanArterialPressure.value;
      components.push({
        code: '8478-0',
        value: map,
        unit,
        field: 'mean arterial pressure',
        codings: [mdcCoding('150023')!],
      });
    }
    readings.push(
      panelDraft(
        {
          ...common,
          code: '85354-9',
          components,
          codings: [mdcCoding('150020')!],
          flags: [...t.flags, ...statusFlags],
        },
        ctx,
      ),
    );
  } else {
    // A cuff that reports NaN/NRes for the pressures: keep the attempt, without numbers.
    const bad = (sys.ok ? dia : sys) as Exclude<MdcFloat, { ok: true }>;
    readings.push({
      ...panelAbsent(common, ctx, bad),
      flags: [...t.flags, ...statusFlags],
    });
  }

  if (m.pulseRate) {
    const v = floatValue(m.pulseRate);
    const pulseFlags = statusFlags.filter((f) => f.startsWith('pulse-rate') || f === 'irregular-pulse');
    readings.push(
      quantityDraft(
        {
          ...common,
          code: '8867-4',
          value: v.value,
          unit: '/min',
          dataAbsentReason: v.dataAbsentReason,
          codings: [{ system: MDC, code: '149546', display: 'MDC_PULS_RATE_NON_INV' }],
          flags: [...t.flags, ...pulseFlags],
          notes: v.note ? [...notes, v.note] : notes,
          field: 'pulse rate',
        },
        ctx,
      ),
    );
  }
  return { readings };
}

function panelAbsent(
  common: { effective: string; profile: string; notes: string[] },
  ctx: ProfileContext,
  bad: Exclude<MdcFloat, { ok: true }>,
): ReadingDraft {
  return {
    deviceId: ctx.deviceId,
    code: '85354-9',
    codings: [mdcCoding('150020')!],
    category: 'vital-signs',
    value: null,
    unit: null,
    components: [],
    dataAbsentReason: bad.reason,
    effective: common.effective,
    flags: [],
    profile: common.profile,
    notes: [...common.notes, `device sent special value ${bad.special}`],
  };
}

export interface IntermediateCuffPressure {
  unit: 'mmHg' | 'kPa';
  cuffPressure: MdcFloat;
  timestamp: GattDateTime | null;
  pulseRate: MdcFloat | null;
  userId: number | null;
  measurementStatus: number | null;
}

export function decodeIntermediateCuffPressure(bytes: Uint8Array): IntermediateCuffPressure {
  const m = decodeBloodPressure(bytes, '0x2A36');
  return {
    unit: m.unit,
    cuffPressure: m.systolic,
    timestamp: m.timestamp,
    pulseRate: m.pulseRate,
    userId: m.userId,
    measurementStatus: m.measurementStatus,
  };
}

/**
 * 0x2A36 is the live cuff pressure while the cuff inflates: progress, not a measurement of the
 * patient. It is decoded (so a malformed one is still refused) and produces no reading, only a
 * device status report (the device is alive) so ingest accepts it instead of dead-lettering it.
 */
export function intermediateCuffPressureProfile(bytes: Uint8Array, ctx: ProfileContext): ProfileResult {
  const m = decodeIntermediateCuffPressure(bytes);
  const received = new Date(ctx.receivedAt).toISOString();
  const errors = bpStatusFlags(m.measurementStatus);
  return {
    readings: [],
    status: {
      deviceId: ctx.deviceId,
      patientId: null,
      effective: received,
      received,
      ...(errors.length ? { errors } : {}),
    },
  };
}
