/**
 * Heart Rate Measurement 0x2A37 (clinical-reference §5.2): flags(1) · HR (u8, or u16 if b0) ·
 * [energy expended u16 kJ if b3] · [RR intervals u16 in 1/1024 s, repeated to the end, if b4].
 * Sensor contact b1–2: 0/1 feature not supported, 2 supported but no contact, 3 contact.
 * The characteristic has no timestamp: the receive time is used and flagged. Hand-written: see
 * ble-blood-pressure.ts.
 */
import type { QualityFlag } from '../../../core/reading.ts';
import { type ProfileContext, type ProfileResult, quantityDraft } from '../../reading-draft.ts';
import { timing } from './ble-common.ts';
import { GattReader } from './gatt-reader.ts';

export interface HeartRateMeasurement {
  heartRate: number;
  /** null = the sensor does not support contact detection. */
  sensorContact: boolean | null;
  energyExpended: number | null;
  /** RR intervals in 1/1024 s, as sent. */
  rrIntervals: number[] | null;
}

export function decodeHeartRate(bytes: Uint8Array): HeartRateMeasurement {
  const r = new GattReader(bytes, '0x2A37');
  const flags = r.u8('flags');
  const heartRate = flags & 0x01 ? r.u16('heart rate (uint16)') : r.u8('heart rate (uint8)');
  const contact = (flags >> 1) & 0x3;
  const energyExpended = flags & 0x08 ? r.u16('energy expended') : null;
  let rrIntervals: number[] | null = null;
  if (flags & 0x10) {
    rrIntervals = [];
    if (r.remaining < 2) r.u16('RR interval'); // announced but absent: throws truncated
    while (r.remaining >= 2) rrIntervals.push(r.u16('RR interval'));
  }
  r.end();
  return { heartRate, sensorContact: contact < 2 ? null : contact === 3, energyExpended, rrIntervals };
}

export function heartRateProfile(bytes: Uint8Array, ctx: ProfileContext): ProfileResult {
  const m = decodeHeartRate(bytes);
  const t = timing(null, ctx);
  const flags: QualityFlag[] = [...t.flags];
  if (m.sensorContact === false) flags.push('sensor-contact-lost');
  const notes = [...t.notes];
  if (m.energyExpended !== null) notes.push(`energy expended ${m.energyExpended} kJ`);
  if (m.rrIntervals?.length) {
    notes.push(`RR intervals ms: ${m.rrIntervals.map((rr) => Math.round((rr * 1000) / 1024)).join(' ')}`);
  }
  const reading = quantityDraft(
    {
      code: '8867-4',
      value: m.heartRate,
      unit: '/min',
      effective: t.effective,
      profile: 'ble-2a37',
      flags,
      notes,
      field: 'heart rate',
    },
    ctx,
  );
  return { readings: [reading] };
}
