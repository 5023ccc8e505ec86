import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { startInProcess } from '../support/in-process.ts';

/** The outbound dead-man's switch: signed status pings to an external watchdog (docs/downtime.md). */
describe('watchdog pings', () => {
  const pings: Array<{ body: string; signature: string }> = [];
  const sink = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      pings.push({ body, signature: String(req.headers['vigil-signature'] ?? '') });
      res.writeHead(204).end();
    });
  });
  after(() => sink.close());

  it('posts the monitoring status signed with the shared secret', async () => {
    await new Promise<void>((r) => sink.listen(0, '127.0.0.1', () => r()));
    const port = (sink.address() as AddressInfo).port;
    const secret = 'watchdog-shared-secret-1234';
    const t = await startInProcess({
      env: {
        VIGIL_WATCHDOG_URL: `http://127.0.0.1:${port}/ping`,
        VIGIL_WATCHDOG_SECRET: secret,
        VIGIL_WATCHDOG_INTERVAL_SECONDS: '5',
      },
    });
    try {
      while (pings.length === 0) await new Promise((r) => setTimeout(r, 50));
      const ping = pings[0] as { body: string; signature: string };
      const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(ping.signature);
      assert.ok(m, ping.signature);
      const expected = createHmac('sha256', secret).update(`${m[1]}.${ping.body}`).digest('hex');
      assert.equal(m[2], expected);
      const body = JSON.parse(ping.body) as { service: string; state: string; intervalSeconds: number };
      assert.equal(body.service, 'vigil');
      assert.ok(['ok', 'unknown'].includes(body.state), body.state);
      assert.equal(body.intervalSeconds, 5);
    } finally {
      await t.stop();
    }
  });

  it('refuses a watchdog URL without a secret long enough to sign with', async () => {
    await assert.rejects(
      startInProcess({
        env: { VIGIL_WATCHDOG_URL: 'http://127.0.0.1:9/ping', VIGIL_WATCHDOG_SECRET: 'short' },
      }),
      (e: Error & { code?: string }) => /VIGIL_WATCHDOG_SECRET/.test(e.message),
    );
  });
});
