import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config/config.ts';
import { startVigil } from '../../src/server.ts';
import { PgliteDatabase } from '../../src/store/pglite/pglite-database.ts';
import { adminPassword, call } from './support.ts';

const bin = fileURLToPath(new URL('../../bin/vigil.js', import.meta.url));

function vigil(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const clean = Object.fromEntries(
      Object.entries(process.env).filter(([k]) => !k.startsWith('VIGIL_') || k.startsWith('VIGIL_TEST_')),
    );
    execFile(
      process.execPath,
      [bin, ...args],
      { env: { ...clean, ...env }, timeout: 60_000 },
      (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

test('`vigil audit verify --offline` passes on an intact log and names the record someone edited', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-audit-cli-'));
  try {
    const v = await startVigil(
      loadConfig({
        VIGIL_HTTP_PORT: '0',
        VIGIL_HTTP_HOST: '127.0.0.1',
        VIGIL_MQTT_PORT: 'off',
        VIGIL_LOG_LEVEL: 'silent',
        VIGIL_ADMIN_PASSWORD: adminPassword,
        VIGIL_DATA_DIR: dir,
      }),
      { print: () => {} },
    );
    for (let i = 0; i < 3; i++)
      await call(v, 'POST', '/auth/token', {
        body: { username: 'admin', password: i === 1 ? 'wrong-password-x' : adminPassword },
      });
    await v.stop();

    const ok = await vigil(['audit', 'verify', '--offline'], { VIGIL_DATA_DIR: dir });
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /audit chain intact: 3 records verified/);

    const db = await PgliteDatabase.open(dir);
    await db.exec(`alter table audit_event disable trigger audit_event_append_only;
      update audit_event set content = jsonb_set(content, '{outcome}', '"0"') where seq = 2;
      alter table audit_event enable trigger audit_event_append_only;`);
    await db.close();

    const broken = await vigil(['audit', 'verify', '--offline'], { VIGIL_DATA_DIR: dir });
    assert.equal(broken.code, 1);
    assert.match(broken.stdout, /AUDIT CHAIN BROKEN at record 2: content does not match its hash/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
