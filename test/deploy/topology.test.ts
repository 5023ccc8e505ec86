/**
 * The production topology of docs/operations.md, from the machine's Debian packages instead of
 * containers: PostgreSQL (VIGIL_TEST_DATABASE_URL, a fresh database), NATS JetStream
 * (VIGIL_TEST_NATS_URL), a Mosquitto this test starts on a free port with its own configuration, and
 * Vigil's api, ingest and detect roles as three processes of bin/vigil.js. Readings in over the
 * broker, alerts out (API and notifier), the detect worker killed with SIGKILL and restarted.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import mqtt from 'mqtt';
import { loadConfig } from '../../src/config/config.ts';
import { call, eventually, signIn } from '../pipeline/support.ts';
import { createFreshPostgresDatabase, testDatabaseUrl } from '../support/databases.ts';
import { freePort, type RunningVigil, startVigilProcess, tempDir } from '../support/process.ts';

const natsUrl = process.env['VIGIL_TEST_NATS_URL'] || undefined;
const mosquittoBin = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto'].find((p) => existsSync(p));
const skip = !natsUrl
  ? 'VIGIL_TEST_NATS_URL is not set: production-topology test skipped'
  : !testDatabaseUrl
    ? 'VIGIL_TEST_DATABASE_URL is not set: production-topology test skipped'
    : !mosquittoBin
      ? 'mosquitto is not installed: production-topology test skipped'
      : false;

/** A deployment prefix of its own on the shared NATS server, where this Vigil knows the setting. */
function natsPrefix(): Record<string, string> {
  const prefix = `topo${process.pid}`;
  try {
    loadConfig({ VIGIL_NATS_PREFIX: prefix });
    return { VIGIL_NATS_PREFIX: prefix };
  } catch {
    return {}; // not known to this build: the default stream is shared with other tests (fresh database)
  }
}

async function startMosquitto(): Promise<{ url: string; proc: ChildProcess }> {
  const port = await freePort();
  const dir = tempDir('vigil-mosquitto-');
  const conf = join(dir, 'mosquitto.conf');
  // Device credentials at the broker are the dynamic-security plugin's job (deploy/mosquitto); this
  // broker admits any client so that the topology, not the provisioning, is what is tested here.
  writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\n`);
  const proc = spawn(mosquittoBin as string, ['-c', conf], { stdio: 'ignore' });
  await eventually(
    'mosquitto listening',
    async () => {
      try {
        const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
          reconnectPeriod: 0,
          connectTimeout: 500,
        });
        await c.endAsync();
        return true;
      } catch {
        return undefined;
      }
    },
    10_000,
  );
  return { url: `mqtt://127.0.0.1:${port}`, proc };
}

describe('production topology: api, ingest, detect processes on PostgreSQL, NATS JetStream and Mosquitto', {
  skip,
}, () => {
  const procs: RunningVigil[] = [];
  const cleanups: Array<() => Promise<void>> = [];
  after(async () => {
    for (const p of procs) p.proc.kill('SIGKILL');
    for (const c of cleanups.reverse()) await c().catch(() => {});
  });

  it('readings in through the broker, alerts out; a detect worker killed with SIGKILL and restarted loses nothing', async () => {
    const broker = await startMosquitto();
    cleanups.push(async () => {
      broker.proc.kill('SIGTERM');
    });
    const db = await createFreshPostgresDatabase();
    cleanups.push(db.drop);
    const notifyFile = join(tempDir(), 'notifications.ndjson');
    const password = 'topology-test-password';
    const common = {
      VIGIL_DATABASE_URL: db.url,
      VIGIL_NATS_URL: natsUrl as string,
      VIGIL_ADMIN_PASSWORD: password,
      VIGIL_LOG_LEVEL: 'warn',
      VIGIL_NOTIFY_FILE: notifyFile,
      ...natsPrefix(),
    };
    const api = await startVigilProcess({ env: { ...common, VIGIL_ROLE: 'api' } });
    procs.push(api);
    const ingest = await startVigilProcess({
      env: {
        ...common,
        VIGIL_ROLE: 'ingest',
        VIGIL_MQTT_URL: broker.url,
        VIGIL_MQTT_CLIENT_ID: `vigil-topo-${process.pid}`,
      },
    });
    procs.push(ingest);
    let detect = await startVigilProcess({ env: { ...common, VIGIL_ROLE: 'detect' } });
    procs.push(detect);

    const url = api.httpUrl;
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
      id: 'thermo-topo',
      kind: 'thermometer',
    });
    assert.equal(reg.status, 201);
    const asg = await call(url, token, 'POST', '/api/v1/devices/thermo-topo/assignments', {
      patientId,
      start: new Date(Date.now() - 3600_000).toISOString(),
    });
    assert.equal(asg.status, 201, JSON.stringify(asg.body));

    const device = await mqtt.connectAsync(broker.url, {
      clientId: 'thermo-topo',
      username: 'thermo-topo',
      password: reg.body.secret,
      reconnectPeriod: 0,
    });
    cleanups.push(() => device.endAsync());
    const temp = (value: number, secondsAgo: number, id: string) =>
      device.publishAsync(
        'devices/thermo-topo/readings',
        JSON.stringify({
          messageId: id,
          time: new Date(Date.now() - secondsAgo * 1000).toISOString(),
          type: 'temperature',
          value,
          unit: 'Cel',
        }),
        { qos: 1 },
      );
    const stored = async (n: number) => {
      const r = await call<{ readings: unknown[] }>(
        url,
        token,
        'GET',
        '/api/v1/devices/thermo-topo/readings',
      );
      return r.status === 200 && r.body.readings.length >= n ? r.body.readings : undefined;
    };
    const tempAlert = async () =>
      (
        await call<{ alerts: Array<{ conditionKey: string; state: string; severity: string }> }>(
          url,
          token,
          'GET',
          `/api/v1/alerts?patient=${patientId}`,
        )
      ).body.alerts.find((a) => a.conditionKey === 'threshold:8310-5:high');

    // The detect worker dies without a chance to save anything; a fever is published meanwhile.
    detect.proc.kill('SIGKILL');
    await detect.exited;
    await temp(39.4, 60, 'topo-1');
    await eventually('the reading stored by the ingest worker', () => stored(1), 30_000);
    assert.equal(await tempAlert(), undefined, 'no detect worker, no alert yet');

    detect = await startVigilProcess({ env: { ...common, VIGIL_ROLE: 'detect' } });
    procs.push(detect);
    const alert = await eventually('the alert raised by the restarted detect worker', tempAlert, 60_000);
    assert.equal(alert.severity, 'high');
    assert.equal(alert.state, 'open');
    const notified = await eventually(
      'the notification sent by a worker',
      async () => {
        if (!existsSync(notifyFile)) return undefined;
        const lines = readFileSync(notifyFile, 'utf8').trim().split('\n').filter(Boolean);
        const n = lines.map((l) => JSON.parse(l) as { alert: { patientId: string }; reason: string });
        return n.find((x) => x.alert.patientId === patientId);
      },
      30_000,
    );
    assert.equal(notified.reason, 'raised');

    const all = (
      await call<{ alerts: Array<{ conditionKey: string }> }>(
        url,
        token,
        'GET',
        `/api/v1/alerts?patient=${patientId}`,
      )
    ).body.alerts;
    assert.equal(
      all.filter((a) => a.conditionKey === 'threshold:8310-5:high').length,
      1,
      'one alert, not two',
    );
    for (const p of [api, ingest, detect]) {
      p.proc.kill('SIGTERM');
      assert.equal((await p.exited).code, 0);
    }
  });
});
