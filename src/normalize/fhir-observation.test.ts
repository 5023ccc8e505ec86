import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { Observation } from '@medplum/fhirtypes';
import { VITAL_SIGNS_PROFILE, validateFhir } from '../../test/support/fhir-validator.ts';
import { isVigilError } from '../core/errors.ts';
import type { Reading } from '../core/reading.ts';
import { getCode } from './codes.ts';
import {
  flagsOf,
  observationToReading,
  PATIENT_ENTERED,
  patientEntryDevice,
  readingToObservation,
  upgradeQualityFlags,
  VIGIL_ORIGINAL_EXT,
  VIGIL_QUALITY_FLAG,
  VIGIL_QUALITY_FLAG_EXT,
  VIGIL_TAG,
} from './fhir-observation.ts';
import { normalize } from './normalize.ts';
import { completeReading } from './test-helpers.ts';

const RECEIVED = Date.parse('2025-01-15T08:00:00Z');
const received = new Date(RECEIVED).toISOString();
const t = '2025-01-15T07:30:00+00:00';

const JSON_CASES: unknown[] = [
  { time: t, type: 'heart-rate', value: 72, unit: 'bpm', flags: ['irregular-pulse'] },
  { time: t, type: 'spo2', value: 96, unit: '%' },
  { time: t, type: 'blood-pressure', unit: 'mmHg', components: { systolic: 131, diastolic: 84, mean: 100 } },
  {
    time: t,
    type: 'blood-pressure',
    components: [
      { type: 'systolic', value: 17, unit: 'kPa' },
      { type: 'diastolic', value: 11, unit: 'kPa' },
    ],
  },
  { time: t, type: 'temperature', value: 100.4, unit: '°F' },
  { time: t, type: 'weight', value: 172.5, unit: 'lb' },
  { time: t, type: 'height', value: 69, unit: 'in' },
  { time: t, type: 'bmi', value: 25.4, unit: 'kg/m2' },
  { time: t, type: 'respiratory-rate', value: 16, unit: '/min' },
  { time: t, type: 'glucose', value: 5.8, unit: 'mmol/L' },
  { time: t, type: 'cgm-glucose', value: 142, unit: 'mg/dL' },
  { time: t, type: 'steps', value: 5400, unit: 'steps' },
  { time: t, type: 'consciousness', valueCode: 'A' },
  { time: t, type: 'news2', value: 3, unit: '{score}' },
  { time: t, type: 'spo2', dataAbsentReason: 'not-a-number' },
];
const GATT_CASES: [string, string][] = [
  ['2A35', '00 FF 07 58 00 78 00'], // BP with NaN systolic
  ['2A5E', '0F AC F3 BE F5 E8 07 0B 1D 17 08 39 20 40 22 00 00 66 E3'],
  ['2A9D', '00 FF FF'],
];

function allReadings(patientId: string | null): Reading[] {
  const drafts = [
    ...JSON_CASES.flatMap(
      (p) =>
        normalize({ format: 'native-json', payload: p as object, deviceId: 'dev-1', receivedAt: RECEIVED })
          .readings,
    ),
    ...GATT_CASES.flatMap(
      ([c, hex]) =>
        normalize({ format: `gatt:${c}`, payload: hex, deviceId: 'dev-1', receivedAt: RECEIVED }).readings,
    ),
  ];
  return drafts.map((d, i) => completeReading(d, { id: `obs-${i}`, patientId, received }));
}

test('every Observation validates against R4 and, for vital signs, the vital-signs profiles', () => {
  const readings = allReadings('pat-1');
  assert.ok(readings.length >= 19);
  for (const r of readings) {
    const obs = readingToObservation(r);
    const label = `${r.code} ${r.profile} ${JSON.stringify(obs.valueQuantity ?? obs.component ?? obs.valueCodeableConcept ?? obs.dataAbsentReason)}`;
    assert.deepEqual(validateFhir(obs), [], label);
    const profile = getCode(r.code)?.vitalSignsProfile;
    if (profile) {
      assert.deepEqual(obs.meta?.profile, [`http://hl7.org/fhir/StructureDefinition/${profile}`], label);
      assert.deepEqual(validateFhir(obs, VITAL_SIGNS_PROFILE), [], label);
      assert.deepEqual(validateFhir(obs, obs.meta?.profile?.[0]), [], label);
      assert.equal(obs.category?.[0]?.coding?.[0]?.code, 'vital-signs');
    } else {
      assert.equal(obs.meta?.profile, undefined, label);
    }
    // the validator does not enforce UCUM inside slices (see fhir-validator.ts): check here
    for (const q of [obs.valueQuantity, ...(obs.component ?? []).map((c) => c.valueQuantity)]) {
      if (q) assert.equal(q.system, 'http://unitsofmeasure.org', label);
    }
  }
});

