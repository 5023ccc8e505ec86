import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { Observation } from '@medplum/fhirtypes';
import { isVigilError } from '../../src/core/errors.ts';
import type { Reading } from '../../src/core/reading.ts';
import { packSamples, parseSampleData, SAMPLE_MARKERS, unpackSamples } from '../../src/core/waveform.ts';
import { observationToReading, readingToObservation } from '../../src/normalize/fhir-observation.ts';
import { normalize } from '../../src/normalize/normalize.ts';
import { analyzePcd01 } from '../../src/normalize/profiles/hl7v2-pcd01.ts';
import { validateFhir } from '../support/fhir-validator.ts';

const MDC = 'urn:iso:std:iso:11073:10101';
const received = Date.parse('2026-03-01T09:00:00Z');
const asReading = (
  d: Omit<Reading, 'id' | 'patientId' | 'transport' | 'received' | 'idempotencyKey'>,
): Reading => ({
  ...d,
  id: '0190a3c2-0000-7000-8000-000000000001',
  patientId: 'p1',
  transport: 'http',
  received: new Date(received).toISOString(),
  idempotencyKey: 'k1',
});

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return isVigilError(e) ? e.code : `not coded: ${String(e)}`;
  }
  return 'no error';
}

describe('packed samples', () => {
  it('16-bit when every count fits, 32-bit otherwise, markers kept', () => {
    assert.equal(packSamples([0, -32768, 32767]).encoding, 'i16le');
    const wide = [40000, -5, SAMPLE_MARKERS.E, SAMPLE_MARKERS.U];
    const p = packSamples(wide);
    assert.equal(p.encoding, 'i32le');
    assert.deepEqual(Array.from(unpackSamples(p)), wide);
    const parsed = parseSampleData('1 E 2 L U');
    assert.ok('counts' in parsed);
    assert.deepEqual(parsed.counts, [1, SAMPLE_MARKERS.E, 2, SAMPLE_MARKERS.L, SAMPLE_MARKERS.U]);
    assert.deepEqual(parseSampleData('1 2.5 3'), { badAt: 1, token: '2.5' });
  });
});

describe('FHIR PHD IG rtsa examples', () => {
  for (const file of ['rtsa-example.json', 'rtsa-example-2.json']) {
    it(`${file}: read as a strip and served back with the same SampledData`, () => {
      const obs = JSON.parse(
        readFileSync(new URL(`../corpora/fhir-phd-ig-examples/${file}`, import.meta.url), 'utf8'),
      ) as Observation;
      const r = observationToReading(obs, { transport: 'fhir', received: new Date(received).toISOString() });
      assert.equal(r.waveform?.channels.length, 1);
      const out = readingToObservation({ ...r, patientId: 'p1' });
      assert.deepEqual(validateFhir(out), []);
      const a = obs.valueSampledData;
      const b = out.valueSampledData;
      // the same values in order; the example's own spacing is not kept (one space between values)
      assert.equal(b?.data, a?.data?.trim().split(/\s+/).join(' '));
      assert.equal(b?.origin.value, a?.origin.value);
      assert.equal(b?.origin.code, a?.origin.code);
      assert.equal(b?.period, a?.period);
      assert.equal(b?.factor, a?.factor);
      assert.equal(b?.lowerLimit, a?.lowerLimit);
      assert.equal(b?.upperLimit, a?.upperLimit);
      assert.equal(out.code.coding?.[0]?.code, obs.code.coding?.[0]?.code);
    });
  }

  it('SampledData without a UCUM origin or with decimal data is refused with a coded reason', () => {
    const base: Observation = {
      resourceType: 'Observation',
      id: 'x',
      status: 'final',
      code: { coding: [{ system: MDC, code: '150452' }] },
      effectiveDateTime: '2026-03-01T08:00:00Z',
      device: { reference: 'Device/d1' },
      valueSampledData: {
        origin: { value: 0, system: 'http://unitsofmeasure.org', code: '1' },
        period: 4,
        dimensions: 1,
        data: '1 2 3',
      },
    };
    const opts = { transport: 'fhir' as const, received: new Date(received).toISOString() };
    assert.equal(
      code(() => observationToReading(base, opts)),
      'no error',
    );
    assert.equal(
      code(() =>
        observationToReading(
          { ...base, valueSampledData: { ...base.valueSampledData!, data: '1 2.5' } },
          opts,
        ),
      ),
      'VIGIL_ERR_INGEST_INVALID_WAVEFORM',
    );
    assert.equal(
      code(() =>
        observationToReading(
          { ...base, valueSampledData: { ...base.valueSampledData!, origin: { value: 0, unit: 'x' } } },
          opts,
        ),
      ),
      'VIGIL_ERR_INGEST_UNIT_MISMATCH',
    );
  });
});

