import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type InProcess, startInProcess } from '../support/in-process.ts';

describe('unknown paths: API 404s, the dashboard only for its own paths', () => {
  let t: InProcess;
  before(async () => {
    t = await startInProcess();
  });
  after(async () => t?.stop());

  for (const url of [
    '/api/v1/nope',
    '/api/nope',
    '/ingest/nope',
    '/nightscout/nope',
    '/lorawan/nope',
    '/.well-known/nope',
    '/oauth/nope',
    '/metrics/nope',
  ]) {
    it(`GET ${url} → JSON 404 with a code`, async () => {
      const r = await t.inject({ method: 'GET', url });
      assert.equal(r.statusCode, 404);
      assert.match(String(r.headers['content-type']), /application\/json/);
      assert.equal(JSON.parse(r.body).error.code, 'VIGIL_ERR_API_NOT_FOUND');
    });
  }

  it('what no route matches under /fhir (a method FHIR does not serve) is an OperationOutcome 404', async () => {
    // FHIR's own catch-all answers its paths (fhir-strict's handlers); an unserved method comes here
    const r = await t.inject({ method: 'PROPFIND' as 'GET', url: '/fhir/Patient' });
    assert.equal(r.statusCode, 404);
    const body = JSON.parse(r.body);
    assert.equal(body.resourceType, 'OperationOutcome');
    assert.equal(body.issue[0].code, 'not-found');
  });

  it('dashboard paths still get the app (SPA fallback)', async () => {
    const r = await t.inject({ method: 'GET', url: '/patients/some-id' });
    assert.equal(r.statusCode, 200);
    assert.match(String(r.headers['content-type']), /text\/html/);
  });

  it('a registered route under a reserved prefix wins over the 404', async () => {
    const r = await t.inject({ method: 'GET', url: '/health' });
    assert.equal(r.statusCode, 200);
  });
});
