import assert from 'node:assert/strict';
import { request } from 'node:http';
import { test } from 'node:test';
import { validateFhir } from '../support/fhir-validator.ts';
import { describeEachFhir, type FhirHarness, type Json } from './harness.ts';

const isOutcome = (r: { json: Json }) => {
  assert.equal(r.json?.resourceType, 'OperationOutcome');
  assert.deepEqual(validateFhir(r.json), []);
};

describeEachFhir('FHIR interactions', (get) => {
  let h: FhirHarness;
  let pid: string;
  test('setup', async () => {
    h = get();
    const p = await h.call('PUT', '/fhir/Patient/int-p1', {
      resourceType: 'Patient',
      id: 'int-p1',
      name: [{ family: 'Okafor' }],
    });
    assert.equal(p.status, 201, p.text);
    pid = 'int-p1';
  });

  test('PATCH with a JSON Patch: applied, validated, versioned; If-Match honoured', async () => {
    const r = await h.call(
      'PATCH',
      `/fhir/Patient/${pid}`,
      JSON.stringify([{ op: 'add', path: '/gender', value: 'female' }]),
      {
        'content-type': 'application/json-patch+json',
        'if-match': 'W/"1"',
      },
    );
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.gender, 'female');
    assert.equal(r.json.meta.versionId, '2');
    const stale = await h.call('PATCH', `/fhir/Patient/${pid}`, '[{"op":"remove","path":"/gender"}]', {
      'content-type': 'application/json-patch+json',
      'if-match': 'W/"1"',
    });
    assert.equal(stale.status, 412);
    isOutcome(stale);
    const invalid = await h.call(
      'PATCH',
      `/fhir/Patient/${pid}`,
      '[{"op":"replace","path":"/gender","value":"F"}]',
      {
        'content-type': 'application/json-patch+json',
      },
    );
    assert.equal(invalid.status, 400, invalid.text);
    assert.deepEqual(invalid.json.issue[0].expression, ['Patient.gender']);
    const failedTest = await h.call(
      'PATCH',
      `/fhir/Patient/${pid}`,
      '[{"op":"test","path":"/gender","value":"male"}]',
      {
        'content-type': 'application/json-patch+json',
      },
    );
    assert.equal(failedTest.status, 422);
    isOutcome(failedTest);
    const read = await h.call('GET', `/fhir/Patient/${pid}`);
    assert.equal(read.json.gender, 'female');
    assert.equal(read.json.meta.versionId, '2');
    const idChange = await h.call(
      'PATCH',
      `/fhir/Patient/${pid}`,
      '[{"op":"replace","path":"/id","value":"other"}]',
      {
        'content-type': 'application/json-patch+json',
      },
    );
    assert.equal(idChange.status, 422);
  });

  test('PATCH of a missing resource is a 404 OperationOutcome; a malformed patch a 400', async () => {
    const missing = await h.call('PATCH', '/fhir/Patient/no-such', '[]', {
      'content-type': 'application/json-patch+json',
    });
    assert.equal(missing.status, 404);
    isOutcome(missing);
    const malformed = await h.call('PATCH', `/fhir/Patient/${pid}`, '[{"op":"jump"}]', {
      'content-type': 'application/json-patch+json',
    });
    assert.equal(malformed.status, 400);
    isOutcome(malformed);
  });

  test('PATCH inside a transaction (a Binary carrying the JSON Patch)', async () => {
    const patch = Buffer.from(JSON.stringify([{ op: 'add', path: '/active', value: true }])).toString(
      'base64',
    );
    const r = await h.call('POST', '/fhir', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          resource: { resourceType: 'Binary', contentType: 'application/json-patch+json', data: patch },
          request: { method: 'PATCH', url: `Patient/${pid}` },
        },
      ],
    });
    assert.equal(r.status, 200, r.text);
    assert.equal((await h.call('GET', `/fhir/Patient/${pid}`)).json.active, true);
  });

  test('$validate: issues without storing; All OK for a valid resource', async () => {
    const before = await h.call('GET', '/fhir/Patient?_summary=count');
    const bad = await h.call('POST', '/fhir/Patient/$validate', {
      resourceType: 'Patient',
      gender: 'F',
      foo: 1,
    });
    assert.equal(bad.status, 200, bad.text);
    const exprs = bad.json.issue.flatMap((i: Json) => i.expression ?? []);
    assert.ok(exprs.includes('Patient.gender') && exprs.includes('Patient.foo'), bad.text);
    const ok = await h.call('POST', '/fhir/Patient/$validate', {
      resourceType: 'Parameters',
      parameter: [{ name: 'resource', resource: { resourceType: 'Patient', gender: 'male' } }],
    });
    assert.equal(ok.status, 200);
    assert.deepEqual(
      ok.json.issue.map((i: Json) => i.severity),
      ['information'],
    );
    const after = await h.call('GET', '/fhir/Patient?_summary=count');
    assert.equal(after.json.total, before.json.total);
  });

  test('Patient/$everything with _type and _since', async () => {
    const o = await h.call('POST', '/fhir/Observation', {
      resourceType: 'Observation',
      status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
      subject: { reference: `Patient/${pid}` },
      effectiveDateTime: '2025-03-01T10:00:00Z',
      valueQuantity: { value: 70, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
    });
    assert.equal(o.status, 201, o.text);
    const team = await h.call('POST', '/fhir/CareTeam', {
      resourceType: 'CareTeam',
      status: 'active',
      subject: { reference: `Patient/${pid}` },
    });
    assert.equal(team.status, 201, team.text);
    const all = await h.call('GET', `/fhir/Patient/${pid}/$everything`);
    assert.equal(all.status, 200, all.text);
    const kinds = all.json.entry.map((e: Json) => `${e.resource.resourceType}/${e.resource.id}`).sort();
    assert.deepEqual(
      kinds,
      [`CareTeam/${team.json.id}`, `Observation/${o.json.id}`, `Patient/${pid}`].sort(),
    );
    assert.equal(all.json.total, 3);
    const onlyObs = await h.call('GET', `/fhir/Patient/${pid}/$everything?_type=Observation`);
    assert.deepEqual(
      onlyObs.json.entry.map((e: Json) => e.resource.resourceType),
      ['Observation'],
    );
    const future = await h.call('GET', `/fhir/Patient/${pid}/$everything?_since=2999-01-01T00:00:00Z`);
    assert.equal(future.json.entry.length, 0);
    const since = await h.call(
      'GET',
      `/fhir/Patient/${pid}/$everything?_since=${encodeURIComponent(team.json.meta.lastUpdated)}`,
    );
    assert.ok(since.json.entry.some((e: Json) => e.resource.id === team.json.id));
    const bogusType = await h.call('GET', `/fhir/Patient/${pid}/$everything?_type=Unicorn`);
    assert.equal(bogusType.status, 400);
    const nobody = await h.call('GET', '/fhir/Patient/nobody/$everything');
    assert.equal(nobody.status, 404);
    isOutcome(nobody);
  });

  test('system and type _history', async () => {
    const sys = await h.call('GET', '/fhir/_history?_count=500');
    assert.equal(sys.status, 200, sys.text);
    assert.equal(sys.json.type, 'history');
    const urls = sys.json.entry.map((e: Json) => e.fullUrl);
    assert.ok(urls.some((u: string) => u.endsWith(`/Patient/${pid}`)));
    assert.ok(urls.some((u: string) => /\/CareTeam\//.test(u)));
    const times = sys.json.entry.map((e: Json) => e.response.lastModified);
    assert.deepEqual(times, [...times].sort().reverse());
    const type = await h.call('GET', '/fhir/Patient/_history');
    assert.equal(type.status, 200);
    assert.ok(type.json.entry.every((e: Json) => e.fullUrl.includes('/Patient/')));
    const clinician = await h.token({ roles: ['clinician'], practitionerId: 'doc-hist' });
    const refused = await h.call('GET', '/fhir/_history', undefined, {
      authorization: `Bearer ${clinician}`,
    });
    assert.equal(refused.status, 403);
    isOutcome(refused);
  });

  test('XML asked for → 406 OperationOutcome (Accept and _format)', async () => {
    const a = await h.call('GET', `/fhir/Patient/${pid}`, undefined, { accept: 'application/fhir+xml' });
    assert.equal(a.status, 406);
    isOutcome(a);
    const f = await h.call('GET', `/fhir/Patient/${pid}?_format=xml`);
    assert.equal(f.status, 406);
    isOutcome(f);
    const json = await h.call('GET', `/fhir/Patient/${pid}?_format=json`, undefined, {
      accept: 'application/fhir+json',
    });
    assert.equal(json.status, 200);
  });

  test('every error under /fhir is an OperationOutcome: unknown paths, bad ids, long URLs', async () => {
    for (const path of [
      '/fhir/Unicorn',
      '/fhir/Patient/a/b/c/d/e',
      '/fhir/Patient/%00',
      '/fhir/Patient/%E0%A4%A',
      '/fhir/Patient/$nope',
    ]) {
      const r = await h.call('GET', path);
      assert.ok(r.status >= 400 && r.status < 500, `${path}: ${r.status}`);
      isOutcome(r);
    }
    const long = await h.call('GET', `/fhir/Patient?name=${'a'.repeat(20_000)}`);
    assert.equal(long.status, 414);
    isOutcome(long);
    // Over a socket, Node refuses a 20k request target before routing: still an OperationOutcome.
    const url = new URL(h.vigil.httpUrl);
    const raw = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          path: `/fhir/Patient?name=${'a'.repeat(20_000)}`,
          method: 'GET',
        },
        (res) => {
          let body = '';
          res.on('data', (c) => {
            body += c;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('error', reject);
      req.end();
    });
    assert.equal(raw.status, 431);
    isOutcome({ json: JSON.parse(raw.body) });
  });
});