describe('gateway waveform JSON (waveform-json)', () => {
  const strip = (channel: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
    messageId: 's1',
    time: '2026-03-01T08:00:00Z',
    channels: [
      {
        code: { system: MDC, code: '131330' },
        unit: 'mV',
        periodMs: 4,
        factor: 0.005,
        data: [1, -2, 3],
        ...channel,
      },
    ],
    ...extra,
  });
  const run = (payload: object) =>
    normalize({ format: 'waveform-json', payload, deviceId: 'd1', receivedAt: received });

  it('one channel becomes valueSampledData with the physical scale as sent', () => {
    const [d] = run(strip({ origin: -0.1, lowerLimit: -5, upperLimit: 5 })).readings;
    assert.ok(d);
    const obs = readingToObservation(asReading(d));
    assert.deepEqual(validateFhir(obs), []);
    assert.deepEqual(obs.valueSampledData, {
      origin: { value: -0.1, unit: 'mV', system: 'http://unitsofmeasure.org', code: 'mV' },
      period: 4,
      factor: 0.005,
      dimensions: 1,
      data: '1 -2 3',
      lowerLimit: -5,
      upperLimit: 5,
    });
    assert.equal(obs.category?.[0]?.coding?.[0]?.code, 'procedure');
  });

  it('refuses what could not be stored exactly, naming the field', () => {
    assert.equal(
      code(() => run(strip({ data: [1, 2.5] }))),
      'VIGIL_ERR_INGEST_INVALID_WAVEFORM',
    );
    assert.equal(
      code(() => run(strip({ periodMs: 0 }))),
      'VIGIL_ERR_INGEST_INVALID_WAVEFORM',
    );
    assert.equal(
      code(() => run(strip({ periodMs: undefined }))),
      'VIGIL_ERR_INGEST_INVALID_FIELD',
    );
    assert.equal(
      code(() => run(strip({ dimensions: 2 }))),
      'VIGIL_ERR_INGEST_INVALID_WAVEFORM',
    ); // 3 values
    assert.equal(
      code(() => run(strip({ unit: 'mm[Hg]' }))),
      'VIGIL_ERR_INGEST_UNIT_MISMATCH',
    );
    assert.equal(
      code(() => run(strip({ code: { system: MDC, code: '150456' } }))),
      'VIGIL_ERR_INGEST_UNKNOWN_CODE',
    );
    assert.equal(
      code(() => run(strip({ gain: 2 }))),
      'VIGIL_ERR_INGEST_INVALID_FIELD',
    );
    assert.equal(
      code(() => run(strip({}, { time: '2026-03-01T08:00:00' }))),
      'VIGIL_ERR_INGEST_INVALID_TIME',
    );
  });
});

