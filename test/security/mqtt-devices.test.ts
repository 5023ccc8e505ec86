import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import mqtt from 'mqtt';
import { adminToken, call, type Harness, startSecured } from './support.ts';

const mosquittoPub = '/usr/bin/mosquitto_pub';

function pub(
  port: number,
  user: string,
  password: string,
  topic: string,
  message: string,
): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      mosquittoPub,
      [
        '-h',
        '127.0.0.1',
        '-p',
        String(port),
        '-u',
        user,
        '-P',
        password,
        '-t',
        topic,
        '-m',
        message,
        '-q',
        '1',
        '-i',
        `t-${user}-${Date.now()}`,
      ],
      { timeout: 10_000 },
      (err, _stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stderr }),
    );
  });
}

const reading = (id: string) =>
  JSON.stringify({ messageId: id, time: '2026-01-01T08:00:00Z', type: 'spo2', value: 97, unit: '%' });

describe('real MQTT clients against the embedded broker', {
  skip: existsSync(mosquittoPub) ? false : 'mosquitto_pub is not installed',
}, () => {
  let h: Harness;
  let admin: string;
  const secrets: Record<string, string> = {};
  let port: number;

  before(async () => {
    h = await startSecured();
    admin = await adminToken(h.vigil);
    port = h.vigil.mqttPort as number;
    for (const id of ['mq-a', 'mq-b']) {
      const r = await call(h.vigil, 'POST', '/api/v1/devices', {
        token: admin,
        body: { id, kind: 'pulse-oximeter' },
      });
      secrets[id] = r.json()['secret'] as string;
    }
  });
  after(async () => h?.close());

  const stored = async (device: string) =>
    (
      await h.vigil.db.query<{ n: number }>(
        'select count(*)::int as n from observation where device_id = $1',
        [device],
      )
    )[0]?.n ?? 0;
  const audited = async (subtype: string) => {
    await h.vigil.ctx.security.audit.flush();
    return (
      (
        await h.vigil.db.query<{ n: number }>(
          'select count(*)::int as n from audit_event where subtype_code = $1',
          [subtype],
        )
      )[0]?.n ?? 0
    );
  };

  test('the right secret on its own topic is accepted (QoS 1, acknowledged after commit)', async () => {
    const r = await pub(port, 'mq-a', secrets['mq-a'] as string, 'devices/mq-a/readings', reading('ok-1'));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await stored('mq-a'), 1);
  });

  test('a wrong secret is refused at connect, and audited', async () => {
    const r = await pub(port, 'mq-a', `${secrets['mq-a']}x`, 'devices/mq-a/readings', reading('bad-1'));
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /not authori[sz]ed|refused|bad user name or password/i);
    const unknown = await pub(
      port,
      'no-such-device',
      'whatever',
      'devices/no-such-device/readings',
      reading('bad-2'),
    );
    assert.notEqual(unknown.code, 0);
    assert.equal(await stored('mq-a'), 1);
    assert.ok((await audited('mqtt-auth-failed')) >= 2);
  });

  test("another device's topic is refused: nothing stored for it, and audited", async () => {
    await pub(port, 'mq-a', secrets['mq-a'] as string, 'devices/mq-b/readings', reading('spoof-1'));
    assert.equal(await stored('mq-b'), 0);
    assert.equal(await stored('mq-a'), 1);
    assert.ok((await audited('mqtt-topic-denied')) >= 1);
  });

  test('rotation and revocation take effect at once', async () => {
    const old = secrets['mq-b'] as string;
    const rot = await call(h.vigil, 'POST', '/api/v1/devices/mq-b/rotate', { token: admin });
    assert.equal(rot.status, 200);
    const fresh = rot.json()['secret'] as string;
    assert.notEqual((await pub(port, 'mq-b', old, 'devices/mq-b/readings', reading('old-1'))).code, 0);
    assert.equal((await pub(port, 'mq-b', fresh, 'devices/mq-b/readings', reading('new-1'))).code, 0);
    assert.equal((await call(h.vigil, 'POST', '/api/v1/devices/mq-b/revoke', { token: admin })).status, 200);
    assert.notEqual(
      (await pub(port, 'mq-b', fresh, 'devices/mq-b/readings', reading('after-revoke'))).code,
      0,
    );
    // HTTP ingest refuses the revoked credential too.
    const http = await call(h.vigil, 'POST', '/ingest/v1/readings', {
      token: fresh,
      body: reading('http-after-revoke'),
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(http.status, 401);
    assert.equal(await stored('mq-b'), 1);
    assert.ok((await audited('device-credential-rotate')) >= 1);
    assert.ok((await audited('device-credential-revoke')) >= 1);
  });

  test('a connected device is disconnected when its credential is revoked', async () => {
    const reg = await call(h.vigil, 'POST', '/api/v1/devices', {
      token: admin,
      body: { id: 'mq-c', kind: 'scale' },
    });
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
      username: 'mq-c',
      password: reg.json()['secret'] as string,
      reconnectPeriod: 0,
      clientId: 'mq-c-session',
    });
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    await call(h.vigil, 'POST', '/api/v1/devices/mq-c/revoke', { token: admin });
    await closed;
    assert.equal(client.connected, false);
    await client.endAsync(true);
  });

  test('device secrets are stored only as hashes', async () => {
    const rows = await h.vigil.db.query<{ secret_hash: string }>(
      `select secret_hash from device where id = 'mq-a'`,
    );
    assert.match(rows[0]?.secret_hash ?? '', /^[0-9a-f]{64}$/);
    assert.notEqual(rows[0]?.secret_hash, secrets['mq-a']);
  });
});
