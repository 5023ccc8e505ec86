import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { type InProcess, insertPatient, startInProcess } from '../support/in-process.ts';
import { tempDir, vigilBin } from '../support/process.ts';

const exec = promisify(execFile);
const now = new Date();
const month = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1)).toISOString().slice(0, 7);

describe('vigil program … and vigil care-time … against a running server', () => {
  let t: InProcess;
  let base: Record<string, string>;
  let nurse: string;
  let admin: string;
  const vigil = async (token: string, ...args: string[]) => {
    try {
      const r = await exec(process.execPath, [vigilBin, ...args], { env: { ...base, VIGIL_TOKEN: token } });
      return { code: 0, stdout: r.stdout, stderr: r.stderr };
    } catch (e) {
      const err = e as { code: number; stdout: string; stderr: string };
      return { code: err.code, stdout: err.stdout, stderr: err.stderr };
    }
  };

  before(async () => {
    t = await startInProcess();
    admin = await t.token();
    await insertPatient(t.vigil, 'cli-pat');
    const put = (r: Record<string, unknown>) =>
      t.vigil.db.query(
        `insert into fhir_resource (resource_type, id, version_id, last_updated, content) values ($1, $2, 1, now(), $3::jsonb)`,
        [r['resourceType'], r['id'], JSON.stringify(r)],
      );
    await put({ resourceType: 'Practitioner', id: 'pr-cli' });
    await put({
      resourceType: 'CareTeam',
      id: 'team-cli',
      status: 'active',
      subject: { reference: 'Patient/cli-pat' },
      participant: [{ member: { reference: 'Practitioner/pr-cli' } }],
    });
    const password = 'a-long-nurse-password';
    const u = await t.inject({
      method: 'POST',
      url: '/api/v1/users',
      headers: { authorization: `Bearer ${admin}` },
      payload: { username: 'cli-nurse', roles: ['nurse'], practitionerId: 'pr-cli', password },
    });
    assert.equal(u.statusCode, 201, u.body);
    const s = await t.inject({
      method: 'POST',
      url: '/auth/token',
      payload: { username: 'cli-nurse', password },
    });
    nurse = (s.json() as { access_token: string }).access_token;
    base = {
      PATH: process.env['PATH'] ?? '',
      VIGIL_URL: t.vigil.httpUrl.replace('localhost', '127.0.0.1'),
      VIGIL_CLI_HOME: tempDir(),
    };
  });
  after(async () => t?.stop());

  it('a nurse logs care time with an interactive communication', async () => {
    const r = await vigil(
      nurse,
      'care-time',
      'log',
      'cli-pat',
      '--minutes',
      '12',
      '--activity',
      'patient-communication',
      '--interactive',
      '--start',
      `${month}-03T10:00:00Z`,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^logged 12 min patient-communication \(interactive\)/);
    const list = await vigil(
      nurse,
      'care-time',
      'list',
      'cli-pat',
      '--since',
      `${month}-01T00:00:00Z`,
      '--json',
    );
    assert.equal((JSON.parse(list.stdout) as { minutes: number }).minutes, 12);
  });

  it('billing as CSV shows 99470 for 12 minutes with a call', async () => {
    const r = await vigil(admin, 'program', 'billing', '--month', month, '--csv');
    assert.equal(r.code, 0, r.stderr);
    const line = r.stdout.split('\r\n').find((l) => l.startsWith('cli-pat,UTC,treatment-month,'));
    assert.match(line ?? '', /,12,1,true,99470,/);
  });

  it('billing as a table, and a usage error without --month', async () => {
    const r = await vigil(admin, 'program', 'billing', '--month', month);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /not billing advice/);
    assert.match(r.stdout, /cli-pat\s+UTC\s+-\s+12\s+1\s+99470/);
    const bad = await vigil(admin, 'program', 'billing');
    assert.equal(bad.code, 2);
  });

  it('a nurse may not run the billing report (coded error)', async () => {
    const r = await vigil(nurse, 'program', 'billing', '--month', month);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /VIGIL_ERR_AUTH_FORBIDDEN/);
  });

  it('metrics and fleet', async () => {
    const m = await vigil(nurse, 'program', 'metrics', '--json');
    assert.equal(m.code, 0, m.stderr);
    assert.equal((JSON.parse(m.stdout) as { enrolledPatients: number }).enrolledPatients, 0);
    const f = await vigil(nurse, 'program', 'fleet');
    assert.equal(f.code, 0, f.stderr);
    assert.match(f.stdout, /^devices 0, online 0/);
  });
});
