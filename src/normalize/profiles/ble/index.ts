/**
 * Bluetooth GATT health characteristics: dispatch by characteristic UUID. Accepts `2A35`,
 * `0x2a35`, or the full 128-bit form `00002a35-0000-1000-8000-00805f9b34fb`.
 */
import { IngestError, ingestError } from '../../errors.ts';
import type { ProfileContext, ProfileResult } from '../../reading-draft.ts';
import { bloodPressureProfile, intermediateCuffPressureProfile } from './ble-blood-pressure.ts';
import { cgmProfile } from './ble-cgm.ts';
import { glucoseProfile } from './ble-glucose.ts';
import { heartRateProfile } from './ble-heart-rate.ts';
import { plxContinuousProfile } from './ble-plx-continuous.ts';
import { plxSpotProfile } from './ble-plx-spot.ts';
import { temperatureProfile } from './ble-temperature.ts';
import { weightProfile } from './ble-weight.ts';

export type BleProfile = (bytes: Uint8Array, ctx: ProfileContext) => ProfileResult;

export const BLE_PROFILES: Readonly<Record<string, BleProfile>> = {
  '2A35': bloodPressureProfile,
  '2A36': intermediateCuffPressureProfile,
  '2A37': heartRateProfile,
  '2A1C': temperatureProfile,
  '2A9D': weightProfile,
  '2A18': glucoseProfile,
  '2AA7': cgmProfile,
  '2A5E': plxSpotProfile,
  '2A5F': plxContinuousProfile,
};

const BASE_UUID_SUFFIX = '-0000-1000-8000-00805f9b34fb';

/** `2A35` for any accepted spelling; undefined if it is not a 16-bit SIG UUID. */
export function normalizeCharacteristic(uuid: string): string | undefined {
  const u = uuid.trim().toLowerCase();
  let short: string | undefined;
  if (/^(0x)?[0-9a-f]{4}$/.test(u)) short = u.slice(-4);
  else if (/^0000[0-9a-f]{4}-0000-1000-8000-00805f9b34fb$/.test(u) && u.endsWith(BASE_UUID_SUFFIX))
    short = u.slice(4, 8);
  return short?.toUpperCase();
}

export function decodeBle(characteristic: string, bytes: Uint8Array, ctx: ProfileContext): ProfileResult {
  const key = normalizeCharacteristic(characteristic);
  const profile = key ? BLE_PROFILES[key] : undefined;
  if (!profile) {
    throw ingestError(IngestError.unsupportedFormat, `no decoder for GATT characteristic ${characteristic}`, {
      characteristic,
    });
  }
  return profile(bytes, ctx);
}
