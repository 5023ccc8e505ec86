/**
 * Temperature Measurement 0x2A1C (clinical-reference §5.2): flags(1: b0 °F, b1 timestamp, b2 type)
 * · value FLOAT · [date_time] · [type u8]. Hand-written: see ble-blood-pressure.ts.
 */
import { type ProfileContext, type ProfileResult, quantityDraft } from '../../reading-draft.ts';
import type { MdcFloat } from '../../sfloat.ts';
import { floatValue, timing } from './ble-common.ts';
import { type GattDateTime, GattReader } from './gatt-reader.ts';

export const TEMPERATURE_TYPES: Readonly<Record<number, string>> = {
  1: 'armpit',
  2: 'body (general)',
  3: 'ear',
  4: 'finger',
  5: 'gastro-intestinal tract',
  6: 'mouth',
  7: 'rectum',
  8: 'toe',
  9: 'tympanum',
};

export interface TemperatureMeasurement {
  unit: 'Cel' | '[degF]';
  temperature: MdcFloat;
  timestamp: GattDateTime | null;
  temperatureType: number | null;
}

export function decodeTemperature(bytes: Uint8Array): TemperatureMeasurement {
  const r = new GattReader(bytes, '0x2A1C');
  const flags = r.u8('flags');
  const m: TemperatureMeasurement = {
    unit: flags & 0x01 ? '[degF]' : 'Cel',
    temperature: r.float('temperature'),
    timestamp: flags & 0x02 ? r.dateTime('timestamp') : null,
    temperatureType: flags & 0x04 ? r.u8('temperature type') : null,
  };
  r.end();
  return m;
}

export function temperatureProfile(bytes: Uint8Array, ctx: ProfileContext): ProfileResult {
  const m = decodeTemperature(bytes);
  const t = timing(m.timestamp, ctx);
  const v = floatValue(m.temperature);
  const notes = [...t.notes];
  if (m.temperatureType !== null)
    notes.push(`site: ${TEMPERATURE_TYPES[m.temperatureType] ?? `type ${m.temperatureType}`}`);
  if (v.note) notes.push(v.note);
  const reading = quantityDraft(
    {
      code: '8310-5',
      value: v.value,
      unit: m.unit,
      dataAbsentReason: v.dataAbsentReason,
      effective: t.effective,
      profile: 'ble-2a1c',
      flags: t.flags,
      notes,
      field: 'temperature',
    },
    ctx,
  );
  return { readings: [reading] };
}
