import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Detection } from '../core/detection.ts';
import { bp, engineWith, MIN, T0 } from './test-fixtures.ts';

/** Confirm before alarming at home: the repeat-BP measurement request (clinical-reference §9). */
const crisis = {
  id: 'bp-crisis',
  kind: 'hypertensive-crisis',
  confirmRepeatMinutes: 5,
  confirmWithinMinutes: 30,
};
const at = (sec: number) => new Date(T0 + sec * 1000).toISOString();
const show = (ds: Detection[]) => ds.map((d) => `${d.state}:${d.conditionKey}:${d.severity}`);

describe('hypertensive crisis at home: repeat before alarming', () => {
  it('a first 190/100 opens a repeat request, not the alert; a repeat 5 min later confirms it', () => {
    const e = engineWith([crisis]);
    const first = e.onReading(bp(190, 100, 0)).detections;
    assert.deepEqual(show(first), ['firing:request:repeat-bp:info']);
    assert.equal(first[0]?.data?.class, 'measurement-request');
    assert.equal(first[0]?.data?.after, at(5 * MIN));
    assert.equal(first[0]?.data?.dueBy, at(30 * MIN));
    const repeat = e.onReading(bp(188, 100, 5 * MIN)).detections;
    assert.deepEqual(show(repeat), ['cleared:request:repeat-bp:info', 'firing:hypertensive-crisis:high']);
    assert.equal(repeat[0]?.data?.outcome, 'confirmed');
    assert.equal(repeat[1]?.evidence.length, 2, 'both readings are the evidence');
  });

  it('a repeat 1 s before the 5 min is not the repeat; a normal repeat closes the request without an alert', () => {
    const e = engineWith([crisis]);
    e.onReading(bp(190, 100, 0));
    assert.deepEqual(e.onReading(bp(192, 100, 5 * MIN - 1)).detections, []);
    const ok = e.onReading(bp(150, 90, 6 * MIN)).detections;
    assert.deepEqual(show(ok), ['cleared:request:repeat-bp:info']);
    assert.equal(ok[0]?.data?.outcome, 'not-confirmed');
  });

  it('no repeat within 30 min: the alert fires at the 30th minute (tick), not before', () => {
    const e = engineWith([crisis]);
    e.onReading(bp(190, 100, 0));
    assert.deepEqual(e.tick(T0 + (30 * MIN - 1) * 1000).detections, []);
    const d = e.tick(T0 + 31 * MIN * 1000).detections;
    assert.deepEqual(show(d), ['cleared:request:repeat-bp:info', 'firing:hypertensive-crisis:high']);
    assert.equal(d[1]?.at, at(30 * MIN));
    assert.equal(d[1]?.data?.confirmation, 'no-repeat');
  });

  it('an extreme value (above extremeSystolic) alarms at once; without confirmRepeatMinutes every crisis does', () => {
    const e = engineWith([{ ...crisis, extremeSystolic: 220 }]);
    assert.deepEqual(show(e.onReading(bp(221, 100, 0)).detections), ['firing:hypertensive-crisis:high']);
    const plain = engineWith([{ id: 'bp-crisis', kind: 'hypertensive-crisis' }]);
    assert.deepEqual(show(plain.onReading(bp(190, 100, 0)).detections), ['firing:hypertensive-crisis:high']);
  });
});
