import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mosquittoSkip, startMosquitto } from '../support/mosquitto.ts';
import { freePort } from '../support/process.ts';
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
 * Vigil behind an external Mosquitto of the test's own (persistence on, saved on every change).
 *
 * What is counted: a message id is *owed* when the broker acknowledged it to the publisher before
 * the broker last wrote its database ahead of a kill -9 (the test asks for that save and waits for
 * it), or after the last kill. The broker's own window — acknowledged to the publisher, killed
 * before its next save — belongs to the broker, not to Vigil: counted and reported, not owed. Every
 * owed id must be stored exactly once; no id is ever stored twice.
 */
describe('external broker: nothing acknowledged is lost', { skip: mosquittoSkip }, () => {
  it('three kill -9 of the broker mid-stream: every owed reading stored exactly once', async () => {
    const broker = await startMosquitto();
    const store = await freshStore();
    // a small in-flight window and a longer batch wait keep a backlog in the broker (what a kill risks)
    const vigil = await startWithBroker(broker.url, {
      ...store.env,
      VIGIL_MQTT_RECEIVE_MAXIMUM: '10',
      VIGIL_INGEST_BATCH_WAIT_MS: '25',
    });
    const pub = publisher(broker.url, `pub-${runId}`);
    try {
      const deviceId = `kill-${runId}`;
      await vigil.ctx.devices.register({ id: deviceId, kind: 'pulse-oximeter' });
      await waitFor('Vigil subscribed', async () => (await ready(vigil)).mqtt === 'ok');

      const total = 6000;
      const killAt = [1500, 3000, 4500];
      const acked: string[] = [];
      const owed = new Set<string>();
      let window = 0;
      let unrouted = 0;
      const reasonOf = new Map<number, number>();
      pub.on('packetreceive', (p) => {
        if (p.cmd === 'puback' && p.messageId !== undefined) reasonOf.set(p.messageId, p.reasonCode ?? 0);
      });
      let backlogAtKill: number[] = [];
      let afterLastKill = 0;
      const inflight = new Set<Promise<void>>();
      for (let i = 0; i < total; i++) {
        const id = `${runId}-${i}`;
        const p = pub.publishAsync(`devices/${deviceId}/readings`, reading(i), { qos: 1 }).then((sent) => {
          // reason 16: accepted, but no subscriber matched: the broker drops it; not delivered, not owed
          if (reasonOf.get(sent?.messageId ?? -1) === 16) unrouted++;
          else acked.push(id);
        });
        const tracked = p.finally(() => inflight.delete(tracked));
        inflight.add(tracked);
        if (inflight.size >= 200) await Promise.race(inflight);
        if (killAt.includes(i)) {
          // everything the broker acknowledged until now is in its database once this resolves
          const storedBefore = (await storedCounts(vigil, deviceId)).size;
          const before = acked.length;
          await broker.saveNow();
          for (const a of acked.slice(afterLastKill, before)) owed.add(a);
          backlogAtKill = [...backlogAtKill, before - storedBefore];
          await broker.kill9();
          await new Promise((r) => setTimeout(r, 300));
          assert.equal((await ready(vigil)).mqtt, 'failing', '/ready reports the broker down');
          // ids acknowledged between the save and the kill: the broker's own window (not owed).
          // The broker is dead until the restart, so no acknowledgement arrives in between.
          window += acked.length - before;
          afterLastKill = acked.length;
          await broker.restart();
          await waitFor('Vigil back on the broker', async () => (await ready(vigil)).mqtt === 'ok');
        }
      }
      await Promise.all(inflight);
      // everything acknowledged after the last restart is owed (no kill followed it)
      for (const a of acked.slice(afterLastKill)) owed.add(a);

      let counts = new Map<string, number>();
      await waitFor(
        'owed readings stored',
        async () => {
          counts = await storedCounts(vigil, deviceId);
          const have = new Set([...counts.keys()].map(messageIdOf));
          return [...owed].every((id) => have.has(id));
        },
        900,
      ).catch(() => {}); // the assertions below say what is missing
      const byId = new Map<string, number>();
      for (const [key, n] of counts) {
        const id = messageIdOf(key) as string;
        byId.set(id, (byId.get(id) ?? 0) + n);
      }
      const missing = [...owed].filter((id) => !byId.has(id));
      const twice = [...byId].filter(([, n]) => n !== 1);
      process.stdout.write(
        `# published ${total}, acknowledged by the broker ${new Set(acked).size}, owed ${owed.size}, ` +
          `broker window ${window}, unrouted after a restart ${unrouted}, stored ${byId.size}, backlog in the broker at each kill ${backlogAtKill.join('/')}\n`,
      );
      assert.deepEqual(missing, [], 'every owed reading is stored');
      assert.deepEqual(twice, [], 'no reading stored twice');
      assert.equal(unrouted, 0, 'a plain subscription is restored by the broker: nothing went unrouted');
      assert.ok(owed.size >= total - window, 'the owed set covers the stream but the broker window');
      assert.ok(
        backlogAtKill.some((b) => b > 0),
        'the broker held readings Vigil had not yet stored when it was killed (the test is meaningful)',
      );
    } finally {
      await pub.endAsync(true);
      await vigil.stop();
      await broker.stop();
      await store.drop();
    }
  });

  it('starts while the broker is down, reports it on /ready, and takes readings once it is up', async () => {
    const port = await freePort();
    const store = await freshStore();
    const vigil = await startWithBroker(`mqtt://127.0.0.1:${port}`, store.env);
    let broker: Awaited<ReturnType<typeof startMosquitto>> | undefined;
    try {
      const deviceId = `late-${runId}`;
      await vigil.ctx.devices.register({ id: deviceId, kind: 'pulse-oximeter' });
      const down = await ready(vigil);
      assert.deepEqual(down, { status: 503, mqtt: 'failing' });
      broker = await startMosquitto({ port });
      await waitFor('Vigil connected', async () => (await ready(vigil)).status === 200);
      const pub = publisher(broker.url, `late-pub-${runId}`);
      for (let i = 0; i < 20; i++)
        await pub.publishAsync(`devices/${deviceId}/readings`, reading(100_000 + i), { qos: 1 });
      await pub.endAsync();
      await waitFor('readings stored', async () => (await storedCounts(vigil, deviceId)).size === 20);
      // a broker drop is not fatal: Vigil stays up and reconnects
      await broker.kill9();
      await waitFor('broker reported down', async () => (await ready(vigil)).status === 503);
      await broker.restart();
      await waitFor('Vigil reconnected', async () => (await ready(vigil)).status === 200);
      assert.equal((await storedCounts(vigil, deviceId)).size, 20);
    } finally {
      await vigil.stop();
      await broker?.stop();
      await store.drop();
    }
  });
});
