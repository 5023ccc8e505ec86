import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { tempDir, vigilBin } from '../support/process.ts';

/** `vigil edge` refuses to start without its centre, and on a server database or bus. */
describe('vigil edge: configuration refusals', () => {
  const run = (env: Record<string, string>) => {
    const clean: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env))
      if (v !== undefined && !k.startsWith('VIGIL_')) clean[k] = v;
    return spawnSync(process.execPath, [vigilBin, 'edge'], {
      env: { ...clean, VIGIL_DATA_DIR: tempDir('vigil-edge-cli-'), VIGIL_LOG_LEVEL: 'silent', ...env },
      encoding: 'utf8',
      timeout: 60_000,
    });
  };
  const edge = {
    VIGIL_EDGE_CENTRE_URL: 'http://127.0.0.1:9',
    VIGIL_EDGE_GATEWAY_ID: 'hub-1',
    VIGIL_EDGE_GATEWAY_SECRET: 'a-gateway-secret-of-some-length',
  };

  it('without VIGIL_EDGE_CENTRE_URL', () => {
    const r = run({});
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /VIGIL_EDGE_CENTRE_URL/);
    assert.match(r.stderr, /VIGIL_ERR_CONFIG_INVALID/);
  });

  it('with a server database or NATS', () => {
    const db = run({ ...edge, VIGIL_DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/postgres' });
    assert.notEqual(db.status, 0);
    assert.match(db.stderr, /unset VIGIL_DATABASE_URL/);
    const nats = run({ ...edge, VIGIL_NATS_URL: 'nats://127.0.0.1:4222' });
    assert.notEqual(nats.status, 0);
    assert.match(nats.stderr, /unset VIGIL_NATS_URL/);
  });
});