describe('PCD-01 NA rows', () => {
  const msg = (period: string) =>
    [
      'MSH|^~\\&|GW^ACDE48234567ABCD^EUI-64||||20260301080000+0000||ORU^R01^ORU_R01|W1|P|2.6',
      'OBR|1|||182777000^monitoring of patient^SCT|||20260301080000+0000',
      'OBX|1||69965^MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS^MDC|1.0.0.0|||||||X',
      'OBX|2|NA|131330^MDC_ECG_ELEC_POTL_II^MDC|1.1.1.1|0.125^-0.05^1^0|^MDC_DIM_MILLI_VOLT^MDC|||||R|||20260301080000+0000',
      ...(period ? [period] : []),
      'OBX|4|NM|147842^MDC_ECG_HEART_RATE^MDC|1.1.1.2|72|264864^MDC_DIM_BEAT_PER_MIN^MDC|||||R|||20260301080000+0000',
    ].join('\r');
  const ctx = { deviceId: 'd1', receivedAt: received };

  it('an NA row with its sample period becomes a strip; decimals are kept exactly', () => {
    const out = analyzePcd01(
      msg('OBX|3|NM|0^MDC_ATTR_TIME_PD_SAMP^MDC|1.1.1.1.1|2|^MDC_DIM_MILLI_SEC^MDC|||||R'),
      ctx,
    );
    const strip = out.result.readings.find((r) => r.waveform);
    assert.ok(strip);
    const obs = readingToObservation(asReading(strip));
    assert.deepEqual(validateFhir(obs), []);
    assert.equal(obs.valueSampledData?.period, 2);
    assert.equal(obs.valueSampledData?.factor, 0.001);
    assert.equal(obs.valueSampledData?.data, '125 -50 1000 0');
    assert.ok(out.result.readings.some((r) => r.code === '8867-4'));
  });

  it('a duration row gives period = duration / samples; no timing row: skipped and counted, message still read', () => {
    const out = analyzePcd01(
      msg('OBX|3|NM|68185^MDC_ATTR_TIME_PD_MSMT_ACTIVE^MDC|1.1.1.1.1|1|264320^MDC_DIM_SEC^MDC|||||R'),
      ctx,
    );
    assert.equal(out.result.readings.find((r) => r.waveform)?.waveform?.channels[0]?.periodMs, 250);
    const none = analyzePcd01(msg(''), ctx);
    assert.equal(none.result.readings.filter((r) => r.waveform).length, 0);
    assert.ok(none.skipped.some((s) => s.reason === 'no-period' && s.code === '131330'));
    assert.equal(none.result.readings.length, 1);
  });
});

describe('the documented PCD-01 waveform example (docs/examples/pcd01-ecg-waveform.hl7)', () => {
  it('yields the heart rate and one 50-sample lead II strip at 4 ms, values exact', () => {
    const text = readFileSync(new URL('../../docs/examples/pcd01-ecg-waveform.hl7', import.meta.url), 'utf8');
    const out = analyzePcd01(text, { deviceId: 'bed-12-monitor', receivedAt: received });
    const strip = out.result.readings.find((r) => r.waveform);
    const ch = strip?.waveform?.channels[0];
    assert.equal(ch?.code, '131330');
    assert.equal(ch?.count, 50);
    assert.equal(ch?.periodMs, 4);
    assert.equal(ch?.unit, 'mV');
    const obs = readingToObservation(asReading(strip as Reading));
    assert.deepEqual(validateFhir(obs), []);
    const sent = (text.split('\r').find((l) => l.startsWith('OBX|4|')) ?? '').split('|')[5]?.split('^') ?? [];
    const sd = obs.valueSampledData;
    const parsed = parseSampleData(sd?.data ?? '');
    assert.ok('counts' in parsed);
    assert.deepEqual(
      parsed.counts.map((c) => Number(((sd?.origin.value ?? 0) + (sd?.factor ?? 1) * c).toFixed(6))),
      sent.map(Number),
    );
    assert.ok(out.result.readings.some((r) => r.code === '8867-4' && r.value === 72));
  });
});

describe('waveform routes', () => {
  it('MQTT devices/{id}/waveforms carries the waveform-json format; other suffixes do not', async () => {
    const { parseDeviceTopic, deviceSubscriptions } = await import('../../src/ingest/mqtt/topics.ts');
    assert.deepEqual(parseDeviceTopic('devices/bed-12/waveforms'), {
      deviceId: 'bed-12',
      format: 'waveform-json',
    });
    assert.equal(parseDeviceTopic('devices/bed-12/waveforms/extra'), undefined);
    assert.ok(deviceSubscriptions.includes('devices/+/waveforms'));
  });
});
