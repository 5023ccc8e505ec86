import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isVigilError } from '../../core/errors.ts';
import { normalize } from '../normalize.ts';

const RECEIVED = Date.parse('2025-01-15T08:00:00Z');
const norm = (payload: unknown, extra: Record<string, unknown> = {}) =>
  normalize({
    format: 'native-json',
    payload: payload as object,
    deviceId: 'dev-7',
    receivedAt: RECEIVED,
    ...extra,
  });
const refused = (code: string, field?: string) => (e: unknown) =>
  isVigilError(e) && e.code === code && (field === undefined || e.details?.field === field);

test('heart rate with a friendly type and a common unit spelling', () => {
  const { readings } = norm({
    messageId: 'm1',
    time: '2025-01-15T08:59:00+01:00',
    type: 'heart-rate',
    value: 72,
    unit: 'bpm',
  });
  assert.equal(readings.length, 1);
  const r = readings[0];
  assert.equal(r?.code, '8867-4');
  assert.equal(r?.value, 72);
  assert.equal(r?.unit, '/min');
  assert.equal(r?.effective, '2025-01-15T07:59:00.000Z');
  assert.equal(r?.messageId, 'm1');
  assert.equal(r?.deviceId, 'dev-7');
  assert.equal(r?.profile, 'native-json');
});

test('blood pressure from {systolic, diastolic, mean} and from a list with codes', () => {
  const a = norm({
    time: '2025-01-15T07:58:00Z',
    type: 'blood-pressure',
    unit: 'mmHg',
    components: { systolic: 128, diastolic: 82, mean: 97 },
  });
  assert.deepEqual(
    a.readings[0]?.components.map((c) => [c.code, c.value, c.unit]),
    [
      ['8480-6', 128, 'mm[Hg]'],
      ['8462-4', 82, 'mm[Hg]'],
      ['8478-0', 97, 'mm[Hg]'],
    ],
  );
  const b = norm({
    time: '2025-01-15T07:58:00Z',
    code: { system: 'http://loinc.org', code: '85354-9' },
    components: [
      { code: { system: 'urn:iso:std:iso:11073:10101', code: '150021' }, value: 17, unit: 'kPa' },
      { type: 'diastolic', value: 11, unit: 'kPa' },
    ],
  });
  const sys = b.readings[0]?.components[0];
  assert.equal(sys?.value, 128); // 17 kPa = 127.5 mmHg → 128
  assert.deepEqual(sys?.original, { value: 17, unit: 'kPa' });
  assert.equal(sys?.codings?.[0]?.code, '150021');
});

test('array, {readings}, battery-only status', () => {
  const list = [
    { time: '2025-01-15T07:00:00Z', type: 'spo2', value: 97, unit: '%' },
    { time: '2025-01-15T07:00:00Z', type: 'temperature', value: 98.6, unit: '°F', battery: 64 },
  ];
  const a = norm(list);
  assert.equal(a.readings.length, 2);
  assert.equal(a.readings[1]?.value, 37);
  assert.deepEqual(a.readings[1]?.original, { value: 98.6, unit: '[degF]' });
  assert.equal(a.status?.batteryPercent, 64);
  assert.equal(norm({ readings: list }).readings.length, 2);
  const s = norm({ time: '2025-01-15T07:00:00Z', battery: 12 });
  assert.deepEqual(s.readings, []);
  assert.equal(s.status?.batteryPercent, 12);
  // JSON text and bytes work the same
  assert.equal(norm(JSON.stringify(list)).readings.length, 2);
  assert.equal(
    normalize({
      format: 'json',
      payload: Buffer.from(JSON.stringify(list)),
      deviceId: 'd',
      receivedAt: RECEIVED,
    }).readings.length,
    2,
  );
});

test('glucose goes to the program unit; original kept; code follows the unit', () => {
  const mg = norm(
    { time: '2025-01-15T07:00:00Z', type: 'glucose', value: 6.2, unit: 'mmol/L' },
    { programGlucoseUnit: 'mg/dL' },
  );
  assert.equal(mg.readings[0]?.code, '41653-7');
  assert.equal(mg.readings[0]?.value, 112); // 6.2 × 18.016 = 111.7
  assert.deepEqual(mg.readings[0]?.original, { value: 6.2, unit: 'mmol/L' });
  const mmol = norm(
    { time: '2025-01-15T07:00:00Z', type: 'cgm-glucose', value: 180, unit: 'mg/dL' },
    { programGlucoseUnit: 'mmol/L' },
  );
  assert.equal(mmol.readings[0]?.code, '105272-9');
  assert.equal(mmol.readings[0]?.value, 10); // 180 / 18.016 = 9.99
  const same = norm({ time: '2025-01-15T07:00:00Z', type: 'glucose', value: 104, unit: 'mg/dl' });
  assert.equal(same.readings[0]?.original, undefined);
});

test('consciousness (ACVPU) as a coded value', () => {
  const r = norm({ time: '2025-01-15T07:00:00Z', type: 'consciousness', valueCode: 'v' }).readings[0];
  assert.equal(r?.valueCode, 'V');
  assert.equal(r?.value, null);
  assert.throws(
    () => norm({ time: '2025-01-15T07:00:00Z', type: 'consciousness', valueCode: 'X' }),
    refused('VIGIL_ERR_INGEST_INVALID_FIELD', 'valueCode'),
  );
});

