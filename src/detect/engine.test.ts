import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Detection } from '../core/detection.ts';
import { createEngine } from './engine.ts';
import { builtInPrograms } from './programs/index.ts';
import { bp, engineWith, reading, T0 } from './test-fixtures.ts';

const spo2Low = {
  id: 'spo2-low',
  kind: 'threshold',
  code: '2708-6',
  direction: 'below',
  levels: [
    { value: 90, severity: 'medium' },
    { value: 85, severity: 'high' },
  ],
  clearAt: 93,
  persistSeconds: 15,
  realertMinutes: 10,
  ignoreFlags: ['low-perfusion', 'motion-artifact'],
  label: 'SpO2',
  unit: '%',
};

function feed(
  engine: ReturnType<typeof engineWith>,
  values: Array<[number, number]>,
  flags: string[] = [],
): Detection[] {
  return values.flatMap(([sec, v]) => engine.onReading(reading('2708-6', v, sec, { flags })).detections);
}

describe('alarm-fatigue controls', () => {
  it('persistence: a 10 s dip does not fire, a 15 s dip does', () => {
    const short = engineWith([spo2Low]);
    assert.deepEqual(
      feed(short, [
        [0, 88],
        [5, 88],
        [10, 88],
        [11, 97],
      ]),
      [],
    );
    const long = engineWith([spo2Low]);
    const d = feed(long, [
      [0, 88],
      [5, 88],
      [10, 88],
      [15, 88],
    ]);
    assert.equal(d.length, 1);
    assert.equal(d[0]?.state, 'firing');
    assert.equal(d[0]?.conditionKey, 'threshold:2708-6:low');
    assert.equal(d[0]?.severity, 'medium');
    assert.equal(d[0]?.at, new Date(T0 + 15_000).toISOString());
  });

  it('one open condition: further low readings add evidence silently; a higher severity that holds re-fires', () => {
    const e = engineWith([spo2Low]);
    const d = feed(e, [
      [0, 88],
      [15, 88],
      [20, 87],
      [25, 88],
      [30, 84],
      [35, 84],
      [44, 84],
      [45, 84],
    ]);
    assert.deepEqual(
      d.map((x) => [x.state, x.severity]),
      [
        ['firing', 'medium'],
        ['firing', 'high'],
      ],
    );
    assert.ok((d[1]?.evidence.length ?? 0) >= 5, 'evidence accumulates');
    assert.equal(d[1]?.at, new Date(T0 + 45_000).toISOString(), 'high held for persistSeconds (15 s)');
  });

  it('hysteresis: fires below 90, holds at 91–92, clears at 93', () => {
    const e = engineWith([spo2Low]);
    const d = feed(e, [
      [0, 88],
      [15, 88],
      [20, 91],
      [25, 92],
      [30, 93],
    ]);
    assert.deepEqual(
      d.map((x) => x.state),
      ['firing', 'cleared'],
    );
    assert.equal(d[1]?.at, new Date(T0 + 30_000).toISOString());
  });

  it('re-alert interval: same severity re-fires only after realertMinutes', () => {
    const e = engineWith([spo2Low]);
    const seconds = Array.from({ length: 150 }, (_, i) => i * 5); // 0 … 745 s
    const d = feed(
      e,
      seconds.map((s) => [s, 88] as [number, number]),
    );
    assert.deepEqual(
      d.map((x) => x.at),
      [new Date(T0 + 15_000).toISOString(), new Date(T0 + 615_000).toISOString()],
    );
  });

  it('signal-quality gating: low-perfusion and motion-artifact SpO2 are ignored', () => {
    const e = engineWith([spo2Low]);
    assert.deepEqual(
      feed(
        e,
        [
          [0, 80],
          [15, 80],
          [30, 80],
        ],
        ['low-perfusion'],
      ),
      [],
    );
    assert.deepEqual(
      feed(
        e,
        [
          [40, 80],
          [55, 80],
        ],
        ['motion-artifact'],
      ),
      [],
    );
    // Gated readings do not reset a pending dip either.
    const g = engineWith([spo2Low]);
    assert.deepEqual(feed(g, [[0, 88]]), []);
    assert.deepEqual(feed(g, [[8, 99]], ['motion-artifact']), []);
    assert.equal(feed(g, [[16, 88]]).length, 1);
  });

  it('stats count detections per patient-day', () => {
    const e = engineWith([spo2Low]);
    feed(e, [
      [0, 88],
      [15, 88],
      [30, 95],
    ]);
    const day = new Date(T0).toISOString().slice(0, 10);
    assert.deepEqual(e.stats().detectionsPerPatientDay.p1?.[day], { firing: 1, cleared: 1 });
    assert.equal(e.stats().readings, 3);
  });
});

