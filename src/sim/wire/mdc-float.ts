/**
 * IEEE 11073-20601 SFLOAT (16 bit) and FLOAT (32 bit) ENCODING for the simulator's Bluetooth
 * payloads (clinical-reference §5.1): value = mantissa × 10^exponent. The decoder Vigil uses is
 * normalize/sfloat.ts; test/sim/gatt-round-trip.test.ts checks one against the other.
 */

/** 16-bit SFLOAT of `value` with `decimals` places (exponent −decimals); throws if it does not fit. */
export function encodeSfloat(value: number, decimals = 0): number {
  let exponent = -decimals;
  let mantissa = Math.round(value * 10 ** decimals);
  // Too big for 12 signed bits: trade precision for range.
  while (mantissa > 2045 || mantissa < -2046) {
    mantissa = Math.round(mantissa / 10);
    exponent += 1;
  }
  if (exponent < -8 || exponent > 7) throw new RangeError(`SFLOAT cannot hold ${value}`);
  return ((exponent & 0xf) << 12) | (mantissa & 0x0fff);
}

/** 32-bit FLOAT of `value` with `decimals` places. */
export function encodeFloat(value: number, decimals = 0): number {
  let exponent = -decimals;
  let mantissa = Math.round(value * 10 ** decimals);
  while (mantissa > 8_388_605 || mantissa < -8_388_606) {
    mantissa = Math.round(mantissa / 10);
    exponent += 1;
  }
  if (exponent < -128 || exponent > 127) throw new RangeError(`FLOAT cannot hold ${value}`);
  return (((exponent & 0xff) << 24) | (mantissa & 0x00ffffff)) >>> 0;
}

/** SFLOAT special value NaN (0x07FF): what a device sends when it has no measurement. */
export const SFLOAT_NAN = 0x07ff;
