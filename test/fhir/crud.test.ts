import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type FhirHarness, type Json, startFhir } from './harness.ts';

describe('FHIR read/create/update/delete/vread/history', () => {
  let h: FhirHarness;
  before(async () => {
    h = await startFhir();
  });
  after(async () => h?.close());

  test('Patient lifecycle with ETag, If-Match, history, vread, delete → 410', async () => {
    const created = await h.call('POST', '/fhir/Patient', {
      resourceType: 'Patient',
      name: [{ family: 'Chalmers', given: ['Peter'] }],
    });
    assert.equal(created.status, 201, created.text);
    const id = created.json.id as string;
    assert.equal(created.headers['etag'], 'W/"1"');
    assert.match(String(created.headers['location']), new RegExp(`/fhir/Patient/${id}/_history/1$`));
    assert.match(String(created.headers['content-type']), /application\/fhir\+json/);

    const read = await h.call('GET', `/fhir/Patient/${id}`);
    assert.equal(read.status, 200);
    assert.deepEqual(read.json.name, [{ family: 'Chalmers', given: ['Peter'] }]);
    assert.equal(read.json.meta.versionId, '1');

    const upd = await h.call(
      'PUT',
      `/fhir/Patient/${id}`,
      { ...read.json, gender: 'male' },
      { 'if-match': 'W/"1"' },
    );
    assert.equal(upd.status, 200, upd.text);
    assert.equal(upd.json.meta.versionId, '2');

    const stale = await h.call(
      'PUT',
      `/fhir/Patient/${id}`,
      { ...read.json, gender: 'female' },
      { 'if-match': 'W/"1"' },
    );
    assert.equal(stale.status, 412);
    assert.equal(stale.json.resourceType, 'OperationOutcome');

    const v1 = await h.call('GET', `/fhir/Patient/${id}/_history/1`);
    assert.equal(v1.status, 200);
    assert.equal(v1.json.gender, undefined);

    const hist = await h.call('GET', `/fhir/Patient/${id}/_history`);
    assert.equal(hist.json.type, 'history');
    assert.deepEqual(
      hist.json.entry.map((e: Json) => e.resource.meta.versionId),
      ['2', '1'],
    );

    const del = await h.call('DELETE', `/fhir/Patient/${id}`);
    assert.equal(del.status, 204);
    const gone = await h.call('GET', `/fhir/Patient/${id}`);
    assert.equal(gone.status, 410);
    assert.equal(gone.json.resourceType, 'OperationOutcome');
    const missing = await h.call('GET', '/fhir/Patient/does-not-exist');
    assert.equal(missing.status, 404);
    assert.equal(missing.json.issue[0].code, 'not-found');
  });

  test('Prefer return=minimal and return=OperationOutcome', async () => {
    const min = await h.call(
      'POST',
      '/fhir/Organization',
      { resourceType: 'Organization', name: 'Ward 7' },
      { prefer: 'return=minimal' },
    );
    assert.equal(min.status, 201);
    assert.equal(min.text, '');
    assert.ok(min.headers['location']);
    const oo = await h.call(
      'POST',
      '/fhir/Organization',
      { resourceType: 'Organization', name: 'Ward 8' },
      { prefer: 'return=OperationOutcome' },
    );
    assert.equal(oo.json.resourceType, 'OperationOutcome');
  });

  test('conditional create with If-None-Exist', async () => {
    const body = { resourceType: 'Patient', identifier: [{ system: 'urn:mrn', value: 'A-1' }] };
    const first = await h.call('POST', '/fhir/Patient', body, { 'if-none-exist': 'identifier=urn:mrn|A-1' });
    assert.equal(first.status, 201);
    const again = await h.call('POST', '/fhir/Patient', body, { 'if-none-exist': 'identifier=urn:mrn|A-1' });
    assert.equal(again.status, 200);
    assert.equal(again.json.id, first.json.id);
  });

  test('Observation create/read/update/vread/history/delete', async () => {
    const obs = {
      resourceType: 'Observation',
      status: 'final',
      category: [
        {
          coding: [
            { system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' },
          ],
        },
      ],
      code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }] },
      subject: { reference: 'Patient/p-obs' },
      effectiveDateTime: '2024-05-01T10:00:00Z',
      valueQuantity: { value: 72, unit: 'beats/minute', system: 'http://unitsofmeasure.org', code: '/min' },
    };
    await h.call('PUT', '/fhir/Patient/p-obs', { resourceType: 'Patient', id: 'p-obs' });
    const c = await h.call('POST', '/fhir/Observation', obs);
    assert.equal(c.status, 201, c.text);
    const id = c.json.id;
    const u = await h.call(
      'PUT',
      `/fhir/Observation/${id}`,
      { ...obs, id, valueQuantity: { ...obs.valueQuantity, value: 75 } },
      { 'if-match': 'W/"1"' },
    );
    assert.equal(u.status, 200, u.text);
    assert.equal(u.json.meta.versionId, '2');
    const v1 = await h.call('GET', `/fhir/Observation/${id}/_history/1`);
    assert.equal(v1.json.valueQuantity.value, 72);
    const hist = await h.call('GET', `/fhir/Observation/${id}/_history`);
    assert.equal(hist.json.entry.length, 2);
    assert.equal((await h.call('DELETE', `/fhir/Observation/${id}`)).status, 204);
    assert.equal((await h.call('GET', `/fhir/Observation/${id}`)).status, 410);
    const bad = await h.call('POST', '/fhir/Observation', { resourceType: 'Observation', status: 'final' });
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.json.issue[0].expression, ['Observation.code']);
  });

  test('authentication and scopes', async () => {
    const anon = await h.vigil.app.inject({ method: 'GET', url: '/fhir/Patient' });
    assert.equal(anon.statusCode, 401);
    assert.equal(JSON.parse(anon.body).resourceType, 'OperationOutcome');
    const readOnly = await h.token({
      kind: 'integration',
      id: 'ehr',
      roles: ['integration'],
      scopes: ['system/Observation.read'],
    });
    const denied = await h.call('GET', '/fhir/Patient', undefined, { authorization: `Bearer ${readOnly}` });
    assert.equal(denied.status, 403);
    const allowed = await h.call('GET', '/fhir/Observation?patient=x', undefined, {
      authorization: `Bearer ${readOnly}`,
    });
    assert.equal(allowed.status, 200);
    const write = await h.call('POST', '/fhir/Observation', {}, { authorization: `Bearer ${readOnly}` });
    assert.equal(write.status, 403);
  });
});
