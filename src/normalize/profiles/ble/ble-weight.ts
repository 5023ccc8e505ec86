/**
 * Weight Measurement 0x2A9D (clinical-reference §5.2): flags(1: b0 imperial, b1 timestamp, b2 user
 * id, b3 BMI+height) · weight u16 · [date_time] · [user id u8, 255 unknown] · [BMI u16 ×0.1 ·
 * height u16 (SI 0.001 m, imperial 0.1 in)].
 *
 * LSB rule (the reference's open pitfall, §5.3/§11): we use the FIXED resolution of the SIG
 * characteristic definition — 0.005 kg or 0.01 lb per LSB — not the Weight Scale Feature (0x2A9E)
 * resolution that Spezi applies. Reasons: (1) a measurement must decode on its own, without a
 * feature read that a gateway may not forward; (2) both corpus sources with explicit bytes
 * (SpeziKt, AndroidBLEUtil) agree with the fixed rule (0x1220 → 23.2 kg). Revisit with real scales.
 *
 * 0xFFFF is "measurement unsuccessful" in the Weight Scale spec: it becomes a reading with
 * dataAbsentReason `error`, never 327.675 kg. Hand-written: see ble-blood-pressure.ts.
 */
import {
  type ProfileContext,
  type ProfileResult,
  quantityDraft,
  type ReadingDraft,
} from '../../reading-draft.ts';
import { timing } from './ble-common.ts';
import { type GattDateTime, GattReader } from './gatt-reader.ts';

export const WEIGHT_UNSUCCESSFUL = 0xffff;

export interface WeightMeasurement {
  unit: 'kg' | '[lb_av]';
  rawWeight: number;
  /** Scaled weight in `unit` (null when the scale reported 0xFFFF). */
  weight: number | null;
  timestamp: GattDateTime | null;
  userId: number | null;
  bmi: number | null;
  /** Height in cm (SI) or inches (imperial). */
  height: number | null;
}

export function decodeWeight(bytes: Uint8Array): WeightMeasurement {
  const r = new GattReader(bytes, '0x2A9D');
  const flags = r.u8('flags');
  const imperial = (flags & 0x01) !== 0;
  const rawWeight = r.u16('weight');
  const timestamp = flags & 0x02 ? r.dateTime('timestamp') : null;
  const userId = flags & 0x04 ? r.u8('user id') : null;
  let bmi: number | null = null;
  let height: number | null = null;
  if (flags & 0x08) {
    bmi = r.u16('BMI') / 10;
    // SI: 0.001 m = 0.1 cm per LSB; imperial: 0.1 in per LSB. Either way raw / 10 in cm or in.
    height = r.u16('height') / 10;
  }
  r.end();
  const weight =
    rawWeight === WEIGHT_UNSUCCESSFUL ? null : imperial ? rawWeight / 100 : (rawWeight * 5) / 1000;
  return { unit: imperial ? '[lb_av]' : 'kg', rawWeight, weight, timestamp, userId, bmi, height };
}

export function weightProfile(bytes: Uint8Array, ctx: ProfileContext): ProfileResult {
  const m = decodeWeight(bytes);
  const t = timing(m.timestamp, ctx);
  const notes = [...t.notes];
  if (m.userId !== null) notes.push(`ble-user-id ${m.userId === 255 ? 'unknown' : m.userId}`);
  const common = { effective: t.effective, profile: 'ble-2a9d', flags: t.flags };
  const readings: ReadingDraft[] = [
    quantityDraft(
      {
        ...common,
        code: '29463-7',
        value: m.weight,
        unit: m.unit,
        dataAbsentReason: m.weight === null ? 'error' : undefined,
        notes: m.weight === null ? [...notes, 'scale reported measurement unsuccessful (0xFFFF)'] : notes,
        field: 'weight',
      },
      ctx,
    ),
  ];
  if (m.bmi !== null && m.height !== null) {
    readings.push(
      quantityDraft({ ...common, code: '39156-5', value: m.bmi, unit: 'kg/m2', notes, field: 'BMI' }, ctx),
    );
    const heightUnit = m.unit === 'kg' ? 'cm' : '[in_i]';
    readings.push(
      quantityDraft(
        { ...common, code: '8302-2', value: m.height, unit: heightUnit, notes, field: 'height' },
        ctx,
      ),
    );
  }
  return { readings };
}
