import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FakeClock } from '../../src/core/clock.ts';
import type { Vigil } from '../../src/server.ts';
import { call, signIn, startTestVigil } from '../pipeline/support.ts';
import { createFreshPostgresDatabase, testDatabaseUrl } from '../support/databases.ts';

/**
 * The patient app's My devices and erasure request: the patient's own devices with battery and
 * silence; an erasure asked by the patient that only an administrator carries out or declines.
 */
for (const store of ['pglite', ...(testDatabaseUrl ? ['postgres'] : [])] as const) {
  describe(`My devices and erasure requests (${store})`, () => {
    const clock = new FakeClock(Date.parse('2026-05-04T09:00:00Z'));
    let vigil: Vigil;
    let url: string;
    let admin: string;
    const patients: Record<'a' | 'b', { id: string; token: string; password: string }> = {
      a: { id: '', token: '', password: '' },
      b: { id: '', token: '', password: '' },
    };
    /** Days pass on the fake clock: access tokens expire, so everyone signs in again. */
    const passDays = async (days: number) => {
      clock.advance(days * 86_400_000);
      admin = await signIn(url);
      for (const k of ['a', 'b'] as const)
        patients[k].token = await signIn(url, patients[k].password, `data-${k}`);
    };
    let drop: (() => Promise<void>) | undefined;

    before(async () => {
      const env: Record<string, string> = {};
      if (store === 'postgres') {
        const pg = await createFreshPostgresDatabase();
        env['VIGIL_DATABASE_URL'] = pg.url;
        drop = pg.drop;
      }
      vigil = await startTestVigil({ clock, env });
      url = vigil.httpUrl;
      admin = await signIn(url);
      for (const k of ['a', 'b'] as const) {
        const id = (
          await call<{ id: string }>(
            url,
            admin,
            'POST',
            '/fhir/Patient',
            { resourceType: 'Patient', name: [{ family: `Data-${k}` }] },
            'application/fhir+json',
          )
        ).body.id;
        const user = await call<{ password: string }>(url, admin, 'POST', '/api/v1/users', {
          username: `data-${k}`,
          roles: ['patient'],
          patientId: id,
        });
        const password = user.body.password;
        patients[k] = { id, password, token: await signIn(url, password, `data-${k}`) };
      }
    });
    after(async () => {
      await vigil?.stop();
      await drop?.();
    });

    it('My devices: a cuff silent for 3 days with a low battery, a scale never used; only the own record', async () => {
      const a = patients.a;
      const reg = async (id: string, kind: string) => {
        const r = await call<{ secret: string }>(url, admin, 'POST', '/api/v1/devices', { id, kind });
        assert.equal(r.status, 201, JSON.stringify(r.body));
        const asg = await call(url, admin, 'POST', `/api/v1/devices/${id}/assignments`, {
          patientId: a.id,
          start: new Date(clock.now() - 3600_000).toISOString(),
        });
        assert.equal(asg.status, 201, JSON.stringify(asg.body));
        return r.body.secret;
      };
      const cuff = await reg('cuff-mine', 'blood-pressure-cuff');
      await reg('scale-mine', 'scale');
      const sent = await fetch(`${url}/ingest/v1/readings`, {
        method: 'POST',
        headers: { authorization: `Bearer ${cuff}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          messageId: 'bp-1',
          time: new Date(clock.now()).toISOString(),
          type: 'blood-pressure',
          unit: 'mmHg',
          components: { systolic: 122, diastolic: 78 },
          battery: 15,
        }),
      });
      assert.equal(sent.status, 200);
      const fresh = await call(url, a.token, 'GET', `/api/v1/patients/${a.id}/devices`);
      assert.equal(fresh.status, 200, JSON.stringify(fresh.body));
      const cuffNow = fresh.body.devices.find((d: { id: string }) => d.id === 'cuff-mine');
      assert.equal(cuffNow.state, 'online');
      assert.equal(cuffNow.battery, 15);
      assert.equal(cuffNow.lowBattery, true);

      await passDays(3);
      const later = await call(url, a.token, 'GET', `/api/v1/patients/${a.id}/devices`);
      const byId = Object.fromEntries(later.body.devices.map((d: { id: string }) => [d.id, d]));
      assert.equal(byId['cuff-mine'].state, 'offline');
      assert.equal(byId['cuff-mine'].silentMinutes, 3 * 1440);
      assert.equal(byId['scale-mine'].state, 'never-seen');
      assert.ok(!JSON.stringify(later.body).includes('secret'), 'no credential detail reaches the patient');
      const other = await call(url, a.token, 'GET', `/api/v1/patients/${patients.b.id}/devices`);
      assert.equal(other.status, 403);
      const none = await call(url, patients.b.token, 'GET', `/api/v1/patients/${patients.b.id}/devices`);
      assert.deepEqual(none.body.devices, []);
    });

    it('an erasure request is queued once, carried out only by an administrator, and goes with the data', async () => {
      const a = patients.a;
      const path = `/api/v1/patients/${a.id}/erasure-requests`;
      const first = await call(url, a.token, 'POST', path, { reason: 'I moved away' });
      assert.equal(first.status, 201, JSON.stringify(first.body));
      assert.equal(first.body.erasureRequest.status, 'open');
      const again = await call(url, a.token, 'POST', path, {});
      assert.equal(again.status, 200);
      assert.equal(again.body.erasureRequest.id, first.body.erasureRequest.id, 'asked twice, queued once');
      const forOther = await call(
        url,
        a.token,
        'POST',
        `/api/v1/patients/${patients.b.id}/erasure-requests`,
        {},
      );
      assert.equal(forOther.status, 403);
      const byAdmin = await call(url, admin, 'POST', path, {});
      assert.equal(byAdmin.status, 403, 'the patient asks, not staff on their behalf');

      const queue = await call(url, admin, 'GET', '/api/v1/erasure-requests?status=open');
      assert.deepEqual(
        queue.body.erasureRequests.map((r: { patientId: string }) => r.patientId),
        [a.id],
      );
      const stillThere = await call(url, a.token, 'GET', `/fhir/Patient/${a.id}`);
      assert.equal(stillThere.status, 200, 'asking deletes nothing');

      const erased = await call(url, admin, 'POST', `/api/v1/patients/${a.id}/erase`, { confirm: a.id });
      assert.equal(erased.status, 200, JSON.stringify(erased.body));
      assert.equal(erased.body.removed.erasure_request, 1, 'the request goes with the data');
      const after = await call(url, admin, 'GET', path);
      assert.deepEqual(after.body.erasureRequests, []);
      const queueAfter = await call(url, admin, 'GET', '/api/v1/erasure-requests?status=open');
      assert.deepEqual(queueAfter.body.erasureRequests, []);
      const proof = await vigil.db.query<{ s: string }>(
        `select subtype_code as s from audit_event where patient_id = $1 and subtype_code in ('erasure-requested', 'erasure')`,
        [a.id],
      );
      assert.deepEqual(
        [...new Set(proof.map((x) => x.s))].sort(),
        ['erasure', 'erasure-requested'],
        'the audit trail keeps that it was asked and done',
      );
      const decline = await call(
        url,
        admin,
        'POST',
        `/api/v1/erasure-requests/${first.body.erasureRequest.id}/decline`,
        { response: 'too late' },
      );
      assert.equal(decline.status, 404);
    });

    it('a declined request carries the answer back to the patient', async () => {
      const b = patients.b;
      const asked = await call(url, b.token, 'POST', `/api/v1/patients/${b.id}/erasure-requests`, {});
      const id = asked.body.erasureRequest.id as string;
      const no = await call(url, admin, 'POST', `/api/v1/erasure-requests/${id}/decline`, {
        response: 'Your records are under a legal hold until June.',
      });
      assert.equal(no.status, 200, JSON.stringify(no.body));
      const mine = await call(url, b.token, 'GET', `/api/v1/patients/${b.id}/erasure-requests`);
      assert.equal(mine.body.erasureRequests[0].status, 'declined');
      assert.match(mine.body.erasureRequests[0].response, /legal hold/);
      const twice = await call(url, admin, 'POST', `/api/v1/erasure-requests/${id}/decline`, {
        response: 'x',
      });
      assert.equal(twice.status, 409);
      assert.equal(twice.body.error.code, 'VIGIL_ERR_CONSENT_ERASURE_REQUEST_CLOSED');
      const audit = await vigil.db.query<{ s: string }>(
        `select subtype_code as s from audit_event where patient_id = $1 order by seq`,
        [b.id],
      );
      const subtypes = audit.map((x) => x.s);
      assert.ok(subtypes.includes('erasure-requested'), subtypes.join(','));
      assert.ok(subtypes.includes('erasure-declined'), subtypes.join(','));
    });

    it("the 'is anyone watching' hours come from the critical alerts' policy", async () => {
      const b = patients.b; // a was erased above
      const path = `/api/v1/patients/${b.id}/coverage`;
      const def = await call(url, b.token, 'GET', path);
      assert.equal(def.status, 200, JSON.stringify(def.body));
      // the fake clock stands on a Thursday 09:00 UTC (after the three days above)
      assert.deepEqual(def.body, {
        timeZone: 'UTC',
        days: [1, 2, 3, 4, 5],
        start: '08:00',
        end: '18:00',
        workingHoursNow: true,
        afterHoursAlerts: true,
      });
      const put = await call(url, admin, 'PUT', '/api/v1/alerts/policies/critical', {
        timeZone: 'Europe/Madrid',
        workingHours: { days: [6, 7], start: '10:00', end: '14:00' },
        workingHoursTiers: [{ name: 'nurse', roles: ['nurse'], ackWithinSeconds: 300 }],
        afterHoursTiers: [{ name: 'nurse', roles: ['nurse'] }],
      });
      assert.equal(put.status, 200, JSON.stringify(put.body));
      const mine = await call(url, b.token, 'GET', path);
      assert.equal(mine.body.timeZone, 'Europe/Madrid');
      assert.deepEqual(mine.body.days, [6, 7]);
      assert.equal(mine.body.workingHoursNow, false, 'a Thursday is outside weekend hours');
      const other = await call(url, b.token, 'GET', `/api/v1/patients/${patients.a.id}/coverage`);
      assert.equal(other.status, 403);
    });
  });
}
