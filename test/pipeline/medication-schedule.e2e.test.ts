import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FakeClock } from '../../src/core/clock.ts';
import type { Vigil } from '../../src/server.ts';
import { createFreshPostgresDatabase, testDatabaseUrl } from '../support/databases.ts';
import { call, signIn, startTestVigil } from './support.ts';

interface AlertView {
  conditionKey: string;
  rule: string;
  state: string;
  summary: string;
}

/**
 * The MedicationRequest is the schedule: a request created through FHIR with doses at 08:00 and
 * 20:00 gives the enrolled patient a missed-dose rule without the enrolment being edited; no
 * controller actuation → the alert on the clock tick; the request stopped → no more.
 */
for (const backend of ['pglite', 'postgres'] as const) {
  describe(`missed-dose rule from the MedicationRequest [${backend}]`, {
    skip: backend === 'postgres' && !testDatabaseUrl ? 'VIGIL_TEST_DATABASE_URL is not set' : false,
  }, () => {
    const clock = new FakeClock('2026-03-01T05:00:00Z');
    let vigil: Vigil;
    let drop: (() => Promise<void>) | undefined;
    let token: string;
    let patientId: string;
    let requestId: string;
    let request: Record<string, unknown>;
    let deviceSecret: string;

    before(async () => {
      let env: Record<string, string> = {};
      if (backend === 'postgres') {
        const fresh = await createFreshPostgresDatabase();
        drop = fresh.drop;
        env = { VIGIL_DATABASE_URL: fresh.url };
      }
      vigil = await startTestVigil({ clock, env });
      token = await signIn(vigil.httpUrl);
      const p = await call(
        vigil.httpUrl,
        token,
        'POST',
        '/fhir/Patient',
        {
          resourceType: 'Patient',
          name: [{ family: 'Schedule' }],
        },
        'application/fhir+json',
      );
      assert.equal(p.status, 201);
      patientId = p.body.id;
      const m = await call(vigil.httpUrl, token, 'PUT', `/api/v1/patients/${patientId}/monitoring`, {
        monitoring: { programs: ['copd'] },
        reason: 'test',
      });
      assert.equal(m.status, 200, JSON.stringify(m.body));
      const d = await call(vigil.httpUrl, token, 'POST', '/api/v1/devices', {
        id: 'inh-sched',
        kind: 'smart-inhaler',
      });
      assert.equal(d.status, 201, JSON.stringify(d.body));
      deviceSecret = d.body.secret;
      const a = await call(vigil.httpUrl, token, 'POST', '/api/v1/devices/inh-sched/assignments', {
        patientId,
        start: '2026-03-01T00:00:00Z',
      });
      assert.equal(a.status, 201, JSON.stringify(a.body));
    });
    after(async () => {
      await vigil?.stop();
      await drop?.();
    });

    const alerts = async () =>
      (
        await call<{ alerts: AlertView[] }>(
          vigil.httpUrl,
          token,
          'GET',
          `/api/v1/alerts?patient=${encodeURIComponent(patientId)}`,
        )
      ).body.alerts.filter((a) => a.rule === 'missed-dose');
    const tickAt = async (iso: string) => {
      clock.set(iso);
      await vigil.pipeline.stage?.tick();
      token = await signIn(vigil.httpUrl); // the fake clock moved past the token's life
    };

    it('a scheduled MedicationRequest alone raises a missed-dose alert on the tick', async () => {
      request = {
        resourceType: 'MedicationRequest',
        status: 'active',
        intent: 'order',
        subject: { reference: `Patient/${patientId}` },
        authoredOn: '2026-03-01',
        medicationCodeableConcept: { text: 'fluticasone 250 micrograms/dose inhaler' },
        dosageInstruction: [
          { text: '2 puffs at 08:00 and 20:00', timing: { repeat: { timeOfDay: ['08:00:00', '20:00:00'] } } },
        ],
      };
      const c = await call(
        vigil.httpUrl,
        token,
        'POST',
        '/fhir/MedicationRequest',
        request,
        'application/fhir+json',
      );
      assert.equal(c.status, 201, JSON.stringify(c.body));
      requestId = c.body.id;
      await tickAt('2026-03-01T05:00:00Z'); // the rule's first run: earlier doses are not judged
      await tickAt('2026-03-01T09:30:00Z');
      assert.equal((await alerts()).length, 0, 'grace of the 08:00 dose not over');
      await tickAt('2026-03-01T10:30:00Z');
      const a = await alerts();
      assert.equal(a.length, 1);
      assert.equal(a[0]?.conditionKey, `missed-dose:medication-request-${requestId}`);
      assert.equal(a[0]?.state, 'open');
      assert.match(a[0]?.summary ?? '', /fluticasone.*2026-03-01T08:00:00\.000Z/);
    });

    it('a dose taken clears it; the request stopped: the 20:00 dose is no longer judged', async () => {
      // The late 08:00 dose, taken at 11:00: the open alert clears (the next dose taken clears it).
      await tickAt('2026-03-01T11:05:00Z');
      const r = await fetch(`${vigil.httpUrl}/ingest/v1/readings`, {
        method: 'POST',
        headers: { authorization: `Bearer ${deviceSecret}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          messageId: 'sched-1',
          time: '2026-03-01T11:00:00Z',
          type: 'controller-inhaler',
          value: 2,
          unit: '{actuation}',
        }),
      });
      assert.ok(r.status < 300, await r.text());
      let open = 1;
      for (let i = 0; i < 100 && open > 0; i++) {
        open = (await alerts()).filter((a) => a.state !== 'resolved').length;
        if (open > 0) await new Promise((done) => setTimeout(done, 100));
      }
      assert.equal(open, 0, 'the dose taken resolved the missed-dose alert');
      const u = await call(
        vigil.httpUrl,
        token,
        'PUT',
        `/fhir/MedicationRequest/${requestId}`,
        { ...request, id: requestId, status: 'stopped' },
        'application/fhir+json',
      );
      assert.equal(u.status, 200, JSON.stringify(u.body));
      // With the rule still in force, the 20:00 dose (grace 120 min) would open a new alert here.
      await tickAt('2026-03-01T22:30:00Z');
      await tickAt('2026-03-02T10:30:00Z');
      const after = await alerts();
      assert.equal(after.filter((a) => a.state !== 'resolved').length, 0, 'no new missed-dose alert');
      assert.equal(after.length, 1);
    });
  });
}
