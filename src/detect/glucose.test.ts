import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Detection } from '../core/detection.ts';
import { kalmanPredict, kalmanUpdate, naiveForecast } from './glucose-predictor.ts';
import { engineWith, MIN, reading } from './test-fixtures.ts';

const rule = { id: 'glucose', kind: 'glucose' };
const cgm = (v: number, sec: number, unit = 'mg/dL') => reading('99504-3', v, sec, { unit });

function run(values: number[], stepMin = 5): Detection[] {
  const e = engineWith([rule]);
  return values.flatMap((v, i) => e.onReading(cgm(v, i * stepMin * MIN)).detections);
}

describe('glucose rule', () => {
  it('level 1 low (< 70) then level 2 (< 54) escalate one condition; clears at ≥ 75', () => {
    const d = run([100, 100, 100, 69, 60, 53, 53, 70, 74, 75]).filter(
      (x) => x.conditionKey === 'glucose:low',
    );
    assert.deepEqual(
      d.map((x) => [x.state, x.severity]),
      [
        ['firing', 'medium'],
        ['firing', 'high'],
        ['firing', 'medium'],
        ['cleared', 'medium'],
      ],
    );
  });

  it('70 is not low; 180 is not high, 181 is level 1 (opted in), 251 level 2', () => {
    assert.deepEqual(
      run([70, 70, 70]).filter((x) => x.conditionKey === 'glucose:low'),
      [],
    );
    const e = engineWith([{ ...rule, level1HighAlerts: true }]);
    const d = [180, 181, 251]
      .flatMap((v, i) => e.onReading(cgm(v, i * 5 * MIN)).detections)
      .filter((x) => x.conditionKey === 'glucose:high');
    assert.deepEqual(
      d.map((x) => x.severity),
      ['low', 'medium'],
    );
  });

  it('level-1 high alerts are opt-in: by default 181–250 raises nothing, 251 opens level 2', () => {
    const d = run([181, 240, 250, 251]).filter((x) => x.conditionKey === 'glucose:high');
    assert.deepEqual(
      d.map((x) => [x.state, x.severity, x.at.slice(11, 16)]),
      [['firing', 'medium', '08:15']],
    );
  });

  it('mmol/L readings are converted (3.0 mmol/L ≈ 54 mg/dL is level 1, 2.9 level 2)', () => {
    const e = engineWith([rule]);
    const a = e.onReading(cgm(3.0, 0, 'mmol/L')).detections;
    assert.equal(a[0]?.severity, 'medium');
    const b = e.onReading(cgm(2.9, 5 * MIN, 'mmol/L')).detections;
    assert.equal(b[0]?.severity, 'high');
  });

  it('predicted low fires on a steady fall before glucose reaches 55', () => {
    // 2 mg/dL/min fall from 140: reaches 54 after ~43 min.
    const values = Array.from({ length: 12 }, (_, i) => 140 - 10 * i);
    const d = run(values).filter((x) => x.conditionKey === 'glucose:predicted-low');
    assert.equal(d[0]?.state, 'firing');
    const firedAt = Date.parse(d[0]?.at ?? '');
    const lowAt = Date.parse(
      run(values).find((x) => x.conditionKey === 'glucose:low' && x.severity === 'high')?.at ?? '',
    );
    assert.ok(lowAt - firedAt >= 10 * 60_000, 'warned at least 10 minutes ahead');
    assert.ok((d[0]?.data?.forecast as number) < 55);
  });

  it('no predicted low on a flat trace at 100 or a slow fall far from low', () => {
    assert.deepEqual(
      run(Array(20).fill(100)).filter((x) => x.conditionKey === 'glucose:predicted-low'),
      [],
    );
    const slow = Array.from({ length: 20 }, (_, i) => 200 - i);
    assert.deepEqual(
      run(slow).filter((x) => x.conditionKey === 'glucose:predicted-low'),
      [],
    );
  });

  it('fast fall heading below 70 fires glucose:fall at ≥ 2 and escalates at ≥ 3 mg/dL/min', () => {
    const d = run([200, 200, 200, 185, 170, 155, 140, 125, 110, 95]).filter(
      (x) => x.conditionKey === 'glucose:fall',
    );
    assert.equal(d[0]?.state, 'firing');
    assert.ok(
      d.some((x) => x.severity === 'medium'),
      'reaches the urgent rate',
    );
  });

  it('rate gating: the same fall from 250 to 160 (not heading below 70 within 30 min) does not alert', () => {
    const falls = (rows: number[], overrides: Record<string, unknown> = {}) => {
      const e = engineWith([{ ...rule, ...overrides }]);
      return rows
        .flatMap((v, i) => e.onReading(cgm(v, i * 5 * MIN)).detections)
        .filter((x) => x.conditionKey === 'glucose:fall' && x.state === 'firing');
    };
    const meal = [250, 250, 250, 235, 220, 205, 190, 175, 160];
    assert.deepEqual(falls(meal), []);
    assert.equal(falls(meal, { rateGateMinutes: 0 }).length > 0, true, 'gate 0 = alert on every fast fall');
  });

  it('a single noisy slope does not open a rate alert (two consecutive readings needed)', () => {
    const falls = (persist: number) => {
      const e = engineWith([{ ...rule, rateGateMinutes: 0, ratePersistReadings: persist }]);
      return [120, 120, 120, 80, 120, 120]
        .flatMap((v, i) => e.onReading(cgm(v, i * 5 * MIN)).detections)
        .filter((x) => x.conditionKey === 'glucose:fall');
    };
    assert.deepEqual(falls(2), []);
    assert.equal(falls(1).length > 0, true, 'one reading is enough when persistence is 1');
  });

  it('regression predictor (diabetes-cgm program): warns on a steady fall before 54, not on a flat 90', () => {
    const cfg = { ...rule, predictModel: 'regression', horizonMinutes: 15, zoneLevel: 70, zoneMaxRate: -0.5 };
    const warned = (values: number[]) => {
      const e = engineWith([cfg]);
      return values
        .flatMap((v, i) => e.onReading(cgm(v, i * 5 * MIN)).detections)
        .find((x) => x.conditionKey === 'glucose:predicted-low' && x.state === 'firing');
    };
    const fall = [130, 120, 110, 100, 90, 80, 70, 60, 50];
    const d = warned(fall);
    assert.ok(d !== undefined, 'warns');
    assert.ok((d.data?.glucose as number) >= 54, 'before the level-2 low');
    assert.equal(warned([90, 90, 90, 90, 90, 90, 90]), undefined);
  });

  it('a gap restarts the trend: no rate across 2 hours of silence', () => {
    const e = engineWith([rule]);
    const ds = [200, 200, 200].flatMap((v, i) => e.onReading(cgm(v, i * 5 * MIN)).detections);
    const after = [100, 100].flatMap((v, i) => e.onReading(cgm(v, (130 + i * 5) * MIN)).detections);
    assert.deepEqual(
      [...ds, ...after].filter((x) => x.conditionKey === 'glucose:fall'),
      [],
    );
  });
});

