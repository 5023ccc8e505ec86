import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type {
  Bundle,
  MedicationAdministration,
  MedicationRequest,
  MedicationStatement,
  Resource,
} from '@medplum/fhirtypes';
import { testDatabaseUrl } from '../support/databases.ts';
import { validateFhir } from '../support/fhir-validator.ts';
import { type InProcess, startInProcess } from '../support/in-process.ts';

/**
 * Adherence devices end to end: a smart inhaler's and a pill bottle's native JSON over HTTP →
 * stored → FHIR MedicationAdministration / MedicationStatement against the patient's
 * MedicationRequests (created through FHIR) → the adherence report → a rising-rescue-use alert.
 */
const ADHERENCE_DEVICE = 'https://vigil.example.org/fhir/StructureDefinition/adherence-device';

for (const backend of ['pglite', 'postgres'] as const) {
  describe(`medication adherence devices [${backend}]`, {
    skip: backend === 'postgres' && !testDatabaseUrl ? 'VIGIL_TEST_DATABASE_URL is not set' : false,
  }, () => {
    let t: InProcess;
    let token: string;
    let patient = '';
    const secrets: Record<string, string> = {};
    const now = Date.now();
    const iso = (minutesAgo: number) => new Date(now - minutesAgo * 60_000).toISOString();
    const ids: Record<string, string> = {};

    const api = async <T>(
      method: 'GET' | 'POST' | 'PUT',
      url: string,
      payload?: unknown,
      ct = 'application/json',
    ) => {
      const r = await t.inject({
        method,
        url,
        headers: { authorization: `Bearer ${token}`, 'content-type': ct },
        ...(payload !== undefined ? { payload: JSON.stringify(payload) } : {}),
      });
      return { status: r.statusCode, body: r.json() as T };
    };
    const send = async (device: string, items: unknown) => {
      const r = await t.inject({
        method: 'POST',
        url: '/ingest/v1/readings',
        headers: { authorization: `Bearer ${secrets[device]}`, 'content-type': 'application/json' },
        payload: JSON.stringify(items),
      });
      return {
        status: r.statusCode,
        body: r.json() as { results: Array<{ status: string; ids?: string[]; reason?: string }> },
      };
    };

    before(async () => {
      t = await startInProcess({ postgres: backend === 'postgres' });
      token = await t.token();
      const p = await api<{ id: string }>(
        'POST',
        '/fhir/Patient',
        { resourceType: 'Patient', name: [{ family: 'Inhaler' }] },
        'application/fhir+json',
      );
      assert.equal(p.status, 201);
      patient = p.body.id;
      const m = await api('PUT', `/api/v1/patients/${patient}/monitoring`, {
        monitoring: { programs: ['copd'] },
        reason: 'test',
      });
      assert.equal(m.status, 200, JSON.stringify(m.body));
      for (const [id, kind] of [
        ['inh-blue', 'smart-inhaler'],
        ['inh-brown', 'smart-inhaler'],
        ['cap-1', 'pill-bottle'],
      ] as const) {
        const r = await api<{ secret: string }>('POST', '/api/v1/devices', { id, kind });
        assert.equal(r.status, 201);
        secrets[id] = r.body.secret;
        const a = await api('POST', `/api/v1/devices/${id}/assignments`, {
          patientId: patient,
          start: iso(30 * 24 * 60),
        });
        assert.equal(a.status, 201, JSON.stringify(a.body));
      }
    });
    after(async () => t?.stop());

    it('creates, reads and searches MedicationRequests; refuses an invalid one with an OperationOutcome', async () => {
      const today = new Date(now).toISOString().slice(0, 10);
      const rescue: MedicationRequest = {
        resourceType: 'MedicationRequest',
        status: 'active',
        intent: 'order',
        subject: { reference: `Patient/${patient}` },
        medicationCodeableConcept: { text: 'salbutamol 100 micrograms/dose inhaler' },
        dosageInstruction: [{ text: '2 puffs when needed', asNeededBoolean: true }],
        extension: [{ url: ADHERENCE_DEVICE, valueReference: { reference: 'Device/inh-blue' } }],
      };
      const controller: MedicationRequest = {
        resourceType: 'MedicationRequest',
        status: 'active',
        intent: 'order',
        subject: { reference: `Patient/${patient}` },
        medicationCodeableConcept: { text: 'fluticasone 250 micrograms/dose inhaler' },
        dosageInstruction: [
          { text: '2 puffs at 08:00 and 20:00', timing: { repeat: { timeOfDay: ['08:00:00', '20:00:00'] } } },
        ],
        extension: [{ url: ADHERENCE_DEVICE, valueReference: { reference: 'Device/inh-brown' } }],
        authoredOn: `${today}T00:00:00Z`,
      };
      for (const [name, mr] of [
        ['rescue', rescue],
        ['controller', controller],
      ] as const) {
        const c = await api<MedicationRequest>(
          'POST',
          '/fhir/MedicationRequest',
          mr,
          'application/fhir+json',
        );
        assert.equal(c.status, 201, JSON.stringify(c.body));
        ids[name] = c.body.id as string;
        const r = await api<MedicationRequest>('GET', `/fhir/MedicationRequest/${c.body.id}`);
        assert.equal(r.status, 200);
        assert.deepEqual(validateFhir(r.body as Resource), []);
      }
      const s = await api<Bundle>('GET', `/fhir/MedicationRequest?patient=${patient}`);
      assert.equal(s.body.entry?.length, 2);
      const bad = await api<Resource>(
        'POST',
        '/fhir/MedicationRequest',
        { resourceType: 'MedicationRequest', status: 'bogus', subject: { reference: `Patient/${patient}` } },
        'application/fhir+json',
      );
      assert.equal(bad.status, 400);
      assert.equal(bad.body.resourceType, 'OperationOutcome');
    });

    it('an inhaler actuation becomes a MedicationAdministration against its MedicationRequest, validated', async () => {
      const r = await send('inh-brown', [
        { messageId: 'brown-1', time: iso(5), type: 'controller-inhaler', value: 2, unit: '{actuation}' },
      ]);
      assert.equal(r.status < 300, true, JSON.stringify(r.body));
      const list = await api<Bundle<MedicationAdministration>>(
        'GET',
        `/fhir/MedicationAdministration?patient=${patient}`,
      );
      assert.equal(list.status, 200);
      assert.equal(list.body.entry?.length, 1);
      const ma = list.body.entry?.[0]?.resource as MedicationAdministration;
      assert.equal(ma.status, 'completed');
      assert.equal(ma.request?.reference, `MedicationRequest/${ids.controller}`);
      assert.equal(ma.medicationCodeableConcept?.text, 'fluticasone 250 micrograms/dose inhaler');
      assert.equal(ma.dosage?.dose?.value, 2);
      assert.deepEqual(validateFhir(ma as Resource), []);
      const one = await api<MedicationAdministration>('GET', `/fhir/MedicationAdministration/${ma.id}`);
      assert.equal(one.status, 200);
      const byReq = await api<Bundle>(
        'GET',
        `/fhir/MedicationAdministration?request=MedicationRequest/${ids.rescue}`,
      );
      assert.equal(byReq.body.entry?.length ?? 0, 0, 'the controller dose is not the rescue request’s');
      const write = await api<Resource>(
        'POST',
        '/fhir/MedicationAdministration',
        ma,
        'application/fhir+json',
      );
      assert.equal(write.status, 405);
    });

    it('a pill-bottle opening becomes a MedicationStatement with status unknown', async () => {
      const r = await send('cap-1', {
        messageId: 'cap-1',
        time: iso(3),
        type: 'pill-bottle-opening',
        value: 1,
        unit: '{opening}',
      });
      assert.equal(r.status < 300, true, JSON.stringify(r.body));
      const list = await api<Bundle<MedicationStatement>>(
        'GET',
        `/fhir/MedicationStatement?patient=${patient}`,
      );
      const ms = list.body.entry?.[0]?.resource as MedicationStatement;
      assert.equal(ms.status, 'unknown');
      assert.match(ms.note?.[0]?.text ?? '', /not observed/);
      assert.deepEqual(validateFhir(ms as Resource), []);
    });

    it('refuses a bad adherence payload with a coded reason and a dead letter', async () => {
      const r = await send('inh-blue', [
        { messageId: 'x', time: iso(1), type: 'rescue-inhaler', value: 1, unit: '{steps}' },
      ]);
      assert.equal(r.body.results[0]?.status, 'rejected');
      assert.equal(r.body.results[0]?.reason, 'VIGIL_ERR_INGEST_UNIT_MISMATCH');
      const over = await send('inh-blue', [
        { messageId: 'y', time: iso(1), type: 'rescue-inhaler', value: 500, unit: '{actuation}' },
      ]);
      assert.equal(over.body.results[0]?.reason, 'VIGIL_ERR_INGEST_IMPLAUSIBLE_VALUE');
      const kept = await t.vigil.db.query<{ n: number }>(
        `select count(*)::int as n from dead_letter where device_id = 'inh-blue'`,
      );
      assert.equal(kept[0]?.n, 2);
    });

    it('three rescue uses in a day: the adherence report counts them and the COPD program raises rising rescue use', async () => {
      for (const [i, m] of [180, 120, 60].entries()) {
        const r = await send('inh-blue', [
          { messageId: `blue-${i}`, time: iso(m), type: 'rescue-inhaler', value: 2, unit: '{actuation}' },
        ]);
        assert.equal(r.status < 300, true, JSON.stringify(r.body));
      }
      await t.vigil.pipeline.idle();
      const rep = await api<{
        requests: Array<{
          requestId: string;
          rescue: boolean;
          usesPerDay: Array<{ uses: number; actuations: number }>;
          dosesDue: number;
        }>;
      }>('GET', `/api/v1/patients/${patient}/adherence?days=2`);
      assert.equal(rep.status, 200, JSON.stringify(rep.body));
      const rescue = rep.body.requests.find((r) => r.requestId === ids.rescue);
      const totalUses = rescue?.usesPerDay.reduce((n, d) => n + d.uses, 0);
      const totalPuffs = rescue?.usesPerDay.reduce((n, d) => n + d.actuations, 0);
      assert.equal(totalUses, 3);
      assert.equal(totalPuffs, 6);
      const ctrl = rep.body.requests.find((r) => r.requestId === ids.controller);
      assert.ok((ctrl?.dosesDue ?? 0) >= 1);
      const alerts = await api<{
        alerts: Array<{ conditionKey: string; evidence: string[]; severity: string }>;
      }>('GET', `/api/v1/alerts?patient=${patient}`);
      const a = alerts.body.alerts.find((x) => x.conditionKey === 'rescue-use:rescue-use');
      assert.ok(a, JSON.stringify(alerts.body.alerts.map((x) => x.conditionKey)));
      assert.equal(a.severity, 'medium');
      assert.equal(a.evidence.length, 3);
    });
  });
}
