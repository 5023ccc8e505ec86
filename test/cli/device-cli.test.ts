import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { type InProcess, insertPatient, startInProcess } from '../support/in-process.ts';
import { tempDir, vigilBin } from '../support/process.ts';

const exec = promisify(execFile);

describe('vigil device … talks to the running server (works while PGlite holds the data)', () => {
  let t: InProcess;
  let env: Record<string, string>;
  const vigil = async (...args: string[]) => {
    try {
      const r = await exec(process.execPath, [vigilBin, ...args], { env });
      return { code: 0, stdout: r.stdout, stderr: r.stderr };
    } catch (e) {
      const err = e as { code: number; stdout: string; stderr: string };
      return { code: err.code, stdout: err.stdout, stderr: err.stderr };
    }
  };

  before(async () => {
    t = await startInProcess();
    await insertPatient(t.vigil, 'cli-patient');
    env = {
      PATH: process.env['PATH'] ?? '',
      VIGIL_URL: t.vigil.httpUrl.replace('localhost', '127.0.0.1'),
      VIGIL_TOKEN: await t.token(),
      VIGIL_CLI_HOME: tempDir(),
    };
  });
  after(async () => t?.stop());

  it('registers a device with --json output for scripts, the secret shown once', async () => {
    const r = await vigil(
      'device',
      'register',
      '--id',
      'cli-cuff',
      '--kind',
      'blood-pressure-cuff',
      '--manufacturer',
      'Acme',
      '--json',
    );
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as {
      device: { id: string; kind: string; manufacturer: string };
      secret: string;
    };
    assert.equal(out.device.id, 'cli-cuff');
    assert.equal(out.device.manufacturer, 'Acme');
    assert.match(out.secret, /^vgd_/);
    const shown = await vigil('device', 'show', 'cli-cuff', '--json');
    assert.ok(!shown.stdout.includes(out.secret), 'the secret is never shown again');
  });

  it('assigns it to a patient for a period and lists it', async () => {
    const r = await vigil(
      'device',
      'assign',
      'cli-cuff',
      '--patient',
      'cli-patient',
      '--start',
      '2026-01-01T00:00:00Z',
      '--json',
    );
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as {
      assignment: { patientId: string; periodStart: string; periodEnd: string | null };
    };
    assert.equal(out.assignment.patientId, 'cli-patient');
    assert.equal(out.assignment.periodStart, '2026-01-01T00:00:00.000Z');
    assert.equal(out.assignment.periodEnd, null);
    const list = await vigil('device', 'list');
    assert.match(list.stdout, /cli-cuff\s+blood-pressure-cuff\s+Acme/);
  });

  it('rotates and revokes credentials; errors are one line with a code and a non-zero exit', async () => {
    const rot = await vigil('device', 'rotate', 'cli-cuff', '--json');
    assert.equal(rot.code, 0);
    assert.match((JSON.parse(rot.stdout) as { secret: string }).secret, /^vgd_/);
    const rev = await vigil('device', 'revoke', 'cli-cuff');
    assert.equal(rev.code, 0);
    const missing = await vigil('device', 'assign', 'no-such-device', '--patient', 'cli-patient');
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^vigil device: .* \[VIGIL_ERR_DEVICE_NOT_FOUND\]\n$/);
    const usage = await vigil('device', 'register', '--id', 'x');
    assert.equal(usage.code, 2);
  });

  it('says clearly when the server is not reachable', async () => {
    const r = await exec(process.execPath, [vigilBin, 'device', 'list'], {
      env: { ...env, VIGIL_URL: 'http://127.0.0.1:9' },
    }).catch((e: { code: number; stderr: string }) => e);
    assert.equal((r as { code: number }).code, 1);
    assert.match(
      (r as { stderr: string }).stderr,
      /cannot reach Vigil at http:\/\/127\.0\.0\.1:9.*\[VIGIL_ERR_CLI_UNREACHABLE\]/,
    );
  });
});
