import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { builtInPrograms } from './programs/index.ts';
import { type ReplayEvent, replay } from './replay.ts';

const config = { programs: builtInPrograms, patients: {}, defaultEnrolment: { programs: ['diabetes-cgm'] } };

function cgmLines(values: Array<[string, number]>): string[] {
  return values.map(([time, v]) =>
    JSON.stringify({ patient: 'p1', device: 'cgm-1', time, code: '99504-3', value: v, unit: 'mg/dL' }),
  );
}

async function collect(lines: unknown[]): Promise<ReplayEvent[]> {
  const out: ReplayEvent[] = [];
  for await (const e of replay(lines, config)) out.push(e);
  return out;
}

describe('replay', () => {
  it('fires a data gap from event time alone, then clears it when data resume', async () => {
    const events = await collect(
      cgmLines([
        ['2026-03-01T08:00:00Z', 120],
        ['2026-03-01T08:05:00Z', 121],
        ['2026-03-01T09:00:00Z', 119],
      ]),
    );
    const gap = events.filter((e) => e.conditionKey === 'gap:cgm-gap:cgm-1');
    assert.deepEqual(
      gap.map((e) => [e.event, e.at]),
      [
        ['opened', '2026-03-01T08:26:00.000Z'],
        ['cleared', '2026-03-01T09:00:00.000Z'],
      ],
    );
  });

  it('labels opened / updated / cleared', async () => {
    const t = (m: number) => new Date(Date.parse('2026-03-01T08:00:00Z') + m * 60_000).toISOString();
    const events = await collect(
      cgmLines([
        [t(0), 100],
        [t(5), 65],
        [t(10), 50],
        [t(15), 90],
      ]),
    );
    const low = events.filter((e) => e.conditionKey === 'glucose:low');
    assert.deepEqual(
      low.map((e) => [e.event, e.severity]),
      [
        ['opened', 'medium'],
        ['updated', 'high'],
        ['cleared', 'high'],
      ],
    );
  });

  it('reads FHIR Observations (valueQuantity, component, subject, effectiveDateTime)', async () => {
    const obs = {
      resourceType: 'Observation',
      id: 'bp-1',
      status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code: '85354-9' }] },
      subject: { reference: 'Patient/p9' },
      effectiveDateTime: '2026-03-01T08:00:00Z',
      component: [
        {
          code: { coding: [{ system: 'http://loinc.org', code: '8480-6' }] },
          valueQuantity: { value: 190, unit: 'mmHg', code: 'mm[Hg]' },
        },
        {
          code: { coding: [{ system: 'http://loinc.org', code: '8462-4' }] },
          valueQuantity: { value: 100, unit: 'mmHg', code: 'mm[Hg]' },
        },
      ],
    };
    const out: ReplayEvent[] = [];
    for await (const e of replay([JSON.stringify(obs)], {
      ...config,
      // At once, as in a clinic (the home program asks for a repeat first: confirm-at-home.test.ts).
      defaultEnrolment: { programs: ['hypertension'], rules: { 'bp-crisis': { confirmRepeatMinutes: 0 } } },
    }))
      out.push(e);
    assert.deepEqual(
      out.map((e) => [e.event, e.patientId, e.conditionKey, e.evidence]),
      [
        // The crisis supersedes the program's systolic > 160 (medium) alert for the same reading:
        // one alert, which names the threshold it stands for.
        ['opened', 'p9', 'hypertensive-crisis', ['bp-1']],
      ],
    );
    assert.deepEqual(out[0]?.data?.superseded, ['threshold:8480-6:high']);
  });

  it('is deterministic', async () => {
    const lines = cgmLines(
      Array.from(
        { length: 40 },
        (_, i) =>
          [new Date(Date.parse('2026-03-01T08:00:00Z') + i * 300_000).toISOString(), 150 - i * 3] as [
            string,
            number,
          ],
      ),
    );
    assert.deepEqual(await collect(lines), await collect(lines));
    assert.ok((await collect(lines)).length > 0);
  });

  it('the CLI command writes NDJSON events to --out', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'vigil-replay-'));
    const input = path.join(dir, 'in.ndjson');
    const outFile = path.join(dir, 'out.ndjson');
    writeFileSync(input, `${cgmLines([['2026-03-01T08:00:00Z', 45]]).join('\n')}\n`);
    const script = `import('${path.resolve('src/cli/commands/replay.ts')}').then(m => m.command.run(['${input}', '--program', 'diabetes-cgm', '--out', '${outFile}'])).then(c => process.exit(c))`;
    execFileSync(process.execPath, ['-e', script], { stdio: 'pipe' });
    const events = readFileSync(outFile, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as ReplayEvent);
    assert.deepEqual(
      events.map((e) => [e.event, e.conditionKey, e.severity]),
      [['opened', 'glucose:low', 'high']],
    );
  });

  it('enrolment lines enrol a patient in programs with overrides from their time on', async () => {
    const spo2 = (time: string, v: number) =>
      JSON.stringify({ patient: 'p2', device: 'oxi-1', time, code: '2708-6', value: v, unit: '%' });
    const lines = [
      JSON.stringify({
        type: 'enrol',
        patient: 'p2',
        time: '2026-03-01T07:59:00Z',
        programs: ['copd'],
        // Without the repeat at rest the COPD program asks for, the first low opens the alert.
        rules: { hypoxaemia: { scale2Below: 86, confirmRepeatMinutes: 0 } },
      }),
      spo2('2026-03-01T08:00:00Z', 87),
      spo2('2026-03-01T08:10:00Z', 85),
    ];
    const events = await collect(lines);
    const h = events.filter((e) => e.conditionKey === 'hypoxaemia');
    // COPD = scale 2; the override moves the floor from 88 to 86: 87 is quiet, 85 opens.
    assert.deepEqual(
      h.map((e) => [e.event, e.at, e.data?.spo2Scale, e.data?.floor]),
      [['opened', '2026-03-01T08:10:00.000Z', 2, 86]],
    );
  });

  it('a bad enrolment line is refused by its path and the patient keeps its enrolment', async () => {
    const bad = JSON.stringify({
      type: 'enrol',
      patient: 'p1',
      time: '2026-03-01T08:00:00Z',
      programs: ['nope'],
    });
    const errs: string[] = [];
    const out: ReplayEvent[] = [];
    const it = replay([bad, ...cgmLines([['2026-03-01T08:01:00Z', 45]])], config, {
      onError: (e) => errs.push(e.message),
    });
    for await (const e of it) out.push(e);
    assert.match(errs[0] ?? '', /line 1: .*unknown program 'nope'/);
    assert.deepEqual(
      out.map((e) => e.conditionKey),
      ['glucose:low'],
    );
  });

  it('untilMs advances event time after the last line: a silent CGM raises its gap', async () => {
    const lines = cgmLines([
      ['2026-03-01T08:00:00Z', 120],
      ['2026-03-01T08:05:00Z', 121],
    ]);
    const without: ReplayEvent[] = [];
    for await (const e of replay(lines, config)) without.push(e);
    assert.deepEqual(without, []);
    const withUntil: ReplayEvent[] = [];
    for await (const e of replay(lines, config, { untilMs: Date.parse('2026-03-01T10:00:00Z') }))
      withUntil.push(e);
    assert.deepEqual(
      withUntil.map((e) => [e.event, e.conditionKey, e.at]),
      [['opened', 'gap:cgm-gap:cgm-1', '2026-03-01T08:26:00.000Z']],
    );
  });

  it('the CLI takes --until and enrolment lines', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'vigil-replay-'));
    const input = path.join(dir, 'in.ndjson');
    const outFile = path.join(dir, 'out.ndjson');
    const enrol = JSON.stringify({
      type: 'enrol',
      patient: 'p1',
      time: '2026-03-01T07:00:00Z',
      programs: ['diabetes-cgm'],
    });
    writeFileSync(input, `${[enrol, ...cgmLines([['2026-03-01T08:00:00Z', 120]])].join('\n')}\n`);
    const script = `import('${path.resolve('src/cli/commands/replay.ts')}').then(m => m.command.run(['${input}', '--until', '2026-03-01T09:00:00Z', '--out', '${outFile}'])).then(c => process.exit(c))`;
    execFileSync(process.execPath, ['-e', script], { stdio: 'pipe' });
    const events = readFileSync(outFile, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as ReplayEvent);
    assert.deepEqual(
      events.map((e) => [e.event, e.conditionKey]),
      [['opened', 'gap:cgm-gap:cgm-1']],
    );
  });
});
