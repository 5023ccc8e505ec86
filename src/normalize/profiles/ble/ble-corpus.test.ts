/**
 * Every vector of test/corpora/ble: valid ones decode to the upstream tests'
 * `decoded` values within `tolerance`; invalid ones are refused with a coded reason. Corpus field
 * names are mapped to ours by the `view` functions below; a corpus field without a mapping fails
 * the test, so nothing is skipped silently.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { isVigilError } from '../../../core/errors.ts';
import type { MdcFloat } from '../../sfloat.ts';
import { bpStatusFlags, decodeBloodPressure, decodeIntermediateCuffPressure } from './ble-blood-pressure.ts';
import { decodeCgm } from './ble-cgm.ts';
import { decodeGlucose, GLUCOSE_TYPES, glucoseEffectiveTime, SAMPLE_LOCATIONS } from './ble-glucose.ts';
import { decodeHeartRate } from './ble-heart-rate.ts';
import { decodePlxContinuous } from './ble-plx-continuous.ts';
import { decodePlxSpot } from './ble-plx-spot.ts';
import { decodeTemperature, TEMPERATURE_TYPES } from './ble-temperature.ts';
import { decodeWeight } from './ble-weight.ts';
import { hexToBytes } from './gatt-reader.ts';
import { decodeBle } from './index.ts';
import { plxFlags } from './plx-status.ts';

export const BLE_CORPUS = new URL('../../../../test/corpora/ble/', import.meta.url);

export interface Vector {
  id: string;
  uuid?: string;
  hex: string;
  valid: boolean;
  decoded?: Record<string, unknown> | Record<string, unknown>[];
  tolerance?: number;
  reason?: string;
}

/** All vectors with their characteristic (files without per-vector uuid name it in the file name). */
export function loadBleVectors(): (Vector & { characteristic: string; file: string })[] {
  const out: (Vector & { characteristic: string; file: string })[] = [];
  for (const file of readdirSync(BLE_CORPUS).filter((f) => f.endsWith('.json'))) {
    const doc = JSON.parse(readFileSync(new URL(file, BLE_CORPUS), 'utf8')) as { vectors: Vector[] };
    const fromName = /-(2A[0-9A-F]{2})\.json$/.exec(file)?.[1];
    for (const v of doc.vectors) {
      const characteristic = v.uuid ?? fromName;
      assert.ok(characteristic, `${file}/${v.id}: no characteristic`);
      out.push({ ...v, characteristic, file });
    }
  }
  return out;
}

const num = (f: MdcFloat | null): number | null => (f === null ? null : f.ok ? f.value : Number.NaN);
const titleCase = (s: string) => s.replace(/(^|\s)\w/g, (c) => c.toUpperCase());

const PLX_NAMES: Record<string, string> = {
  measurementOngoing: 'measurement-ongoing',
  questionableMeasurementDetected: 'questionable',
  fullyQualifiedData: 'fully-qualified',
  equipmentMalfunctionDetected: 'device-malfunction',
  lowPerfusionDetected: 'low-perfusion',
};

type View = (bytes: Uint8Array) => Record<string, unknown> | Record<string, unknown>[];

const VIEWS: Record<string, View> = {
  '2A35': (b) => {
    const m = decodeBloodPressure(b);
    const f = bpStatusFlags(m.measurementStatus);
    return {
      unit: m.unit,
      systolic: num(m.systolic),
      diastolic: num(m.diastolic),
      meanArterialPressure: num(m.meanArterialPressure),
      timestamp: m.timestamp,
      pulseRate: num(m.pulseRate),
      userId: m.userId,
      measurementStatus: m.measurementStatus,
      measurementStatusFlags: {
        bodyMovementDetected: f.includes('body-movement'),
        cuffTooLoose: f.includes('cuff-too-loose'),
        irregularPulseDetected: f.includes('irregular-pulse'),
        pulseRateInRange: !f.some((x) => x.startsWith('pulse-rate-')),
        pulseRateExceedsUpperLimit: f.includes('pulse-rate-above-range'),
        pulseRateBelowLowerLimit: f.includes('pulse-rate-below-range'),
        improperMeasurementPosition: f.includes('improper-position'),
      },
    };
  },
  '2A36': (b) => {
    const m = decodeIntermediateCuffPressure(b);
    return { ...m, cuffPressure: num(m.cuffPressure), pulseRate: num(m.pulseRate) };
  },
  '2A37': (b) => ({ ...decodeHeartRate(b) }),
  '2A1C': (b) => {
    const m = decodeTemperature(b);
    const typeName = m.temperatureType === null ? null : TEMPERATURE_TYPES[m.temperatureType];
    return { ...m, temperature: num(m.temperature), temperatureTypeName: typeName && titleCase(typeName) };
  },
  '2A9D': (b) => {
    const m = decodeWeight(b);
    // Deliberate difference: 0xFFFF is "measurement unsuccessful" (no weight), not 327.675 kg / 655.35 lb.
    return { ...m, weight: m.rawWeight === 0xffff ? 'unsuccessful' : m.weight };
  },
  '2A18': (b) => {
    const m = decodeGlucose(b);
    const status = m.sensorStatusAnnunciation ?? 0;
    return {
      ...m,
      concentration: num(m.concentration),
      effectiveTime: glucoseEffectiveTime(m),
      typeName: m.type === null ? null : titleCase(GLUCOSE_TYPES[m.type] ?? ''),
      sampleLocationName:
        m.sampleLocation === null ? null : titleCase(SAMPLE_LOCATIONS[m.sampleLocation] ?? ''),
      statusFlags: { deviceBatteryLow: (status & 0x001) !== 0, generalDeviceFault: (status & 0x400) !== 0 },
    };
  },
  '2AA7': (b) =>
    decodeCgm(b).map((r) => ({
      ...r,
      unit: 'mg/dL', // CGM concentrations are always mg/dL
      glucose: num(r.glucose),
      trendMgDlPerMin: num(r.trendMgDlPerMin),
      quality: num(r.quality),
      crcValid: r.e2eCrc !== null, // a bad CRC throws, so a present CRC is a valid one
      secured: r.e2eCrc !== null,
    })),
  '2A5E': (b) => {
    const m = decodePlxSpot(b);
    const names = (bits: number | null, ds: boolean) =>
      Object.entries(PLX_NAMES)
        .filter(([, flag]) => plxFlags(ds ? null : bits, ds ? bits : null).includes(flag))
        .map(([n]) => n);
    return {
      ...m,
      spo2: num(m.spo2),
      pulseRate: num(m.pulseRate),
      pulseAmplitudeIndex: num(m.pulseAmplitudeIndex),
      measurementStatusNames: names(m.measurementStatus, false),
      deviceAndSensorStatusNames: names(m.deviceAndSensorStatus, true),
    };
  },
  '2A5F': (b) => {
    const m = decodePlxContinuous(b);
    const names = Object.entries(PLX_NAMES)
      .filter(([, flag]) => plxFlags(m.measurementStatus, null).includes(flag))
      .map(([n]) => n);
    return {
      spo2: num(m.spo2),
      pulseRate: num(m.pulseRate),
      spo2Fast: num(m.spo2Fast),
      pulseRateFast: num(m.pulseRateFast),
      spo2Slow: num(m.spo2Slow),
      pulseRateSlow: num(m.pulseRateSlow),
      measurementStatus: m.measurementStatus,
      measurementStatusNames: names,
      deviceAndSensorStatus: m.deviceAndSensorStatus,
      pulseAmplitudeIndex: num(m.pulseAmplitudeIndex),
    };
  },
};

