import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Vigil } from '../../src/server.ts';
import { testDatabaseUrl } from '../support/databases.ts';
import { mosquittoSkip, startMosquitto } from '../support/mosquitto.ts';
import {
  freshStore,
  messageIdOf,
  publisher,
  reading,
  ready,
  runId,
  startWithBroker,
  storedCounts,
  waitFor,
} from './support.ts';

/**
 * Two ingest workers (VIGIL_ROLE=ingest, distinct VIGIL_MQTT_WORKER_ID) in one shared-subscription
 * group: each gets part of the stream, every reading is stored once, and neither takes the other's
 * session over. On PostgreSQL when VIGIL_TEST_DATABASE_URL is set (one shared database), otherwise
 * each worker on its own PGlite (the union is then counted).
 */
describe('external broker: two ingest workers split the load', { skip: mosquittoSkip }, () => {
  it('distinct client ids, one share group, each reading once, no takeover', async () => {
    const broker = await startMosquitto();
    const stores = testDatabaseUrl ? [await freshStore()] : [await freshStore(), await freshStore()];
    const storeOf = (i: number) => stores[Math.min(i, stores.length - 1)] as (typeof stores)[number];
    const workers: Vigil[] = [];
    const taken = [0, 0];
    const deviceId = `split-${runId}`;
    try {
      for (const i of [0, 1]) {
        const w = await startWithBroker(broker.url, {
          ...storeOf(i).env,
          VIGIL_ROLE: 'ingest',
          VIGIL_MQTT_WORKER_ID: `w${i}`,
        });
        w.onReadings((rs) => {
          taken[i] = (taken[i] ?? 0) + rs.length;
        });
        workers.push(w);
        if (i === 0 || stores.length > 1) await w.ctx.devices.register({ id: deviceId, kind: 'scale' });
      }
      for (const w of workers) await waitFor('worker subscribed', async () => (await ready(w)).mqtt === 'ok');
      const pub = publisher(broker.url, `split-pub-${runId}`);
      const total = 2000;
      const pending: Promise<unknown>[] = [];
      for (let i = 0; i < total; i++) {
        pending.push(pub.publishAsync(`devices/${deviceId}/readings`, reading(200_000 + i), { qos: 1 }));
        if (pending.length >= 100) await Promise.all(pending.splice(0));
      }
      await Promise.all(pending);
      await pub.endAsync();
      const byId = new Map<string, number>();
      await waitFor('all stored', async () => {
        byId.clear();
        for (const w of testDatabaseUrl ? [workers[0] as Vigil] : workers) {
          for (const [key, n] of await storedCounts(w, deviceId)) {
            const id = messageIdOf(key) as string;
            byId.set(id, (byId.get(id) ?? 0) + n);
          }
        }
        return byId.size >= total;
      });
      assert.equal(byId.size, total, 'every reading stored');
      assert.deepEqual(
        [...byId.values()].filter((n) => n !== 1),
        [],
        'each reading once',
      );
      assert.ok((taken[0] ?? 0) > 0 && (taken[1] ?? 0) > 0, `both workers took part (${taken.join(' / ')})`);
      assert.equal(
        (taken[0] ?? 0) + (taken[1] ?? 0),
        total,
        'the workers split the stream (no copy to both)',
      );
      assert.doesNotMatch(broker.log(), /already connected, closing old connection/, 'no session takeover');
      process.stdout.write(`# worker split ${taken.join(' / ')}\n`);
    } finally {
      for (const w of workers) await w.stop();
      await broker.stop();
      for (const s of stores) await s.drop();
    }
  });
});
