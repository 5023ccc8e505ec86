import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Loinc } from './codes.ts';
import { builtInPrograms } from './programs/index.ts';
import { engineWith, HOUR, reading } from './test-fixtures.ts';

/**
 * post-surgical `hr-temp-trend`: heart rate up ≥ 15 /min AND temperature up ≥ 1 °C against the
 * 48 h baseline, home sets at 08/14/20 (event time: reading times only).
 */
const rule = builtInPrograms
  .find((p) => p.name === 'post-surgical')
  ?.rules.find((r) => r.id === 'hr-temp-trend');

function run(hrRise: number, tempRise: number) {
  assert.ok(rule);
  const e = engineWith([rule]);
  const out: string[] = [];
  const set = (s: number, hr: number, t: number) => {
    for (const r of [reading(Loinc.heartRate, hr, s), reading(Loinc.bodyTemp, t, s + 60, { unit: 'Cel' })])
      for (const d of e.onReading(r).detections)
        if (d.state === 'firing') out.push(`${d.conditionKey}:${d.severity}`);
  };
  // Two days of sets at 0 h, 6 h, 12 h (08/14/20), then the next morning's set.
  for (const day of [0, 1]) for (const h of [0, 6, 12]) set((day * 24 + h) * HOUR, 75, 36.8);
  set(48 * HOUR, 75 + hrRise, 36.8 + tempRise);
  return out;
}

describe('post-surgical: heart rate and temperature rising together', () => {
  it('HR +15 (boundary) and temperature +1.1 °C on the next set: a medium trend alert', () => {
    assert.deepEqual(run(15, 1.1), ['trend:hr-temperature-rising:medium']);
  });
  it('HR +14 (boundary) or temperature +0.9 °C alone does not fire', () => {
    assert.deepEqual(run(14, 1.2), []);
    assert.deepEqual(run(20, 0.9), []);
  });
  it('a fever after exercise with a resting heart rate does not fire', () => {
    assert.deepEqual(run(0, 1.4), []);
  });
});
