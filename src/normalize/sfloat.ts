/**
 * IEEE 11073-20601 SFLOAT (16 bit) and FLOAT (32 bit) decoding, as used by Bluetooth health
 * characteristics (clinical-reference §5.1, from the HL7 PHD IG FLOATS.md).
 *
 * SFLOAT: 4-bit signed exponent (high nibble) + 12-bit signed mantissa. FLOAT: 8-bit signed exponent
 * (high byte) + 24-bit signed mantissa. value = mantissa × 10^exponent. The special values map to
 * FHIR data-absent-reason codes and carry no number.
 */

export type DataAbsentReason = 'not-a-number' | 'positive-infinity' | 'negative-infinity' | 'error';

export type MdcFloat =
  | { ok: true; value: number /** decimal places implied by the exponent (≥ 0) */; precision: number }
  | {
      ok: false;
      reason: DataAbsentReason /** which special value (for notes) */;
      special: 'NaN' | '+INF' | '-INF' | 'NRes' | 'RFU';
    };

const SFLOAT_SPECIAL: Record<number, MdcFloat> = {
  2047: { ok: false, reason: 'not-a-number', special: 'NaN' },
  2046: { ok: false, reason: 'positive-infinity', special: '+INF' },
  2050: { ok: false, reason: 'negative-infinity', special: '-INF' },
  2048: { ok: false, reason: 'error', special: 'NRes' },
  2049: { ok: false, reason: 'error', special: 'RFU' },
};

const FLOAT_SPECIAL: Record<number, MdcFloat> = {
  8388607: { ok: false, reason: 'not-a-number', special: 'NaN' },
  8388606: { ok: false, reason: 'positive-infinity', special: '+INF' },
  8388610: { ok: false, reason: 'negative-infinity', special: '-INF' },
  8388608: { ok: false, reason: 'error', special: 'NRes' },
  8388609: { ok: false, reason: 'error', special: 'RFU' },
};

/**
 * Multiplies by a power of ten without binary noise: 1000 × 10^-1 must be exactly 100 and
 * 189 × 10^-1 exactly 18.9, so divide for negative exponents instead of multiplying by 0.1.
 */
function scale(mantissa: number, exponent: number): number {
  return exponent >= 0 ? mantissa * 10 ** exponent : mantissa / 10 ** -exponent;
}

/** Decodes a raw 16-bit SFLOAT (as an unsigned integer, 0..0xFFFF). */
export function decodeSfloat(raw: number): MdcFloat {
  const bits = raw & 0xffff;
  // Specials are defined on exponent 0 with mantissa 0x7FE..0x802 (§5.1).
  const special = SFLOAT_SPECIAL[bits];
  if (special) return special;
  let mantissa = bits & 0x0fff;
  if (mantissa >= 0x0800) mantissa -= 0x1000;
  let exponent = bits >> 12;
  if (exponent >= 0x8) exponent -= 0x10;
  return { ok: true, value: scale(mantissa, exponent), precision: Math.max(0, -exponent) };
}

/** Decodes a raw 32-bit FLOAT (as an unsigned integer). */
export function decodeFloat(raw: number): MdcFloat {
  const bits = raw >>> 0;
  const mantissaBits = bits & 0x00ffffff;
  // Specials are defined with exponent 0 only.
  if (bits >>> 24 === 0) {
    const special = FLOAT_SPECIAL[mantissaBits];
    if (special) return special;
  }
  let mantissa = mantissaBits;
  if (mantissa >= 0x00800000) mantissa -= 0x01000000;
  let exponent = bits >>> 24;
  if (exponent >= 0x80) exponent -= 0x100;
  return { ok: true, value: scale(mantissa, exponent), precision: Math.max(0, -exponent) };
}
