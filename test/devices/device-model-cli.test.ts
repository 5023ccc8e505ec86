import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { parse } from 'csv-parse/sync';
import { type InProcess, startInProcess } from '../support/in-process.ts';
import { tempDir, vigilBin } from '../support/process.ts';

const exec = promisify(execFile);

describe('vigil device-model … against the running server', () => {
  let t: InProcess;
  let env: Record<string, string>;
  const dir = tempDir();
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
    await t.inject({
      method: 'POST',
      url: '/api/v1/devices',
      headers: { authorization: `Bearer ${env['VIGIL_TOKEN']}` },
      payload: { id: 'cli-ox', kind: 'pulse-oximeter' },
    });
  });
  after(async () => t?.stop());

  it('a bad catalogue file prints every refused row and exits non-zero; a good one imports', async () => {
    const bad = join(dir, 'bad.csv');
    writeFileSync(bad, 'id,manufacturer,model,udi_di\nox-a,Nova,OX-1,4006381333932\nox-b,,OX-2,\n');
    const refused = await vigil('device-model', 'import', bad);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^row 2: udi_di .*\[VIGIL_ERR_DEVICE_MODEL_INVALID_UDI\]$/m);
    assert.match(refused.stderr, /^row 3: manufacturer is required \[VIGIL_ERR_DEVICE_MODEL_INVALID\]$/m);
    assert.match(refused.stderr, /\[VIGIL_ERR_DEVICE_MODEL_CSV_INVALID\]\n$/);

    const good = join(dir, 'good.csv');
    writeFileSync(
      good,
      'id,manufacturer,model,udi_di,fda_pathway,fda_number\nox-a,Nova,OX-1,4006381333931,510k,K190001\n',
    );
    const ok = await vigil('device-model', 'import', good, '--json');
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(JSON.parse(ok.stdout).created, 1);
    const list = await vigil('device-model', 'list');
    assert.match(list.stdout, /ox-a\s+Nova\s+OX-1\s+4006381333931\s+510k K190001/);
  });

  it('sets a device’s model, records a recall by UDI-DI and shows the device in the findings CSV', async () => {
    const set = await vigil('device-model', 'set', 'cli-ox', 'ox-a');
    assert.equal(set.code, 0, set.stderr);
    assert.equal(set.stdout.trim(), 'device cli-ox is model ox-a');
    const recalls = join(dir, 'recalls.csv');
    writeFileSync(
      recalls,
      'udi_di,kind,reference,title,issued_on\n4006381333931,recall,Z-7,"Sensor, reads high",2026-02-01\n',
    );
    const imported = await vigil('device-model', 'import-advisories', recalls);
    assert.equal(imported.code, 0, imported.stderr);
    const findings = await vigil('device-model', 'findings', '--reason', 'open-recall', '--csv');
    assert.equal(findings.code, 0, findings.stderr);
    const rows = parse(findings.stdout, { columns: true }) as Array<Record<string, string>>;
    assert.deepEqual(
      rows.map((r) => [r['device_id'], r['reasons'], r['advisories']]),
      [['cli-ox', 'open-recall', 'recall Z-7']],
    );
    const show = await vigil('device-model', 'show', 'ox-a');
    assert.match(show.stdout, /devices: cli-ox/);
    assert.match(show.stdout, /recall\s+Z-7\s+open/);
  });
});
