import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Resource } from '@medplum/fhirtypes';
import { requestChange } from '../../src/alerts/measurement-requests.ts';
import type { Detection } from '../../src/core/detection.ts';
import { newId } from '../../src/core/ids.ts';
import { MeasurementRequestRepository } from '../../src/store/measurement-request-repository.ts';
import { validateFhir } from '../support/fhir-validator.ts';
import { type FhirHarness, type Json, startFhir } from './harness.ts';

/** A measurement-request detection as detection emits it (src/detect/measurement-request.ts). */
function detection(
  patientId: string,
  trigger: string,
  state: 'firing' | 'cleared',
  status: string,
  extra: Record<string, unknown> = {},
): Detection {
  return {
    patientId,
    conditionKey: 'request:repeat-bp',
    rule: 'hypertensive-crisis',
    state,
    severity: 'info',
    at: state === 'firing' ? '2026-03-01T08:00:00.000Z' : '2026-03-01T08:06:00.000Z',
    summary: state === 'firing' ? 'Home BP 190/100 mmHg: rest and measure again' : 'Repeat BP: fulfilled',
    evidence: [trigger],
    data: {
      class: 'measurement-request',
      request: 'repeat-bp',
      code: '85354-9',
      trigger,
      requestedAt: '2026-03-01T08:00:00.000Z',
      after: '2026-03-01T08:05:00.000Z',
      dueBy: '2026-03-01T08:15:00.000Z',
      status,
      outcome: status === 'open' ? 'requested' : status === 'expired' ? 'no-repeat' : 'not-confirmed',
      ...extra,
    },
  };
}

describe('FHIR ServiceRequest: a read-only view of measurement requests', () => {
  let h: FhirHarness;
  const p1 = `p-${newId()}`;
  const p2 = `p-${newId()}`;
  const [r1, r2, r3, r4] = [newId(), newId(), newId(), newId()];
  let ids: Record<string, string>;
  const matches = (b: Json) =>
    (b.entry ?? []).filter((e: Json) => e.search?.mode === 'match').map((e: Json) => e.resource.id);
  const search = async (q: string) => {
    const r = await h.call('GET', `/fhir/${q}`);
    assert.equal(r.status, 200, r.text);
    return r.json;
  };

  before(async () => {
    h = await startFhir();
    const repo = new MeasurementRequestRepository(h.vigil.db);
    const ch = (d: Detection) => requestChange(d) as NonNullable<ReturnType<typeof requestChange>>;
    await repo.apply(
      [
        ch(detection(p1, r1, 'firing', 'open', { instruction: 'Measure again in 5 minutes' })),
        ch(detection(p1, r1, 'cleared', 'fulfilled', { fulfilledBy: r2 })),
        ch(detection(p1, r3, 'firing', 'open')),
        ch(detection(p2, r4, 'cleared', 'expired')),
      ],
      '2026-03-01T08:07:00.000Z',
    );
    ids = {};
    for (const m of [...(await repo.list(p1)), ...(await repo.list(p2))]) ids[m.triggerReadingId] = m.id;
  });
  after(async () => h?.close());

  test('GET ServiceRequest/<id> is the request, valid FHIR R4, linked to its readings', async () => {
    const r = await h.call('GET', `/fhir/ServiceRequest/${ids[r1]}`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.status, 'completed');
    assert.equal(r.json.intent, 'order');
    assert.equal(r.json.code.coding[0].code, '85354-9');
    assert.equal(r.json.subject.reference, `Patient/${p1}`);
    assert.deepEqual(r.json.occurrencePeriod, {
      start: '2026-03-01T08:05:00.000Z',
      end: '2026-03-01T08:15:00.000Z',
    });
    assert.equal(r.json.reasonReference[0].reference, `Observation/${r1}`);
    assert.equal(r.json.supportingInfo[0].reference, `Observation/${r2}`);
    assert.equal(r.json.patientInstruction, 'Measure again in 5 minutes');
    assert.deepEqual(validateFhir(r.json as Resource), []);
    assert.equal((await h.call('GET', `/fhir/ServiceRequest/${newId()}`)).status, 404);
  });

  test('search by patient, status and code; what the view cannot answer is refused', async () => {
    assert.deepEqual(
      new Set(matches(await search(`ServiceRequest?patient=${p1}`))),
      new Set([ids[r1], ids[r3]]),
    );
    assert.deepEqual(matches(await search(`ServiceRequest?patient=Patient/${p1}&status=active`)), [ids[r3]]);
    assert.deepEqual(matches(await search(`ServiceRequest?subject=Patient/${p2}&status=revoked`)), [ids[r4]]);
    assert.deepEqual(matches(await search(`ServiceRequest?patient=${p2}&status=active`)), []);
    assert.equal(
      (await search(`ServiceRequest?patient=${p1}&code=http://loinc.org|85354-9&_summary=count`)).total,
      2,
    );
    assert.equal((await search(`ServiceRequest?patient=${p1}&code=29463-7&_summary=count`)).total, 0);
    for (const e of (await search(`ServiceRequest?patient=${p1},${p2}`)).entry)
      assert.deepEqual(validateFhir(e.resource as Resource), []);
    assert.equal((await h.call('GET', '/fhir/ServiceRequest?_lastUpdated=ge2026-01-01')).status, 400);
  });

  test('a patient reads their own requests only; writes are refused with 405', async () => {
    const patient = await h.token({ roles: ['patient'], patientId: p1 });
    const auth = { authorization: `Bearer ${patient}` };
    const own = await h.call('GET', `/fhir/ServiceRequest?patient=${p1}`, undefined, auth);
    assert.equal(own.status, 200, own.text);
    assert.equal(matches(own.json).length, 2);
    assert.equal((await h.call('GET', `/fhir/ServiceRequest/${ids[r4]}`, undefined, auth)).status, 403);
    const w = await h.call('POST', '/fhir/ServiceRequest', {
      resourceType: 'ServiceRequest',
      status: 'active',
      intent: 'order',
      subject: { reference: `Patient/${p1}` },
    });
    assert.equal(w.status, 405, w.text);
    assert.equal(w.json.resourceType, 'OperationOutcome');
  });

  test('the CapabilityStatement lists ServiceRequest read-only with its search parameters', async () => {
    const cs = (await h.call('GET', '/fhir/metadata')).json;
    const r = cs.rest[0].resource.find((x: Json) => x.type === 'ServiceRequest');
    const codes = r.interaction.map((i: Json) => i.code);
    assert.ok(!codes.includes('create') && codes.includes('search-type'));
    assert.deepEqual(r.searchParam.map((p: Json) => p.name).sort(), [
      '_id',
      'code',
      'patient',
      'status',
      'subject',
    ]);
  });
});
