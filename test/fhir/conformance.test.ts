import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { validateFhir } from '../support/fhir-validator.ts';
import { ensureTargets, type FhirHarness, type Json, phdExample, r4Example, startFhir } from './harness.ts';

/** What a server may change: id, meta.versionId, meta.lastUpdated (and an emptied meta). */
function strip(r: Json): Json {
  const { id: _id, meta, ...rest } = r;
  const { versionId: _v, lastUpdated: _l, ...m } = meta ?? {};
  return Object.keys(m).length ? { ...rest, meta: m } : rest;
}

function assertValid(resource: Json, what: string) {
  const issues = validateFhir(resource);
  assert.deepEqual(issues, [], `${what} does not validate: ${issues.join('; ')}`);
}

const examples = [
  'Observation-heart-rate.json',
  'Observation-blood-pressure.json',
  'Observation-satO2.json',
  'Observation-body-temperature.json',
  'Observation-respiratory-rate.json',
  'Observation-body-height.json',
  'Observation-bmi.json',
  'Observation-vitals-panel.json',
  'Patient-example.json',
  'Device-example.json',
  'Bundle-bundle-transaction.json',
];

describe('FHIR conformance with official material', () => {
  let h: FhirHarness;
  before(async () => {
    h = await startFhir();
  });
  after(async () => h?.close());

  for (const name of examples) {
    test(`official R4 example ${name}: create, read back unchanged, validates`, async () => {
      const example = r4Example(name);
      await ensureTargets(h, example);
      const created = await h.call('POST', `/fhir/${example.resourceType}`, example);
      assert.equal(created.status, 201, created.text);
      const read = await h.call('GET', `/fhir/${example.resourceType}/${created.json.id}`);
      assert.equal(read.status, 200);
      assert.deepEqual(strip(read.json), strip(example));
      assertValid(read.json, name);
    });
  }

  test('PHD gateway upload bundle-example-1: urn:uuid resolved, conditional creates honoured', async () => {
    const bundle = phdExample('bundle-example-1.json');
    const first = await h.call('POST', '/fhir', bundle);
    assert.equal(first.status, 200, first.text);
    assert.equal(first.json.type, 'transaction-response');
    assert.deepEqual(
      first.json.entry.map((e: Json) => e.response.status),
      ['201 Created', '201 Created', '201 Created', '201 Created', '201 Created', '201 Created'],
    );
    assertValid(first.json, 'transaction-response');
    const ids = first.json.entry.map((e: Json) => e.resource.id);
    const [patientId, phdId, phgId] = ids;
    for (const e of first.json.entry) {
      const stored = await h.call('GET', `/fhir/${e.resource.resourceType}/${e.resource.id}`);
      assert.equal(stored.status, 200);
      assert.ok(
        !stored.text.includes('urn:uuid'),
        `${e.resource.resourceType}/${e.resource.id} keeps a urn:uuid reference`,
      );
      assertValid(stored.json, `stored ${e.resource.resourceType}`);
    }
    const obs = await h.call('GET', `/fhir/Observation?patient=${patientId}`);
    assert.ok(obs.json.entry.length >= 1);
    for (const e of obs.json.entry)
      assert.ok([`Device/${phdId}`, `Device/${phgId}`].includes(e.resource.device.reference));

    const again = await h.call('POST', '/fhir', bundle);
    assert.equal(again.status, 200, again.text);
    // The Devices' ifNoneExist match what the first upload stored: no duplicates, same ids.
    assert.deepEqual(
      again.json.entry.slice(1, 3).map((e: Json) => [e.response.status, e.resource.id]),
      [
        ['200 OK', phdId],
        ['200 OK', phgId],
      ],
    );
    // The IG example's Patient ifNoneExist names system urn:oid:2.9991.… while the Patient it
    // creates has urn:oid:2.999.1.… — the criteria can never match, so the spec says: create.
    assert.equal(again.json.entry[0].response.status, '201 Created');
    const criteria = await h.call(
      'GET',
      '/fhir/Patient?identifier=urn:oid:2.9991.2.3.4.5.6.7.8.10|sisansarahId',
    );
    assert.equal(criteria.json.entry.length, 0);
    const stored = await h.call(
      'GET',
      '/fhir/Patient?identifier=urn:oid:2.999.1.2.3.4.5.6.7.8.10|sisansarahId',
    );
    assert.equal(stored.json.entry.length, 2);
    // With criteria that do match, a re-upload creates no Patient.
    const fixed = structuredClone(bundle);
    fixed.entry[0].request.ifNoneExist = 'identifier=urn:oid:2.999.1.2.3.4.5.6.7.8.10|sisansarahId';
    const third = await h.call('POST', '/fhir', fixed);
    assert.equal(third.status, 412, 'two Patients match now: the conditional create must refuse');
    const onlyOne = {
      ...fixed,
      entry: fixed.entry.map((e: Json, i: number) =>
        i === 0 ? { ...e, request: { ...e.request, ifNoneExist: `_id=${patientId}` } } : e,
      ),
    };
    const fourth = await h.call('POST', '/fhir', onlyOne);
    assert.equal(fourth.json.entry[0].response.status, '200 OK');
    assert.equal(fourth.json.entry[0].resource.id, patientId);
  });

  test('PHD continuous oximeter bundle: 47 Observations stored and searchable by MDC code', async () => {
    const bundle = phdExample('bundle-continuousnonin.json');
    // Its Observations reference a Patient and a Device it does not carry: they must be stored.
    for (const name of [
      'patientExample-1.json',
      'phg-ecde3d4e58532d31.000000000000.json',
      'phd-74E8FFFEFF051C00.001C05FFE874.json',
    ]) {
      const r = phdExample(name);
      await ensureTargets(h, r);
      const put = await h.call('PUT', `/fhir/${r.resourceType}/${r.id}`, r);
      assert.ok(put.status < 300, put.text);
    }
    const res = await h.call('POST', '/fhir/', bundle);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.entry.length, 47);
    assert.ok(res.json.entry.every((e: Json) => /^20[01] /.test(e.response.status)));
    const spo2 = await h.call(
      'GET',
      '/fhir/Observation?patient=patientExample-1&code=urn:iso:std:iso:11073:10101|150456&_count=100',
    );
    assert.equal(spo2.status, 200);
    assert.ok(spo2.json.entry.length > 0);
    for (const e of spo2.json.entry) assertValid(e.resource, 'PHD Observation');
  });

  test('a failing transaction changes nothing and answers with its OperationOutcome', async () => {
    const before = await h.call('GET', '/fhir/Organization?_summary=count');
    const res = await h.call('POST', '/fhir', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          fullUrl: 'urn:uuid:11111111-1111-4111-8111-111111111111',
          resource: { resourceType: 'Organization', name: 'X' },
          request: { method: 'POST', url: 'Organization' },
        },
        {
          resource: { resourceType: 'Patient', id: 'nope' },
          request: { method: 'PUT', url: 'Patient/nope', ifMatch: 'W/"3"' },
        },
      ],
    });
    assert.equal(res.status, 412);
    assert.equal(res.json.resourceType, 'OperationOutcome');
    const after = await h.call('GET', '/fhir/Organization?_summary=count');
    assert.equal(after.json.total, before.json.total);
  });

  test('the official transaction Bundle as a batch: each entry answered on its own', async () => {
    const bundle = { ...r4Example('Bundle-bundle-transaction.json'), type: 'batch' };
    const res = await h.call('POST', '/fhir', bundle);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.type, 'batch-response');
    const statuses = res.json.entry.map((e: Json) => e.response.status.slice(0, 3));
    assert.equal(statuses.length, bundle.entry.length);
    assert.equal(statuses[0], '201');
    assert.ok(statuses.includes('412'), `expected the If-Match entry to fail with 412: ${statuses}`);
    assertValid(res.json, 'batch-response');
  });

  test('error codes are OperationOutcomes: 400, 401, 403, 404, 405, 410, 412', async () => {
    const cases: Array<[number, Promise<{ status: number; json: Json }>]> = [
      [400, h.call('GET', '/fhir/Patient?nonsense=1')],
      [404, h.call('GET', '/fhir/Patient/unknown')],
      [404, h.call('GET', '/fhir/Unicorn/1')],
      [405, h.call('POST', '/fhir/AuditEvent', { resourceType: 'AuditEvent' })],
      [
        400,
        h.call('POST', '/fhir/Observation', {
          resourceType: 'Observation',
          status: 'bogus',
          code: { text: 'x' },
        }),
      ],
      [400, h.call('POST', '/fhir/Patient', '{not json')],
      [400, h.call('PUT', '/fhir/Patient/a', { resourceType: 'Patient', id: 'b' })],
    ];
    for (const [status, p] of cases) {
      const r = await p;
      assert.equal(r.status, status, JSON.stringify(r.json));
      assert.equal(r.json.resourceType, 'OperationOutcome');
      assertValid(r.json, `OperationOutcome ${status}`);
    }
    const patientToken = await h.token({ roles: ['patient'], patientId: 'me' });
    const forbidden = await h.call('GET', '/fhir/Observation?patient=someone-else', undefined, {
      authorization: `Bearer ${patientToken}`,
    });
    assert.equal(forbidden.status, 403);
    const own = await h.call('GET', '/fhir/Observation?patient=me', undefined, {
      authorization: `Bearer ${patientToken}`,
    });
    assert.equal(own.status, 200);
  });

  test('metadata is a valid CapabilityStatement naming what is supported', async () => {
    const cs = await h.call('GET', '/fhir/metadata');
    assert.equal(cs.status, 200);
    assertValid(cs.json, 'CapabilityStatement');
    const obs = cs.json.rest[0].resource.find((r: Json) => r.type === 'Observation');
    for (const p of ['patient', 'subject', 'code', 'category', 'date', 'device', '_lastUpdated']) {
      assert.ok(
        obs.searchParam.some((s: Json) => s.name === p),
        p,
      );
    }
    const audit = cs.json.rest[0].resource.find((r: Json) => r.type === 'AuditEvent');
    assert.deepEqual(audit.interaction.map((i: Json) => i.code).sort(), [
      'history-instance',
      'history-type',
      'read',
      'search-type',
      'vread',
    ]);
  });
});
