import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { newId } from '../../src/core/ids.ts';
import type { Reading } from '../../src/core/reading.ts';
import type { ForwardedAlert, ForwardRecord, ForwardResponse } from '../../src/edge/wire.ts';
import type { Vigil } from '../../src/server.ts';
import { call, signIn, startTestVigil } from '../pipeline/support.ts';

/**
 * The centre's side of an edge gateway, in process: who may forward, for which devices, what a
 * resend does (nothing), how a hub's alert becomes one centre alert, and that forwarded readings
 * are not evaluated again at the centre.
 */
describe('centre: POST /ingest/v1/edge/forward', () => {
  let vigil: Vigil;
  let url: string;
  let token: string;
  let patientId: string;
  let gatewaySecret: string;
  let oxiSecret: string;
  const t0 = Date.now() - 3600_000;
  const at = (s: number) => new Date(t0 + s * 1000).toISOString();
  const health = {
    queueDepth: 3,
    oldestQueuedAt: null,
    uplink: 'down' as const,
    clockOffsetSeconds: 0.25,
    summarisedReadings: 0,
    droppedReadings: 0,
    rejectedRecords: 0,
  };
  let seq = 0;

  const reading = (device: string, s: number, value: number, key?: string): Reading => ({
    id: newId(),
    deviceId: device,
    patientId: 'edge-local-patient',
    code: '59408-5',
    codings: [],
    category: 'vital-signs',
    value,
    unit: '%',
    components: [],
    effective: at(s),
    received: at(s),
    flags: [],
    idempotencyKey: key ?? `${device}|m:r-${s}|59408-5`,
    transport: 'http',
    profile: 'native-json',
  });
  const forward = async (records: ForwardRecord[], secret = gatewaySecret) => {
    const res = await fetch(`${url}/ingest/v1/edge/forward`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ sentAt: new Date().toISOString(), health, records }),
    });
    return { status: res.status, body: (await res.json()) as ForwardResponse & { error?: { code: string } } };
  };
  const rec = (r: Reading): ForwardRecord => ({ seq: ++seq, kind: 'reading', reading: r });
  const alertRec = (a: ForwardedAlert): ForwardRecord => ({ seq: ++seq, kind: 'alert', alert: a });

  before(async () => {
    vigil = await startTestVigil();
    url = vigil.httpUrl;
    token = await signIn(url);
    const p = await call(
      url,
      token,
      'POST',
      '/fhir/Patient',
      { resourceType: 'Patient' },
      'application/fhir+json',
    );
    patientId = p.body.id;
    for (const [id, kind] of [
      ['hub-1', 'gateway'],
      ['oxi-1', 'pulse-oximeter'],
      ['stranger-1', 'pulse-oximeter'],
    ]) {
      const d = await call(url, token, 'POST', '/api/v1/devices', { id, kind });
      assert.equal(d.status, 201);
      if (id === 'hub-1') gatewaySecret = d.body.secret;
      if (id === 'oxi-1') oxiSecret = d.body.secret;
    }
    for (const id of ['oxi-1', 'stranger-1'])
      assert.equal(
        (await call(url, token, 'POST', `/api/v1/devices/${id}/assignments`, { patientId, start: at(-60) }))
          .status,
        201,
      );
    // the centre monitors the patient: forwarded readings must still not be evaluated here
    const enrol = await call(url, token, 'PUT', `/api/v1/patients/${patientId}/monitoring`, {
      monitoring: { programs: ['post-surgical'] },
    });
    assert.equal(enrol.status, 200);
  });
  after(async () => {
    await vigil?.stop();
  });

  it('is for gateways only', async () => {
    const r = await forward([], oxiSecret);
    assert.equal(r.status, 403);
    assert.equal(r.body.error?.code, 'VIGIL_ERR_EDGE_FORBIDDEN');
    const link = await call(url, token, 'PUT', '/api/v1/gateways/oxi-1/devices/stranger-1');
    assert.equal(link.status, 400);
    assert.equal(link.body.error.code, 'VIGIL_ERR_EDGE_NOT_GATEWAY');
    assert.equal((await call(url, token, 'PUT', '/api/v1/gateways/hub-1/devices/oxi-1')).status, 200);
  });

  it('stores readings once with the hub’s ids, attributed at the centre, marked edge, not evaluated', async () => {
    const rs = [
      reading('oxi-1', 0, 97),
      reading('oxi-1', 1, 91),
      reading('oxi-1', 2, 90),
      reading('oxi-1', 3, 89),
    ];
    const first = await forward(rs.map(rec));
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.deepEqual(
      first.body.results.map((r) => r.status),
      ['stored', 'stored', 'stored', 'stored'],
    );
    // a resend (the hub did not see the answer) is a no-op, also with fresh ids for the same keys
    const again = await forward([...rs.map(rec), rec({ ...(rs[0] as Reading), id: newId() })]);
    assert.deepEqual(
      again.body.results.map((r) => r.status),
      ['duplicate', 'duplicate', 'duplicate', 'duplicate', 'duplicate'],
    );
    const rows = await vigil.db.query<{ id: string; patient_id: string; transport: string }>(
      `select id, patient_id, data->>'transport' as transport from observation where device_id = 'oxi-1' order by effective`,
    );
    assert.deepEqual(
      rows.map((r) => r.id),
      rs.map((r) => r.id),
    );
    assert.ok(rows.every((r) => r.patient_id === patientId && r.transport === 'edge'));
    await vigil.pipeline.idle();
    // SpO2 89–91 % (a gradual fall) would raise hypoxaemia here: the centre leaves the evaluation to the hub
    const alerts = await call(url, token, 'GET', `/api/v1/alerts?patient=${patientId}`);
    assert.equal(alerts.body.alerts.length, 0);
  });

  it('stores the hub’s derived readings (NEWS2) under keys of the gateway’s namespace, once', async () => {
    const score: Reading = {
      ...reading('oxi-1', 5, 3),
      code: 'vigil-news2',
      unit: '{score}',
      idempotencyKey: `news2:${patientId}:${t0 + 5000}`,
      transport: 'derived',
      profile: 'derived:news2',
    };
    const r1 = await forward([rec(score)]);
    const r2 = await forward([rec(score)]);
    assert.equal(r1.body.results[0]?.status, 'stored');
    assert.equal(r2.body.results[0]?.status, 'duplicate');
    const rows = await vigil.db.query<{ idem_key: string }>(
      'select idem_key from observation where id = $1',
      [score.id],
    );
    assert.deepEqual(rows, [{ idem_key: `edge:hub-1|news2:${patientId}:${t0 + 5000}` }]);
  });

  it('refuses records for devices not behind the gateway, or with another device’s key', async () => {
    const r = await forward([
      rec(reading('stranger-1', 10, 97)),
      rec(reading('oxi-1', 11, 97, 'stranger-1|m:x|59408-5')),
      rec({ ...reading('oxi-1', 12, 97), effective: 'yesterday' }),
      { seq: ++seq, kind: 'reading' } as ForwardRecord,
    ]);
    assert.equal(r.status, 200);
    for (const x of r.body.results) {
      assert.equal(x.status, 'rejected');
      assert.equal(x.status === 'rejected' && x.code, 'VIGIL_ERR_EDGE_BAD_RECORD');
    }
    const bad = await fetch(`${url}/ingest/v1/edge/forward`, {
      method: 'POST',
      headers: { authorization: `Bearer ${gatewaySecret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ sentAt: 'now', health, records: 'all of them' }),
    });
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { error: { code: string } }).error.code, 'VIGIL_ERR_API_VALIDATION');
  });

  it('makes a hub alert one centre alert: raised once, resends ignored, resolved with the hub', async () => {
    const evidence = (
      await vigil.db.query<{ id: string }>(
        `select id from observation where device_id = 'oxi-1' and value < 92 order by effective limit 1`,
      )
    ).map((r) => r.id);
    const hubAlert: ForwardedAlert = {
      id: newId(),
      version: 1,
      conditionKey: 'hypoxaemia',
      rule: 'hypoxaemia',
      severity: 'critical',
      state: 'open',
      summary: 'SpO2 85 % < 92 % (scale 1)',
      evidence,
      data: { spo2: 85 },
      deviceId: null,
      raisedAt: at(1),
      lastDetectionAt: at(3),
      resolvedAt: null,
    };
    const r1 = await forward([alertRec(hubAlert)]);
    assert.equal(r1.body.results[0]?.status, 'stored', JSON.stringify(r1.body));
    const r2 = await forward([alertRec(hubAlert), alertRec({ ...hubAlert, version: 2, state: 'escalated' })]);
    assert.deepEqual(
      r2.body.results.map((r) => r.status),
      ['duplicate', 'stored'],
    );
    let list = (await call(url, token, 'GET', `/api/v1/alerts?patient=${patientId}`)).body.alerts as Array<{
      id: string;
      state: string;
      severity: string;
      data: { edge?: { alertId: string; gatewayId: string } };
    }>;
    assert.equal(list.length, 1);
    assert.equal(list[0]?.severity, 'critical');
    assert.deepEqual(
      { alertId: list[0]?.data.edge?.alertId, gatewayId: list[0]?.data.edge?.gatewayId },
      { alertId: hubAlert.id, gatewayId: 'hub-1' },
    );
    // acknowledged at the centre: every answer tells the hub until the hub reports it
    await vigil.alerts.manager.act(
      list[0]?.id as string,
      { type: 'acknowledge' },
      { kind: 'user', id: 'nurse-1' },
    );
    const told = await forward([]);
    assert.deepEqual(
      told.body.actions.map((a) => [a.alertId, a.type, a.by]),
      [[hubAlert.id, 'acknowledge', 'nurse-1']],
    );
    assert.equal((await forward([])).body.actions.length, 1);
    const acked = await forward([alertRec({ ...hubAlert, version: 3, state: 'acknowledged' })]);
    assert.equal(acked.body.results[0]?.status, 'stored');
    assert.deepEqual(acked.body.actions, []);

    const resolved = { ...hubAlert, version: 4, state: 'resolved' as const, resolvedAt: at(30) };
    assert.equal((await forward([alertRec(resolved)])).body.results[0]?.status, 'stored');
    assert.equal((await forward([alertRec(resolved)])).body.results[0]?.status, 'duplicate');
    list = (await call(url, token, 'GET', `/api/v1/alerts?patient=${patientId}`)).body.alerts;
    assert.equal(list.length, 1);
    assert.equal(list[0]?.state, 'resolved');

    // acknowledged at the hub: the centre's alert too
    const second: ForwardedAlert = {
      ...hubAlert,
      id: newId(),
      conditionKey: 'threshold:8867-4:above',
      rule: 'threshold',
      severity: 'high',
    };
    assert.equal((await forward([alertRec(second)])).body.results[0]?.status, 'stored');
    assert.equal(
      (await forward([alertRec({ ...second, version: 2, state: 'acknowledged' })])).body.results[0]?.status,
      'stored',
    );
    list = (await call(url, token, 'GET', `/api/v1/alerts?patient=${patientId}`)).body.alerts;
    const adopted = list.filter((a) => a.data.edge?.alertId === second.id);
    assert.deepEqual(
      adopted.map((a) => a.state),
      ['acknowledged'],
    );

    const orphan = await forward([alertRec({ ...hubAlert, id: newId(), evidence: [newId()] })]);
    const o = orphan.body.results[0];
    assert.equal(o?.status === 'rejected' && o.code, 'VIGIL_ERR_EDGE_ALERT_UNATTRIBUTED');
  });

  it('stores summaries once and shows the gateway’s health and devices', async () => {
    const summary = {
      id: newId(),
      deviceId: 'oxi-1',
      code: '59408-5',
      unit: '%',
      minute: new Date(Math.floor(t0 / 60_000) * 60_000).toISOString(),
      n: 60,
      min: 95,
      mean: 96.5,
      max: 98,
    };
    const s1 = await forward([{ seq: ++seq, kind: 'summary', summary }]);
    const s2 = await forward([{ seq: ++seq, kind: 'summary', summary }]);
    assert.equal(s1.body.results[0]?.status, 'stored');
    assert.equal(s2.body.results[0]?.status, 'duplicate');
    const rows = await vigil.db.query<{ n: number; patient_id: string }>(
      'select n, patient_id from edge_summary',
    );
    assert.deepEqual(rows, [{ n: 60, patient_id: patientId }]);

    const gws = await call(url, token, 'GET', '/api/v1/gateways');
    assert.equal(gws.status, 200);
    const hub = gws.body.gateways.find((g: { id: string }) => g.id === 'hub-1');
    assert.deepEqual(hub.devices, ['oxi-1']);
    assert.equal(hub.health.queueDepth, 3);
    assert.equal(hub.health.uplink, 'down');
    assert.equal(hub.clockOffsetSeconds, 0.25);
  });
});
