/** Seeded simulation: repeatability, ground truth, cadences and fault rates. */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  DEFAULT_BEHAVIOUR,
  type DeviceBehaviour,
  type Emission,
  MDC_ECG_HEART_RATE,
} from '../../src/sim/devices/device.ts';
import { computeGroundTruth } from '../../src/sim/ground-truth.ts';
import { news2 } from '../../src/sim/news2.ts';
import { offlineLines, writeOffline } from '../../src/sim/offline.ts';
import { buildPopulation, type PopulationOptions } from '../../src/sim/population.ts';
import { Rng } from '../../src/sim/rng.ts';
import { SCENARIOS } from '../../src/sim/scenarios/index.ts';

const START = Date.UTC(2026, 2, 1, 6, 0, 0);
const DAY = 86_400_000;

const options = (o: Partial<PopulationOptions> = {}): PopulationOptions => ({
  seed: 'test',
  patients: 9,
  scenario: 'mix',
  windowStartMs: START,
  durationS: 86_400,
  align: 'critical',
  behaviour: { ...DEFAULT_BEHAVIOUR, minPeriodS: 60 },
  ...o,
});

const lines = (o: PopulationOptions) =>
  [...offlineLines(buildPopulation(o), o.windowStartMs, o.windowStartMs + o.durationS * 1000)].map((l) =>
    JSON.stringify(l),
  );

function emissions(
  behaviour: Partial<DeviceBehaviour>,
  scenario: string,
  days: number,
  patients = 1,
): Emission[] {
  const pop = buildPopulation(
    options({
      scenario,
      patients,
      durationS: days * 86_400,
      align: 'start',
      behaviour: { ...DEFAULT_BEHAVIOUR, ...behaviour },
    }),
  );
  return pop.flatMap((p) => p.devices.flatMap((d) => d.advance(START + days * DAY)));
}

test('the same seed gives the same output, another seed another', () => {
  const a = lines(options());
  const b = lines(options());
  const c = lines(options({ seed: 'other' }));
  assert.ok(a.length > 1000);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.slice(0, 50), c.slice(0, 50));
});

test('PRNG streams are repeatable and forks independent', () => {
  const x = new Rng(7);
  const y = new Rng(7);
  const xs = Array.from({ length: 100 }, () => x.next());
  assert.deepEqual(
    xs,
    Array.from({ length: 100 }, () => y.next()),
  );
  assert.ok(xs.every((v) => v >= 0 && v < 1));
  assert.notEqual(new Rng(7).fork('a').next(), new Rng(7).fork('b').next());
  const n = new Rng('normal');
  const sample = Array.from({ length: 20_000 }, () => n.normal());
  const mean = sample.reduce((s, v) => s + v, 0) / sample.length;
  const sd = Math.sqrt(sample.reduce((s, v) => s + (v - mean) ** 2, 0) / sample.length);
  assert.ok(Math.abs(mean) < 0.05 && Math.abs(sd - 1) < 0.05, `mean ${mean} sd ${sd}`);
});

test('ground truth: deteriorating scenarios reach critical after onset, consistent with the values; stable ones never', () => {
  for (const s of Object.values(SCENARIOS)) {
    for (let seed = 0; seed < 8; seed++) {
      const run = s.generate(new Rng(`gt-${s.name}-${seed}`), { durationS: s.durationS, startMs: START });
      const gt = computeGroundTruth(run);
      if (!s.deteriorating) {
        assert.equal(gt.criticalS, null, `${s.name} seed ${seed} crossed ${gt.criticalCriterion}`);
        continue;
      }
      assert.notEqual(gt.criticalS, null, `${s.name} seed ${seed}`);
      assert.notEqual(gt.onsetS, null, `${s.name} seed ${seed}`);
      assert.ok((gt.onsetS as number) <= (gt.criticalS as number));
      assert.ok(
        (gt.processStartS as number) <= (gt.onsetS as number),
        `${s.name}: onset before the process started`,
      );
      const criticalS = gt.criticalS as number;
      const criterion = run.criteria.find((c) => c.name === gt.criticalCriterion);
      assert.ok(criterion);
      const at = run.trajectory.at(criticalS);
      assert.ok(criterion.test(at, criticalS, run.trajectory));
      // First crossing: no critical criterion held at any earlier sample.
      for (let t = 0; t < criticalS; t += run.trajectory.stepS) {
        for (const c of run.criteria.filter((c) => c.role === 'critical'))
          assert.ok(!c.test(run.trajectory.at(t), t, run.trajectory));
      }
      if (gt.criticalCriterion?.startsWith('news2>=')) assert.ok(news2(at, run.news2Scale) >= 7);
      if (gt.criticalCriterion === 'glucose<54') assert.ok(at.glucose < 54);
    }
  }
});

