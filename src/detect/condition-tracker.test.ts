import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Detection } from '../core/detection.ts';
import { engineWith, reading } from './test-fixtures.ts';

/** HR > 130 medium, > 150 high; open at once; the severity dwell under test. */
function hrRule(extra: Record<string, unknown> = {}) {
  return {
    id: 'hr-high',
    kind: 'threshold',
    code: '8867-4',
    direction: 'above',
    levels: [
      { value: 130, severity: 'medium' },
      { value: 150, severity: 'high' },
    ],
    clearAt: 120,
    realertMinutes: 0,
    label: 'Heart rate',
    unit: '/min',
    ...extra,
  };
}

function run(rule: unknown, values: Array<[number, number]>): Detection[] {
  const e = engineWith([rule]);
  return values.flatMap(([sec, v]) => e.onReading(reading('8867-4', v, sec)).detections);
}

const sevs = (ds: Detection[]) => ds.map((d) => `${d.state}:${d.severity}`);

describe('severity hysteresis of an open condition', () => {
  it('without a dwell, a higher severity emits at once (as before)', () => {
    const ds = run(hrRule(), [
      [0, 140],
      [1, 160],
    ]);
    assert.deepEqual(sevs(ds), ['firing:medium', 'firing:high']);
  });

  it('an upgrade emits only once it has held for upgradeDwellSeconds — not 1 s before', () => {
    const rule = hrRule({ upgradeDwellSeconds: 30 });
    const held = run(rule, [
      [0, 140],
      [10, 160],
      [39, 160],
    ]);
    assert.deepEqual(sevs(held), ['firing:medium'], '29 s at high is inside the dwell');
    const enough = run(rule, [
      [0, 140],
      [10, 160],
      [39, 160],
      [40, 165],
    ]);
    assert.deepEqual(sevs(enough), ['firing:medium', 'firing:high']);
    assert.deepEqual(enough[1]?.data?.severityChanges, [
      { at: '2026-03-01T08:00:10.000Z', severity: 'high' },
    ]);
  });

  it('a re-upgrade inside the dwell is silent: the dwell restarts when the value falls back', () => {
    const ds = run(hrRule({ upgradeDwellSeconds: 30 }), [
      [0, 140],
      [10, 160],
      [30, 140],
      [35, 160],
      [60, 160],
    ]);
    assert.deepEqual(sevs(ds), ['firing:medium'], 'high from 35 s is 25 s old at 60 s');
  });

  it('a downgrade is taken only after downgradeDwellSeconds, so flapping does not re-notify', () => {
    const rule = hrRule({ downgradeDwellSeconds: 60 });
    const flapping: Array<[number, number]> = [];
    for (let s = 0; s < 300; s += 5) flapping.push([s, s % 10 === 0 ? 160 : 140]);
    const ds = run(rule, flapping);
    assert.deepEqual(sevs(ds), ['firing:high'], 'one notification for five minutes of flapping');
    const settles = run(rule, [
      [0, 160],
      [10, 140],
      [69, 140],
      [70, 140],
    ]);
    assert.deepEqual(sevs(settles), ['firing:high', 'firing:medium']);
    assert.equal(settles[1]?.at, '2026-03-01T08:01:10.000Z', 'exactly 60 s after the first lower reading');
  });

  it('the downgrade dwell defaults to clearSeconds', () => {
    const ds = run(hrRule({ clearSeconds: 20 }), [
      [0, 160],
      [5, 140],
      [24, 140],
      [25, 140],
    ]);
    assert.deepEqual(sevs(ds), ['firing:high', 'firing:medium']);
    assert.equal(ds[1]?.at, '2026-03-01T08:00:25.000Z');
  });

  it('an upgrade to critical during a high dwell takes the level that held throughout', () => {
    const rule = {
      ...hrRule({ upgradeDwellSeconds: 20 }),
      levels: [
        { value: 130, severity: 'medium' },
        { value: 150, severity: 'high' },
        { value: 180, severity: 'critical' },
      ],
    };
    const ds = run(rule, [
      [0, 140],
      [5, 160],
      [10, 190],
      [25, 190],
    ]);
    assert.deepEqual(sevs(ds), ['firing:medium', 'firing:high']);
  });

  it('evidence of silent excursions reaches the next emission', () => {
    const e = engineWith([hrRule({ upgradeDwellSeconds: 30 })]);
    const ids: string[] = [];
    const out: Detection[] = [];
    for (const [sec, v] of [
      [0, 140],
      [10, 160],
      [20, 160],
      [40, 160],
    ] as Array<[number, number]>) {
      const r = reading('8867-4', v, sec);
      ids.push(r.id);
      out.push(...e.onReading(r).detections);
    }
    assert.deepEqual(out[1]?.evidence, ids);
  });
});
