/** Corpus vectors through the profiles: readings, units, flags, refusals. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isVigilError } from '../../../core/errors.ts';
import type { ProfileContext } from '../../reading-draft.ts';
import { hexToBytes } from './gatt-reader.ts';
import { decodeBle, normalizeCharacteristic } from './index.ts';

const RECEIVED = Date.UTC(2025, 0, 15, 12, 0, 0);
const ctx: ProfileContext = { deviceId: 'dev-1', receivedAt: RECEIVED };
const run = (uuid: string, hex: string, c: ProfileContext = ctx) => decodeBle(uuid, hexToBytes(hex), c);
const refusedWith = (code: string) => (e: unknown) => isVigilError(e) && e.code === code;

test('characteristic spellings', () => {
  assert.equal(normalizeCharacteristic('2A35'), '2A35');
  assert.equal(normalizeCharacteristic('0x2a35'), '2A35');
  assert.equal(normalizeCharacteristic('00002a35-0000-1000-8000-00805f9b34fb'), '2A35');
  assert.equal(normalizeCharacteristic('00002a35-0000-1000-8000-00805f9b34fc'), undefined);
  assert.throws(() => run('2A00', '00'), refusedWith('VIGIL_ERR_INGEST_UNSUPPORTED_FORMAT'));
});

test('BP bpm-full: panel 138/88/120 mmHg + pulse 60, status flags, year unknown → receive time', () => {
  const { readings } = run('2A35', '1E 8A 00 58 00 78 00 00 00 04 11 14 29 3B 3C 00 01 27 00');
  assert.equal(readings.length, 2);
  const [bp, pulse] = readings;
  assert.equal(bp?.code, '85354-9');
  assert.deepEqual(
    bp?.components.map((c) => [c.code, c.value, c.unit]),
    [
      ['8480-6', 138, 'mm[Hg]'],
      ['8462-4', 88, 'mm[Hg]'],
      ['8478-0', 120, 'mm[Hg]'],
    ],
  );
  assert.equal(bp?.effective, new Date(RECEIVED).toISOString());
  for (const f of [
    'device-time-missing',
    'body-movement',
    'cuff-too-loose',
    'irregular-pulse',
    'improper-position',
  ]) {
    assert.ok(bp?.flags.includes(f), f);
  }
  assert.equal(pulse?.code, '8867-4');
  assert.equal(pulse?.value, 60);
  assert.ok(pulse?.codings.some((c) => c.code === '149546'));
  assert.ok(pulse?.notes?.includes('ble-user-id 1'));
});

test('BP in kPa is converted to mmHg, original kept per component', () => {
  const { readings } = run('2A35', '15 BD F0 0B 00 9F F0 3C 00 12 00');
  const bp = readings[0];
  // 18.9 kPa × 7.50062 = 141.76 → 142; 11.0 → 82.51 → 83; 15.9 → 119.26 → 119
  assert.deepEqual(
    bp?.components.map((c) => [c.value, c.original]),
    [
      [142, { value: 18.9, unit: 'kPa' }],
      [83, { value: 11, unit: 'kPa' }],
      [119, { value: 15.9, unit: 'kPa' }],
    ],
  );
  assert.ok(bp?.flags.includes('pulse-rate-below-range'));
  assert.ok(readings[1]?.flags.includes('pulse-rate-below-range'));
});

test('BP bpm-minimal (18.9/11 "mmHg") is refused as implausible, not clamped', () => {
  assert.throws(() => run('2A35', '00 BD F0 0B 00 9F F0'), refusedWith('VIGIL_ERR_INGEST_IMPLAUSIBLE_VALUE'));
});

test('BP with a NaN systolic keeps the attempt with dataAbsentReason', () => {
  const { readings } = run('2A35', '00 FF 07 58 00 78 00');
  assert.equal(readings[0]?.dataAbsentReason, 'not-a-number');
  assert.deepEqual(readings[0]?.components, []);
});

test('intermediate cuff pressure decodes but yields no reading, only a status', () => {
  const out = run('2A36', '00 D7 F0 00 00 00 00');
  assert.deepEqual(out.readings, []);
  assert.equal(out.status?.deviceId, 'dev-1');
});

test('heart rate: no contact flagged, 900 bpm refused, trailing byte refused', () => {
  const r = run('2A37', '04 FF').readings[0];
  assert.equal(r?.value, 255);
  assert.ok(r?.flags.includes('sensor-contact-lost'));
  assert.ok(r?.flags.includes('device-time-missing'));
  const rr = run('2A37', '1E 55 32 00 21 00').readings[0];
  assert.ok(rr?.notes?.includes('RR intervals ms: 32'));
  assert.throws(() => run('2A37', '01 84 03'), refusedWith('VIGIL_ERR_INGEST_IMPLAUSIBLE_VALUE')); // 0x0384 = 900
  assert.throws(() => run('2A37', '00 55 00'), refusedWith('VIGIL_ERR_INGEST_MALFORMED_GATT'));
});

test('thermometer: 37.6 °C at the device time; °F converted with original', () => {
  const r = run('2A1C', '06 B0 0E 00 FE DC 07 0C 05 0B 32 1B 04').readings[0];
  assert.equal(r?.value, 37.6);
  assert.equal(r?.unit, 'Cel');
  assert.equal(r?.effective, '2012-12-05T11:50:27.000Z');
  assert.ok(r?.notes?.includes('site: finger'));
  assert.deepEqual(r?.flags, []);
  // 98.6 °F = FLOAT exponent -1, mantissa 986 = 0xFF0003DA
  const f = run('2A1C', '01 DA 03 00 FF').readings[0];
  assert.equal(f?.value, 37);
  assert.deepEqual(f?.original, { value: 98.6, unit: '[degF]' });
  // device local time with a UTC offset from the gateway
  const shifted = run('2A1C', '06 B0 0E 00 FE DC 07 0C 05 0B 32 1B 04', { ...ctx, utcOffsetMinutes: 60 })
    .readings[0];
  assert.equal(shifted?.effective, '2012-12-05T10:50:27.000Z');
});

test('weight: 23.2 kg; 0 kg refused; 0xFFFF is "unsuccessful", never 327.675 kg', () => {
  const r = run('2A9D', '06 20 12 00 00 00 00 00 00 00 01').readings[0];
  assert.equal(r?.value, 23.2);
  assert.equal(r?.unit, 'kg');
  assert.ok(r?.flags.includes('device-time-missing'));
  assert.throws(() => run('2A9D', '00 00 00'), refusedWith('VIGIL_ERR_INGEST_IMPLAUSIBLE_VALUE'));
  assert.throws(() => run('2A9D', '01 00 00'), refusedWith('VIGIL_ERR_INGEST_IMPLAUSIBLE_VALUE'));
  for (const hex of ['00 FF FF', '01 FF FF']) {
    const u = run('2A9D', hex).readings[0];
    assert.equal(u?.value, null);
    assert.equal(u?.dataAbsentReason, 'error');
  }
  // imperial 150.00 lb = 15000 = 0x3A98 → 68.039 kg, original kept
  const lb = run('2A9D', '01 98 3A').readings[0];
  assert.equal(lb?.value, 68.039);
  assert.deepEqual(lb?.original, { value: 150, unit: '[lb_av]' });
  // BMI 24.1 (241 = 0xF1) and height 1.750 m (1750 = 0x06D6) → 175 cm
  const full = run('2A9D', '08 4C 36 F1 00 D6 06').readings;
  assert.deepEqual(
    full.map((x) => [x.code, x.value, x.unit]),
    [
      ['29463-7', 69.5, 'kg'],
      ['39156-5', 24.1, 'kg/m2'],
      ['8302-2', 175, 'cm'],
    ],
  );
});

test('glucose: the synthetic 30 kg/L vector is refused; a real 0.0009 kg/L (90 mg/dL) is kept', () => {
  assert.throws(
    () => run('2A18', '1B 01 00 E3 07 02 1B 0B 0A 1E FB FF 1E 00 12 05 01'),
    refusedWith('VIGIL_ERR_INGEST_IMPLAUSIBLE_VALUE'),
  );
  // same record with concentration 0xB05A (90e-5 kg/L) — the §5.2 example
  const { readings, status } = run('2A18', '1B 01 00 E3 07 02 1B 0B 0A 1E FB FF 5A B0 12 05 01');
  const r = readings[0];
  assert.equal(r?.code, '41653-7');
  assert.equal(r?.value, 90);
  assert.equal(r?.unit, 'mg/dL');
  assert.deepEqual(r?.original, { value: 0.0009, unit: 'kg/L' });
  assert.equal(r?.effective, '2019-02-27T11:05:30.000Z'); // base 11:10:30, offset −5 min
  assert.ok(r?.flags.includes('battery-low'));
  assert.ok(r?.messageId?.startsWith('glucose-seq-1-'));
  assert.deepEqual(status?.errors?.includes('battery-low'), true);
  // program in mmol/L: the molar code, value converted, original kept
  const mmol = run('2A18', '1B 01 00 E3 07 02 1B 0B 0A 1E FB FF 5A B0 12 05 01', {
    ...ctx,
    programGlucoseUnit: 'mmol/L',
  });
  assert.equal(mmol.readings[0]?.code, '14743-9');
  assert.equal(mmol.readings[0]?.value, 5); // 90 / 18.016 = 4.9956 → 5.0
});

test('CGM: records placed before the receive time by offset; bad CRC refused', () => {
  const { readings } = run('2AA7', '06 00 0C 10 05 00 06 00 0C 10 06 00');
  assert.deepEqual(
    readings.map((r) => [r.code, r.value, r.effective]),
    [
      ['99504-3', 120, new Date(RECEIVED - 60_000).toISOString()],
      ['99504-3', 120, new Date(RECEIVED).toISOString()],
    ],
  );
  const session = Date.UTC(2025, 0, 15, 8, 0, 0);
  const exact = run('2AA7', '06 00 0C 10 06 00', { ...ctx, cgmSessionStart: session }).readings[0];
  assert.equal(exact?.effective, '2025-01-15T08:06:00.000Z');
  assert.deepEqual(exact?.flags, []);
  assert.throws(
    () => run('2AA7', '0F E3 D2 E4 05 00 02 14 FF 02 F0 E5 F3 8E 3E'),
    refusedWith('VIGIL_ERR_INGEST_MALFORMED_GATT'),
  );
  assert.throws(() => run('2AA7', '09 00 0C 10 06 00'), refusedWith('VIGIL_ERR_INGEST_TRUNCATED_GATT'));
});

test('PLX spot-check: SpO2 94 + PR 147, device time, status flags and a device status report', () => {
  const { readings, status } = run('2A5E', '0F AC F3 BE F5 E8 07 0B 1D 17 08 39 20 40 22 00 00 66 E3');
  const [spo2, pr] = readings;
  assert.equal(spo2?.code, '2708-6');
  assert.equal(spo2?.value, 94);
  assert.ok(spo2?.codings.some((c) => c.code === '59408-5'));
  assert.equal(pr?.value, 147);
  assert.equal(spo2?.effective, '2024-11-29T23:08:57.000Z');
  for (const f of ['measurement-ongoing', 'questionable', 'device-malfunction', 'low-perfusion']) {
    assert.ok(spo2?.flags.includes(f), f);
  }
  assert.deepEqual(status?.errors, ['device-malfunction']);
});

test('PLX continuous: normal pair as readings, fast/slow in notes', () => {
  const { readings } = run('2A5F', '1F DE F3 CA F3 CA F3 5A F5 D4 F3 B2 F2 20 01 00 00 00 7A E3');
  assert.deepEqual(
    readings.map((r) => [r.code, r.value]),
    [
      ['2708-6', 99],
      ['8867-4', 97],
    ],
  );
  assert.ok(readings[0]?.notes?.includes('fast: SpO2 97 %, PR 137 /min'));
  assert.throws(() => run('2A5F', '00 2C 01 5A 00'), refusedWith('VIGIL_ERR_INGEST_IMPLAUSIBLE_VALUE')); // SpO2 300
});
