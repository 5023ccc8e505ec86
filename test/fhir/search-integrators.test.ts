import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeEachFhir, type FhirHarness, type Json } from './harness.ts';

const hr = (extra: Json) => ({
  resourceType: 'Observation',
  status: 'final',
  code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
  subject: { reference: 'Patient/si-1' },
  effectiveDateTime: '2025-04-01T10:00:00Z',
  valueQuantity: { value: 72, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
  text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">72 /min</div>' },
  ...extra,
});
const ids = (b: Json) =>
  (b.entry ?? [])
    .filter((e: Json) => e.search?.mode === 'match')
    .map((e: Json) => e.resource.id)
    .sort();

describeEachFhir('FHIR search and identifiers for integrators', (get) => {
  let h: FhirHarness;
  const made: Record<string, string> = {};
  test('setup: Observations with status, identifier, encounter', async () => {
    h = get();
    assert.equal(
      (await h.call('PUT', '/fhir/Patient/si-1', { resourceType: 'Patient', id: 'si-1' })).status,
      201,
    );
    // the encounter an Observation names must exist (a local reference resolves)
    const enc = await h.call('PUT', '/fhir/Encounter/e-1', {
      resourceType: 'Encounter',
      id: 'e-1',
      status: 'in-progress',
      class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'HH' },
      subject: { reference: 'Patient/si-1' },
    });
    assert.equal(enc.status, 201, enc.text);
    const cases: Record<string, Json> = {
      final: hr({
        identifier: [{ system: 'urn:lab', value: 'A-1' }],
        encounter: { reference: 'Encounter/e-1' },
      }),
      amended: hr({ status: 'amended', identifier: [{ system: 'urn:lab', value: 'A-2' }] }),
      prelim: hr({ status: 'preliminary', effectiveDateTime: '2025-04-02T10:00:00Z' }),
    };
    for (const [k, body] of Object.entries(cases)) {
      const r = await h.call('POST', '/fhir/Observation', body);
      assert.equal(r.status, 201, r.text);
      made[k] = r.json.id;
    }
  });

  test('a plain POST whose identifier matches a stored Observation creates (an amended resubmission is kept)', async () => {
    const again = await h.call(
      'POST',
      '/fhir/Observation',
      hr({ status: 'amended', identifier: [{ system: 'urn:lab', value: 'A-1' }] }),
    );
    assert.equal(again.status, 201, again.text);
    assert.notEqual(again.json.id, made['final']);
    made['resubmitted'] = again.json.id;
    const both = await h.call('GET', '/fhir/Observation?identifier=urn:lab|A-1');
    assert.deepEqual(ids(both.json), [made['final'], again.json.id].sort());
    // Matching on identifier only when asked: If-None-Exist.
    const cond = await h.call(
      'POST',
      '/fhir/Observation',
      hr({ identifier: [{ system: 'urn:lab', value: 'A-2' }] }),
      {
        'if-none-exist': 'identifier=urn:lab|A-2',
      },
    );
    assert.equal(cond.status, 200);
    assert.equal(cond.json.id, made['amended']);
  });

  test('Observation status, identifier (with and without system), encounter', async () => {
    assert.deepEqual(ids((await h.call('GET', '/fhir/Observation?patient=si-1&status=preliminary')).json), [
      made['prelim'],
    ]);
    assert.deepEqual(
      ids((await h.call('GET', '/fhir/Observation?patient=si-1&status=amended,preliminary')).json),
      [made['amended'], made['prelim'], made['resubmitted']].sort(),
    );
    assert.deepEqual(ids((await h.call('GET', '/fhir/Observation?identifier=A-2')).json), [made['amended']]);
    assert.deepEqual(ids((await h.call('GET', '/fhir/Observation?identifier=urn:other|A-2')).json), []);
    assert.deepEqual(ids((await h.call('GET', '/fhir/Observation?encounter=Encounter/e-1')).json), [
      made['final'],
    ]);
    assert.deepEqual(ids((await h.call('GET', '/fhir/Observation?encounter=e-1')).json), [made['final']]);
  });

  test('_total=accurate gives Bundle.total on a partial page; _total=none leaves it out', async () => {
    const page = await h.call('GET', '/fhir/Observation?patient=si-1&_count=1&_total=accurate');
    assert.equal(page.json.entry.length, 1);
    assert.equal(page.json.total, 4);
    const est = await h.call('GET', '/fhir/Observation?patient=si-1&_count=2&_total=estimate');
    assert.equal(est.json.total, 4);
    const none = await h.call('GET', '/fhir/Observation?patient=si-1&_total=none');
    assert.equal(none.json.total, undefined);
    const bad = await h.call('GET', '/fhir/Observation?_total=maybe');
    assert.equal(bad.status, 400);
  });

  test('_summary=true|text|data and _elements subset each resource (tagged SUBSETTED)', async () => {
    const q = `/fhir/Observation?_id=${made['final']}`;
    const one = async (extra: string) => (await h.call('GET', `${q}&${extra}`)).json.entry[0].resource;
    const summary = await one('_summary=true');
    assert.equal(summary.text, undefined);
    assert.deepEqual(summary.code, { coding: [{ system: 'http://loinc.org', code: '8867-4' }] });
    assert.ok(summary.meta.tag.some((t: Json) => t.code === 'SUBSETTED'));
    const text = await one('_summary=text');
    assert.ok(text.text);
    assert.equal(text.valueQuantity, undefined);
    assert.equal(text.status, 'final'); // mandatory
    const data = await one('_summary=data');
    assert.equal(data.text, undefined);
    assert.equal(data.valueQuantity.value, 72);
    const els = await one('_elements=valueQuantity');
    assert.deepEqual(Object.keys(els).sort(), [
      'code',
      'id',
      'meta',
      'resourceType',
      'status',
      'valueQuantity',
    ]);
    const plain = await one('_count=1');
    assert.equal(plain.meta.tag, undefined);
  });
});