test('nocturnal hypoglycaemia happens at night', () => {
  for (let seed = 0; seed < 6; seed++) {
    const s = SCENARIOS['nocturnal-hypoglycaemia'];
    assert.ok(s);
    const run = s.generate(new Rng(`night-${seed}`), { durationS: s.durationS, startMs: START });
    const gt = computeGroundTruth(run);
    const hour = new Date(START + (gt.criticalS as number) * 1000).getUTCHours();
    assert.ok(hour >= 22 || hour <= 6, `critical at ${hour}:00`);
  }
});

test('cadences: CGM every 5 minutes, cuff twice a day near 08:00 and 20:00, bedside monitor every second', () => {
  const quiet = { dropouts: false, battery: false, duplicateRate: 0, malformedRate: 0, minPeriodS: 1 };
  const cgm = emissions(quiet, 'stable-diabetes', 2).map((e) => e.measuredAt);
  assert.ok(cgm.length >= 575 && cgm.length <= 577, `${cgm.length}`);
  for (let i = 1; i < cgm.length; i++)
    assert.equal(Math.round((cgm[i] as number) - (cgm[i - 1] as number)), 300_000);

  const cuff = emissions(quiet, 'stable-hypertension', 7).filter(
    (e) => e.deviceId.endsWith('bp-cuff') && !e.statusOnly,
  );
  assert.equal(cuff.length, 14);
  for (const e of cuff) {
    const h = new Date(e.measuredAt).getUTCHours() + new Date(e.measuredAt).getUTCMinutes() / 60;
    assert.ok(Math.abs(h - 8) <= 0.5 || Math.abs(h - 20) <= 0.5, `cuff at ${h}`);
  }

  const pop = buildPopulation(
    options({
      scenario: 'sepsis',
      patients: 1,
      align: 'start',
      behaviour: { ...DEFAULT_BEHAVIOUR, ...quiet },
    }),
  );
  const monitor = pop[0]?.devices[0];
  assert.ok(monitor);
  const hr = monitor
    .advance(START + 600_000)
    .filter((e) => e.readings.some((r) => r.code?.code === MDC_ECG_HEART_RATE));
  assert.ok(hr.length >= 599 && hr.length <= 600, `${hr.length}`);
});

test('malformed rate is honoured within a statistical bound, and duplicates repeat the message id', () => {
  const rate = 0.05;
  const all = emissions({ malformedRate: rate, duplicateRate: 0.02, minPeriodS: 60 }, 'sepsis', 2, 3).filter(
    (e) => !e.duplicate && !e.statusOnly,
  );
  const bad = all.filter((e) => e.malformed).length;
  const n = all.length;
  const sd = Math.sqrt(n * rate * (1 - rate));
  assert.ok(n > 5000);
  assert.ok(Math.abs(bad - n * rate) < 4 * sd, `${bad} malformed of ${n}`);
  const dups = emissions({ malformedRate: 0, duplicateRate: 0.02, minPeriodS: 60 }, 'sepsis', 1).filter(
    (e) => e.duplicate,
  );
  assert.ok(dups.length > 0);
  for (const d of dups) assert.ok(d.readings.every((r) => r.messageId !== undefined));
});

test('device times never run ahead of sending by more than Vigil accepts (5 minutes)', () => {
  const all = emissions({}, 'mix', 3, 18);
  assert.ok(all.length > 1000);
  for (const e of all)
    for (const r of e.readings)
      assert.ok(Date.parse(r.time) - e.sendAt <= 5 * 60_000, `${r.time} vs ${e.sendAt}`);
  // Dropouts: some readings were stored and forwarded, flagged.
  assert.ok(all.some((e) => e.readings.some((r) => r.flags?.includes('from-storage'))));
});

test('--out writes NDJSON readings and a truth sidecar naming the same patients', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'vigil-sim-'));
  try {
    const o = options();
    const pop = buildPopulation(o);
    const out = join(dir, 'run.ndjson');
    const r = await writeOffline(out, o.seed, pop, START, START + DAY);
    const text = (await readFile(out, 'utf8')).trim().split('\n');
    assert.equal(text.length, r.lines);
    const truth = JSON.parse(await readFile(r.truthPath, 'utf8'));
    assert.equal(truth.format, 'vigil-sim-truth/1');
    const ids = new Set(truth.patients.map((p: { patientId: string }) => p.patientId));
    for (const l of text.slice(0, 500)) assert.ok(ids.has(JSON.parse(l).patient));
    const deteriorating = truth.patients.filter((p: { deteriorating: boolean }) => p.deteriorating);
    assert.ok(deteriorating.length >= 5);
    assert.ok(deteriorating.every((p: { critical: string | null }) => p.critical !== null));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
