import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import mqtt from 'mqtt';
import WebSocket from 'ws';
import { createFreshPostgresDatabase } from '../support/databases.ts';
import { type RunningVigil, startVigilProcess } from '../support/process.ts';
import { deleteStream, natsUrl, scaledOutSkip as skip, uniquePrefix } from './nats-support.ts';
import { call, eventually, signIn } from './support.ts';

interface AlertView {
  conditionKey: string;
  severity: string;
  state: string;
}

describe('scaled out: ingest and detect roles in two processes over NATS JetStream and PostgreSQL', {
  skip,
}, () => {
  const procs: RunningVigil[] = [];
  const cleanups: Array<() => Promise<void>> = [];
  after(async () => {
    for (const p of procs) p.proc.kill('SIGKILL');
    for (const c of cleanups.reverse()) await c().catch(() => {});
  });

  it('a reading published over MQTT to the ingest process raises an alert through the detect process; a detect restart loses nothing', async () => {
    const prefix = uniquePrefix();
    cleanups.push(() => deleteStream(prefix));
    const db = await createFreshPostgresDatabase();
    cleanups.push(db.drop);
    const password = 'scaled-out-test-password';
    const common = {
      VIGIL_DATABASE_URL: db.url,
      VIGIL_NATS_URL: natsUrl as string,
      VIGIL_NATS_PREFIX: prefix,
      VIGIL_ADMIN_PASSWORD: password,
      VIGIL_LOG_LEVEL: 'warn',
    };
    const ingest = await startVigilProcess({ env: { ...common, VIGIL_ROLE: 'ingest' } });
    procs.push(ingest);
    let detect = await startVigilProcess({ env: { ...common, VIGIL_ROLE: 'detect' } });
    procs.push(detect);
    const api = await startVigilProcess({ env: { ...common, VIGIL_ROLE: 'api' } });
    procs.push(api);
    const url = api.httpUrl;
    // each worker serves only its stage
    assert.equal(
      (await fetch(`${ingest.httpUrl}/api/v1/devices`)).status,
      404,
      'ingest workers serve no management API',
    );
    assert.equal(
      (await fetch(`${api.httpUrl}/ingest/v1/readings`, { method: 'POST' })).status,
      404,
      'api workers take no device readings',
    );
    assert.equal(
      (await fetch(`${detect.httpUrl}/health`)).status,
      200,
      'detect workers answer health checks',
    );
    const token = await signIn(url, password);

    const created = await call<{ id: string }>(
      url,
      token,
      'POST',
      '/fhir/Patient',
      { resourceType: 'Patient' },
      'application/fhir+json',
    );
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const patientId = created.body.id;
    const put = await call(url, token, 'PUT', `/api/v1/patients/${patientId}/monitoring`, {
      monitoring: { programs: ['post-surgical'] },
    });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    const reg = await call<{ secret: string }>(url, token, 'POST', '/api/v1/devices', {
      id: 'thermo-n1',
      kind: 'thermometer',
    });
    assert.equal(reg.status, 201);
    const asg = await call(url, token, 'POST', '/api/v1/devices/thermo-n1/assignments', {
      patientId,
      start: new Date(Date.now() - 3600_000).toISOString(),
    });
    assert.equal(asg.status, 201, JSON.stringify(asg.body));

    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${ingest.mqttPort}`, {
      username: 'thermo-n1',
      password: reg.body.secret,
      reconnectPeriod: 0,
    });
    cleanups.push(() => client.endAsync());
    const temp = (value: number, secondsAgo: number, id: string) =>
      client.publishAsync(
        'devices/thermo-n1/readings',
        JSON.stringify({
          messageId: id,
          time: new Date(Date.now() - secondsAgo * 1000).toISOString(),
          type: 'temperature',
          value,
          unit: 'Cel',
        }),
        { qos: 1 },
      );
    const tempAlert = async () =>
      (
        await call<{ alerts: AlertView[] }>(url, token, 'GET', `/api/v1/alerts?patient=${patientId}`)
      ).body.alerts.find((a) => a.conditionKey === 'threshold:8310-5:high');

    // The live feed of the api worker: alert changes are made by the detect worker.
    const live: Array<{ type: string; alert?: { patientId: string; state: string } }> = [];
    const ws = new WebSocket(`${url.replace('http', 'ws')}/api/v1/live`, [
      'vigil.v1',
      `vigil.bearer.${token}`,
    ]);
    cleanups.push(async () => ws.close());
    await new Promise<void>((resolve, reject) => {
      ws.once('error', reject);
      ws.on('message', (data) => {
        const m = JSON.parse(String(data)) as (typeof live)[number];
        live.push(m);
        if (m.type === 'ready') resolve();
      });
    });

    // 39.4 °C: post-surgical temperature ≥ 39 → high.
    await temp(39.4, 120, 't1');
    const opened = await eventually('the alert raised by the detect process', tempAlert, 30_000);
    assert.equal(opened.severity, 'high');
    assert.equal(opened.state, 'open');
    const heard = await eventually("the alert on the api worker's live feed", async () =>
      live.find((m) => m.type === 'alert' && m.alert?.patientId === patientId),
    );
    assert.equal(heard.alert?.state, 'open');

    // The detect worker stops; a recovery reading arrives meanwhile; the restarted worker evaluates it.
    detect.proc.kill('SIGTERM');
    assert.equal((await detect.exited).code, 0, detect.stderr());
    await temp(36.9, 60, 't2');
    detect = await startVigilProcess({ env: { ...common, VIGIL_ROLE: 'detect' } });
    procs.push(detect);
    const resolved = await eventually(
      'the alert resolved after the detect restart',
      async () => {
        const a = await tempAlert();
        return a?.state === 'resolved' ? a : undefined;
      },
      30_000,
    );
    assert.equal(resolved.state, 'resolved');
    const all = (
      await call<{ alerts: AlertView[] }>(url, token, 'GET', `/api/v1/alerts?patient=${patientId}`)
    ).body.alerts;
    assert.equal(
      all.filter((a) => a.conditionKey === 'threshold:8310-5:high').length,
      1,
      'no duplicate alert',
    );
    for (const p of [ingest, detect]) {
      p.proc.kill('SIGTERM');
      assert.equal((await p.exited).code, 0);
    }
  });
});
