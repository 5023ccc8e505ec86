import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Detection } from '../core/detection.ts';
import { bp, DAY, engineWith, HOUR, MIN, reading, status, T0 } from './test-fixtures.ts';

describe('weight gain', () => {
  const rule = {
    id: 'wg',
    kind: 'weight-gain',
    windows: [
      { hours: 24, gainKg: 1, severity: 'medium' },
      { hours: 168, gainKg: 2, severity: 'high' },
    ],
  };
  const kg = (v: number, sec: number, unit = 'kg') => reading('29463-7', v, sec, { unit });

  it('> 1 kg in a day fires; exactly 1 kg does not', () => {
    const e = engineWith([rule]);
    assert.deepEqual(e.onReading(kg(80, 0)).detections, []);
    assert.deepEqual(e.onReading(kg(81, 20 * HOUR)).detections, []);
    const d = e.onReading(kg(81.2, 22 * HOUR)).detections;
    assert.equal(d[0]?.severity, 'medium');
    assert.equal(d[0]?.conditionKey, 'weight-gain');
  });

  it('> 2 kg over a week fires at the week window’s severity, with pounds converted', () => {
    const e = engineWith([rule]);
    const lb = 2.20462262;
    const days = [80, 80.6, 81.2, 81.8, 82.3];
    const out = days.flatMap((v, i) => e.onReading(kg(v * lb, i * DAY, '[lb_av]')).detections);
    assert.deepEqual(
      out.map((d) => [d.state, d.severity]),
      [['firing', 'high']],
    );
  });
});

describe('hypertensive crisis', () => {
  const rule = { id: 'crisis', kind: 'hypertensive-crisis' };
  it('180/120 is not a crisis; 181 systolic or 121 diastolic is', () => {
    const e = engineWith([rule]);
    assert.deepEqual(e.onReading(bp(180, 120, 0)).detections, []);
    assert.equal(e.onReading(bp(181, 90, 60)).detections[0]?.state, 'firing');
    const e2 = engineWith([rule]);
    assert.equal(e2.onReading(bp(150, 121, 0)).detections[0]?.conditionKey, 'hypertensive-crisis');
  });
  it('clears only below 170/110 (hysteresis)', () => {
    const e = engineWith([rule]);
    e.onReading(bp(190, 100, 0));
    assert.deepEqual(e.onReading(bp(175, 100, 600)).detections, []);
    assert.equal(e.onReading(bp(165, 100, 1200)).detections[0]?.state, 'cleared');
  });
});

describe('hypoxaemia', () => {
  const rule = { id: 'hypox', kind: 'hypoxaemia' };
  it('scale 1: fires after 15 s below 92 %', () => {
    const e = engineWith([rule]);
    const out = [0, 5, 10, 15].flatMap((s) => e.onReading(reading('2708-6', 91, s)).detections);
    assert.deepEqual(
      out.map((d) => d.at),
      [new Date(Date.parse('2026-03-01T08:00:15Z')).toISOString()],
    );
  });
  it('scale 2 patient: 90 % is not hypoxaemia, 87 % is', () => {
    const e = engineWith([rule], { spo2Scale: 2 });
    assert.deepEqual(
      [0, 15, 30].flatMap((s) => e.onReading(reading('2708-6', 90, s)).detections),
      [],
    );
    assert.equal([40, 55].flatMap((s) => e.onReading(reading('2708-6', 87, s)).detections).length, 1);
  });
});

describe('trend', () => {
  const rule = {
    id: 'hr-rr',
    kind: 'trend',
    name: 'hr-rr-rising',
    signals: [
      { code: '8867-4', direction: 'up', minDelta: 15, label: 'HR' },
      { code: '9279-1', direction: 'up', minDelta: 4, label: 'RR' },
    ],
    bucketMinutes: 5,
    baselineHours: 6,
    recentMinutes: 60,
    minBaselineReadings: 10,
    minRecentReadings: 6,
    persistReadings: 1,
  };
  const hrHigh = {
    id: 'hr-high',
    kind: 'threshold',
    code: '8867-4',
    direction: 'above',
    levels: [{ value: 130, severity: 'medium' }],
  };

  it('HR and RR rising together fire before any threshold is crossed', () => {
    const e = engineWith([rule, hrHigh]);
    const out: Detection[] = [];
    for (let m = 0; m < 6 * 60; m += 5) {
      out.push(
        ...e.onReading(reading('8867-4', 72, m * MIN)).detections,
        ...e.onReading(reading('9279-1', 14, m * MIN)).detections,
      );
    }
    assert.equal(out.length, 0);
    for (let m = 360; m < 420; m += 5) {
      out.push(
        ...e.onReading(reading('8867-4', 100, m * MIN)).detections,
        ...e.onReading(reading('9279-1', 20, m * MIN)).detections,
      );
    }
    assert.deepEqual(
      out.map((d) => d.conditionKey),
      ['trend:hr-rr-rising'],
    );
  });

  it('HR rising alone (RR steady) does not fire', () => {
    const e = engineWith([rule]);
    const out: Detection[] = [];
    for (let m = 0; m < 420; m += 5) {
      out.push(
        ...e.onReading(reading('8867-4', m < 360 ? 72 : 100, m * MIN)).detections,
        ...e.onReading(reading('9279-1', 14, m * MIN)).detections,
      );
    }
    assert.deepEqual(out, []);
  });
});

