import assert from 'node:assert/strict';
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import mqtt from 'mqtt';
import { createFreshPostgresDatabase, testDatabaseUrl } from '../support/databases.ts';
import { type InProcess, startInProcess } from '../support/in-process.ts';

// Issue 13 item 16: with the database down, ingest answered a bare 500 with no retry hint, later
// requests hung without a time limit and /ready blocked instead of answering 503.

/**
 * A TCP proxy in front of PostgreSQL that can be made to "hang": every open connection is cut and
 * new ones are accepted but never answered (a server that accepts and then says nothing).
 */
class HangingProxy {
  readonly #server: Server;
  readonly #pairs = new Set<Socket>();
  #hanging = false;
  port = 0;
  constructor(target: { host: string; port: number }) {
    this.#server = createServer((client) => {
      this.#pairs.add(client);
      client.on('close', () => this.#pairs.delete(client));
      client.on('error', () => {});
      if (this.#hanging) return; // accepted, never answered
      const upstream = netConnect(target.port, target.host);
      this.#pairs.add(upstream);
      upstream.on('close', () => {
        this.#pairs.delete(upstream);
        client.destroy();
      });
      upstream.on('error', () => client.destroy());
      client.on('close', () => upstream.destroy());
      client.pipe(upstream).pipe(client);
    });
  }
  listen(): Promise<void> {
    return new Promise((resolve) =>
      this.#server.listen(0, '127.0.0.1', () => {
        const a = this.#server.address();
        this.port = typeof a === 'object' && a ? a.port : 0;
        resolve();
      }),
    );
  }
  hang(): void {
    this.#hanging = true;
    for (const s of this.#pairs) s.destroy();
  }
  restore(): void {
    this.#hanging = false;
    for (const s of this.#pairs) s.destroy(); // the hanging ones: the driver reconnects
  }
  close(): Promise<void> {
    for (const s of this.#pairs) s.destroy();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}

describe('the database stops answering', {
  skip: testDatabaseUrl ? false : 'VIGIL_TEST_DATABASE_URL is not set: needs a PostgreSQL server',
}, () => {
  let t: InProcess;
  let proxy: HangingProxy;
  let drop: () => Promise<void>;
  let secret: string;
  let admin: string;
  before(async () => {
    const fresh = await createFreshPostgresDatabase();
    drop = fresh.drop;
    const real = new URL(fresh.url);
    proxy = new HangingProxy({ host: real.hostname, port: Number(real.port || 5432) });
    await proxy.listen();
    const viaProxy = new URL(fresh.url);
    viaProxy.hostname = '127.0.0.1';
    viaProxy.port = String(proxy.port);
    t = await startInProcess({
      mqtt: true,
      env: {
        VIGIL_DATABASE_URL: viaProxy.toString(),
        VIGIL_DATABASE_TIMEOUT_MS: '2000',
        VIGIL_READY_TIMEOUT_MS: '300',
        VIGIL_LOG_LEVEL: 'silent',
      },
    });
    admin = await t.token();
    const r = await t.inject({
      method: 'POST',
      url: '/api/v1/devices',
      headers: { authorization: `Bearer ${admin}` },
      payload: { id: 'down-1', kind: 'scale' },
    });
    secret = (r.json() as { secret: string }).secret;
  });
  after(async () => {
    proxy?.restore();
    await t?.stop();
    await proxy?.close();
    await drop?.();
  });

  const post = (messageId: string) =>
    t.inject({
      method: 'POST',
      url: '/ingest/v1/readings',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      payload: { messageId, time: '2026-02-01T08:00:00Z', type: 'weight', value: 80, unit: 'kg' },
    });

  it('ingest answers a coded 503 with Retry-After, /ready 503; nothing is stored; all well again after', {
    timeout: 120_000,
  }, async () => {
    assert.equal((await t.inject({ method: 'GET', url: '/ready' })).statusCode, 200);
    const device = await mqtt.connectAsync(`mqtt://127.0.0.1:${t.vigil.mqttPort}`, {
      username: 'down-1',
      password: secret,
      reconnectPeriod: 0,
    });
    proxy.hang();

    // MQTT QoS 1: not stored, so no PUBACK — the broker closes the connection and the device resends later
    let acked = false;
    const closed = new Promise<void>((resolve) => device.once('close', () => resolve()));
    device.publish(
      'devices/down-1/readings',
      JSON.stringify({
        messageId: 'm-1',
        time: '2026-02-01T08:00:00Z',
        type: 'weight',
        value: 80,
        unit: 'kg',
      }),
      { qos: 1 },
      (err) => {
        if (!err) acked = true;
      },
    );
    await closed;
    assert.equal(acked, false, 'no PUBACK for a reading that was not stored');
    device.end(true);

    // several at once: each is answered (no hang), none acknowledged
    const answers = await Promise.all(['d-1', 'd-2', 'd-3'].map(post));
    for (const a of answers) {
      assert.equal(a.statusCode, 503, a.body);
      assert.equal((a.json() as { error: { code: string } }).error.code, 'VIGIL_ERR_STORE_UNAVAILABLE');
      assert.match(String(a.headers['retry-after']), /^\d+$/);
    }
    const ready = await t.inject({ method: 'GET', url: '/ready' });
    assert.equal(ready.statusCode, 503);
    assert.equal((ready.json() as { checks: { store: string } }).checks.store, 'failing');
    // the management API too: coded, not a bare 500
    const api = await t.inject({
      method: 'GET',
      url: '/api/v1/dead-letters',
      headers: { authorization: `Bearer ${admin}` },
    });
    assert.equal(api.statusCode, 503, api.body);
    // and the FHIR API: an OperationOutcome with Retry-After
    const fhir = await t.inject({
      method: 'GET',
      url: '/fhir/Patient?_count=1',
      headers: { authorization: `Bearer ${admin}` },
    });
    assert.equal(fhir.statusCode, 503, fhir.body);
    assert.equal((fhir.json() as { resourceType: string }).resourceType, 'OperationOutcome');
    assert.match(String(fhir.headers['retry-after']), /^\d+$/);

    proxy.restore();
    let again = await post('d-1');
    // the pool reconnects on the first request after the cut; the next one is through
    if (again.statusCode === 503) again = await post('d-1');
    assert.equal(again.statusCode, 200, again.body);
    assert.equal((again.json() as { accepted: number }).accepted, 1, 'd-1 was not stored while down');
    const rows = await t.vigil.db.query<{ k: string }>(
      `select idem_key as k from observation where device_id = 'down-1' order by 1`,
    );
    assert.deepEqual(
      rows.map((r) => r.k.split('|')[1]),
      ['m:d-1'],
      'nothing that was answered 503 (or not PUBACKed) was stored',
    );
    assert.equal((await t.inject({ method: 'GET', url: '/ready' })).statusCode, 200);
  });
});
