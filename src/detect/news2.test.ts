import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bp, engineWith, MIN, reading } from './test-fixtures.ts';

const rule = {
  id: 'news2',
  kind: 'news2',
  freshnessMinutes: 60,
  unrecordedConsciousness: 'skip',
  emitScoreMinutes: 15,
};

/** Vitals at `sec`: RR, SpO2, BP, HR, temp, ACVPU. */
function vitals(
  sec: number,
  v: { rr: number; spo2: number; sbp: number; hr: number; temp: number; acvpu?: string },
) {
  return [
    reading('9279-1', v.rr, sec, { unit: '/min' }),
    reading('2708-6', v.spo2, sec, { unit: '%' }),
    bp(v.sbp, 70, sec),
    reading('8867-4', v.hr, sec, { unit: '/min' }),
    reading('8310-5', v.temp, sec, { unit: 'Cel' }),
    reading('vigil-acvpu', null, sec, { valueCode: v.acvpu ?? 'A' }),
  ];
}
const normal = { rr: 16, spo2: 97, sbp: 120, hr: 70, temp: 37 };

describe('NEWS2 rule', () => {
  it('emits the score as a derived reading once all parameters are fresh', () => {
    const e = engineWith([rule]);
    const outs = vitals(0, normal).map((r) => e.onReading(r));
    assert.deepEqual(
      outs.slice(0, 5).map((o) => o.derived.length),
      [0, 0, 0, 0, 0],
    );
    const last = outs[5];
    assert.equal(last?.derived.length, 1);
    assert.equal(last?.derived[0]?.code, 'vigil-news2');
    assert.equal(last?.derived[0]?.value, 0);
    assert.deepEqual(last?.detections, []);
  });

  it('maps Chart 4 triggers: single 3 → medium, 5–6 → high, ≥ 7 → critical, and clears', () => {
    const e = engineWith([rule]);
    const run = (sec: number, v: typeof normal & { acvpu?: string }) =>
      vitals(sec, v).flatMap((r) => e.onReading(r).detections);
    assert.deepEqual(run(0, normal), []);
    // RR 25 scores 3 alone → low–medium.
    const d1 = run(10 * MIN, { ...normal, rr: 25 });
    assert.deepEqual(
      d1.map((d) => [d.state, d.severity, d.data?.score]),
      [['firing', 'medium', 3]],
    );
    // + HR 111 (2) = 5 → urgent.
    const d2 = run(20 * MIN, { ...normal, rr: 25, hr: 111 });
    assert.deepEqual(d2.map((d) => [d.severity, d.data?.score]).at(-1), ['high', 5]);
    // + temp 39.1 (2) = 7 → emergency.
    const d3 = run(30 * MIN, { ...normal, rr: 25, hr: 111, temp: 39.1 });
    assert.deepEqual(d3.map((d) => [d.severity, d.data?.score]).at(-1), ['critical', 7]);
    // Back to normal → cleared (once the last parameter is back).
    const d4 = run(40 * MIN, normal);
    assert.deepEqual(d4.map((d) => d.state).at(-1), 'cleared');
  });

  it('a total of 4 without a single 3 stores the score but raises nothing', () => {
    const e = engineWith([rule]);
    const outs = vitals(0, { ...normal, rr: 22, hr: 111 }).map((r) => e.onReading(r));
    assert.equal(outs.at(-1)?.derived[0]?.value, 4);
    assert.deepEqual(
      outs.flatMap((o) => o.detections),
      [],
    );
  });

  it('uses scale 2 for a patient set to it, and scores oxygen', () => {
    const e = engineWith([rule], { spo2Scale: 2, onOxygen: true });
    const outs = vitals(0, { ...normal, spo2: 97 }).map((r) => e.onReading(r));
    // Scale 2: 97 % on oxygen scores 3, oxygen 2 → 5.
    assert.equal(outs.at(-1)?.derived[0]?.value, 5);
    const air = engineWith([rule], { spo2Scale: 2, onOxygen: false });
    const outsAir = vitals(0, { ...normal, spo2: 97 }).map((r) => air.onReading(r));
    assert.equal(outsAir.at(-1)?.derived[0]?.value, 0);
  });

  it('an oxygen observation overrides the patient default', () => {
    const e = engineWith([rule]);
    for (const r of vitals(0, normal)) e.onReading(r);
    const o = e.onReading(reading('vigil-o2-supplement', 2, 6 * MIN, { unit: 'L/min' }));
    assert.equal(o.derived[0]?.value, 2);
  });

  it('stale parameters are not used: no score after the freshness window', () => {
    const e = engineWith([rule]);
    for (const r of vitals(0, normal)) e.onReading(r);
    const o = e.onReading(reading('8867-4', 75, 61 * MIN));
    assert.deepEqual(o.derived, []);
  });

  it('without ACVPU: skipped by default, assumed Alert (flagged) when configured', () => {
    const skip = engineWith([rule]);
    const outs = vitals(0, normal)
      .slice(0, 5)
      .map((r) => skip.onReading(r));
    assert.deepEqual(
      outs.flatMap((o) => o.derived),
      [],
    );
    const assume = engineWith([{ ...rule, unrecordedConsciousness: 'assume-alert' }]);
    const o2 = vitals(0, normal)
      .slice(0, 5)
      .map((r) => assume.onReading(r));
    assert.deepEqual(o2.at(-1)?.derived[0]?.flags, ['questionable']);
  });

  it('converts Fahrenheit: 102.4 °F (39.1 °C) scores 2', () => {
    const e = engineWith([rule]);
    const rs = vitals(0, normal);
    rs[4] = reading('8310-5', 102.4, 0, { unit: '[degF]' });
    const outs = rs.map((r) => e.onReading(r));
    assert.equal(outs.at(-1)?.derived[0]?.value, 2);
  });

  it('stores the score at once on an alert-level change, otherwise at most every 5 min', () => {
    const e = engineWith([rule]);
    for (const r of vitals(0, normal)) e.onReading(r);
    // HR 95 scores 1: total changes, alert level does not → not stored within 5 min.
    assert.deepEqual(e.onReading(reading('8867-4', 95, 60)).derived, []);
    assert.equal(e.onReading(reading('8867-4', 95, 5 * MIN)).derived[0]?.value, 1);
    // RR 26 scores 3: alert level changes → stored at once.
    assert.equal(e.onReading(reading('9279-1', 26, 5 * MIN + 10)).derived[0]?.value, 4);
  });
});
