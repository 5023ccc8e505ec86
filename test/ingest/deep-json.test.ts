import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import mqtt from 'mqtt';
import { type InProcess, startInProcess } from '../support/in-process.ts';

// Issue 13 item 12: `[[[[…]]]]` 20,000 deep (40 KB, under the size limit) was a poison message:
// HTTP 500 without a dead letter; over MQTT no PUBACK and the connection closed (stack overflow in
// JSON.stringify on the reject path), so a QoS 1 device resent it forever.
const deep = Buffer.from(`${'['.repeat(20_000)}${']'.repeat(20_000)}`);
const deepInBatch = Buffer.from(`[{"type":"heart-rate"},${'['.repeat(20_000)}${']'.repeat(20_000)}]`);

describe('deeply nested JSON', () => {
  let t: InProcess;
  let secret: string;
  let admin: string;
  before(async () => {
    t = await startInProcess({ mqtt: true, env: { VIGIL_LOG_LEVEL: 'silent' } });
    admin = await t.token();
    const r = await t.inject({
      method: 'POST',
      url: '/api/v1/devices',
      headers: { authorization: `Bearer ${admin}` },
      payload: { id: 'deep-1', kind: 'pulse-oximeter' },
    });
    secret = (r.json() as { secret: string }).secret;
  });
  after(async () => t?.stop());

  const letter = async (id: string | undefined) => {
    const r = await t.inject({
      method: 'GET',
      url: `/api/v1/dead-letters/${id}`,
      headers: { authorization: `Bearer ${admin}` },
    });
    assert.equal(r.statusCode, 200, `dead letter ${id} kept`);
    return r.json() as { reasonCode: string; payloadBase64: string; transport: string };
  };

  for (const [name, body] of [
    ['alone', deep],
    ['inside a batch', deepInBatch],
  ] as const) {
    it(`HTTP ingest (${name}): coded 400 and a dead letter of the raw bytes, not a 500`, async () => {
      const r = await t.inject({
        method: 'POST',
        url: '/ingest/v1/readings',
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
        payload: body,
      });
      assert.equal(r.statusCode, 400, r.body.slice(0, 200));
      const a = r.json() as { results: Array<{ reason: string; deadLetterId: string }> };
      assert.equal(a.results[0]?.reason, 'VIGIL_ERR_INGEST_TOO_DEEP');
      const l = await letter(a.results[0]?.deadLetterId);
      assert.equal(l.reasonCode, 'VIGIL_ERR_INGEST_TOO_DEEP');
      assert.ok(Buffer.from(l.payloadBase64, 'base64').equals(body), 'the bytes as they came');
    });
  }

  it('Nightscout upload: coded 400 and a dead letter', async () => {
    const r = await t.inject({
      method: 'POST',
      url: '/nightscout/deep-1/api/v1/entries',
      headers: { 'api-secret': secret, 'content-type': 'application/json' },
      payload: deepInBatch,
    });
    assert.equal(r.statusCode, 400, r.body.slice(0, 200));
    assert.equal((r.json() as { error: { code: string } }).error.code, 'VIGIL_ERR_INGEST_TOO_DEEP');
    const rows = await t.vigil.db.query<{ n: number }>(
      `select count(*)::int as n from dead_letter where transport = 'nightscout' and reason_code = 'VIGIL_ERR_INGEST_TOO_DEEP'`,
    );
    assert.equal(rows[0]?.n, 1);
  });

  it('MQTT QoS 1: PUBACKed (refused into a dead letter), the connection stays open', async () => {
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${t.vigil.mqttPort}`, {
      username: 'deep-1',
      password: secret,
      reconnectPeriod: 0,
    });
    let closed = false;
    const closedEarly = new Promise<never>((_, reject) =>
      client.once('close', () => {
        closed = true;
        reject(new Error('connection closed without a PUBACK'));
      }),
    );
    closedEarly.catch(() => {});
    await Promise.race([
      client.publishAsync('devices/deep-1/readings', deepInBatch, { qos: 1 }),
      closedEarly,
    ]);
    // a normal reading on the same connection still goes through
    await Promise.race([
      client.publishAsync(
        'devices/deep-1/readings',
        JSON.stringify({ time: '2026-02-01T08:00:00Z', type: 'heart-rate', value: 61, unit: '/min' }),
        { qos: 1 },
      ),
      closedEarly,
    ]);
    assert.equal(closed, false);
    await client.endAsync();
    const rows = await t.vigil.db.query<{ reason_code: string; payload: Buffer }>(
      `select reason_code, payload from dead_letter where transport = 'mqtt'`,
    );
    assert.equal(rows.length, 1);
    assert.equal(rows[0]?.reason_code, 'VIGIL_ERR_INGEST_TOO_DEEP');
    assert.equal(Buffer.from(rows[0]?.payload ?? []).length, deepInBatch.length);
    const stored = await t.vigil.db.query<{ n: number }>(
      `select count(*)::int as n from observation where device_id = 'deep-1'`,
    );
    assert.equal(stored[0]?.n, 1);
  });
});
