import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_FHIR_NAMESPACE, LEGACY_DETECT_SYSTEM, VigilFhir } from '../../src/core/fhir-namespace.ts';
import { validateFhir } from '../support/fhir-validator.ts';
import { describeEachFhir, type FhirHarness, type Json } from './harness.ts';

const OLD_FLAG_SYSTEM = `${DEFAULT_FHIR_NAMESPACE}/CodeSystem/quality-flag`;
const ids = (b: Json) => (b.entry ?? []).map((e: Json) => e.resource.id).sort();

/** An ingest-shaped row (rendered by normalize on read) with quality flags and extra codings. */
async function ingestRow(h: FhirHarness, id: string, code: string, data: Json, value = 72, unit = '/min') {
  await h.vigil.db.query(
    `insert into observation (id, patient_id, device_id, code, category, effective, received, value, unit, data, idem_key)
     values ($1, 'vc-1', 'dev-vc', $2, 'vital-signs', '2025-05-01T10:00:00Z', '2025-05-01T10:00:05Z', $3, $4, $5::jsonb, $6)`,
    [
      id,
      code,
      value,
      unit,
      JSON.stringify({ transport: 'mqtt', profile: 'native-json', codings: [], components: [], ...data }),
      `vc:${id}`,
    ],
  );
}

const flagsOf = (obs: Json) =>
  (obs.extension ?? [])
    .filter((e: Json) => e.url === VigilFhir.qualityFlagExt)
    .map((e: Json) => `${e.valueCoding.system}|${e.valueCoding.code}`);

