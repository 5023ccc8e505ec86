import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { verifyWebhook } from '../../src/alerts/webhook.ts';
import { startDeadMansSwitch } from '../../src/api/dead-mans-switch.ts';
import { loadConfig } from '../../src/config/config.ts';
import { FakeClock } from '../../src/core/clock.ts';
import { createLogger } from '../../src/core/logger.ts';
import { eventually } from '../pipeline/support.ts';
import { startInProcess } from '../support/in-process.ts';

async function watchdog(status = 200) {
  const got: Array<{ headers: IncomingHttpHeaders; body: string }> = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => {
      body += d;
    });
    req.on('end', () => {
      got.push({ headers: req.headers, body });
      res.statusCode = status;
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ping`;
  return { got, url, close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe("dead-man's switch: signed heartbeats to an external watchdog", () => {
  const closers: Array<() => Promise<void>> = [];
  after(async () => {
    for (const c of closers) await c();
  });

  it('a running Vigil sends a signed heartbeat that says ok', async () => {
    const w = await watchdog();
    closers.push(w.close);
    const secret = 'heartbeat-secret-0123456789';
    const t = await startInProcess({ env: { VIGIL_HEARTBEAT_URL: w.url, VIGIL_HEARTBEAT_SECRET: secret } });
    closers.push(t.stop);
    const first = await eventually('a heartbeat', async () => w.got[0], 15_000);
    const sig = first.headers['vigil-signature'] as string;
    const t0 = Number(/t=(\d+)/.exec(sig)?.[1]);
    assert.equal(verifyWebhook(first.body, sig, secret, t0).ok, true);
    assert.equal(verifyWebhook(first.body, sig, 'another-secret-0123456789', t0).ok, false);
    const hb = JSON.parse(first.body);
    assert.equal(hb.type, 'vigil.heartbeat');
    assert.equal(hb.role, 'all');
    assert.equal(hb.status, 'ok');
    assert.equal(hb.checks.store, 'ok');
    assert.equal(hb.sequence, 1);
  });

  it('says degraded when a dependency fails, and reports a watchdog that refuses', async () => {
    const w = await watchdog(503);
    closers.push(w.close);
    const sw = startDeadMansSwitch({
      url: w.url,
      secret: 'heartbeat-secret-0123456789',
      intervalSeconds: 3600,
      role: 'detect',
      clock: new FakeClock('2026-03-02T09:00:00Z'),
      log: createLogger('silent'),
      checks: async () => ({ store: 'ok', mqtt: 'failing' }),
    });
    closers.push(sw.stop);
    assert.equal(await sw.beat(), false, 'the watchdog answered 503');
    const hb = JSON.parse((w.got.at(-1) as { body: string }).body);
    assert.equal(hb.status, 'degraded');
    assert.equal(hb.checks.mqtt, 'failing');
    assert.equal(hb.at, '2026-03-02T09:00:00.000Z');
  });

  it('refuses a heartbeat URL without a secret', () => {
    assert.throws(
      () => loadConfig({ VIGIL_HEARTBEAT_URL: 'https://watchdog.example/ping' }),
      /VIGIL_HEARTBEAT_SECRET/,
    );
  });
});
