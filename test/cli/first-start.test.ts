import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import {
  adminToken,
  api,
  freePort,
  printedAdminPassword,
  startVigilProcess,
  tempDir,
  vigilBin,
} from '../support/process.ts';

const exec = promisify(execFile);

function occupy(): Promise<{ server: Server; port: number }> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const addr = server.address();
      resolve({ server, port: typeof addr === 'object' && addr ? addr.port : 0 });
    });
  });
}

async function signIn(httpUrl: string, password: string): Promise<number> {
  const res = await fetch(`${httpUrl}/auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password }),
  });
  await res.text();
  return res.status;
}

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

describe('first start cannot lose the admin', () => {
  it('a start that stops on a taken MQTT port creates no account; the next start shows the password', async () => {
    const dataDir = tempDir();
    const taken = await occupy();
    try {
      await assert.rejects(
        startVigilProcess({ dataDir, mqttPort: taken.port, env: { VIGIL_LOG_LEVEL: 'warn' } }),
        (e: Error) => {
          assert.match(e.message, /exited with 1/);
          assert.match(e.message, /port \d+ is already in use \(set VIGIL_MQTT_PORT/);
          assert.doesNotMatch(e.message, /shown only once/, 'no password printed by a failed start');
          assert.doesNotMatch(e.message, /\n\s+at /, 'no stack trace');
          return true;
        },
      );
    } finally {
      taken.server.close();
    }
    const second = await startVigilProcess({ dataDir, mqttPort: await freePort() });
    try {
      const password = printedAdminPassword(second.stdout());
      assert.ok(password, `the second start shows the admin password:\n${second.stdout()}`);
      assert.equal(await signIn(second.httpUrl, password), 200);
    } finally {
      second.proc.kill('SIGTERM');
      await second.exited;
    }
  });

  it('vigil user reset-password --local recovers the admin on a stopped server, audited', async () => {
    const dataDir = tempDir();
    const first = await startVigilProcess({ dataDir });
    const lost = printedAdminPassword(first.stdout());
    assert.ok(lost);
    first.proc.kill('SIGTERM');
    await first.exited;

    const r = await vigil(dataDir, 'user', 'reset-password', '--local', '--json');
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { password: string; username: string; created: boolean };
    assert.equal(out.username, 'admin');
    assert.equal(out.created, false);
    assert.notEqual(out.password, lost);

    const again = await startVigilProcess({ dataDir });
    try {
      assert.equal(printedAdminPassword(again.stdout()), undefined, 'not a first start');
      assert.equal(await signIn(again.httpUrl, lost), 401, 'the lost password no longer works');
      const token = await adminToken(again.httpUrl, out.password);
      const audit = await api<{ events: Array<{ subtype?: Array<{ code: string }>; outcomeDesc?: string }> }>(
        again.httpUrl,
        token,
        'GET',
        '/api/v1/audit?subtype=password-reset',
      );
      assert.equal(audit.status, 200);
      assert.ok(
        audit.body.events.some((e) => /reset-password --local/.test(e.outcomeDesc ?? '')),
        `the offline reset is in the audit log: ${JSON.stringify(audit.body.events)}`,
      );
    } finally {
      again.proc.kill('SIGTERM');
      await again.exited;
    }

    const unknown = await vigil(dataDir, 'user', 'reset-password', '--local', 'nobody');
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no user named nobody/);
  });
});
