/**
 * Glucose Measurement 0x2A18 (clinical-reference §5.2): flags(1: b0 time offset, b1 concentration
 * +type+location, b2 unit mol/L, b3 status annunciation, b4 context follows) · sequence u16 · base
 * time date_time · [time offset s16 min] · [concentration SFLOAT (kg/L or mol/L) · type/location
 * u8: type LOW nibble, location HIGH nibble] · [status u16].
 * Hand-written: see ble-blood-pressure.ts.
 */
import type { QualityFlag } from '../../../core/reading.ts';
import {
  type ProfileContext,
  type ProfileResult,
  quantityDraft,
  type ReadingDraft,
} from '../../reading-draft.ts';
import type { MdcFloat } from '../../sfloat.ts';
import { bitFlags, floatValue, hex, timing } from './ble-common.ts';
import { type GattDateTime, GattReader, gattTimeToIso } from './gatt-reader.ts';

export const GLUCOSE_TYPES: Readonly<Record<number, string>> = {
  1: 'capillary whole blood',
  2: 'capillary plasma',
  3: 'venous whole blood',
  4: 'venous plasma',
  5: 'arterial whole blood',
  6: 'arterial plasma',
  7: 'undetermined whole blood',
  8: 'undetermined plasma',
  9: 'interstitial fluid',
  10: 'control solution',
};

export const SAMPLE_LOCATIONS: Readonly<Record<number, string>> = {
  1: 'finger',
  2: 'alternate site test',
  3: 'earlobe',
  4: 'control solution',
  15: 'not available',
};

/**
 * LOINC (mass code; the molar one is picked by unit) per sample type. §2.3 gives capillary (V),
 * blood (V), serum/plasma (V) and interstitial (V) codes; the mappings of capillary PLASMA and of
 * the "undetermined" types are ours and UNVERIFIED (§3.2 marks capillary plasma's LOINC U).
 * Control solution (10) is a meter check, not a patient sample: no reading.
 */
const LOINC_BY_TYPE: Readonly<Record<number, string>> = {
  1: '41653-7',
  2: '41653-7', // U: capillary plasma → SMBG code
  3: '2339-0',
  4: '2345-7',
  5: '2339-0',
  6: '2345-7',
  7: '2339-0', // U
  8: '2345-7', // U
  9: '99504-3',
};

export interface GlucoseMeasurement {
  sequenceNumber: number;
  baseTime: GattDateTime;
  timeOffsetMinutes: number | null;
  unit: 'kg/L' | 'mol/L';
  concentration: MdcFloat | null;
  type: number | null;
  sampleLocation: number | null;
  sensorStatusAnnunciation: number | null;
  contextInformationFollows: boolean;
}

export function decodeGlucose(bytes: Uint8Array): GlucoseMeasurement {
  const r = new GattReader(bytes, '0x2A18');
  const flags = r.u8('flags');
  const sequenceNumber = r.u16('sequence number');
  const baseTime = r.dateTime('base time');
  const timeOffsetMinutes = flags & 0x01 ? r.s16('time offset') : null;
  let concentration: MdcFloat | null = null;
  let type: number | null = null;
  let sampleLocation: number | null = null;
  if (flags & 0x02) {
    concentration = r.sfloat('glucose concentration');
    const tl = r.u8('type and sample location');
    type = tl & 0x0f;
    sampleLocation = tl >> 4;
  }
  const sensorStatusAnnunciation = flags & 0x08 ? r.u16('sensor status annunciation') : null;
  r.end();
  return {
    sequenceNumber,
    baseTime,
    timeOffsetMinutes,
    unit: flags & 0x04 ? 'mol/L' : 'kg/L',
    concentration,
    type,
    sampleLocation,
    sensorStatusAnnunciation,
    contextInformationFollows: (flags & 0x10) !== 0,
  };
}

/** base time + offset, as a date_time-shaped object (the corpus states both). */
export function glucoseEffectiveTime(m: GlucoseMeasurement): GattDateTime {
  const b = m.baseTime;
  if (b.year === null || b.month === null || b.day === null || !m.timeOffsetMinutes) return b;
  const d = new Date(
    Date.UTC(b.year, b.month - 1, b.day, b.hours, b.minutes + m.timeOffsetMinutes, b.seconds),
  );
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hours: d.getUTCHours(),
    minutes: d.getUTCMinutes(),
    seconds: d.getUTCSeconds(),
  };
}

const STATUS_FLAGS: Record<number, QualityFlag> = {
  0: 'battery-low',
  1: 'sensor-malfunction',
  2: 'sample-size-insufficient',
  3: 'strip-insertion-error',
  4: 'strip-type-incorrect',
  5: 'result-too-high',
  6: 'result-too-low',
  7: 'temperature-too-high',
  8: 'temperature-too-low',
  9: 'strip-pulled-too-soon',
  10: 'device-malfunction',
  11: 'time-fault',
};

export function glucoseProfile(bytes: Uint8Array, ctx: ProfileContext): ProfileResult {
  const m = decodeGlucose(bytes);
  const status = m.sensorStatusAnnunciation;
  const statusFlags = status === null ? [] : bitFlags(status, STATUS_FLAGS);
  // A meter that reports a time fault has a wrong clock: trust the receive time instead.
  const t = timing(glucoseEffectiveTime(m), ctx, statusFlags.includes('time-fault'));
  const notes = [...t.notes];
  if (status !== null) notes.push(`sensor status annunciation ${hex(status)}`);
  if (m.contextInformationFollows) notes.push('glucose measurement context (0x2A34) follows separately');
  const deviceStatus =
    statusFlags.length > 0
      ? {
          deviceId: ctx.deviceId,
          patientId: null,
          effective: t.effective,
          received: new Date(ctx.receivedAt).toISOString(),
          errors: statusFlags,
        }
      : undefined;
  const readings: ReadingDraft[] = [];
  if (m.concentration && m.type !== null && m.type !== 10) {
    const code = LOINC_BY_TYPE[m.type] ?? '2339-0';
    const v = floatValue(m.concentration);
    notes.push(
      `sample: ${GLUCOSE_TYPES[m.type] ?? `type ${m.type}`}, ${SAMPLE_LOCATIONS[m.sampleLocation ?? 15] ?? 'location ' + m.sampleLocation}`,
    );
    if (v.note) notes.push(v.note);
    readings.push(
      quantityDraft(
        {
          code,
          value: v.value,
          unit: m.unit,
          dataAbsentReason: v.dataAbsentReason,
          effective: t.effective,
          profile: 'ble-2a18',
          flags: [...t.flags, ...statusFlags],
          notes,
          // Meters re-send stored records (RACP): the sequence number makes a re-send a no-op.
          messageId: `glucose-seq-${m.sequenceNumber}-${gattTimeToIso(m.baseTime) ?? 'unknown'}`,
          field: 'glucose concentration',
        },
        ctx,
      ),
    );
  }
  return deviceStatus ? { readings, status: deviceStatus } : { readings };
}