test('blood pressure panel: 85354-9 with 8480-6/8462-4/8478-0 components in mm[Hg], originals kept', () => {
  const bp = allReadings('pat-1').find((r) => r.code === '85354-9' && r.components[0]?.original);
  assert.ok(bp);
  const obs = readingToObservation(bp);
  assert.equal(obs.code.coding?.[0]?.code, '85354-9');
  assert.equal(obs.valueQuantity, undefined);
  assert.deepEqual(
    obs.component?.map((c) => [c.code.coding?.[0]?.code, c.valueQuantity?.value, c.valueQuantity?.code]),
    [
      ['8480-6', 128, 'mm[Hg]'],
      ['8462-4', 83, 'mm[Hg]'],
    ],
  );
  assert.deepEqual(obs.component?.[0]?.extension?.[0]?.valueQuantity, {
    value: 17,
    unit: 'kPa',
    system: 'http://unitsofmeasure.org',
    code: 'kPa',
  });
});

test('BP with no numbers still conforms: components carry the dataAbsentReason', () => {
  const bp = allReadings('pat-1').find((r) => r.code === '85354-9' && r.dataAbsentReason);
  assert.ok(bp);
  const obs = readingToObservation(bp);
  assert.deepEqual(
    obs.component?.map((c) => [c.code.coding?.[0]?.code, c.dataAbsentReason?.coding?.[0]?.code]),
    [
      ['8480-6', 'not-a-number'],
      ['8462-4', 'not-a-number'],
    ],
  );
});

test('SpO2 carries 2708-6, 59408-5 and MDC 150456; times, device, subject, identifier', () => {
  const r = allReadings('pat-1').find((x) => x.code === '2708-6' && x.value === 96);
  assert.ok(r);
  const obs = readingToObservation(r);
  assert.deepEqual(
    obs.code.coding?.map((c) => `${c.system}|${c.code}`),
    ['http://loinc.org|2708-6', 'http://loinc.org|59408-5', 'urn:iso:std:iso:11073:10101|150456'],
  );
  assert.equal(obs.subject?.reference, 'Patient/pat-1');
  assert.equal(obs.device?.reference, 'Device/dev-1');
  assert.equal(obs.effectiveDateTime, '2025-01-15T07:30:00.000Z');
  assert.equal(obs.issued, '2025-01-15T08:00:00.000Z');
  assert.equal(obs.identifier?.[0]?.value, r.idempotencyKey);
  assert.deepEqual(obs.valueQuantity, {
    value: 96,
    unit: '%',
    system: 'http://unitsofmeasure.org',
    code: '%',
  });
});

test('unattributed readings: no subject, tagged, no vital-signs claim, still valid R4', () => {
  for (const r of allReadings(null)) {
    const obs = readingToObservation(r);
    assert.equal(obs.subject, undefined);
    assert.equal(obs.meta?.tag?.[0]?.system, VIGIL_TAG);
    assert.equal(obs.meta?.tag?.[0]?.code, 'unattributed');
    assert.equal(obs.meta?.profile, undefined);
    assert.deepEqual(validateFhir(obs), [], r.code);
  }
});

test('a reading the patient typed in: tagged patient-entered, no device, valid, and it comes back', () => {
  const r: Reading = {
    ...(allReadings('pat-1').find((x) => x.code === '29463-7') as Reading),
    deviceId: patientEntryDevice('pat-1'),
    transport: 'patient',
  };
  const obs = readingToObservation(r);
  assert.equal(obs.device, undefined, 'no device measured it');
  assert.equal(obs.subject?.reference, 'Patient/pat-1');
  assert.deepEqual(
    obs.meta?.tag?.map((x) => [x.system, x.code]),
    [[VIGIL_TAG, PATIENT_ENTERED]],
  );
  assert.deepEqual(validateFhir(obs, VITAL_SIGNS_PROFILE), []);
  const back = observationToReading(obs, { transport: 'patient', received: 'unused' });
  assert.equal(back.deviceId, 'patient:pat-1', 'kept under the patient’s own entry id');
  assert.deepEqual(back, r);
  assert.equal(
    readingToObservation({ ...r, transport: 'http' }).meta?.tag,
    undefined,
    'a device reading is not',
  );
});

test('quality flags travel as the quality-flag extension, not interpretation, and come back', () => {
  const r = allReadings('pat-1').find((x) => x.flags.includes('irregular-pulse'));
  assert.ok(r);
  const obs = readingToObservation(r);
  assert.equal(obs.interpretation, undefined, 'an EHR shows interpretation as the clinical meaning');
  const flags = (obs.extension ?? []).filter((e) => e.url === VIGIL_QUALITY_FLAG_EXT);
  assert.deepEqual(
    flags.map((e) => e.valueCoding),
    r.flags.map((code) => ({ system: VIGIL_QUALITY_FLAG, code })),
  );
  assert.deepEqual(validateFhir(obs), []);
  assert.deepEqual(observationToReading(obs, { transport: 'replay', received: 'unused' }).flags, r.flags);
});