describeEachFhir('Vigil codes: quality flags as an extension, one namespace', (get) => {
  const hr = '0190a000-0000-7000-8000-000000000001';
  const news = '0190a000-0000-7000-8000-000000000002';
  test('an ingest reading serves its flags as quality-flag extensions, not interpretation', async () => {
    const h = get();
    await h.call('PUT', '/fhir/Patient/vc-1', { resourceType: 'Patient', id: 'vc-1' });
    await ingestRow(h, hr, '8867-4', { flags: ['device-time-missing', 'time-zone-assumed'] });
    const r = await h.call('GET', `/fhir/Observation/${hr}`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.interpretation, undefined);
    assert.deepEqual(flagsOf(r.json), [
      `${VigilFhir.qualityFlag}|device-time-missing`,
      `${VigilFhir.qualityFlag}|time-zone-assumed`,
    ]);
    assert.deepEqual(validateFhir(r.json), []);
  });

  test('a version stored the old way (flags in interpretation) is served the new way', async () => {
    const h = get();
    const old = {
      resourceType: 'Observation',
      id: hr,
      status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
      subject: { reference: 'Patient/vc-1' },
      interpretation: [
        { coding: [{ system: OLD_FLAG_SYSTEM, code: 'device-time-missing' }], text: 'device-time-missing' },
      ],
    };
    await h.vigil.db.query(
      `insert into observation_history (id, version_id, last_updated, deleted, resource) values ($1, 7, now(), false, $2::jsonb)`,
      [hr, JSON.stringify(old)],
    );
    const v = await h.call('GET', `/fhir/Observation/${hr}/_history/7`);
    assert.equal(v.status, 200, v.text);
    assert.equal(v.json.interpretation, undefined);
    assert.deepEqual(flagsOf(v.json), [`${VigilFhir.qualityFlag}|device-time-missing`]);
    const hist = await h.call('GET', `/fhir/Observation/${hr}/_history`);
    const versions = hist.json.entry.map((e: Json) => e.resource).filter(Boolean);
    assert.ok(versions.length >= 2);
    assert.ok(versions.every((r: Json) => r.interpretation === undefined));
  });

  test('NEWS2 under one system: a stored row with the old detect coding is served once, in the one namespace, and found by both systems', async () => {
    const h = get();
    await ingestRow(
      h,
      news,
      'vigil-news2',
      { codings: [{ system: LEGACY_DETECT_SYSTEM, code: 'vigil-news2', display: 'NEWS2 total score' }] },
      5,
      '{score}',
    );
    const r = await h.call('GET', `/fhir/Observation/${news}`);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(
      r.json.code.coding.map((c: Json) => `${c.system}|${c.code}`),
      [`${VigilFhir.observation}|vigil-news2`],
    );
    assert.ok(!r.text.includes('vigil.dev'), 'no legacy namespace served');
    for (const system of [VigilFhir.observation, LEGACY_DETECT_SYSTEM]) {
      const s = await h.call(
        'GET',
        `/fhir/Observation?patient=vc-1&code=${encodeURIComponent(`${system}|vigil-news2`)}`,
      );
      assert.equal(s.status, 200, s.text);
      assert.deepEqual(ids(s.json), [news], system);
    }
  });

  test('a FHIR-written Observation with flags the old way is upgraded on read; its legacy identifier system is found by the new one', async () => {
    const h = get();
    const c = await h.call('POST', '/fhir/Observation', {
      resourceType: 'Observation',
      status: 'final',
      identifier: [{ system: 'https://vigil.health/fhir/NamingSystem/idempotency-key', value: 'legacy-1' }],
      code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
      subject: { reference: 'Patient/vc-1' },
      effectiveDateTime: '2025-05-02T10:00:00Z',
      valueQuantity: { value: 70, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
      interpretation: [
        { coding: [{ system: 'https://vigil.dev/fhir/CodeSystem/quality-flag', code: 'low-perfusion' }] },
        {
          coding: [
            { system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation', code: 'N' },
          ],
        },
      ],
    });
    assert.equal(c.status, 201, c.text);
    const r = await h.call('GET', `/fhir/Observation/${c.json.id}`);
    assert.deepEqual(flagsOf(r.json), [`${VigilFhir.qualityFlag}|low-perfusion`]);
    assert.deepEqual(
      r.json.interpretation.map((i: Json) => i.coding[0].code),
      ['N'],
    );
    assert.equal(r.json.identifier[0].system, VigilFhir.idempotencyKey, 'written in the one namespace');
    const s = await h.call(
      'GET',
      `/fhir/Observation?identifier=${encodeURIComponent(`${VigilFhir.idempotencyKey}|legacy-1`)}`,
    );
    assert.deepEqual(ids(s.json), [c.json.id]);
  });

  test('the extension and its code system are served as valid R4 definitions', async () => {
    const h = get();
    const sd = await h.call('GET', '/fhir/StructureDefinition/quality-flag');
    assert.equal(sd.status, 200, sd.text);
    assert.equal(sd.json.url, VigilFhir.qualityFlagExt);
    assert.equal(sd.json.type, 'Extension');
    assert.deepEqual(validateFhir(sd.json), []);
    const cs = await h.call('GET', '/fhir/CodeSystem/quality-flag');
    assert.equal(cs.json.url, VigilFhir.qualityFlag);
    assert.ok(cs.json.concept.some((x: Json) => x.code === 'device-time-missing'));
    assert.deepEqual(validateFhir(cs.json), []);
    const found = await h.call(
      'GET',
      `/fhir/StructureDefinition?url=${encodeURIComponent(VigilFhir.qualityFlagExt)}`,
    );
    assert.deepEqual(ids(found.json), ['quality-flag']);
    assert.deepEqual(ids((await h.call('GET', '/fhir/StructureDefinition?url=http://other|x')).json), []);
    assert.equal((await h.call('POST', '/fhir/CodeSystem', cs.json)).status, 405);
  });
});

const NS = 'https://fhir.hospital.example/vigil';
describeEachFhir(
  'Vigil codes under a deployment namespace (VIGIL_FHIR_NAMESPACE)',
  (get) => {
    const hr = '0190a000-0000-7000-8000-000000000011';
    test("Vigil's URLs are served in the deployment's namespace and accepted in it", async () => {
      const h = get();
      await h.call('PUT', '/fhir/Patient/vc-1', { resourceType: 'Patient', id: 'vc-1' });
      await ingestRow(h, hr, '8867-4', { flags: ['low-perfusion'] });
      const r = await h.call('GET', `/fhir/Observation/${hr}`);
      assert.deepEqual(
        r.json.extension.map((e: Json) => [e.url, e.valueCoding.system]),
        [[`${NS}/StructureDefinition/quality-flag`, `${NS}/CodeSystem/quality-flag`]],
      );
      assert.equal(r.json.identifier[0].system, `${NS}/NamingSystem/idempotency-key`);
      assert.ok(!r.text.includes(DEFAULT_FHIR_NAMESPACE), 'no internal namespace leaks');
      // searches and bodies in the deployment's namespace
      const s = await h.call(
        'GET',
        `/fhir/Observation?identifier=${encodeURIComponent(`${NS}/NamingSystem/idempotency-key|vc:${hr}`)}`,
      );
      assert.deepEqual(ids(s.json), [hr]);
      const form = await h.call(
        'POST',
        '/fhir/Observation/_search',
        new URLSearchParams({ identifier: `${NS}/NamingSystem/idempotency-key|vc:${hr}` }).toString(),
        { 'content-type': 'application/x-www-form-urlencoded' },
      );
      assert.deepEqual(ids(form.json), [hr], form.text);
      const sd = await h.call('GET', '/fhir/StructureDefinition/quality-flag');
      assert.equal(sd.json.url, `${NS}/StructureDefinition/quality-flag`);
      const c = await h.call('POST', '/fhir/Observation', {
        resourceType: 'Observation',
        status: 'final',
        code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
        subject: { reference: 'Patient/vc-1' },
        effectiveDateTime: '2025-05-02T10:00:00Z',
        valueQuantity: { value: 70, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
        extension: [
          {
            url: `${NS}/StructureDefinition/quality-flag`,
            valueCoding: { system: `${NS}/CodeSystem/quality-flag`, code: 'motion-artifact' },
          },
        ],
      });
      assert.equal(c.status, 201, c.text);
      const rows = await h.vigil.db.query<{ r: Json }>(
        'select resource as r from observation where id = $1',
        [c.json.id],
      );
      const stored = typeof rows[0]?.r === 'string' ? JSON.parse(rows[0].r) : rows[0]?.r;
      assert.equal(stored.extension[0].url, VigilFhir.qualityFlagExt, 'stored in the internal namespace');
      // Vigil's error code system too
      const err = await h.call('GET', '/fhir/Observation?code=nope|x&_count=notanumber');
      assert.equal(err.status, 400);
      assert.ok(err.text.includes(`${NS}/CodeSystem/error`), err.text);
    });
  },
  { VIGIL_FHIR_NAMESPACE: NS },
);
