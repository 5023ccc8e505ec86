import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FakeClock } from '../../src/core/clock.ts';
import type { Vigil } from '../../src/server.ts';
import { call, signIn, startTestVigil } from './support.ts';

interface AlertView {
  id: string;
  conditionKey: string;
  rule: string;
  severity: string;
  state: string;
  deviceId: string | null;
  summary: string;
}

/**
 * The detection pipeline end to end in one process: a Patient, an enrolment, two devices, vitals
 * over HTTP ingest → NEWS2 score Observation stored, alert opened with the right severity, updated
 * (not duplicated), auto-resolved on recovery; a missing-data alert with no new data at all.
 */
describe('detection pipeline end to end (in-process bus)', () => {
  const clock = new FakeClock(Date.now());
  let vigil: Vigil;
  let url: string;
  let token: string;
  let patientId: string;
  const secrets: Record<string, string> = {};
  let t0: number;

  before(async () => {
    vigil = await startTestVigil({ clock });
    url = vigil.httpUrl;
    token = await signIn(url);
  });
  after(async () => {
    await vigil?.stop();
  });

  const send = async (device: string, items: object[]) => {
    const res = await fetch(`${url}/ingest/v1/readings`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secrets[device]}`, 'content-type': 'application/json' },
      body: JSON.stringify(items),
    });
    assert.ok(res.status < 300, `ingest answered ${res.status}: ${await res.text()}`);
    // The reading is committed when ingest answers; wait until the stage has evaluated it.
    await vigil.pipeline.idle();
  };
  const at = (s: number) => new Date(t0 + s * 1000).toISOString();
  const vitals = (
    s: number,
    v: { rr: number; spo2: number; sbp: number; hr: number; temp: number },
    tag: string,
  ) => ({
    oxi: [
      { messageId: `${tag}-spo2`, time: at(s), type: 'spo2', value: v.spo2, unit: '%' },
      { messageId: `${tag}-hr`, time: at(s), type: 'heart-rate', value: v.hr, unit: '/min' },
    ],
    cuff: [
      {
        messageId: `${tag}-bp`,
        time: at(s + 1),
        type: 'blood-pressure',
        unit: 'mmHg',
        components: { systolic: v.sbp, diastolic: 70 },
      },
      { messageId: `${tag}-rr`, time: at(s + 1), type: 'respiratory-rate', value: v.rr, unit: '/min' },
      { messageId: `${tag}-temp`, time: at(s + 1), type: 'temperature', value: v.temp, unit: 'Cel' },
    ],
  });
  const alerts = async () =>
    (
      await call<{ alerts: AlertView[] }>(
        url,
        token,
        'GET',
        `/api/v1/alerts?patient=${encodeURIComponent(patientId)}`,
      )
    ).body.alerts;
  const scores = async () =>
    (
      await vigil.db.query<{ value: number; data: { transport: string } }>(
        `select value, data from observation where patient_id = $1 and code = 'vigil-news2' order by effective`,
        [patientId],
      )
    ).map((r) => r.value);

  it('creates a Patient, enrols it and assigns two devices', async () => {
    const created = await call<{ id: string }>(
      url,
      token,
      'POST',
      '/fhir/Patient',
      { resourceType: 'Patient', name: [{ family: 'Test' }] },
      'application/fhir+json',
    );
    assert.equal(created.status, 201, JSON.stringify(created.body));
    patientId = created.body.id;

    const bad = await call(url, token, 'PUT', `/api/v1/patients/${patientId}/monitoring`, {
      monitoring: { programs: ['post-surgical'], rules: { 'vitals-gap': { gapMinutes: -1 } } },
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, 'VIGIL_ERR_DETECT_CONFIG_INVALID');
    assert.match(bad.body.error.message, /vitals-gap\.gapMinutes/);

    // Post-surgical program; the vital-signs cadence tightened to 1 min (gap after 3) for this test.
    const put = await call(url, token, 'PUT', `/api/v1/patients/${patientId}/monitoring`, {
      monitoring: {
        programs: ['post-surgical'],
        rules: { 'vitals-gap': { expectedEveryMinutes: 1, gapMinutes: 3 } },
      },
      reason: 'discharged after surgery',
    });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    assert.equal(put.body.version, 1);
    assert.equal(put.body.changedBy.startsWith('user:'), true);

    for (const [id, kind] of [
      ['oxi-e2e', 'pulse-oximeter'],
      ['cuff-e2e', 'blood-pressure-cuff'],
    ] as const) {
      const reg = await call<{ secret: string }>(url, token, 'POST', '/api/v1/devices', { id, kind });
      assert.equal(reg.status, 201);
      secrets[id] = reg.body.secret;
      const asg = await call(url, token, 'POST', `/api/v1/devices/${id}/assignments`, {
        patientId,
        start: new Date(clock.now() - 3600_000).toISOString(),
      });
      assert.equal(asg.status, 201, JSON.stringify(asg.body));
    }
    t0 = clock.now() - 30 * 60_000;
  });

  it('stores a NEWS2 score Observation from normal vitals and raises nothing', async () => {
    const v = vitals(0, { rr: 16, spo2: 97, sbp: 125, hr: 72, temp: 36.8 }, 'n1');
    await send('oxi-e2e', v.oxi);
    await send('cuff-e2e', v.cuff);
    assert.deepEqual(await scores(), [0]);
    assert.deepEqual(
      (await alerts()).filter((a) => a.rule === 'news2'),
      [],
    );
  });

  it('opens a NEWS2 alert with the severity of the score (5 → high)', async () => {
    // RR 22 (2) + SpO2 95 (1) + SBP 105 (1) + HR 95 (1) + 37.5 °C (0) = 5: urgent response → high
    const v = vitals(60, { rr: 22, spo2: 95, sbp: 105, hr: 95, temp: 37.5 }, 'd1');
    await send('oxi-e2e', v.oxi);
    await send('cuff-e2e', v.cuff);
    assert.equal((await scores()).at(-1), 5);
    const news2 = (await alerts()).filter((a) => a.conditionKey === 'news2');
    assert.equal(news2.length, 1);
    assert.equal(news2[0]?.severity, 'high');
    assert.equal(news2[0]?.state, 'open');
  });

  it('updates the same alert when the condition repeats and worsens (7 → critical), no duplicate', async () => {
    // RR 25 (3) + SpO2 95 (1) + SBP 105 (1) + HR 115 (2) + 37.5 (0) = 7: emergency → critical
    const v = vitals(120, { rr: 25, spo2: 95, sbp: 105, hr: 115, temp: 37.5 }, 'd2');
    await send('oxi-e2e', v.oxi);
    await send('cuff-e2e', v.cuff);
    const news2 = (await alerts()).filter((a) => a.conditionKey === 'news2');
    assert.equal(news2.length, 1, 'one alert per condition');
    assert.equal(news2[0]?.severity, 'critical');
    // A redelivered message changes nothing (idempotent ingest and alerts).
    await send('cuff-e2e', v.cuff);
    assert.equal((await alerts()).filter((a) => a.conditionKey === 'news2').length, 1);
    const ids = await vigil.db.query<{ n: number }>(
      `select count(*)::int as n from observation where patient_id = $1 and code = 'vigil-news2'`,
      [patientId],
    );
    assert.equal(ids[0]?.n, (await scores()).length);
  });

  it('resolves the alert automatically when the vitals recover', async () => {
    const v = vitals(180, { rr: 16, spo2: 97, sbp: 125, hr: 72, temp: 36.8 }, 'r1');
    await send('oxi-e2e', v.oxi);
    await send('cuff-e2e', v.cuff);
    assert.equal((await scores()).at(-1), 0);
    const news2 = (await alerts()).filter((a) => a.conditionKey === 'news2');
    assert.equal(news2.length, 1);
    assert.equal(news2[0]?.state, 'resolved');
  });

  it('raises a missing-data alert with no new data once the cadence is missed', async () => {
    assert.equal((await alerts()).filter((a) => a.rule === 'missing-data').length, 0);
    // No reading is sent: only time passes.
    clock.advance(10 * 60_000); // silence is judged on arrival time: 10 min > the 3 min gap
    await vigil.pipeline.stage?.tick();
    const gaps = (await alerts()).filter((a) => a.rule === 'missing-data');
    assert.deepEqual(gaps.map((a) => a.deviceId).sort(), ['cuff-e2e', 'oxi-e2e']);
    assert.ok(gaps.every((a) => a.state === 'open'));
  });

  it('shows the configuration, its history and the program catalogue; nurses may not change it', async () => {
    const get = await call(url, token, 'GET', `/api/v1/patients/${patientId}/monitoring`);
    assert.equal(get.status, 200);
    assert.deepEqual(get.body.monitoring.programs, ['post-surgical']);
    const put2 = await call(url, token, 'PUT', `/api/v1/patients/${patientId}/monitoring`, {
      monitoring: { programs: ['post-surgical', 'copd'], spo2Scale: 2 },
      expectedVersion: 1,
    });
    assert.equal(put2.status, 200, JSON.stringify(put2.body));
    const stale = await call(url, token, 'PUT', `/api/v1/patients/${patientId}/monitoring`, {
      monitoring: { programs: ['copd'] },
      expectedVersion: 1,
    });
    assert.equal(stale.status, 409);
    const hist = await call(url, token, 'GET', `/api/v1/patients/${patientId}/monitoring/history`);
    assert.deepEqual(
      hist.body.versions.map((v: { version: number }) => v.version),
      [2, 1],
    );
    assert.equal(hist.body.versions[0].monitoring.spo2Scale, 2);
    const programs = await call(url, token, 'GET', '/api/v1/programs');
    assert.ok(programs.body.programs.some((p: { name: string }) => p.name === 'heart-failure'));

    const nurse = await call(url, token, 'POST', '/api/v1/users', {
      username: 'nurse-e2e',
      password: 'another-long-password',
      roles: ['nurse'],
      practitionerId: 'nurse-e2e',
    });
    assert.ok(nurse.status < 300, JSON.stringify(nurse.body));
    // The care team names a stored Practitioner (FHIR writes check local references).
    const practitioner = await call(
      url,
      token,
      'PUT',
      '/fhir/Practitioner/nurse-e2e',
      { resourceType: 'Practitioner', id: 'nurse-e2e', name: [{ family: 'Nurse' }] },
      'application/fhir+json',
    );
    assert.ok(practitioner.status < 300, JSON.stringify(practitioner.body));
    const team = await call(
      url,
      token,
      'POST',
      '/fhir/CareTeam',
      {
        resourceType: 'CareTeam',
        status: 'active',
        subject: { reference: `Patient/${patientId}` },
        participant: [{ member: { reference: 'Practitioner/nurse-e2e' } }],
      },
      'application/fhir+json',
    );
    assert.equal(team.status, 201, JSON.stringify(team.body));
    const nurseToken = await signIn(url, 'another-long-password', 'nurse-e2e');
    const read = await call(url, nurseToken, 'GET', `/api/v1/patients/${patientId}/monitoring`);
    assert.equal(read.status, 200, JSON.stringify(read.body));
    assert.equal(read.body.version, 2);
    const refused = await call(url, nurseToken, 'PUT', `/api/v1/patients/${patientId}/monitoring`, {
      monitoring: { programs: ['copd'] },
    });
    assert.equal(refused.status, 403);
  });
});
