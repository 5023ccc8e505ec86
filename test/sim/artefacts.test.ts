/** Simulator artefacts and program cadences: labelled in the ground truth, shaped as described in src/sim/devices/artefacts.ts. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compressionFactor } from '../../src/sim/devices/artefacts.ts';
import {
  DEFAULT_BEHAVIOUR,
  type Emission,
  MDC_ECG_HEART_RATE,
  MDC_PULS_OXIM_PULS_RATE,
} from '../../src/sim/devices/device.ts';
import { buildPopulation, type SimPatient } from '../../src/sim/population.ts';
import { truthFile } from '../../src/sim/truth-file.ts';

const START = Date.UTC(2026, 2, 1, 0, 0, 0);
const DAY = 86_400_000;
const quiet = {
  ...DEFAULT_BEHAVIOUR,
  dropouts: false,
  battery: false,
  duplicateRate: 0,
  malformedRate: 0,
  clockSkew: false,
};

function run(
  scenario: string,
  days: number,
  patients: number,
  seed = 'artefacts',
): { pop: SimPatient[]; out: Emission[] } {
  const pop = buildPopulation({
    seed,
    patients,
    scenario,
    windowStartMs: START,
    durationS: days * 86_400,
    align: 'start',
    behaviour: quiet,
  });
  const out = pop.flatMap((p) => p.devices.flatMap((d) => d.advance(START + days * DAY)));
  return { pop, out };
}

const inside = (t: number, e: { fromMs: number; toMs: number }) => t >= e.fromMs && t <= e.toMs;

test('bedside monitor: motion, probe-off, talking and cold-finger episodes are labelled and shape the readings', () => {
  const { pop, out } = run('stable-inpatient', 1, 1);
  const dev = pop[0]?.devices[0];
  assert.ok(dev);
  const log = dev.artefacts.log;
  const kinds = new Set(log.map((a) => a.kind));
  for (const k of ['motion', 'talking', 'probe-off'])
    assert.ok(kinds.has(k as never), `no ${k} episode in a day`);
  const readings = out.flatMap((e) => e.readings.map((r) => ({ r, t: e.measuredAt })));
  const ecg = readings.filter(({ r }) => r.code?.code === MDC_ECG_HEART_RATE);
  const pleth = readings.filter(({ r }) => r.code?.code === MDC_PULS_OXIM_PULS_RATE);
  assert.ok(ecg.length > 80_000 && pleth.length === ecg.length);
  // Flagged motion: the pleth readings carry the flag, the ECG ones never; the ECG reads muscle noise.
  const flaggedMotion = log.filter((a) => a.kind === 'motion' && a.flagged);
  assert.ok(flaggedMotion.length > 0);
  for (const { r, t } of pleth.filter(({ t }) => flaggedMotion.some((a) => inside(t, a))))
    assert.ok(r.flags?.includes('motion-artifact'), `pleth at ${new Date(t).toISOString()} not flagged`);
  assert.ok(ecg.every(({ r }) => !r.flags?.includes('motion-artifact')));
  const noisy = ecg.filter(({ t }) => log.some((a) => a.kind === 'motion' && inside(t, a)));
  assert.ok(noisy.filter(({ r }) => (r.value as number) >= 145).length > noisy.length / 2);
  // Outside any artefact no pleth reading is flagged motion.
  assert.ok(
    pleth
      .filter(({ t }) => !log.some((a) => inside(t, a)))
      .every(({ r }) => !r.flags?.includes('motion-artifact')),
  );
  // Talking: impedance RR over 24 during the episode, not outside artefacts.
  const rr = readings.filter(({ r }) => r.type === 'respiratory-rate');
  const talk = rr.filter(({ t }) => log.some((a) => a.kind === 'talking' && inside(t, a)));
  assert.ok(talk.length > 0 && talk.filter(({ r }) => (r.value as number) > 24).length > 0.9 * talk.length);
  assert.ok(talk.every(({ t }) => new Date(t).getUTCHours() >= 8 && new Date(t).getUTCHours() < 21));
  // Unflagged probe-off: SpO2 falls 10+ points within seconds while the pleth pulse leaves the ECG.
  const offs = log.filter((a) => a.kind === 'probe-off' && !a.flagged);
  for (const a of offs) {
    const spo2 = readings.filter(({ r, t }) => r.type === 'spo2' && t >= a.fromMs + 4000 && t <= a.toMs);
    for (const { r } of spo2) assert.ok((r.value as number) <= 90, `probe-off SpO2 ${r.value}`);
  }
  // The truth file lists the episodes with their flag, and the clock of each device.
  const tf = truthFile('artefacts', START, START + DAY, pop);
  const d0 = tf.patients[0]?.devices[0];
  assert.equal(d0?.artefacts.length, log.length);
  assert.deepEqual(d0?.clock, { skewSeconds: 0, driftPpm: 0 });
});

test('nurse temperatures 4-hourly on the ward; post-surgical home vitals 08:00/14:00/20:00 on every device', () => {
  const ward = run('stable-inpatient', 2, 1).out.filter((e) =>
    e.readings.some((r) => r.type === 'temperature'),
  );
  assert.equal(ward.length, 12);
  for (const e of ward) {
    const h = new Date(e.measuredAt).getUTCHours() + new Date(e.measuredAt).getUTCMinutes() / 60;
    const d = Math.min(...[2, 6, 10, 14, 18, 22].map((x) => Math.abs(h - x)));
    assert.ok(d <= 1 / 3, `ward temperature at ${h}`);
  }
  const home = run('post-operative-recovery', 3, 2).out.filter((e) => !e.statusOnly);
  for (const model of ['pulse-oximeter', 'thermometer', 'bp-cuff']) {
    const mine = home.filter((e) => e.deviceId.endsWith(model));
    assert.ok(mine.length >= 2 * 3 * 3, `${model}: ${mine.length}`);
    for (const e of mine) {
      const h = new Date(e.measuredAt).getUTCHours() + new Date(e.measuredAt).getUTCMinutes() / 60;
      assert.ok(
        [8, 14, 20].some((x) => Math.abs(h - x) <= 0.5),
        `${model} at ${h}`,
      );
    }
  }
});

test('home spot artefacts: white-coat BP, clothes on the scale, exercise temperature, cold fingers — labelled, at their rates', () => {
  const { pop, out } = run('stable-hypertension,post-operative-recovery,stable-heart-failure', 7, 30);
  const log = pop.flatMap((p) =>
    p.devices.flatMap((d) => d.artefacts.log.map((a) => ({ ...a, device: d.id }))),
  );
  const count = (kind: string, model: string) => {
    const n = out.filter((e) => e.deviceId.endsWith(model) && !e.statusOnly && !e.duplicate).length;
    const k = log.filter((a) => a.kind === kind && a.device.endsWith(model)).length;
    return { n, k };
  };
  const within = (kind: string, model: string, p: number) => {
    const { n, k } = count(kind, model);
    const sd = Math.sqrt(n * p * (1 - p));
    assert.ok(n > 100 && Math.abs(k - n * p) < 4 * sd + 1, `${kind} on ${model}: ${k} of ${n}`);
  };
  within('white-coat', 'bp-cuff', 0.04);
  within('clothes-on-scale', 'scale', 0.04);
  within('exercise-fever', 'thermometer', 0.02);
  within('low-perfusion', 'pulse-oximeter', 0.04);
  // A white-coat reading is higher than the cuff's other readings of that patient; unflagged.
  const wc = log.find((a) => a.kind === 'white-coat');
  assert.ok(wc);
  const e = out.find((x) => x.deviceId === wc.device && x.measuredAt === wc.fromMs);
  assert.ok(e?.readings[0]?.components && !e.readings[0].flags?.includes('body-movement'));
});

test('a crisis-level home BP is repeated 5–10 minutes later (home BP guidance, clinical-reference §9)', () => {
  const { out } = run('hypertensive-crisis', 1, 6);
  const cuff = out.filter((e) => e.deviceId.endsWith('bp-cuff') && !e.statusOnly && !e.duplicate);
  const high = cuff.filter((e) => {
    const c = e.readings[0]?.components;
    return c !== undefined && (c.systolic >= 180 || c.diastolic >= 120);
  });
  assert.ok(high.length > 0);
  const repeated = high.filter((h) =>
    cuff.some(
      (e) =>
        e.deviceId === h.deviceId &&
        e.measuredAt - h.measuredAt >= 300_000 &&
        e.measuredAt - h.measuredAt <= 600_000,
    ),
  );
  assert.ok(repeated.length >= 0.5 * high.length, `${repeated.length} of ${high.length} repeated`);
});

test('CGM compression lows: at night, a fall over the first fifth, a plateau, a fast recovery', () => {
  const e = { kind: 'compression-low' as const, fromMs: 0, toMs: 3_000_000, flagged: false, depth: 0.6 };
  assert.equal(compressionFactor(e, -1), 1);
  assert.equal(compressionFactor(e, 0), 1);
  assert.ok(Math.abs(compressionFactor(e, 300_000) - 0.8) < 1e-9);
  assert.equal(compressionFactor(e, 1_500_000), 0.6);
  assert.ok(compressionFactor(e, 2_900_000) > 0.6 && compressionFactor(e, 2_900_000) < 1);
  assert.equal(compressionFactor(e, 3_000_001), 1);
  const { pop } = run('stable-diabetes', 14, 6);
  const lows = pop.flatMap((p) => p.devices.flatMap((d) => d.artefacts.log));
  assert.ok(lows.length > 0 && lows.every((a) => a.kind === 'compression-low'));
  for (const a of lows) {
    const h = new Date(a.fromMs).getUTCHours();
    assert.ok(h >= 23 || h < 5, `compression low starting at ${h}:00`);
  }
});
