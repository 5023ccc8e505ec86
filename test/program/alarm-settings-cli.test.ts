import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { newId } from '../../src/core/ids.ts';
import { type InProcess, insertPatient, startInProcess } from '../support/in-process.ts';
import { tempDir, vigilBin } from '../support/process.ts';

const exec = promisify(execFile);
const DAY = 86_400_000;

/** `vigil alarm-settings …` against a running server: propose, replay (waiting), approve by a second clinician. */
describe('vigil alarm-settings … against a running server', () => {
  let t: InProcess;
  let base: Record<string, string>;
  const tok = { a: '', b: '' };
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
    const admin = await t.token();
    await insertPatient(t.vigil, 'cli-pat');
    const password = 'a-long-clinician-password';
    for (const [k, name] of [
      ['a', 'cli-clin-a'],
      ['b', 'cli-clin-b'],
    ] as const) {
      const u = await t.inject({
        method: 'POST',
        url: '/api/v1/users',
        headers: { authorization: `Bearer ${admin}` },
        payload: { username: name, roles: ['clinician'], practitionerId: `pr-${name}`, password },
      });
      assert.equal(u.statusCode, 201, u.body);
      const s = await t.inject({ method: 'POST', url: '/auth/token', payload: { username: name, password } });
      tok[k] = (s.json() as { access_token: string }).access_token;
    }
    const m = await t.inject({
      method: 'PUT',
      url: '/api/v1/patients/cli-pat/monitoring',
      headers: { authorization: `Bearer ${admin}` },
      payload: { monitoring: { programs: ['hypertension'] } },
    });
    assert.equal(m.statusCode, 200, m.body);
    const now = Date.now();
    const bp = (at: number, sbp: number) => ({
      id: newId(),
      deviceId: 'cuff-cli',
      patientId: 'cli-pat',
      code: '85354-9',
      codings: [],
      category: 'vital-signs',
      value: null,
      unit: null,
      components: [
        { code: '8480-6', value: sbp, unit: 'mm[Hg]' },
        { code: '8462-4', value: 85, unit: 'mm[Hg]' },
      ],
      effective: new Date(at).toISOString(),
      received: new Date(at).toISOString(),
      flags: [],
      idempotencyKey: `cli-${at}`,
      transport: 'http' as const,
      profile: 'native-json',
    });
    await t.vigil.ctx.observations.insertBatch(t.vigil.db, [
      bp(now - 3 * DAY, 165),
      bp(now - 3 * DAY + 3600_000, 140),
    ]);
    base = {
      PATH: process.env['PATH'] ?? '',
      VIGIL_URL: t.vigil.httpUrl.replace('localhost', '127.0.0.1'),
      VIGIL_CLI_HOME: tempDir(),
    };
  });
  after(async () => t?.stop());

  it('proposes, replays, refuses self-approval, and a second clinician approves', async () => {
    const bad = await vigil(
      tok.a,
      'alarm-settings',
      'propose',
      'hypertension',
      '--changes',
      '{"sbp-high":{"clearAt":"x"}}',
      '--reason',
      'r',
    );
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /VIGIL_ERR_DETECT_CONFIG_INVALID/);
    const p = await vigil(
      tok.a,
      'alarm-settings',
      'propose',
      'hypertension',
      '--changes',
      '{"sbp-high":{"levels":[{"value":170,"severity":"medium"}]}}',
      '--reason',
      'fewer 160-170 alerts',
      '--json',
    );
    assert.equal(p.code, 0, p.stderr);
    const id = (JSON.parse(p.stdout) as { id: string }).id;
    const r = await vigil(
      tok.a,
      'alarm-settings',
      'replay',
      'hypertension',
      '--proposal',
      id,
      '--days',
      '30',
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /2 readings, 1 patients/);
    assert.match(r.stdout, /sbp-high\s+medium\s+1\s+0\s+-1/);
    const self = await vigil(
      tok.a,
      'alarm-settings',
      'approve',
      'hypertension',
      '--proposal',
      id,
      '--note',
      'mine',
    );
    assert.notEqual(self.code, 0);
    assert.match(self.stderr, /VIGIL_ERR_ALARMSET_SELF_REVIEW/);
    const ok = await vigil(
      tok.b,
      'alarm-settings',
      'approve',
      'hypertension',
      '--proposal',
      id,
      '--note',
      'agreed',
    );
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /approved: version 1 in force/);
    const v = await vigil(tok.b, 'alarm-settings', 'versions', 'hypertension');
    assert.match(v.stdout, /version 1 .*fewer 160-170 alerts/);
    assert.match(v.stdout, /sbp-high\.levels: \[\{"value":160.*→ \[\{"value":170/);
  });
});
