/**
 * A little-endian cursor over a GATT characteristic value. Every read names its field, so a short
 * packet is refused with VIGIL_ERR_INGEST_TRUNCATED_GATT saying which announced field is missing.
 */
import { IngestError, ingestError } from '../../errors.ts';
import { decodeFloat, decodeSfloat, type MdcFloat } from '../../sfloat.ts';

/** Bluetooth `date_time` (7 bytes); 0 in year, month or day means "unknown" (null here). */
export interface GattDateTime {
  year: number | null;
  month: number | null;
  day: number | null;
  hours: number;
  minutes: number;
  seconds: number;
}

export class GattReader {
  readonly bytes: Uint8Array;
  readonly characteristic: string;
  offset = 0;

  constructor(bytes: Uint8Array, characteristic: string) {
    this.bytes = bytes;
    this.characteristic = characteristic;
  }

  get remaining(): number {
    return this.bytes.length - this.offset;
  }

  private need(n: number, field: string): number {
    if (this.remaining < n) {
      throw ingestError(
        IngestError.truncatedGatt,
        `${this.characteristic}: ${field} needs ${n} byte(s) at offset ${this.offset}, ${this.remaining} left`,
        { field, offset: this.offset, length: this.bytes.length },
      );
    }
    const at = this.offset;
    this.offset += n;
    return at;
  }

  u8(field: string): number {
    return this.bytes[this.need(1, field)] as number;
  }

  u16(field: string): number {
    const at = this.need(2, field);
    return (this.bytes[at] as number) | ((this.bytes[at + 1] as number) << 8);
  }

  s16(field: string): number {
    const v = this.u16(field);
    return v >= 0x8000 ? v - 0x10000 : v;
  }

  u24(field: string): number {
    const at = this.need(3, field);
    return (
      (this.bytes[at] as number) |
      ((this.bytes[at + 1] as number) << 8) |
      ((this.bytes[at + 2] as number) << 16)
    );
  }

  u32(field: string): number {
    const lo = this.u16(field);
    const hi = this.u16(field);
    return (hi * 0x10000 + lo) >>> 0;
  }

  sfloat(field: string): MdcFloat {
    return decodeSfloat(this.u16(field));
  }

  float(field: string): MdcFloat {
    return decodeFloat(this.u32(field));
  }

  dateTime(field: string): GattDateTime {
    this.need(7, field);
    this.offset -= 7;
    const year = this.u16(field);
    const month = this.u8(field);
    const day = this.u8(field);
    return {
      year: year === 0 ? null : year,
      month: month === 0 ? null : month,
      day: day === 0 ? null : day,
      hours: this.u8(field),
      minutes: this.u8(field),
      seconds: this.u8(field),
    };
  }

  /** Refuses bytes left over: a longer packet than the flags describe is not what we think it is. */
  end(): void {
    if (this.remaining > 0) {
      throw ingestError(
        IngestError.malformedGatt,
        `${this.characteristic}: ${this.remaining} unexpected trailing byte(s) at offset ${this.offset}`,
        { offset: this.offset, length: this.bytes.length },
      );
    }
  }
}

/**
 * The UTC instant of a GATT date_time, or undefined when the device left part of the date unknown
 * (then the caller uses the receive time and flags it). date_time has no zone: it is the device's
 * local time, shifted by `utcOffsetMinutes`. An impossible date (month 13, 31 February) is refused.
 */
export function gattTimeToIso(
  dt: GattDateTime | null,
  utcOffsetMinutes = 0,
  field = 'timestamp',
): string | undefined {
  if (!dt || dt.year === null || dt.month === null || dt.day === null) return undefined;
  const ms = Date.UTC(dt.year, dt.month - 1, dt.day, dt.hours, dt.minutes, dt.seconds);
  const d = new Date(ms);
  const valid =
    d.getUTCFullYear() === dt.year &&
    d.getUTCMonth() === dt.month - 1 &&
    d.getUTCDate() === dt.day &&
    dt.hours < 24 &&
    dt.minutes < 60 &&
    dt.seconds < 60;
  if (!valid) {
    throw ingestError(IngestError.invalidTime, `impossible date_time ${JSON.stringify(dt)}`, { field });
  }
  return new Date(ms - utcOffsetMinutes * 60_000).toISOString();
}

/** Parses "1E 8A 00" / "1e8a00" / "0x1E,0x8A" into bytes (tests, CLI, JSON-wrapped GATT payloads). */
export function hexToBytes(hex: string): Uint8Array {
  const clean = hex.replace(/0x/gi, '').replace(/[\s,:-]/g, '');
  if (!/^([0-9a-fA-F]{2})*$/.test(clean)) {
    throw ingestError(IngestError.malformedGatt, 'hex payload has an odd length or non-hex characters');
  }
  return Uint8Array.from(clean.match(/../g) ?? [], (b) => Number.parseInt(b, 16));
}
