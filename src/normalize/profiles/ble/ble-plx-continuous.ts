/**
 * PLX Continuous Measurement 0x2A5F (clinical-reference §5.2): flags(1: b0 SpO2PR-Fast, b1
 * SpO2PR-Slow, b2 measurement status, b3 device & sensor status, b4 PAI) · SpO2/PR normal (2×
 * SFLOAT) · [fast pair] · [slow pair] · [status u16] · [device & sensor status u24] · [PAI]. No
 * timestamp: receive time, flagged. The normal pair becomes readings; fast/slow (other averaging
 * windows of the same signal) are kept in notes. Hand-written: see ble-blood-pressure.ts.
 */
import type { ProfileContext, ProfileResult } from '../../reading-draft.ts';
import type { MdcFloat } from '../../sfloat.ts';
import { timing } from './ble-common.ts';
import { plxReadings } from './ble-plx-spot.ts';
import { GattReader } from './gatt-reader.ts';

export interface PlxContinuousMeasurement {
  spo2: MdcFloat;
  pulseRate: MdcFloat;
  spo2Fast: MdcFloat | null;
  pulseRateFast: MdcFloat | null;
  spo2Slow: MdcFloat | null;
  pulseRateSlow: MdcFloat | null;
  measurementStatus: number | null;
  deviceAndSensorStatus: number | null;
  pulseAmplitudeIndex: MdcFloat | null;
}

export function decodePlxContinuous(bytes: Uint8Array): PlxContinuousMeasurement {
  const r = new GattReader(bytes, '0x2A5F');
  const flags = r.u8('flags');
  const spo2 = r.sfloat('SpO2');
  const pulseRate = r.sfloat('pulse rate');
  const fast = flags & 0x01 ? [r.sfloat('SpO2 fast'), r.sfloat('pulse rate fast')] : [null, null];
  const slow = flags & 0x02 ? [r.sfloat('SpO2 slow'), r.sfloat('pulse rate slow')] : [null, null];
  const m: PlxContinuousMeasurement = {
    spo2,
    pulseRate,
    spo2Fast: fast[0] ?? null,
    pulseRateFast: fast[1] ?? null,
    spo2Slow: slow[0] ?? null,
    pulseRateSlow: slow[1] ?? null,
    measurementStatus: flags & 0x04 ? r.u16('measurement status') : null,
    deviceAndSensorStatus: flags & 0x08 ? r.u24('device and sensor status') : null,
    pulseAmplitudeIndex: flags & 0x10 ? r.sfloat('pulse amplitude index') : null,
  };
  r.end();
  return m;
}

export function plxContinuousProfile(bytes: Uint8Array, ctx: ProfileContext): ProfileResult {
  const m = decodePlxContinuous(bytes);
  const notes: string[] = [];
  const pair = (name: string, s: MdcFloat | null, p: MdcFloat | null) => {
    if (s?.ok && p?.ok) notes.push(`${name}: SpO2 ${s.value} %, PR ${p.value} /min`);
  };
  pair('fast', m.spo2Fast, m.pulseRateFast);
  pair('slow', m.spo2Slow, m.pulseRateSlow);
  return plxReadings(
    {
      spo2: m.spo2,
      pulseRate: m.pulseRate,
      pai: m.pulseAmplitudeIndex,
      measurementStatus: m.measurementStatus,
      deviceStatus: m.deviceAndSensorStatus,
    },
    timing(null, ctx),
    'ble-2a5f',
    ctx,
    notes,
  );
}
