import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { type InProcess, startInProcess, testAdminPassword } from '../support/in-process.ts';
import { tempDir, vigilBin } from '../support/process.ts';

const exec = promisify(execFile);

describe('vigil login keeps a refresh token: later commands renew the access token', () => {
  let t: InProcess;
  let url: string;
  before(async () => {
    t = await startInProcess();
    url = t.vigil.httpUrl.replace('localhost', '127.0.0.1');
  });
  after(async () => t?.stop());

  const run = async (home: string, ...args: string[]) => {
    const env = { PATH: process.env['PATH'] ?? '', VIGIL_CLI_HOME: home };
    try {
      const r = await exec(process.execPath, [vigilBin, ...args], { env });
      return { code: 0, stdout: r.stdout, stderr: r.stderr };
    } catch (e) {
      const err = e as { code: number; stdout: string; stderr: string };
      return { code: err.code, stdout: err.stdout, stderr: err.stderr };
    }
  };
  const saved = (home: string) =>
    JSON.parse(readFileSync(join(home, 'credentials.json'), 'utf8')) as {
      url: string;
      token: string;
      refreshToken?: string;
      expiresAt?: number;
    };

  it('login saves the refresh token; an expired access token is renewed and the rotated pair saved', async () => {
    const home = tempDir();
    const code = await new Promise<number | null>((resolve) => {
      const p = spawn(
        process.execPath,
        [vigilBin, 'login', '--username', 'admin', '--url', url, '--password-stdin'],
        {
          env: { PATH: process.env['PATH'] ?? '', VIGIL_CLI_HOME: home },
          stdio: ['pipe', 'ignore', 'ignore'],
        },
      );
      p.on('exit', resolve);
      p.stdin.end(`${testAdminPassword}\n`);
    });
    assert.equal(code, 0);
    const first = saved(home);
    assert.ok(first.refreshToken, 'vigil login saved the refresh token');
    assert.ok((first.expiresAt ?? 0) > 0);
    const pair = { refresh_token: first.refreshToken };
    writeFileSync(
      join(home, 'credentials.json'),
      JSON.stringify({ url, token: 'an-expired-token', refreshToken: pair.refresh_token, expiresAt: 0 }),
    );
    const list = await run(home, 'user', 'list', '--json');
    assert.equal(list.code, 0, list.stderr);
    assert.ok(
      (JSON.parse(list.stdout) as { users: Array<{ username: string }> }).users.some(
        (u) => u.username === 'admin',
      ),
    );
    const after1 = saved(home);
    assert.notEqual(after1.token, 'an-expired-token');
    assert.notEqual(after1.refreshToken, pair.refresh_token, 'the refresh token rotated');
    assert.ok((after1.expiresAt ?? 0) > 0);
  });

  it('a refused access token (401) is renewed once; an ended session says so and forgets the refresh token', async () => {
    const home = tempDir();
    const r = await t.inject({
      method: 'POST',
      url: '/auth/token',
      payload: { username: 'admin', password: testAdminPassword },
    });
    const pair = r.json() as { access_token: string; refresh_token: string };
    writeFileSync(
      join(home, 'credentials.json'),
      JSON.stringify({
        url,
        token: 'garbage',
        refreshToken: pair.refresh_token,
        expiresAt: Date.now() + 3_600_000,
      }),
    );
    const ok = await run(home, 'user', 'list', '--json');
    assert.equal(ok.code, 0, ok.stderr);

    writeFileSync(
      join(home, 'credentials.json'),
      JSON.stringify({
        url,
        token: 'garbage',
        refreshToken: 'not-a-refresh-token',
        expiresAt: Date.now() + 3_600_000,
      }),
    );
    const refused = await run(home, 'user', 'list', '--json');
    assert.equal(refused.code, 1);
    assert.equal(saved(home).refreshToken, undefined);
  });
});