test('flags coded the old way (interpretation, legacy namespaces) are still read and served as extensions', () => {
  const old = {
    extension: [{ url: VIGIL_ORIGINAL_EXT, valueQuantity: { value: 1 } }],
    interpretation: [
      { coding: [{ system: VIGIL_QUALITY_FLAG, code: 'time-zone-assumed' }], text: 'time-zone-assumed' },
      { coding: [{ system: 'https://vigil.dev/fhir/CodeSystem/quality-flag', code: 'low-perfusion' }] },
      {
        coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation', code: 'H' }],
      },
    ],
  };
  assert.deepEqual(flagsOf(old), ['time-zone-assumed', 'low-perfusion']);
  const up = upgradeQualityFlags(old);
  assert.deepEqual(
    up.interpretation?.map((i) => i.coding?.[0]?.code),
    ['H'],
    'a real interpretation stays',
  );
  assert.deepEqual(
    up.extension?.map((e) => e.url),
    [VIGIL_ORIGINAL_EXT, VIGIL_QUALITY_FLAG_EXT, VIGIL_QUALITY_FLAG_EXT],
  );
  assert.deepEqual(flagsOf(up), ['time-zone-assumed', 'low-perfusion']);
  const plain = { interpretation: [{ coding: [{ system: 'http://x', code: 'H' }] }] };
  assert.equal(upgradeQualityFlags(plain), plain, 'nothing to move: the same object');
});

test('round trip: observationToReading(readingToObservation(r)) gives r back', () => {
  for (const r of [...allReadings('pat-1'), ...allReadings(null)]) {
    const back = observationToReading(readingToObservation(r), {
      transport: r.transport,
      received: 'unused',
    });
    assert.deepEqual(back, r, `${r.code} ${r.profile}`);
  }
});

const phd = new URL('../../test/corpora/fhir-phd-ig-examples/', import.meta.url);
const phdExample = (name: string) => JSON.parse(readFileSync(new URL(name, phd), 'utf8')) as Observation;

test('PHD IG examples become Readings through the same code table', () => {
  const bp = observationToReading(phdExample('compound-numeric-blood-pressure.json'), {
    transport: 'fhir',
    received,
    id: 'x',
  });
  assert.equal(bp.code, '85354-9');
  assert.deepEqual(
    bp.components.slice(0, 2).map((c) => [c.code, c.value, c.unit]),
    [
      ['8480-6', 116, 'mm[Hg]'],
      ['8462-4', 71, 'mm[Hg]'],
    ],
  );
  assert.equal(bp.patientId, 'patientExample-1');
  const temp = observationToReading(phdExample('temperature-observation.json'), {
    transport: 'fhir',
    received,
    id: 'y',
  });
  assert.deepEqual(
    [temp.code, temp.value, temp.unit, temp.effective],
    ['8310-5', 36.5, 'Cel', '2025-01-09T00:07:48.000Z'],
  );
  const spo2 = observationToReading(phdExample('numeric-spo2-alarm.json'), {
    transport: 'fhir',
    received,
    id: 'z',
  });
  assert.deepEqual([spo2.code, spo2.value], ['2708-6', 79]);
  // MDC 160368 (glucose, undetermined plasma) has no LOINC in the reference: refused, not guessed
  assert.throws(
    () =>
      observationToReading(phdExample('glucose-observation.json'), { transport: 'fhir', received, id: 'g' }),
    (e) => isVigilError(e) && e.code === 'VIGIL_ERR_INGEST_UNKNOWN_CODE',
  );
});

test('observationToReading applies plausibility and unit rules to FHIR input too', () => {
  const hr = JSON.parse(
    readFileSync(
      new URL('../../test/corpora/fhir-r4-examples/package/Observation-heart-rate.json', import.meta.url),
      'utf8',
    ),
  ) as Observation;
  const ok = observationToReading(hr, { transport: 'fhir', received, deviceId: 'dev-x' });
  assert.deepEqual([ok.code, ok.value, ok.unit, ok.deviceId], ['8867-4', 44, '/min', 'dev-x']);
  assert.throws(
    () =>
      observationToReading(
        { ...hr, valueQuantity: { ...hr.valueQuantity, value: 900 } },
        { transport: 'fhir', received, deviceId: 'd' },
      ),
    (e) => isVigilError(e) && e.code === 'VIGIL_ERR_INGEST_IMPLAUSIBLE_VALUE',
  );
  assert.throws(
    () =>
      observationToReading(
        { ...hr, valueQuantity: { value: 44, system: 'http://unitsofmeasure.org', code: 'mm[Hg]' } },
        { transport: 'fhir', received, deviceId: 'd' },
      ),
    (e) => isVigilError(e) && e.code === 'VIGIL_ERR_INGEST_UNIT_MISMATCH',
  );
  assert.throws(
    () => observationToReading(hr, { transport: 'fhir', received }),
    (e) => isVigilError(e) && e.code === 'VIGIL_ERR_INGEST_INVALID_FIELD',
  );
});
