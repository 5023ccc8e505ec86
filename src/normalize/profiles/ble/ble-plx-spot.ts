/**
 * PLX Spot-Check Measurement 0x2A5E (clinical-reference §5.2): flags(1: b0 timestamp, b1
 * measurement status, b2 device & sensor status, b3 pulse amplitude index, b4 device clock not set)
 * · SpO2 SFLOAT % · PR SFLOAT /min · [date_time] · [status u16] · [device & sensor status u24] ·
 * [PAI SFLOAT %]. Hand-written: see ble-blood-pressure.ts.
 */
import type { DeviceStatusReport } from '../../../core/reading.ts';
import { mdcCoding } from '../../codes.ts';
import {
  type ProfileContext,
  type ProfileResult,
  quantityDraft,
  type ReadingDraft,
} from '../../reading-draft.ts';
import type { MdcFloat } from '../../sfloat.ts';
import { floatValue, type Timing, timing } from './ble-common.ts';
import { type GattDateTime, GattReader } from './gatt-reader.ts';
import { PLX_DEVICE_ERRORS, plxFlags } from './plx-status.ts';

export interface PlxSpotMeasurement {
  spo2: MdcFloat;
  pulseRate: MdcFloat;
  timestamp: GattDateTime | null;
  measurementStatus: number | null;
  deviceAndSensorStatus: number | null;
  pulseAmplitudeIndex: MdcFloat | null;
  deviceClockNotSet: boolean;
}

export function decodePlxSpot(bytes: Uint8Array): PlxSpotMeasurement {
  const r = new GattReader(bytes, '0x2A5E');
  const flags = r.u8('flags');
  const m: PlxSpotMeasurement = {
    spo2: r.sfloat('SpO2'),
    pulseRate: r.sfloat('pulse rate'),
    timestamp: flags & 0x01 ? r.dateTime('timestamp') : null,
    measurementStatus: flags & 0x02 ? r.u16('measurement status') : null,
    deviceAndSensorStatus: flags & 0x04 ? r.u24('device and sensor status') : null,
    pulseAmplitudeIndex: flags & 0x08 ? r.sfloat('pulse amplitude index') : null,
    deviceClockNotSet: (flags & 0x10) !== 0,
  };
  r.end();
  return m;
}

/** SpO2 + pulse-rate drafts shared by spot-check and continuous. */
export function plxReadings(
  values: {
    spo2: MdcFloat;
    pulseRate: MdcFloat;
    pai: MdcFloat | null;
    measurementStatus: number | null;
    deviceStatus: number | null;
  },
  t: Timing,
  profile: string,
  ctx: ProfileContext,
  extraNotes: string[] = [],
): { readings: ReadingDraft[]; status?: DeviceStatusReport } {
  const flags = [...t.flags, ...plxFlags(values.measurementStatus, values.deviceStatus)];
  const notes = [...t.notes, ...extraNotes];
  if (values.pai?.ok) notes.push(`pulse amplitude index ${values.pai.value} %`);
  const spo2 = floatValue(values.spo2);
  const pr = floatValue(values.pulseRate);
  const readings = [
    quantityDraft(
      {
        code: '2708-6',
        value: spo2.value,
        unit: '%',
        dataAbsentReason: spo2.dataAbsentReason,
        effective: t.effective,
        profile,
        flags,
        notes: spo2.note ? [...notes, spo2.note] : notes,
        field: 'SpO2',
      },
      ctx,
    ),
    quantityDraft(
      {
        code: '8867-4',
        value: pr.value,
        unit: '/min',
        dataAbsentReason: pr.dataAbsentReason,
        codings: [mdcCoding('149530')!],
        effective: t.effective,
        profile,
        flags,
        notes: pr.note ? [...notes, pr.note] : notes,
        field: 'pulse rate',
      },
      ctx,
    ),
  ];
  const errors = flags.filter((f) => PLX_DEVICE_ERRORS.has(f));
  if (errors.length === 0) return { readings };
  const status: DeviceStatusReport = {
    deviceId: ctx.deviceId,
    patientId: null,
    effective: t.effective,
    received: new Date(ctx.receivedAt).toISOString(),
    errors,
  };
  return { readings, status };
}

export function plxSpotProfile(bytes: Uint8Array, ctx: ProfileContext): ProfileResult {
  const m = decodePlxSpot(bytes);
  const t = timing(m.timestamp, ctx, m.deviceClockNotSet);
  return plxReadings(
    {
      spo2: m.spo2,
      pulseRate: m.pulseRate,
      pai: m.pulseAmplitudeIndex,
      measurementStatus: m.measurementStatus,
      deviceStatus: m.deviceAndSensorStatus,
    },
    t,
    'ble-2a5e',
    ctx,
  );
}
