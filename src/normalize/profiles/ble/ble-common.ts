/** Helpers shared by the Bluetooth GATT profiles: device time vs receive time, float values, bits. */
import type { QualityFlag } from '../../../core/reading.ts';
import { type ProfileContext, receiptTime, TIME_FROM_RECEIPT } from '../../reading-draft.ts';
import type { MdcFloat } from '../../sfloat.ts';
import { type GattDateTime, gattTimeToIso } from './gatt-reader.ts';

export interface Timing {
  effective: string;
  flags: QualityFlag[];
  notes: string[];
}

/**
 * Device time when the characteristic carries a complete one; otherwise the receive time, flagged
 * `device-time-missing` (a partial date such as "year unknown" is kept in a note).
 */
export function timing(dt: GattDateTime | null, ctx: ProfileContext, clockNotSet = false): Timing {
  const iso = clockNotSet ? undefined : gattTimeToIso(dt, ctx.utcOffsetMinutes);
  if (iso) return { effective: iso, flags: [], notes: [] };
  const notes: string[] = [];
  if (dt) notes.push(`device time incomplete or unset: ${JSON.stringify(dt)}`);
  const flags: QualityFlag[] = [TIME_FROM_RECEIPT];
  if (clockNotSet) flags.push('clock-not-set');
  return { effective: receiptTime(ctx), flags, notes };
}

/** A decoded SFLOAT/FLOAT as a draft value: a number, or null with its data-absent reason. */
export function floatValue(f: MdcFloat): { value: number | null; dataAbsentReason?: string; note?: string } {
  if (f.ok) return { value: f.value };
  return { value: null, dataAbsentReason: f.reason, note: `device sent special value ${f.special}` };
}

/** The flags whose bit is set in `bits`. */
export function bitFlags(bits: number, table: Readonly<Record<number, QualityFlag>>): QualityFlag[] {
  const out: QualityFlag[] = [];
  for (const [bit, flag] of Object.entries(table)) if (bits & (1 << Number(bit))) out.push(flag);
  return out;
}

export const hex = (n: number, width = 4): string => `0x${n.toString(16).toUpperCase().padStart(width, '0')}`;
