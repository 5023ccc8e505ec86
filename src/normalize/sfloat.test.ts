import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeFloat, decodeSfloat } from './sfloat.ts';

// Vectors: clinical-reference.md §5.1 (HL7 PHD IG FLOATS.md). [raw, value, precision]
const SFLOAT_VECTORS: [number, number, number][] = [
  [0x0002, 2, 0],
  [0xf014, 2.0, 1],
  [0xe0c8, 2.0, 2],
  [0x1002, 20, 0],
  [0x2002, 200, 0],
  [0x00c8, 200, 0],
  [0x04d2, 1234, 0],
  [0x0b2e, -1234, 0],
];
const FLOAT_VECTORS: [number, number, number][] = [
  [0x00000002, 2, 0],
  [0xff000014, 2.0, 1],
  [0xfe0000c8, 2.0, 2],
  [0x01000002, 20, 0],
  [0x02000002, 200, 0],
  [0x000004d2, 1234, 0],
  [0x00fffb2e, -1234, 0],
];

test('SFLOAT vectors of §5.1 decode with their precision', () => {
  for (const [raw, value, precision] of SFLOAT_VECTORS) {
    assert.deepEqual(decodeSfloat(raw), { ok: true, value, precision }, raw.toString(16));
  }
});

test('FLOAT vectors of §5.1 decode with their precision', () => {
  for (const [raw, value, precision] of FLOAT_VECTORS) {
    assert.deepEqual(decodeFloat(raw), { ok: true, value, precision }, raw.toString(16));
  }
});

test('SFLOAT special values map to data-absent reasons', () => {
  const cases: [number, string, string][] = [
    [0x07ff, 'not-a-number', 'NaN'],
    [0x07fe, 'positive-infinity', '+INF'],
    [0x0802, 'negative-infinity', '-INF'],
    [0x0800, 'error', 'NRes'],
    [0x0801, 'error', 'RFU'],
  ];
  for (const [raw, reason, special] of cases)
    assert.deepEqual(decodeSfloat(raw), { ok: false, reason, special });
});

test('FLOAT special values map to data-absent reasons', () => {
  const cases: [number, string, string][] = [
    [0x007fffff, 'not-a-number', 'NaN'],
    [0x007ffffe, 'positive-infinity', '+INF'],
    [0x00800002, 'negative-infinity', '-INF'],
    [0x00800000, 'error', 'NRes'],
    [0x00800001, 'error', 'RFU'],
  ];
  for (const [raw, reason, special] of cases)
    assert.deepEqual(decodeFloat(raw), { ok: false, reason, special });
});

test('negative exponents give exact decimals (no binary noise)', () => {
  // 0xF3E8 = 1000e-1 (corpus plxc-100-90-exp-1), 0xF0BD = 189e-1 (corpus bpm-kpa-some)
  assert.deepEqual(decodeSfloat(0xf3e8), { ok: true, value: 100, precision: 1 });
  assert.deepEqual(decodeSfloat(0xf0bd), { ok: true, value: 18.9, precision: 1 });
  // FLOAT 0xFE000EB0 = 3760e-2 = 37.60 (thermometer vector, §5.3)
  assert.deepEqual(decodeFloat(0xfe000eb0), { ok: true, value: 37.6, precision: 2 });
  // a special mantissa with a non-zero exponent is an ordinary number, not NaN
  assert.deepEqual(decodeFloat(0x017fffff), { ok: true, value: 0x7fffff * 10, precision: 0 });
});
