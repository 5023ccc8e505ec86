import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client } from 'fhir-kit-client';
import { validateFhir } from '../support/fhir-validator.ts';
import { ensureTargets, type FhirHarness, type Json, r4Example, startFhir } from './harness.ts';

/** A real third-party FHIR client (fhir-kit-client from npm) against a listening server. */
describe('FHIR API through fhir-kit-client', () => {
  let h: FhirHarness;
  let client: Json;
  before(async () => {
    h = await startFhir();
    const token = await h.token({ kind: 'integration', scopes: ['system/*.*'] });
    client = new Client({ baseUrl: `${h.vigil.httpUrl}/fhir`, bearerToken: token });
  });
  after(async () => h?.close());

  test('capabilities, create, read, update, search, paging, history, transaction, delete', async () => {
    const cs = await client.capabilityStatement();
    assert.equal(cs.fhirVersion, '4.0.1');

    await ensureTargets(h, r4Example('Patient-example.json')); // its managingOrganization
    const patient = await client.create({ resourceType: 'Patient', body: r4Example('Patient-example.json') });
    assert.ok(patient.id);
    const read = await client.read({ resourceType: 'Patient', id: patient.id });
    assert.equal(read.name[0].family, 'Chalmers');
    assert.deepEqual(validateFhir(read), []);

    const updated = await client.update({
      resourceType: 'Patient',
      id: patient.id,
      body: { ...read, active: false },
    });
    assert.equal(updated.meta.versionId, '2');

    const hr = r4Example('Observation-heart-rate.json');
    for (let i = 0; i < 3; i++) {
      await client.create({
        resourceType: 'Observation',
        body: {
          ...hr,
          subject: { reference: `Patient/${patient.id}` },
          effectiveDateTime: `2024-06-0${i + 1}T08:00:00Z`,
        },
      });
    }
    const page1 = await client.search({
      resourceType: 'Observation',
      searchParams: { patient: patient.id, code: 'http://loinc.org|8867-4', _count: 2, _sort: '-date' },
    });
    assert.equal(page1.entry.length, 2);
    const page2 = await client.nextPage({ bundle: page1 });
    assert.equal(page2.entry.length, 1);
    assert.equal(page2.entry[0].resource.effectiveDateTime, '2024-06-01T08:00:00Z');
    for (const e of [...page1.entry, ...page2.entry]) assert.deepEqual(validateFhir(e.resource), []);

    const history = await client.history({ resourceType: 'Patient', id: patient.id });
    assert.equal(history.entry.length, 2);

    const tx = await client.transaction({
      body: {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          {
            fullUrl: 'urn:uuid:6c3a1cde-6c1c-4d1e-9a8f-2f3d1b7b1a01',
            resource: { resourceType: 'Practitioner', name: [{ family: 'Osler' }] },
            request: { method: 'POST', url: 'Practitioner' },
          },
          {
            resource: {
              resourceType: 'CareTeam',
              status: 'active',
              subject: { reference: `Patient/${patient.id}` },
              participant: [{ member: { reference: 'urn:uuid:6c3a1cde-6c1c-4d1e-9a8f-2f3d1b7b1a01' } }],
            },
            request: { method: 'POST', url: 'CareTeam' },
          },
        ],
      },
    });
    assert.equal(tx.type, 'transaction-response');
    const team = tx.entry[1].resource;
    assert.equal(team.participant[0].member.reference, `Practitioner/${tx.entry[0].resource.id}`);

    await client.delete({ resourceType: 'CareTeam', id: team.id });
    await assert.rejects(
      client.read({ resourceType: 'CareTeam', id: team.id }),
      (e: Json) => e.response?.status === 410,
    );
  });
});