describe('glucose predictors', () => {
  it('Kalman filter follows a straight line and forecasts it', () => {
    let k = null;
    for (let i = 0; i < 30; i++)
      k = kalmanUpdate(k, 200 - 2 * i * 5, i * 300_000, { q: 0.002, r: 16, maxGapMinutes: 15 });
    assert.ok(k !== null);
    assert.ok(Math.abs(k.s - -2) < 0.1, `slope ${k.s}`);
    assert.ok(Math.abs(kalmanPredict(k, 20) - (200 - 2 * 145 - 40)) < 3);
  });

  it('naive forecast: line through the reading 15 min earlier', () => {
    const h: Array<[number, number]> = [
      [0, 100],
      [5 * 60_000, 95],
      [10 * 60_000, 90],
      [15 * 60_000, 85],
    ];
    assert.equal(naiveForecast(h, 20, 15), 85 - 20);
    assert.equal(naiveForecast(h.slice(2), 20, 15), null);
  });
});

describe('compression lows (night, sudden drop from a steady trace)', () => {
  // T0 is 08:00 UTC; +17 h = 01:00 (night at UTC offset 0).
  const NIGHT = 17 * 3600;
  const feed = (e: ReturnType<typeof engineWith>, pts: Array<[number, number]>, code = '99504-3') =>
    pts.flatMap(([min, v]) => e.onReading(reading(code, v, NIGHT + min * 60, { unit: 'mg/dL' })).detections);
  const steady: Array<[number, number]> = Array.from({ length: 9 }, (_, i) => [i * 5, 110 + (i % 2)]);
  const keys = (ds: Detection[]) => ds.map((d) => `${d.state}:${d.conditionKey}:${d.severity}`);

  it('a drop of 10 mg/dL/min recovering within the hour is one low-priority fingerstick request', () => {
    const e = engineWith([rule]);
    const ds = feed(e, [...steady, [45, 60], [50, 58], [55, 57], [60, 59], [65, 100], [70, 108]]);
    assert.deepEqual(keys(ds), ['firing:glucose:compression-low:low', 'cleared:glucose:compression-low:low']);
    assert.equal(ds[0]?.data?.excludeFromMetrics, true);
    assert.match(ds[0]?.summary ?? '', /check with a fingerstick/);
  });

  it('a compression-like drop whose low persists for the hour alarms then (never silenced)', () => {
    const e = engineWith([rule]);
    const low: Array<[number, number]> = Array.from({ length: 14 }, (_, i) => [45 + 5 * i, 60 - (i % 2)]);
    const ds = feed(e, [...steady, ...low]);
    const lowOpen = ds.find((d) => d.conditionKey === 'glucose:low' && d.state === 'firing');
    assert.equal(lowOpen?.at, '2026-03-02T02:45:00.000Z', '60 min after the drop (01:45)');
  });

  it('a compression-like drop then a meter reading < 70 alarms at once', () => {
    const e = engineWith([rule]);
    feed(e, [...steady, [45, 60]]);
    const ds = feed(e, [[50, 62]], '41653-7');
    assert.ok(ds.some((d) => d.conditionKey === 'glucose:low' && d.state === 'firing'));
    // The suspicion has ended: the next CGM low counts.
    const next = feed(e, [[52, 60]]);
    assert.deepEqual(
      next.filter((d) => d.state === 'firing' && d.conditionKey === 'glucose:compression-low'),
      [],
    );
  });

  it('by day, or on a gradual fall (3.9 mg/dL/min), the low alarms as before', () => {
    const day = engineWith([rule]);
    const dayDs = [...steady, [45, 60] as [number, number]].flatMap(
      ([min, v]) => day.onReading(cgm(v, min * 60)).detections,
    );
    assert.ok(dayDs.some((d) => d.conditionKey === 'glucose:low' && d.state === 'firing'));
    const gradual = engineWith([rule]);
    const ds = feed(gradual, [...steady, [45, 110 - 19.5], [50, 110 - 39], [55, 110 - 58.5]]);
    assert.ok(ds.some((d) => d.conditionKey === 'glucose:low' && d.state === 'firing'));
    assert.deepEqual(
      ds.filter((d) => d.conditionKey === 'glucose:compression-low'),
      [],
    );
  });
});
