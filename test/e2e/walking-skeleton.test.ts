import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import mqtt from 'mqtt';
import postgres from 'postgres';
import {
  adminToken,
  api,
  printedAdminPassword,
  type RunningVigil,
  startVigilProcess,
} from '../support/process.ts';

const run = promisify(execFile);
const hasMosquittoPub = existsSync('/usr/bin/mosquitto_pub');

/** Publishes one QoS 1 message the way a device would: mosquitto_pub when installed, else MQTT.js. */
async function publish(
  port: number,
  user: string,
  pass: string,
  topic: string,
  message: string,
): Promise<void> {
  if (hasMosquittoPub) {
    await run('/usr/bin/mosquitto_pub', [
      '-h',
      '127.0.0.1',
      '-p',
      String(port),
      '-u',
      user,
      '-P',
      pass,
      '-q',
      '1',
      '-t',
      topic,
      '-m',
      message,
    ]);
    return;
  }
  const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
    username: user,
    password: pass,
    reconnectPeriod: 0,
  });
  await c.publishAsync(topic, message, { qos: 1 });
  await c.endAsync();
}

describe('walking skeleton: a real Vigil process, MQTT in, HTTP out, SIGTERM, restart', () => {
  let vigil: RunningVigil | undefined;
  after(() => {
    vigil?.proc.kill('SIGKILL');
  });

  it('stores a reading published with MQTT QoS 1 durably and serves it back after a clean restart', async () => {
    vigil = await startVigilProcess();
    const password = printedAdminPassword(vigil.stdout());
    assert.ok(password && password.length >= 16, 'first start prints a random admin password once');
    assert.match(vigil.stdout(), /http:\/\/127\.0\.0\.1:\d+\/fhir/, 'prints where the FHIR API is');
    const token = await adminToken(vigil.httpUrl, password);

    const health = await fetch(`${vigil.httpUrl}/health`);
    assert.equal(health.status, 200);
    const ready = await fetch(`${vigil.httpUrl}/ready`);
    assert.deepEqual(await ready.json(), {
      status: 'ready',
      checks: { store: 'ok', startup: 'ok', mqtt: 'ok' },
    });
    const metrics = await (await fetch(`${vigil.httpUrl}/metrics`)).text();
    assert.match(metrics, /vigil_readings_accepted_total/);

    const reg = await api<{ secret: string }>(vigil.httpUrl, token, 'POST', '/api/v1/devices', {
      id: 'oxi-7',
      kind: 'pulse-oximeter',
    });
    assert.equal(reg.status, 201);
    const reading = JSON.stringify({
      messageId: 'a1',
      time: '2026-01-05T10:00:00Z',
      type: 'spo2',
      value: 97,
      unit: '%',
    });
    await publish(vigil.mqttPort, 'oxi-7', reg.body.secret, 'devices/oxi-7/readings', reading);

    // mosquitto_pub returned after the PUBACK, which Vigil sends only after the commit: it must be there now.
    const got = await api<{
      readings: Array<{ id: string; code: string; value: number; unit: string; transport: string }>;
    }>(vigil.httpUrl, token, 'GET', '/api/v1/devices/oxi-7/readings');
    assert.equal(got.body.readings.length, 1);
    const stored = got.body.readings[0];
    assert.equal(stored?.code, '2708-6');
    assert.equal(stored?.value, 97);
    assert.equal(stored?.unit, '%');
    assert.equal(stored?.transport, 'mqtt');

    // SIGTERM: clean stop, exit code 0
    vigil.proc.kill('SIGTERM');
    const exit = await vigil.exited;
    assert.equal(exit.code, 0, `exit code after SIGTERM\n${vigil.stderr()}`);
    assert.match(vigil.stdout(), /stopped cleanly/);

    // restart on the same data: no new admin password, the reading is still there
    const again = await startVigilProcess({ dataDir: vigil.dataDir });
    vigil = again;
    assert.equal(
      printedAdminPassword(again.stdout()),
      undefined,
      'the admin password is printed only on the first start',
    );
    const token2 = await adminToken(again.httpUrl, password);
    const back = await api<{ id: string; value: number }>(
      again.httpUrl,
      token2,
      'GET',
      `/api/v1/readings/${stored?.id}`,
    );
    assert.equal(back.status, 200);
    assert.equal(back.body.value, 97);
    again.proc.kill('SIGTERM');
    assert.equal((await again.exited).code, 0);
  });

  it('refuses to start with a one-line error on a bad setting, an unreachable database and a port in use', async () => {
    await assert.rejects(startVigilProcess({ env: { VIGIL_HTTP_PORT: 'abc' } }), (e: Error) => {
      assert.match(e.message, /exited with 1/);
      assert.match(e.message, /VIGIL_HTTP_PORT="abc" is invalid/);
      assert.doesNotMatch(e.message, /\n\s+at /, 'no stack trace');
      return true;
    });
    await assert.rejects(
      startVigilProcess({ env: { VIGIL_DATABASE_URL: 'postgres://vigil@127.0.0.1:1/vigil' } }),
      (e: Error) => {
        assert.match(e.message, /exited with 1/);
        assert.match(e.message, /cannot reach the database at VIGIL_DATABASE_URL/);
        assert.doesNotMatch(e.message, /\n\s+at /, 'no stack trace');
        return true;
      },
    );
    const first = await startVigilProcess();
    try {
      await assert.rejects(
        startVigilProcess({ httpPort: first.httpPort }),
        /port \d+ is already in use \(set VIGIL_HTTP_PORT/,
      );
    } finally {
      first.proc.kill('SIGTERM');
      await first.exited;
    }
  });

  it('runs on a PostgreSQL server with the same migrations', {
    skip: process.env['VIGIL_TEST_DATABASE_URL']
      ? false
      : 'VIGIL_TEST_DATABASE_URL is not set: PostgreSQL run skipped',
  }, async () => {
    const { createFreshPostgresDatabase } = await import('../support/databases.ts');
    const fresh = await createFreshPostgresDatabase();
    const v = await startVigilProcess({
      env: { VIGIL_DATABASE_URL: fresh.url, VIGIL_ADMIN_PASSWORD: 'scripted-install-pw-42' },
    });
    try {
      assert.match(v.stdout(), /PostgreSQL server/);
      const token = await adminToken(v.httpUrl, 'scripted-install-pw-42');
      const reg = await api<{ secret: string }>(v.httpUrl, token, 'POST', '/api/v1/devices', {
        id: 'hr-1',
        kind: 'wearable',
      });
      await publish(
        v.mqttPort,
        'hr-1',
        reg.body.secret,
        'devices/hr-1/readings',
        JSON.stringify({ time: '2026-01-05T10:00:00Z', type: 'heart-rate', value: 61, unit: '/min' }),
      );
      const sql = postgres(fresh.url, { max: 1, onnotice: () => {} });
      const rows = await sql`select value from observation where device_id = 'hr-1'`;
      await sql.end();
      assert.deepEqual(
        rows.map((r) => r['value']),
        [61],
      );
    } finally {
      v.proc.kill('SIGTERM');
      await v.exited;
      await fresh.drop();
    }
  });
});