describe('missing data', () => {
  const rule = {
    id: 'cgm-gap',
    kind: 'missing-data',
    name: 'CGM',
    codes: ['99504-3'],
    expectedEveryMinutes: 5,
    gapMinutes: 20,
  };
  it('fires from tick with no new data at all, once, and clears when data resume', () => {
    const e = engineWith([rule]);
    e.onReading(reading('99504-3', 120, 0));
    assert.deepEqual(e.tick(Date.parse('2026-03-01T08:19:00Z')).detections, []);
    const d = e.tick(Date.parse('2026-03-01T08:21:00Z')).detections;
    assert.deepEqual(
      d.map((x) => [x.state, x.conditionKey, x.deviceId]),
      [['firing', 'gap:cgm-gap:dev-1', 'dev-1']],
    );
    assert.deepEqual(e.tick(Date.parse('2026-03-01T08:40:00Z')).detections, [], 'not repeated on every tick');
    const back = e.onReading(reading('99504-3', 118, 45 * MIN)).detections;
    assert.deepEqual(
      back.map((x) => x.state),
      ['cleared'],
    );
  });
  it('judges silence on arrival time: a device clock 40 min behind does not look silent', () => {
    const e = engineWith([rule]);
    const opened: string[] = [];
    for (let i = 0; i < 12; i++) {
      const arrival = T0 + i * 5 * 60_000;
      const r = reading('99504-3', 120, i * 5 * MIN - 40 * MIN);
      r.received = new Date(arrival).toISOString();
      for (const d of [...e.tick(arrival).detections, ...e.onReading(r).detections]) opened.push(d.state);
    }
    assert.deepEqual(opened, []);
    assert.equal(e.tick(T0 + 80 * 60_000).detections.length, 1, 'a real silence still fires');
  });
  it('uses the injected clock when tick is called without a time', async () => {
    const { FakeClock } = await import('../core/clock.ts');
    const { createEngine } = await import('./engine.ts');
    const { validateProgramConfig } = await import('./program-config.ts');
    const clock = new FakeClock('2026-03-01T08:00:00Z');
    const e = createEngine(
      {
        programs: [validateProgramConfig({ name: 't', rules: [rule] })],
        patients: { p1: { programs: ['t'] } },
      },
      clock,
    );
    e.onReading(reading('99504-3', 120, 0));
    clock.advance(25 * 60_000);
    assert.equal(e.tick().detections.length, 1);
  });
});

describe('clear persistence (clearSeconds)', () => {
  const rule = {
    id: 'hypoxaemia',
    kind: 'hypoxaemia',
    persistSeconds: 0,
    clearSeconds: 300,
  };
  it('a wobble back above the clear level for less than clearSeconds keeps one alert open', () => {
    const e = engineWith([rule]);
    const states = [90, 95, 90, 95, 90].flatMap((v, i) =>
      e.onReading(reading('2708-6', v, i * MIN)).detections.map((d) => d.state),
    );
    assert.deepEqual(states, ['firing']);
    const later = [95, 95, 95, 95, 95, 95, 95].flatMap((v, i) =>
      e.onReading(reading('2708-6', v, (5 + i) * MIN)).detections.map((d) => d.state),
    );
    assert.deepEqual(later, ['cleared'], 'clears once 5 min back within limits');
  });
  it('without clearSeconds every wobble is an open/clear pair', () => {
    const e = engineWith([{ ...rule, clearSeconds: 0 }]);
    const states = [90, 95, 90, 95, 90].flatMap((v, i) =>
      e.onReading(reading('2708-6', v, i * MIN)).detections.map((d) => d.state),
    );
    assert.deepEqual(states, ['firing', 'cleared', 'firing', 'cleared', 'firing']);
  });
});

describe('device health', () => {
  const rule = { id: 'dh', kind: 'device-health' };
  it('low battery, clock drift and errors raise device-scoped conditions', () => {
    const e = engineWith([rule]);
    const d = e.onStatus(
      status(0, { batteryPercent: 15, clockOffsetSeconds: -400, errors: ['sensor-fault'] }),
    ).detections;
    assert.deepEqual(
      d.map((x) => [x.conditionKey, x.severity]),
      [
        ['device:dev-1:battery', 'low'],
        ['device:dev-1:clock', 'low'],
        ['device:dev-1:error', 'medium'],
      ],
    );
    const d2 = e.onStatus(status(60, { batteryPercent: 4 })).detections;
    assert.deepEqual(
      d2.map((x) => x.severity),
      ['medium'],
    );
    const d3 = e.onStatus(status(120, { batteryPercent: 100, clockOffsetSeconds: 2, errors: [] })).detections;
    assert.deepEqual(
      d3.map((x) => x.state),
      ['cleared', 'cleared', 'cleared'],
    );
  });
  it('battery at 20 % is fine; 300 s offset is within limit', () => {
    const e = engineWith([rule]);
    assert.deepEqual(e.onStatus(status(0, { batteryPercent: 20, clockOffsetSeconds: 300 })).detections, []);
  });
});
