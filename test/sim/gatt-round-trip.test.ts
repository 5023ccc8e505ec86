/** The simulator's GATT and SFLOAT encoders, decoded by Vigil's own decoders (the reference). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeBle } from '../../src/normalize/profiles/ble/index.ts';
import type { ProfileContext } from '../../src/normalize/reading-draft.ts';
import { decodeFloat, decodeSfloat } from '../../src/normalize/sfloat.ts';
import { DEFAULT_BEHAVIOUR } from '../../src/sim/devices/device.ts';
import { buildPopulation } from '../../src/sim/population.ts';
import { Rng } from '../../src/sim/rng.ts';
import {
  encodeBloodPressure,
  encodeHeartRate,
  encodePlxContinuous,
  encodePlxSpot,
  encodeTemperature,
  encodeWeight,
} from '../../src/sim/wire/gatt.ts';
import { encodeFloat, encodeSfloat } from '../../src/sim/wire/mdc-float.ts';
import { LOINC_BY_TYPE } from '../../src/sim/wire/replay-ndjson.ts';

const RECEIVED = Date.UTC(2026, 2, 1, 12, 0, 0);
const ctx: ProfileContext = { deviceId: 'sim-dev', receivedAt: RECEIVED };
const TIME = Date.UTC(2026, 2, 1, 9, 30, 15);
const iso = new Date(TIME).toISOString();

test('SFLOAT and FLOAT encode → decode round trip', () => {
  const rng = new Rng('sfloat');
  for (let i = 0; i < 2000; i++) {
    const decimals = rng.int(0, 2);
    const value = Math.round(rng.uniform(-200, 2000) * 10 ** decimals) / 10 ** decimals;
    const s = decodeSfloat(encodeSfloat(value, decimals));
    assert.ok(s.ok);
    // SFLOAT has a 12-bit mantissa: exact when value × 10^decimals fits in ±2045, else the encoder
    // drops decimals (relative error at most half a step of 3 significant digits).
    const fits = Math.abs(Math.round(value * 10 ** decimals)) <= 2045;
    if (fits) assert.equal(s.value, value);
    else assert.ok(Math.abs(s.value - value) <= Math.abs(value) * 0.0025, `${value} → ${s.value}`);
    const f = decodeFloat(encodeFloat(value, decimals));
    assert.ok(f.ok);
    assert.equal(f.value, value);
  }
  assert.deepEqual(decodeSfloat(encodeSfloat(120)), { ok: true, value: 120, precision: 0 });
  assert.deepEqual(decodeSfloat(encodeSfloat(36.6, 1)), { ok: true, value: 36.6, precision: 1 });
});

test('0x2A35 blood pressure with pulse and status', () => {
  const { readings } = decodeBle(
    '2A35',
    encodeBloodPressure({
      systolic: 152,
      diastolic: 94,
      mean: 113,
      timeMs: TIME,
      pulseRate: 71,
      status: 0x01,
    }),
    ctx,
  );
  const [bp, pulse] = readings;
  assert.equal(bp?.code, '85354-9');
  assert.deepEqual(
    bp?.components.map((c) => [c.code, c.value]),
    [
      ['8480-6', 152],
      ['8462-4', 94],
      ['8478-0', 113],
    ],
  );
  assert.equal(bp?.effective, iso);
  assert.ok(bp?.flags.includes('body-movement'));
  assert.equal(pulse?.code, '8867-4');
  assert.equal(pulse?.value, 71);
});

test('0x2A37 heart rate (8- and 16-bit)', () => {
  assert.equal(decodeBle('2A37', encodeHeartRate({ heartRate: 88 }), ctx).readings[0]?.value, 88);
  assert.equal(decodeBle('2A37', encodeHeartRate({ heartRate: 300 }), ctx).readings[0]?.value, 300);
});

test('0x2A1C temperature in Celsius with time and type', () => {
  const [r] = decodeBle('2A1C', encodeTemperature({ celsius: 38.45, timeMs: TIME }), ctx).readings;
  assert.equal(r?.code, '8310-5');
  assert.equal(r?.value, 38.45);
  assert.equal(r?.unit, 'Cel');
  assert.equal(r?.effective, iso);
});

test('0x2A9D weight at 0.005 kg resolution', () => {
  const [r] = decodeBle('2A9D', encodeWeight({ kg: 84.3, timeMs: TIME }), ctx).readings;
  assert.equal(r?.code, '29463-7');
  assert.equal(r?.value, 84.3);
  assert.equal(r?.effective, iso);
});

test('0x2A5E PLX spot check and 0x2A5F continuous', () => {
  const spot = decodeBle('2A5E', encodePlxSpot({ spo2: 93, pulseRate: 104, timeMs: TIME }), ctx).readings;
  assert.deepEqual(
    spot.map((r) => [r.code, r.value, r.effective]),
    [
      ['2708-6', 93, iso],
      ['8867-4', 104, iso],
    ],
  );
  const cont = decodeBle('2A5F', encodePlxContinuous({ spo2: 97, pulseRate: 66 }), ctx).readings;
  assert.deepEqual(
    cont.map((r) => [r.code, r.value]),
    [
      ['2708-6', 97],
      ['8867-4', 66],
    ],
  );
});

test('every GATT message of a simulated week decodes to the readings the device meant', () => {
  const start = Date.UTC(2026, 2, 1);
  const pop = buildPopulation({
    seed: 'gatt-week',
    patients: 9,
    scenario: 'mix',
    windowStartMs: start,
    durationS: 7 * 86_400,
    align: 'start',
    behaviour: { ...DEFAULT_BEHAVIOUR, minPeriodS: 300 },
  });
  let checked = 0;
  for (const p of pop) {
    for (const d of p.devices) {
      for (const e of d.advance(start + 7 * 86_400_000)) {
        if (e.malformed?.kind === 'truncated-gatt') {
          assert.throws(() =>
            decodeBle(d.model.channels[0]?.gatt as string, e.malformed?.payload as Uint8Array, ctx),
          );
        }
        // A malformed emission keeps its characteristic (the topic it is sent on) but sends the broken payload.
        if (!e.gatt || e.malformed) continue;
        const decoded = decodeBle(e.gatt.characteristic, e.gatt.bytes, ctx).readings;
        assert.equal(decoded.length, e.readings.length, `${e.gatt.characteristic}`);
        e.readings.forEach((r, i) => {
          const got = decoded[i];
          assert.equal(got?.code, LOINC_BY_TYPE[r.type as string]);
          // GATT date_time has whole seconds.
          assert.equal(got?.effective, new Date(Math.floor(Date.parse(r.time) / 1000) * 1000).toISOString());
          if (r.components)
            assert.deepEqual(
              got?.components.map((c) => c.value),
              [r.components.systolic, r.components.diastolic, r.components.mean],
            );
          else assert.equal(got?.value, r.value);
        });
        checked++;
      }
    }
  }
  assert.ok(checked > 50, `checked ${checked}`);
});
