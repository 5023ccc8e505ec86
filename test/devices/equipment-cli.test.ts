import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { type InProcess, startInProcess } from '../support/in-process.ts';
import { tempDir, vigilBin } from '../support/process.ts';

const exec = promisify(execFile);

/** `vigil equipment …` and `vigil program alarm-burden` against a running server. */
describe('vigil equipment … talks to the running server', () => {
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
    env = {
      PATH: process.env['PATH'] ?? '',
      VIGIL_URL: t.vigil.httpUrl.replace('localhost', '127.0.0.1'),
      VIGIL_TOKEN: await t.token(),
      VIGIL_CLI_HOME: tempDir(),
    };
    const r = await t.inject({
      method: 'POST',
      url: '/api/v1/devices',
      headers: { authorization: `Bearer ${await t.token()}`, 'content-type': 'application/json' },
      payload: { id: 'pump-cli', kind: 'infusion-pump' },
    });
    assert.equal(r.statusCode, 201);
  });
  after(async () => t?.stop());

  it('builds the zone tree, refuses a room under a building, places, tags and finds a pump', async () => {
    for (const z of [
      ['site-c', 'Site', '--kind', 'site'],
      ['b-c', 'Main', '--kind', 'building', '--part-of', 'site-c'],
      ['f-c', 'Floor 1', '--kind', 'floor', '--part-of', 'b-c'],
      ['u-c', 'Ward 1', '--kind', 'unit', '--part-of', 'f-c'],
      ['r-c', 'Room 1', '--kind', 'room', '--part-of', 'u-c'],
    ]) {
      const r = await vigil('equipment', 'zone-add', ...z);
      assert.equal(r.code, 0, r.stderr);
    }
    const bad = await vigil('equipment', 'zone-add', 'bad-c', 'x', '--kind', 'room', '--part-of', 'b-c');
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /VIGIL_ERR_EQUIPMENT_LOCATION_INVALID/);
    assert.equal((await vigil('equipment', 'tag', 'pump-cli', 'AA:BB:CC:00:00:01')).code, 0);
    assert.equal((await vigil('equipment', 'place', 'pump-cli', 'r-c')).code, 0);
    assert.equal((await vigil('equipment', 'set', 'pump-cli', 'maintenance')).code, 0);
    const found = await vigil(
      'equipment',
      'find',
      '--availability',
      'maintenance',
      '--zone',
      'f-c',
      '--json',
    );
    assert.equal(found.code, 0, found.stderr);
    const out = JSON.parse(found.stdout) as { equipment: Array<{ deviceId: string; unitId: string }> };
    assert.deepEqual(
      out.equipment.map((e) => [e.deviceId, e.unitId]),
      [['pump-cli', 'u-c']],
    );
    const zones = await vigil('equipment', 'zones');
    assert.match(zones.stdout, /Site › Main › Floor 1 › Ward 1 › Room 1/);
  });

  it('reports alarm burden per unit', async () => {
    const r = await vigil('program', 'alarm-burden', '--group-by', 'unit', '--json');
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { groupBy: string; overall: { alerts: number } };
    assert.equal(out.groupBy, 'unit');
    assert.equal(out.overall.alerts, 0);
    const bad = await vigil('program', 'alarm-burden', '--since', 'yesterday');
    assert.match(bad.stderr, /VIGIL_ERR_PROGRAM_INVALID_RANGE/);
  });
});
