import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newId } from '../../src/core/ids.ts';
import { describeEachFhir, type FhirHarness, type Json } from './harness.ts';

const LOINC = 'http://loinc.org';
const UCUM = 'http://unitsofmeasure.org';

const obs = (patient: string, code: string, value: number, unit: string) => ({
  resourceType: 'Observation',
  status: 'final',
  code: { coding: [{ system: LOINC, code }] },
  subject: { reference: `Patient/${patient}` },
  effectiveDateTime: '2025-06-01T10:00:00Z',
  valueQuantity: { value, unit, system: UCUM, code: unit },
});

describeEachFhir('FHIR chained search, _has, _include and _revinclude', (get) => {
  let h: FhirHarness;
  const tag = newId().slice(-8);
  const p1 = `ch1-${tag}`;
  const p2 = `ch2-${tag}`;
  const pr = `chpr-${tag}`;
  const id: Record<string, string> = {};
  const byMode = (b: Json, mode: string) =>
    (b.entry ?? [])
      .filter((e: Json) => e.search?.mode === mode)
      .map((e: Json) => `${e.resource.resourceType}/${e.resource.id}`)
      .sort();
  const search = async (q: string, token?: string, headers: Record<string, string> = {}) => {
    const r = await h.call('GET', `/fhir/${q}`, undefined, {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...headers,
    });
    assert.equal(r.status, 200, `${q}: ${r.text}`);
    return r.json;
  };
  const matches = async (q: string, token?: string) => byMode(await search(q, token), 'match');

  test('setup: two patients, their Observations, a practitioner and a care team', async () => {
    h = get();
    const put = async (type: string, rid: string, body: Json) => {
      const r = await h.call('PUT', `/fhir/${type}/${rid}`, { resourceType: type, id: rid, ...body });
      assert.equal(r.status, 201, r.text);
    };
    await put('Patient', p1, {
      identifier: [{ system: 'urn:mrn', value: `C-1-${tag}` }],
      name: [{ family: 'Chainfirst' }],
    });
    await put('Patient', p2, {
      identifier: [{ system: 'urn:mrn', value: `C-2-${tag}` }],
      name: [{ family: 'Chainsecond' }],
    });
    await put('Practitioner', pr, { name: [{ family: 'Carer' }] });
    await put('CareTeam', `ct-${tag}`, {
      status: 'active',
      subject: { reference: `Patient/${p1}` },
      participant: [{ member: { reference: `Practitioner/${pr}` } }],
    });
    const written: Record<string, Json> = {
      hr1: obs(p1, '8867-4', 120, '/min'),
      spo2: obs(p2, '2708-6', 97, '%'),
      hr2: obs(p2, '8867-4', 70, '/min'),
    };
    for (const [k, body] of Object.entries(written)) {
      const r = await h.call('POST', '/fhir/Observation', body);
      assert.equal(r.status, 201, r.text);
      id[k] = `Observation/${r.json.id}`;
    }
  });

  test('chaining: subject.identifier, patient.identifier, subject:Patient.name, subject.name:exact', async () => {
    assert.deepEqual(await matches(`Observation?subject.identifier=urn:mrn|C-1-${tag}`), [id['hr1']]);
    assert.deepEqual(
      await matches(`Observation?patient.identifier=C-2-${tag}`),
      [id['hr2'], id['spo2']].sort(),
    );
    assert.deepEqual(await matches(`Observation?subject:Patient.name=chainfirst`), [id['hr1']]);
    assert.deepEqual(await matches(`Observation?subject.name:exact=Chainsecond&code=8867-4`), [id['hr2']]);
    assert.deepEqual(await matches(`Observation?subject.name:exact=chainsecond`), []);
    assert.deepEqual(await matches(`Observation?subject.identifier=urn:mrn|nobody`), []);
    // the same through POST [type]/_search (form body)
    const post = await h.call('POST', '/fhir/Observation/_search', `subject.identifier=urn:mrn|C-1-${tag}`, {
      'content-type': 'application/x-www-form-urlencoded',
    });
    assert.equal(post.status, 200, post.text);
    assert.deepEqual(byMode(post.json, 'match'), [id['hr1']]);
    // a chain on a generic type
    assert.deepEqual(await matches(`CareTeam?participant:Practitioner.name=carer`), [`CareTeam/ct-${tag}`]);
  });

  test('_has: patients by their Observations (code, value) and care teams', async () => {
    const both = [`Patient/${p1}`, `Patient/${p2}`].sort();
    const scope = `_id=${p1},${p2}`;
    assert.deepEqual(await matches(`Patient?${scope}&_has:Observation:subject:code=8867-4`), both);
    assert.deepEqual(await matches(`Patient?${scope}&_has:Observation:patient:code=2708-6`), [
      `Patient/${p2}`,
    ]);
    assert.deepEqual(
      await matches(`Patient?${scope}&_has:Observation:subject:code-value-quantity=8867-4$gt100`),
      [`Patient/${p1}`],
    );
    assert.deepEqual(await matches(`Patient?${scope}&_has:CareTeam:patient:status=active`), [
      `Patient/${p1}`,
    ]);
    assert.deepEqual(await matches(`Patient?_has:Observation:subject:code=0000-0`), []);
  });

  test('_include and _revinclude add the referenced and the referring resources', async () => {
    const rev = await search(
      `Patient?_id=${p1}&_revinclude=Observation:subject&_revinclude=CareTeam:patient`,
    );
    assert.deepEqual(byMode(rev, 'match'), [`Patient/${p1}`]);
    assert.deepEqual(byMode(rev, 'include'), [id['hr1'], `CareTeam/ct-${tag}`].sort());
    const inc = await search(
      `CareTeam?_id=ct-${tag}&_include=CareTeam:participant&_include=CareTeam:patient`,
    );
    assert.deepEqual(byMode(inc, 'include'), [`Patient/${p1}`, `Practitioner/${pr}`].sort());
    const obsInc = await search(`Observation?patient=${p2}&_include=Observation:subject`);
    assert.deepEqual(byMode(obsInc, 'include'), [`Patient/${p2}`]);
    const prRev = await search(`Practitioner?_id=${pr}&_revinclude=CareTeam:participant`);
    assert.deepEqual(byMode(prRev, 'include'), [`CareTeam/ct-${tag}`]);
  });

  test('chains, _has and _revinclude keep the access policy (a patient sees only their own)', async () => {
    const own = await h.token({ roles: ['patient'], patientId: p2 });
    // the chained Patient search runs under the same access: p1 is not visible, so nothing matches
    assert.deepEqual(await matches(`Observation?subject.identifier=urn:mrn|C-1-${tag}`, own), []);
    assert.deepEqual(
      await matches(`Observation?subject.identifier=urn:mrn|C-2-${tag}`, own),
      [id['hr2'], id['spo2']].sort(),
    );
    // p1 has the high heart rate, but the patient's own Observations are the only ones searched
    assert.deepEqual(
      await matches(`Patient?_has:Observation:subject:code-value-quantity=8867-4$gt100`, own),
      [],
    );
    const rev = await search(`Patient?_id=${p2}&_revinclude=Observation:subject`, own);
    assert.deepEqual(byMode(rev, 'include'), [id['hr2'], id['spo2']].sort());
  });

  test('beyond one level, unknown targets and unsupported includes: coded 400s (lenient: ignored, reported)', async () => {
    const cases: Array<[string, RegExp]> = [
      [`Observation?subject.organization.name=x`, /one level/],
      [`Observation?subject:Organization.name=x`, /not a type/],
      [`Observation?subject.colour=blue`, /colour/],
      [`Observation?code.text=x`, /not a reference/],
      [`Patient?_has:Observation:subject:_has:Observation:subject:code=x`, /one level/],
      [`Patient?_has:Observation:device:code=x`, /refers to Patient/],
      [`Patient?_has:Nothing:subject:code=x`, /not a supported resource type/],
      [`Patient?_revinclude=Observation:device`, /_revinclude/],
      [`Observation?_include=Observation:code`, /_include/],
      [`Observation?_include:iterate=Observation:subject`, /iterate/],
    ];
    for (const [q, re] of cases) {
      const strict = await h.call('GET', `/fhir/${q}`);
      assert.equal(strict.status, 400, `${q}: ${strict.text}`);
      assert.equal(strict.json.resourceType, 'OperationOutcome');
      assert.match(strict.json.issue[0].diagnostics, re, q);
      assert.equal(strict.json.issue[0].details.coding[0].code, 'VIGIL_ERR_FHIR_NOT_SUPPORTED', q);
      const lenient = await h.call('GET', `/fhir/${q}`, undefined, { prefer: 'handling=lenient' });
      assert.equal(lenient.status, 200, `${q}: ${lenient.text}`);
      assert.ok(
        lenient.json.entry.some((e: Json) => e.search?.mode === 'outcome'),
        q,
      );
    }
    // an unsupported modifier inside a chain keeps its code; lenient drops the whole chain
    const inner = await h.call('GET', '/fhir/Observation?subject.name:below=x');
    assert.equal(inner.status, 400);
    assert.equal(inner.json.issue[0].details.coding[0].code, 'VIGIL_ERR_FHIR_NOT_SUPPORTED');
    assert.match(inner.json.issue[0].diagnostics, /subject\.name:below/);
    const dropped = await h.call('GET', `/fhir/Observation?patient=${p2}&subject.name:below=x`, undefined, {
      prefer: 'handling=lenient',
    });
    assert.equal(dropped.status, 200, dropped.text);
    assert.deepEqual(byMode(dropped.json, 'match'), [id['hr2'], id['spo2']].sort());
    assert.ok(dropped.json.entry.some((e: Json) => e.search?.mode === 'outcome'));
    // conditional criteria take plain parameters only: a chain is refused, never ignored
    const cond = await h.call('POST', '/fhir/Observation', obs(p1, '8867-4', 61, '/min'), {
      'if-none-exist': `code=8867-4&subject.identifier=urn:mrn|C-1-${tag}`,
    });
    assert.equal(cond.status, 400, cond.text);
    assert.equal(cond.json.issue[0].details.coding[0].code, 'VIGIL_ERR_FHIR_NOT_SUPPORTED');
    // a chained value that is itself malformed is a 400 naming the whole parameter
    const bad = await h.call('GET', '/fhir/Observation?subject.birthdate=notadate');
    assert.equal(bad.status, 400);
    assert.match(bad.json.issue[0].diagnostics, /subject\.birthdate/);
  });
});
