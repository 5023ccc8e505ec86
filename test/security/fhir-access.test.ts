import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { call, type Harness, type Reply, seedWorld, startSecured, type World } from './support.ts';

/**
 * The FHIR API under the one access policy: care teams for clinicians and nurses, the own record
 * for patients, scope AND consent for integrations — on reads, searches (results and counts),
 * history, $lastn and bulk export. World: `own` is in the clinician's and nurse's care team and
 * permits sharing; `other` is in nobody's team here and refuses sharing with integrations.
 */

// biome-ignore lint/suspicious/noExplicitAny: tests walk FHIR JSON
type Json = any;

describe('FHIR API access (care teams, own record, consent)', () => {
  let h: Harness;
  let w: World;

  before(async () => {
    h = await startSecured();
    w = await seedWorld(h.vigil);
    // The seeded care team again through FHIR, so that it carries its search index.
    const team = await fhir('PUT', '/fhir/CareTeam/team-own', w.tokens.admin, {
      resourceType: 'CareTeam',
      id: 'team-own',
      status: 'active',
      subject: { reference: `Patient/${w.own}` },
      participant: [
        { member: { reference: 'Practitioner/pr-clin' } },
        { member: { reference: 'Practitioner/pr-nurse' } },
      ],
    });
    assert.equal(team.status, 200, team.body);
    // A second reading for each patient, written through FHIR by the admin.
    for (const p of [w.own, w.other]) {
      const r = await fhir('POST', '/fhir/Observation', w.tokens.admin, {
        resourceType: 'Observation',
        status: 'final',
        code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
        subject: { reference: `Patient/${p}` },
        effectiveDateTime: '2026-01-02T10:00:00Z',
        valueQuantity: { value: 71, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
      });
      assert.equal(r.status, 201, r.body);
    }
  });
  after(async () => h?.close());

  async function fhir(method: string, path: string, token: string, body?: unknown): Promise<Reply> {
    return call(h.vigil, method, path, {
      token,
      ...(body !== undefined
        ? { body: JSON.stringify(body), headers: { 'content-type': 'application/fhir+json' } }
        : {}),
    });
  }
  const entries = (r: Reply): Json[] => ((r.json() as Json).entry ?? []).filter((e: Json) => e.resource);
  const patientsIn = (r: Reply): Set<string> =>
    new Set(
      entries(r).map((e: Json) =>
        e.resource.resourceType === 'Patient'
          ? e.resource.id
          : String(e.resource.subject?.reference ?? e.resource.patient?.reference ?? '').replace(
              'Patient/',
              '',
            ),
      ),
    );
  const total = async (path: string, token: string): Promise<number> => {
    const r = await fhir('GET', `${path}${path.includes('?') ? '&' : '?'}_summary=count`, token);
    assert.equal(r.status, 200, r.body);
    return (r.json() as Json).total;
  };
  const refusal = (r: Reply) => {
    assert.equal(r.status, 403, r.body);
    assert.equal((r.json() as Json).issue[0].code, 'forbidden');
  };
  async function consent(patient: string, decision: 'permit' | 'deny'): Promise<void> {
    const r = await call(h.vigil, 'POST', `/api/v1/patients/${patient}/consents`, {
      token: w.tokens.admin,
      body: { purpose: 'integration-sharing', decision },
    });
    assert.equal(r.status, 201, r.body);
  }

  test('a clinician outside the care team gets 403 on read and sees nothing of that patient in searches', async () => {
    for (const token of [w.tokens.clinician, w.tokens.nurse]) {
      refusal(await fhir('GET', `/fhir/Patient/${w.other}`, token));
      refusal(await fhir('GET', `/fhir/Observation/${w.readings.other}`, token));
      refusal(await fhir('GET', `/fhir/Observation/${w.readings.other}/_history/1`, token));
      refusal(await fhir('GET', `/fhir/Observation/${w.readings.other}/_history`, token));
      refusal(await fhir('GET', `/fhir/Observation?patient=${w.other}`, token));
      refusal(await fhir('GET', `/fhir/Observation/$lastn?patient=${w.other}`, token));
      refusal(await fhir('GET', '/fhir/Observation/_history', token));
      // Their own patient: read and search.
      assert.equal((await fhir('GET', `/fhir/Observation/${w.readings.own}`, token)).status, 200);
      assert.equal((await fhir('GET', `/fhir/Patient/${w.own}`, token)).status, 200);
      for (const type of ['Observation', 'Patient', 'CareTeam', 'Device', 'Consent']) {
        const r = await fhir('GET', `/fhir/${type}?_count=100`, token);
        assert.equal(r.status, 200, r.body);
        assert.ok(!patientsIn(r).has(w.other), `${type} search shows nothing of the other patient`);
        if (type !== 'Consent') assert.ok(patientsIn(r).has(w.own), `${type} search shows the own patient`);
      }
      // Counts never include other patients' data.
      assert.equal(await total('/fhir/Patient', token), 1);
      assert.equal(
        await total('/fhir/Observation', token),
        await total(`/fhir/Observation?patient=${w.own}`, w.tokens.admin),
      );
      assert.ok(
        (await total('/fhir/Observation', w.tokens.admin)) > (await total('/fhir/Observation', token)),
      );
      const obs = await fhir('GET', '/fhir/Observation?_count=100', token);
      assert.ok(!entries(obs).some((e: Json) => e.resource.id === w.readings.other));
      assert.ok(entries(obs).some((e: Json) => e.resource.id === w.readings.own));
    }
  });

  test('care-team staff write for their patients only', async () => {
    const obs = (p: string) => ({
      resourceType: 'Observation',
      status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
      subject: { reference: `Patient/${p}` },
      effectiveDateTime: '2026-01-03T10:00:00Z',
      valueQuantity: { value: 70, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
    });
    assert.equal((await fhir('POST', '/fhir/Observation', w.tokens.clinician, obs(w.own))).status, 201);
    refusal(await fhir('POST', '/fhir/Observation', w.tokens.clinician, obs(w.other)));
    // Moving an own patient's resource to another patient is a write in the other's record too.
    const created = await fhir('POST', '/fhir/Observation', w.tokens.nurse, obs(w.own));
    const id = (created.json() as Json).id;
    const moved = { ...(created.json() as Json), subject: { reference: `Patient/${w.other}` } };
    refusal(await fhir('PUT', `/fhir/Observation/${id}`, w.tokens.nurse, moved));
    refusal(
      await fhir('PUT', `/fhir/Patient/${w.other}`, w.tokens.nurse, { resourceType: 'Patient', id: w.other }),
    );
    // A conditional create must not hand over another patient's resource that matches.
    const team = (p: string, value: string) => ({
      resourceType: 'CareTeam',
      status: 'proposed',
      identifier: [{ system: 'urn:test', value }],
      subject: { reference: `Patient/${p}` },
    });
    assert.equal((await fhir('POST', '/fhir/CareTeam', w.tokens.admin, team(w.other, 'x-1'))).status, 201);
    const probe = await call(h.vigil, 'POST', '/fhir/CareTeam', {
      token: w.tokens.clinician,
      body: JSON.stringify(team(w.own, 'x-2')),
      headers: { 'content-type': 'application/fhir+json', 'if-none-exist': 'identifier=urn:test|x-1' },
    });
    refusal(probe);
  });

  test('a patient reads only their own Observations', async () => {
    const t = w.tokens.patient;
    assert.equal((await fhir('GET', `/fhir/Observation/${w.readings.own}`, t)).status, 200);
    refusal(await fhir('GET', `/fhir/Observation/${w.readings.other}`, t));
    refusal(await fhir('GET', `/fhir/Observation?patient=${w.other}`, t));
    refusal(await fhir('GET', `/fhir/Patient/${w.other}`, t));
    for (const path of ['/fhir/Observation?_count=100', `/fhir/Observation?patient=${w.own}&_count=100`]) {
      const r = await fhir('GET', path, t);
      assert.equal(r.status, 200, r.body);
      assert.deepEqual([...patientsIn(r)], [w.own], path);
      assert.ok(entries(r).length >= 2, 'the ingested and the FHIR-written reading');
    }
    assert.equal(
      await total('/fhir/Observation', t),
      await total(`/fhir/Observation?patient=${w.own}`, w.tokens.admin),
    );
    // Read only.
    refusal(
      await fhir('POST', '/fhir/Observation', t, {
        resourceType: 'Observation',
        status: 'final',
        code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
        subject: { reference: `Patient/${w.own}` },
      }),
    );
  });

  test('an integration reaches a patient only with consent: permit applies at once, and so does revocation', async () => {
    const t = w.tokens.integration;
    const seesOther = async () => {
      const read = await fhir('GET', `/fhir/Observation/${w.readings.other}`, t);
      const search = await fhir('GET', '/fhir/Observation?_count=100', t);
      assert.equal(search.status, 200, search.body);
      const inSearch = entries(search).some((e: Json) => e.resource.id === w.readings.other);
      const patients = await fhir('GET', '/fhir/Patient?_count=100', t);
      const inPatients = patientsIn(patients).has(w.other);
      assert.ok(
        entries(search).some((e: Json) => e.resource.id === w.readings.own),
        'own always shared',
      );
      assert.equal(inSearch, read.status === 200, 'read and search agree');
      assert.equal(inPatients, read.status === 200, 'Patient search agrees');
      if (read.status !== 200) refusal(read);
      return read.status === 200;
    };
    // The seeded refusal.
    assert.equal(await seesOther(), false);
    refusal(await fhir('GET', `/fhir/Observation?patient=${w.other}`, t));
    assert.equal(await total('/fhir/Patient', t), 1);
    assert.equal(await total('/fhir/Patient', w.tokens.admin), 2);
    // Permit: at once.
    await consent(w.other, 'permit');
    assert.equal(await seesOther(), true);
    assert.equal(await total('/fhir/Patient', t), 2);
    // Revocation: at once.
    await consent(w.other, 'deny');
    assert.equal(await seesOther(), false);
    assert.equal(await total('/fhir/Patient', t), 1);
  });

  test('Consents recorded through the management API are found by Consent?patient=', async () => {
    const r = await fhir('GET', `/fhir/Consent?patient=${w.other}&_count=100`, w.tokens.admin);
    assert.equal(r.status, 200, r.body);
    const found: Json[] = entries(r).map((e: Json) => e.resource);
    assert.ok(found.length >= 1, 'the seeded refusal at least');
    assert.ok(found.every((c) => c.patient.reference === `Patient/${w.other}`));
    const active = await fhir('GET', `/fhir/Consent?patient=${w.other}&status=active`, w.tokens.admin);
    assert.equal(entries(active).length, 1, 'one active decision per purpose');
  });

  /** Runs an export as the integration; returns a function that downloads its files (ids in them). */
  async function exportAs(token: string, query: string): Promise<() => Promise<Set<string>>> {
    const kick = await fhir('GET', `/fhir/$export?${query}`, token);
    assert.equal(kick.status, 202, kick.body);
    const status = new URL(String(kick.headers['content-location'])).pathname;
    let manifest: Json;
    for (let i = 0; i < 200 && !manifest; i++) {
      const s = await fhir('GET', status, token);
      if (s.status === 200) manifest = JSON.parse(s.body);
      else {
        assert.equal(s.status, 202, s.body);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    assert.ok(manifest, 'the export completed');
    return async () => {
      const ids = new Set<string>();
      for (const o of manifest.output) {
        const f = await fhir('GET', new URL(o.url).pathname, token);
        assert.equal(f.status, 200);
        for (const l of f.body.split('\n').filter(Boolean)) ids.add(JSON.parse(l).id);
      }
      return ids;
    };
  }

  test("an integration's bulk export leaves out patients who refuse sharing", async () => {
    const t = w.tokens.integration;
    const ids = await (await exportAs(t, '_type=Patient,Observation'))();
    assert.ok(ids.has(w.own) && ids.has(w.readings.own), 'the consenting patient is exported');
    assert.ok(!ids.has(w.other) && !ids.has(w.readings.other), 'the refusing patient is not');
    // Exported while permitted, revoked before the download: the download leaves the patient out.
    await consent(w.other, 'permit');
    const download = await exportAs(t, '_type=Patient,Observation');
    await consent(w.other, 'deny');
    const later = await download();
    assert.ok(later.has(w.own), 'the consenting patient is still there');
    assert.ok(!later.has(w.other) && !later.has(w.readings.other), 'revoked before download');
    // Staff and patients do not bulk-export.
    refusal(await fhir('GET', '/fhir/$export', w.tokens.clinician));
    refusal(await fhir('GET', '/fhir/Patient/$export', w.tokens.patient));
  });

  test('a care team change applies to the next FHIR request', async () => {
    refusal(await fhir('GET', `/fhir/Patient/${w.other}`, w.tokens.clinician));
    const team = await fhir('PUT', '/fhir/CareTeam/team-other', w.tokens.admin, {
      resourceType: 'CareTeam',
      id: 'team-other',
      status: 'active',
      subject: { reference: `Patient/${w.other}` },
      participant: [{ member: { reference: 'Practitioner/pr-clin' } }],
    });
    assert.equal(team.status, 200, team.body);
    assert.equal((await fhir('GET', `/fhir/Patient/${w.other}`, w.tokens.clinician)).status, 200);
    assert.equal(await total('/fhir/Patient', w.tokens.clinician), 2);
  });
});