test('implausible values are refused, never clamped', () => {
  const t = '2025-01-15T07:00:00Z';
  assert.throws(
    () => norm({ time: t, type: 'heart-rate', value: 900, unit: 'bpm' }),
    refused('VIGIL_ERR_INGEST_IMPLAUSIBLE_VALUE'),
  );
  assert.throws(
    () => norm({ time: t, type: 'spo2', value: 130, unit: '%' }),
    refused('VIGIL_ERR_INGEST_IMPLAUSIBLE_VALUE'),
  );
  assert.throws(
    () => norm({ time: t, type: 'weight', value: -3, unit: 'kg' }),
    refused('VIGIL_ERR_INGEST_IMPLAUSIBLE_VALUE'),
  );
  assert.throws(
    () => norm({ time: t, type: 'temperature', value: 98.6, unit: 'Cel' }),
    refused('VIGIL_ERR_INGEST_IMPLAUSIBLE_VALUE'),
  );
  assert.throws(
    () =>
      norm({ time: t, type: 'blood-pressure', unit: 'mmHg', components: { systolic: 80, diastolic: 120 } }),
    refused('VIGIL_ERR_INGEST_IMPLAUSIBLE_VALUE'),
  );
});

test('coded errors name the field', () => {
  const t = '2025-01-15T07:00:00Z';
  assert.throws(() => norm('{"time": '), refused('VIGIL_ERR_INGEST_MALFORMED_JSON'));
  assert.throws(
    () => norm({ time: t, type: 'heart-rate', vaule: 72, unit: 'bpm' }),
    refused('VIGIL_ERR_INGEST_INVALID_FIELD', 'vaule'),
  );
  assert.throws(
    () => norm({ time: t, type: 'heart-rate', value: '72', unit: 'bpm' }),
    refused('VIGIL_ERR_INGEST_NOT_A_NUMBER', 'value'),
  );
  assert.throws(
    () => norm({ time: t, type: 'heart-rate', value: 72, unit: 'mg/dL' }),
    refused('VIGIL_ERR_INGEST_UNIT_MISMATCH', 'value'),
  );
  assert.throws(
    () => norm({ time: t, type: 'heart-rate', value: 72 }),
    refused('VIGIL_ERR_INGEST_UNIT_MISMATCH', 'unit'),
  );
  assert.throws(
    () => norm({ time: t, type: 'heart-rate', value: 72, unit: 'furlongs' }),
    refused('VIGIL_ERR_INGEST_UNIT_MISMATCH'),
  );
  assert.throws(
    () => norm({ time: t, type: 'mood', value: 3, unit: '{score}' }),
    refused('VIGIL_ERR_INGEST_UNKNOWN_CODE', 'type'),
  );
  assert.throws(
    () => norm({ time: t, code: { system: 'http://loinc.org', code: '1234-5' }, value: 3, unit: '%' }),
    refused('VIGIL_ERR_INGEST_UNKNOWN_CODE', 'code'),
  );
  assert.throws(
    () =>
      norm({
        readings: [
          { time: t, type: 'spo2', value: 97, unit: '%' },
          { time: '2025-01-15 07:00', type: 'spo2', value: 97, unit: '%' },
        ],
      }),
    refused('VIGIL_ERR_INGEST_INVALID_TIME', 'readings[1].time'),
  );
  assert.throws(
    () => norm({ time: '2025-01-15T07:00:00', type: 'spo2', value: 97, unit: '%' }),
    refused('VIGIL_ERR_INGEST_INVALID_TIME'),
  );
  assert.throws(
    () => norm({ time: '2025-02-30T07:00:00Z', type: 'spo2', value: 97, unit: '%' }),
    refused('VIGIL_ERR_INGEST_INVALID_TIME'),
  );
  assert.throws(
    () => norm({ time: t, type: 'blood-pressure', unit: 'mmHg', components: { systolic: 120 } }),
    refused('VIGIL_ERR_INGEST_INCOMPLETE_PANEL'),
  );
  assert.throws(
    () => norm({ time: t, type: 'spo2', value: 97, unit: '%', battery: 140 }),
    refused('VIGIL_ERR_INGEST_INVALID_FIELD', 'battery'),
  );
  assert.throws(() => norm([]), refused('VIGIL_ERR_INGEST_EMPTY'));
});

test('time more than 5 minutes after receipt is refused; 4 minutes of drift is fine', () => {
  assert.throws(
    () => norm({ time: '2025-01-15T08:05:01Z', type: 'spo2', value: 97, unit: '%' }),
    refused('VIGIL_ERR_INGEST_TIME_IN_FUTURE'),
  );
  assert.equal(norm({ time: '2025-01-15T08:04:00Z', type: 'spo2', value: 97, unit: '%' }).readings.length, 1);
});

test('data absent: no value, a reason', () => {
  const r = norm({ time: '2025-01-15T07:00:00Z', type: 'spo2', dataAbsentReason: 'error' }).readings[0];
  assert.equal(r?.value, null);
  assert.equal(r?.dataAbsentReason, 'error');
});