describe('cross-signal heart-rate confirmation', () => {
  const hrHigh = {
    id: 'hr-high',
    kind: 'threshold',
    code: '8867-4',
    direction: 'above',
    levels: [{ value: 130, severity: 'medium' }],
    clearAt: 120,
    persistSeconds: 10,
    confirmAcrossSources: true,
    confirmWindowSeconds: 10,
  };
  const ecg = (v: number, s: number) =>
    reading('8867-4', v, s, { codings: [{ system: 'urn:iso:std:iso:11073:10101', code: '147842' }] });
  const pleth = (v: number, s: number) =>
    reading('8867-4', v, s, { codings: [{ system: 'urn:iso:std:iso:11073:10101', code: '149530' }] });

  for (const order of ['ecg-first', 'pleth-first'] as const) {
    it(`high ECG heart rate with a normal pleth pulse at the same time does not alarm (${order})`, () => {
      const e = engineWith([hrHigh]);
      const out: Detection[] = [];
      for (let s = 0; s <= 60; s += 1) {
        const pair = order === 'ecg-first' ? [ecg(180, s), pleth(75, s)] : [pleth(75, s), ecg(180, s)];
        for (const r of pair) out.push(...e.onReading(r).detections);
      }
      assert.deepEqual(out, []);
    });
  }

  it('high on both sources alarms', () => {
    const e = engineWith([hrHigh]);
    const out: Detection[] = [];
    for (let s = 0; s <= 20; s += 1)
      for (const r of [ecg(150, s), pleth(148, s)]) out.push(...e.onReading(r).detections);
    assert.equal(out.length, 1);
    assert.equal(out[0]?.conditionKey, 'threshold:8867-4:high');
  });

  it('ECG alone (no pleth available) alarms', () => {
    const e = engineWith([hrHigh]);
    const out: Detection[] = [];
    for (let s = 0; s <= 20; s += 1) out.push(...e.onReading(ecg(150, s)).detections);
    assert.equal(out.length, 1);
  });
});

describe('engine', () => {
  it('snapshot/restore continues exactly as an uninterrupted engine', () => {
    const program = builtInPrograms.filter((p) => p.name === 'inpatient-continuous');
    const cfg = { programs: program, patients: { p1: { programs: ['inpatient-continuous'] } } };
    const series = Array.from({ length: 120 }, (_, i) => reading('2708-6', i < 40 ? 97 : 86, i * 2));
    const whole = createEngine(cfg);
    const a = series.flatMap((r) => whole.onReading(r).detections);
    const first = createEngine(cfg);
    const b1 = series.slice(0, 50).flatMap((r) => first.onReading(r).detections);
    const json = JSON.parse(JSON.stringify(first.snapshot()));
    const second = createEngine(cfg);
    second.restore(json);
    const b2 = series.slice(50).flatMap((r) => second.onReading(r).detections);
    assert.ok(a.length > 0, 'the series must produce detections for the comparison to mean anything');
    assert.deepEqual([...b1, ...b2], a);
  });

  it('ignores readings of unenrolled or unattributed patients', () => {
    const e = engineWith([spo2Low]);
    assert.deepEqual(e.onReading(reading('2708-6', 50, 0, { patientId: 'other' })).detections, []);
    assert.deepEqual(e.onReading({ ...reading('2708-6', 50, 0), patientId: null }).detections, []);
    assert.equal(e.stats().ignored, 2);
  });

  it('per-patient state stays bounded under a day of 1 Hz data', () => {
    const program = builtInPrograms.filter((p) => p.name === 'inpatient-continuous');
    const e = createEngine({ programs: program, patients: { p1: { programs: ['inpatient-continuous'] } } });
    for (let s = 0; s < 86_400; s += 1) e.onReading(reading('8867-4', 70 + (s % 7), s));
    const size = JSON.stringify(e.snapshot().patients.p1).length;
    assert.ok(size < 50_000, `state is ${size} bytes`);
  });
});

describe('supersedes', () => {
  const sbpHigh = {
    id: 'sbp-high',
    kind: 'threshold',
    code: '85354-9',
    component: '8480-6',
    direction: 'above',
    levels: [{ value: 160, severity: 'medium' }],
    clearAt: 150,
  };
  // Listed after the threshold on purpose: the engine runs superseding rules first.
  const crisis = { id: 'bp-crisis', kind: 'hypertensive-crisis' };
  const keys = (ds: Detection[]) => ds.map((d) => [d.state, d.conditionKey, d.severity]);

  it('a crisis reading opens the crisis alert only, naming the threshold it supersedes', () => {
    const e = engineWith([sbpHigh, crisis]);
    const out = e.onReading(bp(190, 100, 0)).detections;
    assert.deepEqual(keys(out), [['firing', 'hypertensive-crisis', 'high']]);
    assert.deepEqual(out[0]?.data?.superseded, ['threshold:8480-6:high']);
  });

  it('below the crisis the lower-severity threshold alert still opens; once the crisis clears too', () => {
    const e = engineWith([sbpHigh, crisis]);
    assert.deepEqual(keys(e.onReading(bp(165, 90, 0)).detections), [
      ['firing', 'threshold:8480-6:high', 'medium'],
    ]);
    // Threshold already open: the crisis reading neither re-alerts nor clears it.
    assert.deepEqual(keys(e.onReading(bp(190, 100, 600)).detections), [
      ['firing', 'hypertensive-crisis', 'high'],
    ]);
    const e2 = engineWith([sbpHigh, crisis]);
    e2.onReading(bp(190, 100, 0));
    assert.deepEqual(keys(e2.onReading(bp(165, 90, 600)).detections), [
      ['cleared', 'hypertensive-crisis', 'high'],
      ['firing', 'threshold:8480-6:high', 'medium'],
    ]);
  });

  it('does not suppress a superseded alert of equal or higher severity', () => {
    const e = engineWith([{ ...sbpHigh, levels: [{ value: 160, severity: 'critical' }] }, crisis]);
    assert.deepEqual(keys(e.onReading(bp(190, 100, 0)).detections), [
      ['firing', 'hypertensive-crisis', 'high'],
      ['firing', 'threshold:8480-6:high', 'critical'],
    ]);
  });

  it('is configurable per rule: supersedes [] keeps both alerts', () => {
    const e = engineWith([sbpHigh, { ...crisis, supersedes: [] }]);
    assert.equal(e.onReading(bp(190, 100, 0)).detections.length, 2);
  });
});
