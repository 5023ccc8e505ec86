import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import mqtt from 'mqtt';
import { startInProcess } from '../support/in-process.ts';
import { tempDir } from '../support/process.ts';

const brokerUrl = process.env['VIGIL_TEST_MQTT_URL'];

describe('external MQTT broker (persistent session)', {
  skip: brokerUrl ? false : 'VIGIL_TEST_MQTT_URL is not set: external broker tests skipped',
}, () => {
  it('receives what a device published while Vigil was down, once, acknowledged after the commit', async () => {
    const url = brokerUrl as string;
    const clientId = `vigil-test-${randomBytes(4).toString('hex')}`;
    const dataDir = tempDir();
    const env = { VIGIL_MQTT_URL: url, VIGIL_MQTT_CLIENT_ID: clientId };
    const deviceId = `ext-${randomBytes(3).toString('hex')}`;

    const first = await startInProcess({ env, dataDir });
    const ready = await first.inject({ method: 'GET', url: '/ready' });
    assert.equal((ready.json() as { checks: { mqtt: string } }).checks.mqtt, 'ok');
    const reg = await first.inject({
      method: 'POST',
      url: '/api/v1/devices',
      headers: { authorization: `Bearer ${await first.token()}` },
      payload: { id: deviceId, kind: 'scale' },
    });
    assert.equal(reg.statusCode, 201);
    // while Vigil runs: a reading flows through
    const device = await mqtt.connectAsync(url, { clientId: `${deviceId}-pub`, reconnectPeriod: 0 });
    await device.publishAsync(
      `devices/${deviceId}/readings`,
      JSON.stringify({
        messageId: 'w1',
        time: '2026-06-01T07:00:00Z',
        type: 'weight',
        value: 81.5,
        unit: 'kg',
      }),
      { qos: 1 },
    );
    let rows: Array<{ value: number }> = [];
    for (let i = 0; i < 50 && rows.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      rows = await first.vigil.db.query<{ value: number }>(
        'select value from observation where device_id = $1',
        [deviceId],
      );
    }
    assert.deepEqual(
      rows.map((r) => r.value),
      [81.5],
    );
    await first.stop();

    // Vigil is down: the broker keeps the message in Vigil's persistent session (sent twice: a
    // redelivery must be a no-op)
    const whileDown = JSON.stringify({
      messageId: 'w2',
      time: '2026-06-02T07:00:00Z',
      type: 'weight',
      value: 82.1,
      unit: 'kg',
    });
    for (let i = 0; i < 2; i++)
      await device.publishAsync(`devices/${deviceId}/readings`, whileDown, { qos: 1 });
    await device.endAsync();

    const second = await startInProcess({ env, dataDir });
    try {
      let values: number[] = [];
      for (let i = 0; i < 100 && values.length < 2; i++) {
        await new Promise((r) => setTimeout(r, 100));
        values = (
          await second.vigil.db.query<{ value: number }>(
            'select value from observation where device_id = $1 order by effective',
            [deviceId],
          )
        ).map((r) => r.value);
      }
      assert.deepEqual(
        values,
        [81.5, 82.1],
        'the reading sent while down arrived, the redelivered copy was a no-op',
      );
    } finally {
      await second.stop();
      // end the persistent session so the broker does not keep it
      const c = await mqtt.connectAsync(url, {
        clientId,
        clean: true,
        protocolVersion: 5,
        reconnectPeriod: 0,
      });
      await c.endAsync();
    }
  });
});
