import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import mqtt from 'mqtt';
import { dynsecPlugin, type Mosquitto, mosquittoSkip, startMosquitto } from '../support/mosquitto.ts';
import { freshStore, reading, ready, runId, startWithBroker, storedCounts, waitFor } from './support.ts';

const skip =
  mosquittoSkip || (dynsecPlugin() ? false : 'the dynamic-security plugin of mosquitto is not installed');

function ctrl(broker: Mosquitto, ...args: string[]): string {
  const admin = broker.admin as { username: string; password: string };
  return execFileSync(
    'mosquitto_ctrl',
    [
      '-h',
      '127.0.0.1',
      '-p',
      String(broker.port),
      '-u',
      admin.username,
      '-P',
      admin.password,
      'dynsec',
      ...args,
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  );
}

/** Connects as a device; resolves 'ok' or the broker's refusal reason code. */
async function connectAs(
  url: string,
  username?: string,
  password?: string,
): Promise<mqtt.MqttClient | number> {
  try {
    return await mqtt.connectAsync(url, {
      protocolVersion: 5,
      reconnectPeriod: 0,
      clientId: `dev-${randomBytes(4).toString('hex')}`,
      ...(username ? { username } : {}),
      ...(password ? { password } : {}),
    });
  } catch (e) {
    return (e as { code?: number }).code ?? -1;
  }
}

/** Publishes at QoS 1; resolves the PUBACK reason code (0 = accepted, 135 = not authorized). */
async function publishReason(c: mqtt.MqttClient, topic: string, body: string): Promise<number> {
  let reason = 0;
  const onPacket = (p: mqtt.Packet) => {
    if (p.cmd === 'puback') reason = (p as { reasonCode?: number }).reasonCode ?? 0;
  };
  c.on('packetreceive', onPacket);
  try {
    await c.publishAsync(topic, body, { qos: 1 });
  } catch (e) {
    reason = (e as { code?: number }).code ?? reason;
  }
  c.off('packetreceive', onPacket);
  return reason;
}

describe('device credentials enforced by Mosquitto (dynamic security)', { skip }, () => {
  it('provisions, rotates, revokes and reconciles; anonymous and foreign-topic publishes are refused', async () => {
    const broker = await startMosquitto({ dynsec: true });
    const store = await freshStore();
    // Vigil's own ingest account, created by the operator (docs/mqtt-broker.md)
    const ingestPassword = randomBytes(18).toString('base64url');
    ctrl(broker, 'createRole', 'vigil-ingest');
    ctrl(broker, 'addRoleACL', 'vigil-ingest', 'subscribePattern', 'devices/#', 'allow');
    ctrl(broker, 'addRoleACL', 'vigil-ingest', 'publishClientReceive', 'devices/#', 'allow');
    ctrl(broker, 'createClient', 'vigil-ingest', '-p', ingestPassword);
    ctrl(broker, 'addClientRole', 'vigil-ingest', 'vigil-ingest');
    const url = `mqtt://vigil-ingest:${ingestPassword}@127.0.0.1:${broker.port}`;
    const env = {
      ...store.env,
      VIGIL_MQTT_DYNSEC_USERNAME: broker.admin?.username as string,
      VIGIL_MQTT_DYNSEC_PASSWORD: broker.admin?.password as string,
    };
    let vigil = await startWithBroker(url, env);
    try {
      await waitFor('Vigil subscribed', async () => (await ready(vigil)).mqtt === 'ok');
      const a = `dyn-a-${runId}`;
      const b = `dyn-b-${runId}`;
      const { secret } = await vigil.ctx.devices.register({ id: a, kind: 'scale' });
      await vigil.ctx.devices.register({ id: b, kind: 'scale' });

      // the device's own credential works, on its own topic
      const dev = await connectAs(broker.url, a, secret);
      assert.ok(typeof dev !== 'number', `device connects with its secret (refused: ${String(dev)})`);
      assert.equal(await publishReason(dev, `devices/${a}/readings`, reading(300_000)), 0);
      // a foreign topic: refused by the broker (MQTT 5 PUBACK 135), never reaches Vigil
      assert.equal(await publishReason(dev, `devices/${b}/readings`, reading(300_001)), 135);
      await dev.endAsync();
      await waitFor('reading stored', async () => (await storedCounts(vigil, a)).size === 1);
      assert.equal((await storedCounts(vigil, b)).size, 0, 'nothing stored for the foreign topic');

      // anonymous and wrong-secret connections are refused
      assert.equal(typeof (await connectAs(broker.url)), 'number', 'anonymous refused');
      assert.equal(typeof (await connectAs(broker.url, a, 'not-the-secret')), 'number', 'bad secret refused');

      // rotation: the old secret stops working, the new one works
      const rotated = await vigil.ctx.devices.rotate(a);
      assert.equal(typeof (await connectAs(broker.url, a, secret)), 'number', 'old secret refused');
      const again = await connectAs(broker.url, a, rotated.secret);
      assert.ok(typeof again !== 'number', 'new secret accepted');
      await again.endAsync();

      // revocation: refused by the broker
      await vigil.ctx.devices.revoke(a);
      assert.equal(
        typeof (await connectAs(broker.url, a, rotated.secret)),
        'number',
        'revoked device refused',
      );

      // reconciliation at start: a managed account with no active device is deleted; a device whose
      // account is missing is reported (its password cannot be recreated from the stored hash)
      await vigil.stop();
      ctrl(broker, 'createClient', `ghost-${runId}`, '-p', randomBytes(12).toString('hex'));
      execFileSync('mosquitto_ctrl', [
        '-h',
        '127.0.0.1',
        '-p',
        String(broker.port),
        '-u',
        broker.admin?.username as string,
        '-P',
        broker.admin?.password as string,
        'dynsec',
        'deleteClient',
        b,
      ]);
      // mark the ghost as Vigil's (as if its device had been revoked while Vigil was away)
      const admin = await mqtt.connectAsync(broker.url, {
        username: broker.admin?.username as string,
        password: broker.admin?.password as string,
        protocolVersion: 5,
        reconnectPeriod: 0,
      });
      await admin.publishAsync(
        '$CONTROL/dynamic-security/v1',
        JSON.stringify({
          commands: [
            { command: 'modifyClient', username: `ghost-${runId}`, textdescription: 'vigil-device' },
          ],
        }),
        { qos: 1 },
      );
      await admin.endAsync();
      vigil = await startWithBroker(url, env);
      await waitFor('ghost deleted', () => !tryCtrl(broker, 'listClients').includes(`ghost-${runId}`));
      assert.match(
        tryCtrl(broker, 'getClient', 'vigil-ingest'),
        /vigil-ingest/,
        'foreign accounts untouched',
      );
      // b had lost its account: rotating it provisions it again
      const fresh = await vigil.ctx.devices.rotate(b);
      const bDev = await connectAs(broker.url, b, fresh.secret);
      assert.ok(typeof bDev !== 'number', 'rotation recreated the missing account');
      await bDev.endAsync();
    } finally {
      await vigil.stop();
      await broker.stop();
      await store.drop();
    }
  });
});

function tryCtrl(broker: Mosquitto, ...args: string[]): string {
  try {
    return ctrl(broker, ...args);
  } catch (e) {
    return `${(e as { stdout?: string }).stdout ?? ''}${(e as { stderr?: string }).stderr ?? ''}${(e as Error).message}`;
  }
}
