import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isVigilError } from '../../core/errors.ts';
import { normalize } from '../normalize.ts';

const RECEIVED = Date.parse('2025-01-15T08:00:00Z');
const mdc = (payload: unknown, extra = {}) =>
  normalize({ format: 'mdc', payload: payload as object, deviceId: 'g1', receivedAt: RECEIVED, ...extra });
const t = '2025-01-15T07:00:00Z';

test('MDC codes and MDC units map to LOINC and UCUM (§3.2), MDC coding kept', () => {
  const { readings } = mdc({
    measurements: [
      { time: t, type: 150456, value: 97, unit: 262688 },
      { time: t, type: '149530', value: 80, unit: '264864' },
      {
        time: t,
        type: { system: 'urn:iso:std:iso:11073:10101', code: '188736' },
        value: 154.3,
        unit: 263904,
      },
      { time: t, type: 150364, value: 37.2, unit: 268192 },
      { time: t, type: 151562, value: 18, unit: 264928 },
    ],
  });
  assert.deepEqual(
    readings.map((r) => [r.code, r.value, r.unit]),
    [
      ['2708-6', 97, '%'],
      ['8867-4', 80, '/min'],
      ['29463-7', 69.989, 'kg'], // 154.3 lb × 0.45359237 = 69.9893, kept to 3 decimals (grams)
      ['8310-5', 37.2, 'Cel'],
      ['9279-1', 18, '/min'],
    ],
  );
  assert.ok(readings[1]?.codings.some((c) => c.code === '149530'));
  assert.ok(readings[0]?.codings.some((c) => c.code === '150456'));
});

test('compound NIBP (PCD-01 cuff codes) and capillary glucose in mmol/L', () => {
  const bp = mdc({
    time: t,
    type: 150020,
    components: [
      { type: 150301, value: 166, unit: 266016 },
      { type: 150302, value: 100, unit: 266016 },
      { type: 150303, value: 122, unit: 266016 },
    ],
  }).readings[0];
  assert.deepEqual(
    bp?.components.map((c) => [c.code, c.value]),
    [
      ['8480-6', 166],
      ['8462-4', 100],
      ['8478-0', 122],
    ],
  );
  const g = mdc({ time: t, type: 160184, value: 5.4, unit: 266866 }).readings[0];
  assert.deepEqual([g?.code, g?.value, g?.unit], ['14743-9', 5.4, 'mmol/L']);
  const gmg = mdc({ time: t, type: 160184, value: 5.4, unit: 266866 }, { programGlucoseUnit: 'mg/dL' })
    .readings[0];
  assert.deepEqual([gmg?.code, gmg?.value], ['41653-7', 97]); // 5.4 × 18.016 = 97.3
});

test('special values, unknown codes and units', () => {
  const nan = mdc({ time: t, type: 150456, value: null, special: 'NaN' }).readings[0];
  assert.equal(nan?.dataAbsentReason, 'not-a-number');
  const code = (c: string) => (e: unknown) => isVigilError(e) && e.code === c;
  assert.throws(
    () => mdc({ time: t, type: 150448, value: 2, unit: 262688 }),
    code('VIGIL_ERR_INGEST_UNKNOWN_CODE'),
  ); // perfusion: no LOINC
  assert.throws(
    () => mdc({ time: t, type: 150456, value: 97, unit: 999999 }),
    code('VIGIL_ERR_INGEST_UNIT_MISMATCH'),
  );
  assert.throws(
    () => mdc({ time: t, type: 150456, value: 97, unit: 266016 }),
    code('VIGIL_ERR_INGEST_UNIT_MISMATCH'),
  ); // mmHg for SpO2
  assert.throws(
    () => mdc({ time: t, type: 'MDC_PULS_OXIM_SAT_O2', value: 97, unit: 262688 }),
    code('VIGIL_ERR_INGEST_INVALID_FIELD'),
  );
});
