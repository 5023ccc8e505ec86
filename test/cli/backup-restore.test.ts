import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import {
  adminToken,
  api,
  printedAdminPassword,
  startVigilProcess,
  tempDir,
  vigilBin,
} from '../support/process.ts';

const exec = promisify(execFile);

async function vigil(dataDir: string, ...args: string[]) {
  const env = { PATH: process.env['PATH'] ?? '', VIGIL_DATA_DIR: dataDir, VIGIL_LOG_LEVEL: 'silent' };
  try {
    const r = await exec(process.execPath, [vigilBin, ...args], { env });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

describe('vigil backup / vigil restore (embedded database)', () => {
  it('round trip: what was stored before the backup is there after a restore into a new data directory', async () => {
    const dataDir = tempDir();
    const first = await startVigilProcess({ dataDir });
    const password = printedAdminPassword(first.stdout());
    assert.ok(password);
    const token = await adminToken(first.httpUrl, password);
    const reg = await api(first.httpUrl, token, 'POST', '/api/v1/devices', {
      id: 'cuff-bk',
      kind: 'blood-pressure-cuff',
    });
    assert.equal(reg.status, 201);
    first.proc.kill('SIGTERM');
    await first.exited;

    const file = join(tempDir(), 'vigil.tar.gz');
    const b = await vigil(dataDir, 'backup', file);
    assert.equal(b.code, 0, b.stderr);
    assert.ok(existsSync(file));
    const key = readFileSync(join(`${dataDir}-keys`, 'secrets.key'), 'utf8').trim();
    assert.ok(!readFileSync(file).includes(key), 'the secrets key is not in the backup');
    assert.match(b.stdout, /backed up .* \(\d+ bytes\)/);

    const restored = join(tempDir(), 'restored');
    const r = await vigil(restored, 'restore', file);
    assert.equal(r.code, 0, r.stderr);
    const again = await vigil(restored, 'restore', file);
    assert.equal(again.code, 1, 'never over live data');
    assert.match(again.stderr, /is not empty/);

    // the secrets key is kept apart from the backup; the restored instance gets the original one
    mkdirSync(`${restored}-keys`, { recursive: true });
    copyFileSync(join(`${dataDir}-keys`, 'secrets.key'), join(`${restored}-keys`, 'secrets.key'));
    const back = await startVigilProcess({ dataDir: restored });
    try {
      assert.equal(printedAdminPassword(back.stdout()), undefined, 'the accounts came back too');
      const t2 = await adminToken(back.httpUrl, password);
      const dev = await api<{ device: { id: string } }>(back.httpUrl, t2, 'GET', '/api/v1/devices/cuff-bk');
      assert.equal(dev.status, 200);
      assert.equal(dev.body.device.id, 'cuff-bk');
    } finally {
      back.proc.kill('SIGTERM');
      await back.exited;
    }
  });

  it('refuses to back up a data directory that holds no database', async () => {
    const none = await vigil(join(tempDir(), 'absent'), 'backup', join(tempDir(), 'x.tar.gz'));
    assert.equal(none.code, 1);
    assert.match(none.stderr, /no embedded database/);
  });
});
