import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { type InProcess, startInProcess } from '../support/in-process.ts';

// Issue 13 item 13: the MQTT payload limit was checked only after the whole packet was in memory
// (3 × 100 MB publishes PUBACKed, RSS +514 MB; a publish announcing 256 MB was read to 268 MB).

const str = (s: string) => {
  const b = Buffer.from(s, 'utf8');
  const len = Buffer.alloc(2);
  len.writeUInt16BE(b.length);
  return Buffer.concat([len, b]);
};
const varint = (n: number) => {
  const out: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return Buffer.from(out);
};
/** MQTT 3.1.1 CONNECT with user name and password (clean session). */
function connectPacket(clientId: string, username: string, password: string): Buffer {
  const body = Buffer.concat([
    str('MQTT'),
    Buffer.from([0x04, 0xc2, 0x00, 0x3c]),
    str(clientId),
    str(username),
    str(password),
  ]);
  return Buffer.concat([Buffer.from([0x10]), varint(body.length), body]);
}

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
}

/**
 * Writes `header`, then zero-filled chunks up to `total` bytes, as fast as the peer reads them;
 * stops when the peer closes or `until()` holds. Returns the bytes the peer took.
 */
async function flood(s: Socket, header: Buffer, total: number, until: () => boolean): Promise<number> {
  let closed = false;
  s.on('close', () => {
    closed = true;
  });
  s.on('error', () => {
    closed = true;
  });
  const chunk = Buffer.alloc(64 * 1024);
  let written = 0;
  const write = (b: Buffer) =>
    new Promise<void>((resolve) => {
      if (closed) return resolve();
      const ok = s.write(b, () => resolve());
      if (ok) written += b.length;
      else {
        written += b.length;
        s.once('drain', () => resolve());
        s.once('close', () => resolve());
      }
    });
  await write(header);
  while (!closed && !until() && written < total) await write(chunk);
  return written;
}

describe('packet size limits before the bytes are buffered', () => {
  let t: InProcess;
  let secret: string;
  before(async () => {
    t = await startInProcess({
      mqtt: true,
      env: { VIGIL_MAX_PAYLOAD_BYTES: '262144', VIGIL_LOG_LEVEL: 'silent' },
    });
    const r = await t.inject({
      method: 'POST',
      url: '/api/v1/devices',
      headers: { authorization: `Bearer ${await t.token()}` },
      payload: { id: 'big-1', kind: 'scale' },
    });
    secret = (r.json() as { secret: string }).secret;
  });
  after(async () => t?.stop());

  it('MQTT: a PUBLISH announcing 256 MB closes the connection unread, no PUBACK, a dead letter of its header', async (tc) => {
    const s = await open(t.vigil.mqttPort as number);
    const received: Buffer[] = [];
    s.on('data', (d) => received.push(d));
    s.write(connectPacket('big-1-raw', 'big-1', secret));
    while (Buffer.concat(received).length < 4) await new Promise((r) => s.once('data', r));
    assert.deepEqual(
      [...Buffer.concat(received).subarray(0, 4)],
      [0x20, 0x02, 0x00, 0x00],
      'CONNACK accepted',
    );
    received.length = 0;

    const announced = 268_435_455; // the largest remaining length MQTT can announce (256 MiB − 1)
    const topic = 'devices/big-1/readings';
    const header = Buffer.concat([
      Buffer.from([0x32]),
      varint(announced),
      str(topic),
      Buffer.from([0x00, 0x01]),
    ]);
    global.gc?.();
    const rssBefore = process.memoryUsage().rss;
    const taken = await flood(s, header, announced + 5, () => false);
    const rssGrowth = process.memoryUsage().rss - rssBefore;
    tc.diagnostic(
      `server took ${taken} of ${announced} bytes; RSS grew ${(rssGrowth / 2 ** 20).toFixed(1)} MiB`,
    );
    assert.ok(s.destroyed || s.readableEnded || s.writableEnded, 'the server closed the connection');
    assert.ok(taken < 32 * 2 ** 20, `the server took ${taken} of ${announced} bytes before closing`);
    assert.ok(rssGrowth < 128 * 2 ** 20, `RSS grew ${rssGrowth} bytes`);
    assert.equal(
      Buffer.concat(received).filter((b) => b === 0x40).length,
      0,
      'no PUBACK for the refused publish',
    );

    const rows = await waitForLetter(t, 'big-1');
    assert.equal(rows.reason_code, 'VIGIL_ERR_INGEST_OVERSIZE');
    assert.equal(rows.topic, topic);
    assert.ok(rows.bytes <= 4096, `${rows.bytes} bytes kept`);
    assert.match(rows.reason, /268435455/);
  });

  it('MQTT: the same device can connect again and publish a normal reading', async () => {
    const { default: mqtt } = await import('mqtt');
    const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${t.vigil.mqttPort}`, {
      username: 'big-1',
      password: secret,
      reconnectPeriod: 0,
    });
    await c.publishAsync(
      'devices/big-1/readings',
      JSON.stringify({ time: '2026-02-01T08:00:00Z', type: 'weight', value: 80, unit: 'kg' }),
      { qos: 1 },
    );
    await c.endAsync();
    const n = await t.vigil.db.query<{ n: number }>(
      `select count(*)::int as n from observation where device_id = 'big-1'`,
    );
    assert.equal(n[0]?.n, 1);
  });

  it('HTTP: a body announcing 256 MB is answered 413 before it is read', async (tc) => {
    const addr = t.vigil.app.server.address();
    const port = typeof addr === 'object' && addr ? addr.port : 0;
    const s = await open(port);
    let response = '';
    s.on('data', (d) => {
      response += d.toString('latin1');
    });
    const head = Buffer.from(
      'POST /ingest/v1/readings HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n' +
        `Authorization: Bearer ${secret}\r\nContent-Length: 268435456\r\n\r\n`,
    );
    const taken = await flood(s, head, 268_435_456, () => response.includes('\r\n\r\n'));
    while (!response.includes('\r\n\r\n') && !s.destroyed) await new Promise((r) => s.once('data', r));
    s.destroy();
    tc.diagnostic(`server took ${taken} bytes before answering`);
    assert.match(response, /^HTTP\/1\.1 413 /);
    assert.match(response, /VIGIL_ERR_INGEST_OVERSIZE/);
    assert.ok(taken < 32 * 2 ** 20, `the server took ${taken} bytes before answering`);
  });
});

async function waitForLetter(
  t: InProcess,
  deviceId: string,
): Promise<{ reason_code: string; topic: string; bytes: number; reason: string }> {
  for (;;) {
    const rows = await t.vigil.db.query<{
      reason_code: string;
      topic: string;
      bytes: number;
      reason: string;
    }>(
      `select reason_code, topic, length(payload)::int as bytes, reason from dead_letter
       where device_id = $1 and transport = 'mqtt'`,
      [deviceId],
    );
    if (rows[0]) return rows[0];
    await new Promise((r) => setImmediate(r));
  }
}
