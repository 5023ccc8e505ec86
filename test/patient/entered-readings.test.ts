import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FakeClock } from '../../src/core/clock.ts';
import type { Vigil } from '../../src/server.ts';
import { call, eventually, signIn, startTestVigil } from '../pipeline/support.ts';
import { createFreshPostgresDatabase, testDatabaseUrl } from '../support/databases.ts';
import { validateFhir } from '../support/fhir-validator.ts';

interface Obs {
  id: string;
  meta?: { tag?: Array<{ system: string; code: string }> };
  subject?: { reference: string };
  device?: { reference: string };
  code: { coding: Array<{ code: string }> };
  valueQuantity?: { value: number; code: string };
  extension?: Array<{ url: string; valueQuantity?: { value: number; code: string } }>;
  component?: Array<{ code: { coding: Array<{ code: string }> }; valueQuantity: { value: number } }>;
}
const TAG = 'https://vigil.example.org/fhir/CodeSystem/tag';

/**
 * A reading the patient types in: the same ingest path as a device (conversion, plausibility,
 * dead letters, detection), attributed to the signed-in patient only, tagged patient-entered, and
 * able to answer the measurement request a device reading opened.
 */
for (const store of ['pglite', ...(testDatabaseUrl ? ['postgres'] : [])] as const) {
  describe(`patient-entered readings (${store})`, () => {
    const clock = new FakeClock(Date.parse('2026-03-02T08:00:00Z'));
    let vigil: Vigil;
    let url: string;
    let admin: string;
    let patient: string;
    let patientId: string;
    let otherId: string;
    let secret: string;
    let drop: (() => Promise<void>) | undefined;
    let n = 0;
    const enter = (body: Record<string, unknown>, token = patient, id = patientId) =>
      call(url, token, 'POST', `/api/v1/patients/${id}/entered-readings`, {
        messageId: `entry-${++n}`,
        ...body,
      });
    const observation = async (id: string) =>
      (await call<Obs>(url, patient, 'GET', `/fhir/Observation/${id}`)).body;

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
      const mk = async () =>
        (
          await call<{ id: string }>(
            url,
            admin,
            'POST',
            '/fhir/Patient',
            { resourceType: 'Patient', name: [{ family: 'Entry' }] },
            'application/fhir+json',
          )
        ).body.id;
      patientId = await mk();
      otherId = await mk();
      const put = await call(url, admin, 'PUT', `/api/v1/patients/${patientId}/monitoring`, {
        monitoring: { programs: ['hypertension'] },
        reason: 'home BP monitoring',
      });
      assert.equal(put.status, 200, JSON.stringify(put.body));
      secret = (
        await call<{ secret: string }>(url, admin, 'POST', '/api/v1/devices', {
          id: 'cuff-entry',
          kind: 'blood-pressure-cuff',
        })
      ).body.secret;
      await call(url, admin, 'POST', '/api/v1/devices/cuff-entry/assignments', {
        patientId,
        start: new Date(clock.now() - 3600_000).toISOString(),
      });
      const user = await call<{ password: string }>(url, admin, 'POST', '/api/v1/users', {
        username: 'entry-patient',
        roles: ['patient'],
        patientId,
      });
      patient = await signIn(url, user.body.password, 'entry-patient');
    });
    after(async () => {
      await vigil?.stop();
      await drop?.();
    });

    it('answers the request a device reading opened: tagged patient-entered, no device, the patient as subject', async () => {
      const res = await fetch(`${url}/ingest/v1/readings`, {
        method: 'POST',
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          messageId: 'cuff-1',
          time: new Date(clock.now()).toISOString(),
          type: 'blood-pressure',
          unit: 'mmHg',
          components: { systolic: 190, diastolic: 100 },
        }),
      });
      assert.equal(res.status, 200);
      await vigil.pipeline.idle();
      const open = await call(url, patient, 'GET', `/api/v1/patients/${patientId}/measurement-requests`);
      assert.equal(open.body.measurementRequests[0]?.status, 'open', JSON.stringify(open.body));

      clock.advance(6 * 60_000);
      const r = await enter({
        type: 'blood-pressure',
        systolic: 150,
        diastolic: 92,
        unit: 'mmHg',
        time: new Date(clock.now()).toISOString(),
      });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      assert.equal(r.body.status, 'accepted');
      const id = r.body.ids[0] as string;
      await vigil.pipeline.idle();
      const done = await call(url, patient, 'GET', `/api/v1/patients/${patientId}/measurement-requests`);
      const m = done.body.measurementRequests[0];
      assert.equal(m.status, 'fulfilled', JSON.stringify(m));
      assert.equal(m.fulfilledBy, id, 'the typed-in reading answered it');

      const obs = await observation(id);
      assert.equal(obs.subject?.reference, `Patient/${patientId}`);
      assert.equal(obs.device, undefined, 'no device measured it');
      assert.ok(obs.meta?.tag?.some((t) => t.system === TAG && t.code === 'patient-entered'));
      const sys = obs.component?.find((c) => c.code.coding.some((x) => x.code === '8480-6'));
      assert.equal(sys?.valueQuantity.value, 150);
      assert.deepEqual(validateFhir(obs as never), []);
    });

    it('converts the patient’s units like a device’s, keeping what was typed', async () => {
      const w = await enter({ type: 'weight', value: 176, unit: 'lb' });
      assert.equal(w.status, 201, JSON.stringify(w.body));
      const wo = await observation(w.body.ids[0]);
      assert.equal(wo.valueQuantity?.code, 'kg');
      assert.equal(wo.valueQuantity?.value, Math.round(176 * 0.45359237 * 1000) / 1000);
      assert.deepEqual(
        wo.extension?.find((e) => e.url.endsWith('original-quantity'))?.valueQuantity?.value,
        176,
      );
      const t = await enter({ type: 'temperature', value: 100.4, unit: '[degF]' });
      assert.equal(t.status, 201, JSON.stringify(t.body));
      const to = await observation(t.body.ids[0]);
      assert.equal(to.valueQuantity?.code, 'Cel');
      assert.ok(Math.abs((to.valueQuantity?.value ?? 0) - 38) < 0.01, String(to.valueQuantity?.value));
      for (const body of [
        { type: 'glucose', value: 126, unit: 'mg/dL' },
        { type: 'spo2', value: 96, unit: '%' },
        { type: 'heart-rate', value: 64, unit: '/min' },
      ]) {
        const r = await enter(body);
        assert.equal(r.status, 201, `${body.type}: ${JSON.stringify(r.body)}`);
      }
    });

    it('refuses bad input with the ingest reason and keeps it as a dead letter', async () => {
      const high = await enter({ type: 'spo2', value: 140, unit: '%' });
      assert.equal(high.status, 422);
      assert.equal(high.body.error.code, 'VIGIL_ERR_INGEST_IMPLAUSIBLE_VALUE');
      const unit = await enter({ type: 'weight', value: 80, unit: 'mg/dL' });
      assert.equal(unit.body.error.code, 'VIGIL_ERR_INGEST_UNIT_MISMATCH');
      const half = await enter({ type: 'blood-pressure', systolic: 120, unit: 'mmHg' });
      assert.equal(half.body.error.code, 'VIGIL_ERR_INGEST_INCOMPLETE_PANEL');
      const after = (
        await vigil.db.query<{ n: number; t: string }>(
          `select count(*)::int as n, min(transport) as t from dead_letter where received >= $1`,
          [new Date(clock.now()).toISOString()],
        )
      )[0];
      assert.equal(after?.n, 3, 'each refusal kept');
      assert.equal(after?.t, 'patient');
      // Unknown body fields are dropped by the API's validation: a patient cannot set quality flags.
      const flags = await enter({ type: 'spo2', value: 97, unit: '%', flags: ['demo'] });
      if (flags.status === 201) {
        const o = (await observation(flags.body.ids[0])) as Obs & { interpretation?: unknown };
        assert.equal(o.interpretation, undefined, 'no flag from the body');
      } else assert.equal(flags.status, 400);
    });

    it('the same entry twice is stored once', async () => {
      const body = { messageId: 'same-entry', type: 'heart-rate', value: 70, unit: '/min' };
      const a = await call(url, patient, 'POST', `/api/v1/patients/${patientId}/entered-readings`, body);
      const b = await call(url, patient, 'POST', `/api/v1/patients/${patientId}/entered-readings`, body);
      assert.equal(a.status, 201);
      assert.equal(b.status, 200);
      assert.equal(b.body.status, 'duplicate');
      assert.deepEqual(b.body.ids, a.body.ids);
    });

    it('a patient who refused monitoring is not monitored by hand either', async () => {
      const no = await call(url, patient, 'POST', `/api/v1/patients/${patientId}/consents`, {
        purpose: 'monitoring',
        decision: 'deny',
      });
      assert.equal(no.status, 201, JSON.stringify(no.body));
      const refused = await enter({ type: 'heart-rate', value: 70, unit: '/min' });
      assert.equal(refused.status, 403);
      assert.equal(refused.body.error.code, 'VIGIL_ERR_CONSENT_DENIED');
      await call(url, patient, 'POST', `/api/v1/patients/${patientId}/consents`, {
        purpose: 'monitoring',
        decision: 'permit',
      });
      const again = await enter({ type: 'heart-rate', value: 70, unit: '/min' });
      assert.equal(again.status, 201);
    });

    it('only the patient, for their own record: never another patient, never staff', async () => {
      const other = await enter({ type: 'heart-rate', value: 70, unit: '/min' }, patient, otherId);
      assert.equal(other.status, 403);
      const staff = await enter({ type: 'heart-rate', value: 70, unit: '/min' }, admin);
      assert.equal(staff.status, 403);
      const rows = await vigil.db.query<{ n: number }>(
        `select count(*)::int as n from observation where patient_id = $1`,
        [otherId],
      );
      assert.equal(rows[0]?.n, 0);
      const audited = await eventually('the audit record of an entry', async () => {
        const rows = await vigil.db.query<{ n: number }>(
          `select count(*)::int as n from audit_event where subtype_code = 'patient-entered' and patient_id = $1 and outcome = '0'`,
          [patientId],
        );
        return (rows[0]?.n ?? 0) > 0 ? true : undefined;
      });
      assert.ok(audited, 'entries are audited');
    });
  });
}
