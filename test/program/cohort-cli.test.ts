import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { type InProcess, insertPatient, startInProcess } from '../support/in-process.ts';
import { tempDir, vigilBin } from '../support/process.ts';

const exec = promisify(execFile);
const AS_OF = '2026-03-20T12:00:00Z';

/** `vigil cohort …` against a running server: save from a file, list, evaluate, view, export. */
describe('vigil cohort … against a running server', () => {
  let t: InProcess;
  let admin: string;
  let base: Record<string, string>;
  const dir = tempDir();
  const vigil = async (...args: string[]) => {
    try {
      const r = await exec(process.execPath, [vigilBin, ...args], { env: { ...base, VIGIL_TOKEN: admin } });
      return { code: 0, stdout: r.stdout, stderr: r.stderr };
    } catch (e) {
      const err = e as { code: number; stdout: string; stderr: string };
      return { code: err.code, stdout: err.stdout, stderr: err.stderr };
    }
  };

  before(async () => {
    t = await startInProcess();
    admin = await t.token();
    for (const [id, sys] of [
      ['cli-a', 165],
      ['cli-b', 125],
    ] as const) {
      await insertPatient(t.vigil, id);
      await t.vigil.db.query(
        `insert into monitoring_config (patient_id, version, enrolment, changed_by, changed_at)
         values ($1, 1, '{"programs":["home-bp"]}'::jsonb, 'test', '2026-01-01T00:00:00Z')`,
        [id],
      );
      await t.vigil.db.query(
        `insert into observation (id, patient_id, device_id, code, effective, received, data, idem_key)
         values (gen_random_uuid(), $1, 'cuff', '85354-9', '2026-03-18T08:00:00Z', '2026-03-18T08:00:00Z', $2::jsonb, $3)`,
        [
          id,
          JSON.stringify({
            components: [
              { code: '8480-6', value: sys, unit: 'mm[Hg]' },
              { code: '8462-4', value: 80, unit: 'mm[Hg]' },
            ],
          }),
          `cli-${id}`,
        ],
      );
    }
    base = {
      PATH: process.env['PATH'] ?? '',
      VIGIL_URL: t.vigil.httpUrl.replace('localhost', '127.0.0.1'),
      VIGIL_CLI_HOME: tempDir(),
    };
  });
  after(async () => t?.stop());

  it('saves a definition from a file, lists, evaluates, views and exports it', async () => {
    const file = join(dir, 'high-bp.json');
    writeFileSync(
      file,
      JSON.stringify({
        criteria: [
          { kind: 'program', program: 'home-bp' },
          { kind: 'measure', code: '8480-6', statistic: 'mean', days: 14, op: '>', value: 150 },
        ],
      }),
    );
    const created = await vigil('cohort', 'create', '--name', 'High BP', '--file', file, '--json');
    assert.equal(created.code, 0, created.stderr);
    const id = JSON.parse(created.stdout).id as string;
    const list = await vigil('cohort', 'list');
    assert.match(list.stdout, /High BP/);
    const ev = await vigil('cohort', 'evaluate', id, '--as-of', AS_OF, '--json');
    assert.equal(ev.code, 0, ev.stderr);
    assert.deepEqual(
      JSON.parse(ev.stdout).members.map((m: { patientId: string }) => m.patientId),
      ['cli-a'],
    );
    const adHoc = await vigil('cohort', 'evaluate', '--file', file, '--as-of', AS_OF);
    assert.match(adHoc.stdout, /^1 patients/);
    const view = await vigil('cohort', 'view', id, '--as-of', AS_OF);
    assert.equal(view.code, 0, view.stderr);
    assert.match(view.stdout, /BP control .*: 0 of 1/);
    const csv = await vigil('cohort', 'export', id, '--as-of', AS_OF);
    assert.match(csv.stdout, /^patientId,name,/);
    assert.match(csv.stdout, /cli-a/);
    assert.doesNotMatch(csv.stdout, /cli-b/);
    const out = join(dir, 'group.json');
    const fhir = await vigil('cohort', 'export', id, '--format', 'fhir', '--as-of', AS_OF, '--out', out);
    assert.equal(fhir.code, 0, fhir.stderr);
    const bad = await vigil('cohort', 'export', id, '--format', 'xml');
    assert.notEqual(bad.code, 0);
  });
});
