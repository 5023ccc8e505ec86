import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { loadConfig } from '../../src/config/config.ts';
import { createLogger } from '../../src/core/logger.ts';
import { startVigil } from '../../src/server.ts';
import { adminPassword, call } from './support.ts';

test('secrets and patient data never reach the logs (sign-in, tokens, device secrets, readings)', async () => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  const dir = mkdtempSync(join(tmpdir(), 'vigil-logs-'));
  const log = createLogger('trace', sink);
  const v = await startVigil(
    loadConfig({
      VIGIL_HTTP_PORT: '0',
      VIGIL_HTTP_HOST: '127.0.0.1',
      VIGIL_MQTT_PORT: 'off',
      VIGIL_LOG_LEVEL: 'trace',
      VIGIL_ADMIN_PASSWORD: adminPassword,
      VIGIL_DATA_DIR: dir,
    }),
    { print: () => {}, log },
  );
  try {
    const wrong = 'Wr0ng-Secret-Password-4711';
    await call(v, 'POST', '/auth/token', { body: { username: 'admin', password: wrong } });
    const ok = (
      await call(v, 'POST', '/auth/token', { body: { username: 'admin', password: adminPassword } })
    ).json() as Record<string, string>;
    const refreshed = (
      await call(v, 'POST', '/auth/token', {
        body: { grant_type: 'refresh_token', refresh_token: ok['refresh_token'] },
      })
    ).json() as Record<string, string>;
    const dev = (
      await call(v, 'POST', '/api/v1/devices', {
        token: refreshed['access_token'],
        body: { id: 'log-dev', kind: 'thermometer' },
      })
    ).json() as { secret: string };
    await call(v, 'POST', '/ingest/v1/readings', {
      token: dev.secret,
      body: {
        messageId: 'x',
        time: '2026-01-01T00:00:00Z',
        type: 'body-temperature',
        value: 38.91,
        unit: 'Cel',
      },
    });
    await call(v, 'POST', '/ingest/v1/readings', {
      token: `${dev.secret}x`,
      body: {
        messageId: 'y',
        time: '2026-01-01T00:00:00Z',
        type: 'body-temperature',
        value: 38.92,
        unit: 'Cel',
      },
    });
    log.info({ client_secret: 'vgc_shouldnotappear', totp: '123456', body: { password: 'p' } }, 'direct');
    const all = lines.join('');
    assert.ok(lines.length > 5, 'requests were logged');
    for (const secret of [
      wrong,
      adminPassword,
      ok['access_token'],
      ok['refresh_token'],
      refreshed['refresh_token'],
      dev.secret,
      'vgc_shouldnotappear',
      '38.91',
      '38.92',
    ]) {
      assert.ok(!all.includes(secret as string), `log contains ${String(secret).slice(0, 12)}…`);
    }
  } finally {
    await v.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
