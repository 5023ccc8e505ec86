import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { agpProfile, cgmMetrics, gmi, minuteOfDayFn, percentileSorted } from './cgm-metrics.ts';

const T0 = Date.parse('2026-01-05T00:00:00Z');
const MIN = 60_000;

describe('percentiles (linear interpolation, R type 7)', () => {
  it('matches hand-computed values', () => {
    const s = [1, 2, 3, 4];
    assert.equal(percentileSorted(s, 0), 1);
    assert.equal(percentileSorted(s, 25), 1.75); // h = 3 × 0.25 = 0.75 → 1 + 0.75 × (2 − 1)
    assert.equal(percentileSorted(s, 50), 2.5);
    assert.ok(Math.abs(percentileSorted(s, 95) - 3.85) < 1e-9); // h = 2.85 → 3 + 0.85
    assert.equal(percentileSorted(s, 100), 4);
    assert.equal(percentileSorted([7], 5), 7);
    assert.ok(Number.isNaN(percentileSorted([], 50)));
  });
});

describe('consensus metrics', () => {
  // Six readings, one per range: 50 (<54), 60 (54–69), 100, 150 (70–180), 200 (181–250), 260 (>250).
  const values = [50, 60, 100, 150, 200, 260];
  const points = values.map((mgdl, i) => ({ t: T0 + i * 5 * MIN, mgdl }));
  const m = cgmMetrics(points, { from: T0, to: T0 + 30 * MIN });

  it('time in ranges as % of readings', () => {
    assert.equal(m.readings, 6);
    assert.equal(m.inRange, 33.3); // 2 of 6
    assert.equal(m.below70, 33.3); // 50, 60
    assert.equal(m.below54, 16.7); // 50
    assert.equal(m.above180, 33.3); // 200, 260
    assert.equal(m.above250, 16.7); // 260
  });

  it('mean, SD, CV and GMI', () => {
    // mean = 820 / 6 = 136.67; squared deviations sum to 34 133.3; / 5 = 6 826.7; √ = 82.62
    assert.equal(m.mean, 136.7);
    assert.equal(m.sd, 82.6);
    assert.equal(m.cv, 60.5); // 82.62 / 136.67
    assert.equal(m.gmi, 6.6); // 3.31 + 0.02392 × 136.67 = 6.579
  });

  it('GMI formula at known points', () => {
    assert.ok(Math.abs(gmi(100) - 5.702) < 1e-9);
    assert.ok(Math.abs(gmi(154) - 6.99368) < 1e-9);
  });

  it('data sufficiency against the expected count at the cadence', () => {
    // One day at 5-minute cadence: 288 expected; 144 received → 50 %.
    const half = Array.from({ length: 144 }, (_, i) => ({ t: T0 + i * 10 * MIN, mgdl: 120 }));
    const d = cgmMetrics(half, { from: T0, to: T0 + 1440 * MIN, cadenceMinutes: 5 });
    assert.equal(d.expected, 288);
    assert.equal(d.sufficiency, 50);
    assert.equal(d.daysWithData, 1);
    assert.equal(d.periodDays, 1);
    assert.equal(d.sufficient, false);
    assert.equal(d.inRange, 100);
    assert.equal(d.sd, 0);
    assert.equal(d.cv, 0);
  });

  it('14 days at ≥ 70 % is sufficient; 15-minute cadence counts 96 a day', () => {
    const pts = Array.from({ length: 14 * 96 }, (_, i) => ({ t: T0 + i * 15 * MIN, mgdl: 140 }));
    const d = cgmMetrics(pts, { from: T0, to: T0 + 14 * 1440 * MIN, cadenceMinutes: 15 });
    assert.equal(d.expected, 1344);
    assert.equal(d.sufficiency, 100);
    assert.equal(d.daysWithData, 14);
    assert.equal(d.sufficient, true);
  });

  it('no readings: nulls, not zeros', () => {
    const d = cgmMetrics([], { from: T0, to: T0 + 1440 * MIN });
    assert.equal(d.mean, null);
    assert.equal(d.inRange, null);
    assert.equal(d.sufficiency, 0);
  });
});

describe('AGP over the modal day', () => {
  it('puts readings of different days into their 15-minute slot and takes percentiles', () => {
    const pts = [100, 110, 120].map((mgdl, day) => ({ t: T0 + day * 1440 * MIN + 5 * MIN, mgdl }));
    pts.push({ t: T0 + 2 * 1440 * MIN + 20 * MIN, mgdl: 300 }); // 00:20 → slot 1
    const agp = agpProfile(pts);
    assert.equal(agp.length, 96);
    const s0 = agp[0];
    assert.equal(s0?.n, 3);
    assert.equal(s0?.p50, 110);
    assert.equal(s0?.p5, 101); // h = 2 × 0.05 = 0.1 → 100 + 0.1 × 10
    assert.equal(s0?.p25, 105);
    assert.equal(s0?.p75, 115);
    assert.equal(s0?.p95, 119);
    assert.equal(agp[1]?.n, 1);
    assert.equal(agp[1]?.p50, 300);
    assert.equal(agp[2]?.n, 0);
    assert.equal(agp[2]?.p50, null);
  });

  it('uses the viewer time zone for the time of day', () => {
    const t = Date.parse('2026-01-15T23:10:00Z');
    assert.equal(minuteOfDayFn('UTC')(t), 23 * 60 + 10);
    assert.equal(minuteOfDayFn('America/New_York')(t), 18 * 60 + 10); // UTC−5 in January
    assert.equal(minuteOfDayFn('Asia/Kolkata')(t), 4 * 60 + 40); // UTC+5:30
    const agp = agpProfile([{ t, mgdl: 99 }], 'America/New_York');
    assert.equal(agp[72]?.n, 1); // 18:10 → slot 72
  });
});

describe('excluded intervals (suspected compression lows judged artefacts)', () => {
  // 120 mg/dL every 5 min for an hour, with 50 mg/dL at 20, 25 and 30 min.
  const pts = Array.from({ length: 12 }, (_, i) => ({
    t: T0 + i * 5 * MIN,
    mgdl: i >= 4 && i <= 6 ? 50 : 120,
  }));
  const opts = { from: T0, to: T0 + 60 * MIN, cadenceMinutes: 5 };

  it('leaves [from, to) out of the glucose figures and keeps them as worn', () => {
    const all = cgmMetrics(pts, opts);
    assert.equal(all.below54, 25); // 3 of 12
    assert.equal(all.excludedReadings, 0);
    const m = cgmMetrics(pts, { ...opts, exclude: [{ from: T0 + 20 * MIN, to: T0 + 35 * MIN }] });
    assert.equal(m.excludedReadings, 3);
    assert.equal(m.below54, 0);
    assert.equal(m.mean, 120);
    assert.equal(m.readings, 12, 'worn readings');
    assert.equal(m.sufficiency, all.sufficiency);
  });

  it('the end of an interval is open: the reading that ended it counts', () => {
    const m = cgmMetrics(pts, { ...opts, exclude: [{ from: T0 + 20 * MIN, to: T0 + 30 * MIN }] });
    assert.equal(m.excludedReadings, 2);
    assert.equal(m.below54, 10); // the 30-min reading: 1 of 10
  });
});
