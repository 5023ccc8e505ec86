import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import mqtt from 'mqtt';
import { createLogger } from '../../src/core/logger.ts';
import type { IngestEnvelope, IngestService } from '../../src/ingest/ingest-service.ts';
import { ExternalBrokerClient } from '../../src/ingest/mqtt/external-broker-client.ts';
import { type Mosquitto, mosquittoBinary, startMosquitto } from '../support/mosquitto.ts';

/**
 * Vigil keeps its own in-flight window behind an external broker. Mosquitto 2.0 went on sending
 * QoS 1 messages of a shared subscription far past the Receive Maximum Vigil asked for (200,000
 * unacknowledged in a bench run), so every reading queued at the store until queries timed out and
 * nothing was acknowledged. The client must stop reading at the window, whatever the broker does.
 */
describe('external broker: in-flight window held by Vigil', {
  skip: mosquittoBinary() ? false : 'mosquitto is not installed',
}, () => {
  let broker: Mosquitto;
  before(async () => {
    broker = await startMosquitto();
  });
  after(async () => {
    await broker.stop();
  });

  for (const subscription of ['shared', 'plain'] as const) {
    it(`holds at most Receive Maximum readings at once (${subscription} subscription), then takes and acknowledges all`, async () => {
      const window = 5;
      const total = 40;
      const held: Array<() => void> = [];
      const seen: string[] = [];
      let maxHeld = 0;
      const ingest = {
        ingest: (env: IngestEnvelope) =>
          new Promise<[]>((resolve) => {
            seen.push(env.payload.toString());
            held.push(() => resolve([]));
            maxHeld = Math.max(maxHeld, held.length);
          }),
        refuse: () => Promise.reject(new Error('unexpected refusal')),
      } as unknown as IngestService;
      const acked: number[] = [];
      const client = ExternalBrokerClient.start({
        url: broker.url,
        clientId: `window-${subscription}`,
        shareGroup: `window-${subscription}`,
        subscription,
        ingest,
        devices: { isActive: () => true },
        log: createLogger('silent'),
        maxPayloadBytes: 65536,
        receiveMaximum: window,
        onAcked: (p) => acked.push(p.messageId ?? -1),
      });
      const device = await mqtt.connectAsync(broker.url, { clientId: `dev-${subscription}` });
      try {
        for (let i = 0; i < 100 && !client.ready; i++) await new Promise((r) => setTimeout(r, 50));
        assert.ok(client.ready, 'the client subscribed');
        for (let i = 0; i < total; i++)
          await device.publishAsync(`devices/d-${subscription}/readings`, `{"n":${i}}`, { qos: 1 });
        // the broker has everything; Vigil must not have taken more than its window
        await new Promise((r) => setTimeout(r, 500));
        assert.equal(held.length, window, `readings held while none committed: ${held.length}`);
        // commits free the window: everything arrives, each once, and each is acknowledged
        for (let i = 0; i < 200 && acked.length < total; i++) {
          for (const release of held.splice(0)) release();
          await new Promise((r) => setTimeout(r, 20));
        }
        assert.equal(acked.length, total);
        assert.ok(maxHeld <= window, `at most ${window} at once, saw ${maxHeld}`);
        assert.deepEqual(
          [...new Set(seen)].sort(),
          Array.from({ length: total }, (_, i) => `{"n":${i}}`).sort(),
        );
      } finally {
        for (const release of held.splice(0)) release();
        await device.endAsync();
        await client.close();
      }
    });
  }
});