/** Corpus fields whose value we represent differently, with the reason. */
const EXPECTED_DIFFERENCES: Record<string, Record<string, unknown>> = {
  'ws-si-ffff': { weight: 'unsuccessful' },
  'ws-imperial-ffff': { weight: 'unsuccessful' },
};

function compare(actual: unknown, expected: unknown, tol: number, path: string): void {
  if (typeof expected === 'number') {
    assert.equal(
      typeof actual,
      'number',
      `${path}: expected number ${expected}, got ${JSON.stringify(actual)}`,
    );
    assert.ok(Math.abs((actual as number) - expected) <= tol, `${path}: ${actual} vs ${expected} (±${tol})`);
  } else if (expected === null) {
    assert.ok(
      actual === null || actual === undefined,
      `${path}: expected null, got ${JSON.stringify(actual)}`,
    );
  } else if (Array.isArray(expected)) {
    assert.ok(Array.isArray(actual), `${path}: expected array`);
    assert.equal(actual.length, expected.length, `${path}: length`);
    expected.forEach((e, i) => {
      compare((actual as unknown[])[i], e, tol, `${path}[${i}]`);
    });
  } else if (typeof expected === 'object') {
    assert.ok(
      actual && typeof actual === 'object',
      `${path}: expected object, got ${JSON.stringify(actual)}`,
    );
    for (const [k, v] of Object.entries(expected as Record<string, unknown>)) {
      assert.ok(k in (actual as object), `${path}.${k}: corpus field has no mapping`);
      compare((actual as Record<string, unknown>)[k], v, tol, `${path}.${k}`);
    }
  } else {
    assert.equal(actual, expected, path);
  }
}

const vectors = loadBleVectors();

test('the comparator itself fails on a wrong value, a missing mapping, a wrong length', () => {
  assert.throws(() => compare(18.9, 18.8, 0.01, 'x'));
  assert.throws(() => compare({ a: 1 }, { a: 1, b: 2 }, 0, 'x'), /no mapping/);
  assert.throws(() => compare([1], [1, 2], 0, 'x'));
  assert.throws(() => compare(null, 0, 0, 'x'));
});

test('corpus holds the 26 valid and 5 invalid vectors SOURCES.md announces', () => {
  assert.equal(vectors.filter((v) => v.valid).length, 26);
  assert.equal(vectors.filter((v) => !v.valid).length, 5);
});

for (const v of vectors.filter((x) => x.valid)) {
  test(`decodes ${v.characteristic} ${v.id}`, () => {
    const view = VIEWS[v.characteristic];
    assert.ok(view, `no view for ${v.characteristic}`);
    const actual = view(hexToBytes(v.hex));
    const expected = Array.isArray(v.decoded)
      ? v.decoded
      : { ...v.decoded, ...(EXPECTED_DIFFERENCES[v.id] ?? {}) };
    // A single-record CGM vector is described as an object; we always return records.
    const a = Array.isArray(actual) && !Array.isArray(expected) ? actual[0] : actual;
    compare(a, expected, v.tolerance ?? 1e-9, v.id);
  });
}

for (const v of vectors.filter((x) => !x.valid)) {
  test(`refuses ${v.characteristic} ${v.id} (${v.reason})`, () => {
    assert.throws(
      () =>
        decodeBle(v.characteristic, hexToBytes(v.hex), { deviceId: 'd', receivedAt: Date.UTC(2025, 0, 1) }),
      (e) => isVigilError(e) && e.code === 'VIGIL_ERR_INGEST_TRUNCATED_GATT',
    );
  });
}
