import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type FhirHarness, startFhir } from './harness.ts';

describe('FHIR bulk $export', () => {
  let h: FhirHarness;
  before(async () => {
    h = await startFhir();
  });
  after(async () => h?.close());

  test('system export: kick-off 202, status, manifest, authenticated NDJSON download', async () => {
    const p = await h.call('POST', '/fhir/Patient', {
      resourceType: 'Patient',
      name: [{ family: 'Export' }],
    });
    await h.call('POST', '/fhir/Observation', {
      resourceType: 'Observation',
      status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
      subject: { reference: `Patient/${p.json.id}` },
      effectiveDateTime: '2024-01-01T00:00:00Z',
    });
    const kick = await h.call('GET', '/fhir/$export?_type=Patient,Observation', undefined, {
      prefer: 'respond-async',
    });
    assert.equal(kick.status, 202, kick.text);
    const status = String(kick.headers['content-location']).replace(/^https?:\/\/[^/]+/, '');
    let s = await h.call('GET', status);
    for (let i = 0; i < 100 && s.status === 202; i++) {
      await new Promise((r) => setTimeout(r, 50));
      s = await h.call('GET', status);
    }
    assert.equal(s.status, 200, s.text);
    const types = s.json.output.map((o: { type: string }) => o.type).sort();
    assert.deepEqual(types, ['Observation', 'Patient']);
    const url = String(s.json.output[0].url).replace(/^https?:\/\/[^/]+/, '');
    const file = await h.call('GET', url);
    assert.equal(file.status, 200);
    const lines = file.text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.ok(lines.length >= 1 && lines.every((r) => typeof r.resourceType === 'string'));
    const anon = await h.vigil.app.inject({ method: 'GET', url });
    assert.equal(anon.statusCode, 401);
  });
});
