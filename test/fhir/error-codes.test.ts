import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { validateFhir } from '../support/fhir-validator.ts';
import { type FhirHarness, startFhir } from './harness.ts';

const vigilCode = (json: {
  issue?: Array<{ details?: { coding?: Array<{ system?: string; code?: string }> } }>;
}) =>
  json.issue?.[0]?.details?.coding?.find(
    (c) => c.system === 'https://vigil.example.org/fhir/CodeSystem/error',
  )?.code;

describe('FHIR errors carry Vigil’s stable code in the OperationOutcome', () => {
  let h: FhirHarness;
  before(async () => {
    h = await startFhir();
  });
  after(async () => h?.close());

  it('404, 410, 412, 400 and 401 each name their code, and stay valid OperationOutcomes', async () => {
    const missing = await h.call('GET', '/fhir/Patient/no-such-patient');
    assert.equal(missing.status, 404);
    assert.equal(vigilCode(missing.json), 'VIGIL_ERR_FHIR_NOT_FOUND');
    assert.deepEqual(validateFhir(missing.json), []);

    const created = await h.call('POST', '/fhir/Patient', {
      resourceType: 'Patient',
      name: [{ family: 'Test' }],
    });
    assert.equal(created.status, 201);
    const id = created.json.id as string;
    const stale = await h.call(
      'PUT',
      `/fhir/Patient/${id}`,
      { resourceType: 'Patient', id, name: [{ family: 'T2' }] },
      { 'if-match': 'W/"99"' },
    );
    assert.equal(stale.status, 412);
    assert.equal(vigilCode(stale.json), 'VIGIL_ERR_FHIR_PRECONDITION_FAILED');
    await h.call('DELETE', `/fhir/Patient/${id}`);
    const gone = await h.call('GET', `/fhir/Patient/${id}`);
    assert.equal(gone.status, 410);
    assert.equal(vigilCode(gone.json), 'VIGIL_ERR_FHIR_GONE');

    const unknownParam = await h.call('GET', '/fhir/Observation?no-such-param=1');
    assert.equal(unknownParam.status, 400);
    assert.equal(vigilCode(unknownParam.json), 'VIGIL_ERR_FHIR_INVALID');

    const anonymous = await h.vigil.app.inject({ method: 'GET', url: '/fhir/Patient' });
    assert.equal(anonymous.statusCode, 401);
    assert.match(vigilCode(anonymous.json()) ?? '', /^VIGIL_ERR_/);
  });
});
