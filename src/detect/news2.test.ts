import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bp, engineWith, MIN, reading, T0 } from './test-fixtures.ts';

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

describe('NEWS2 freshness per parameter, partial scores, observations due', () => {
  const HOUR = 3600;
  const inpatient = {
    ...rule,
    unrecordedConsciousness: 'assume-alert',
    freshnessMinutes: 15,
    freshness: { temperature: 360, systolic: 120 },
    minParameters: 4,
    persistSeconds: 0,
  };
  const continuous = (e: ReturnType<typeof engineWith>, sec: number, v: Partial<typeof normal> = {}) => {
    const x = { ...normal, ...v };
    return [
      reading('9279-1', x.rr, sec, { unit: '/min' }),
      reading('2708-6', x.spo2, sec, { unit: '%' }),
      reading('8867-4', x.hr, sec, { unit: '/min' }),
    ].flatMap((r) => {
      const o = e.onReading(r);
      return [...o.detections.map((d) => ({ d })), ...o.derived.map((g) => ({ g }))];
    });
  };

  it('a temperature 5 h old still scores (freshness 360 min); at 6 h + 1 s it is stale and the score is partial', () => {
    const e = engineWith([inpatient]);
    e.onReading(reading('8310-5', 39.2, 0, { unit: 'Cel' }));
    e.onReading(bp(120, 70, 5 * HOUR));
    const at5h = continuous(e, 5 * HOUR + 10).flatMap((x) => ('g' in x && x.g ? [x.g] : []));
    assert.equal(at5h.at(-1)?.value, 2, 'temperature 39.2 scores 2 five hours on');
    assert.ok(!at5h.at(-1)?.notes?.some((n) => n.includes('temperature')), 'temperature is not stale');
    const at6h = continuous(e, 6 * HOUR + 1).flatMap((x) => ('g' in x && x.g ? [x.g] : []));
    assert.equal(at6h.at(-1)?.value, 0);
    assert.deepEqual(at6h.at(-1)?.flags, ['questionable']);
    assert.ok(at6h.at(-1)?.notes?.some((n) => n.includes('temperature stale')));
  });

  it('a partial score is a lower bound that still alerts, and says what is missing', () => {
    const e = engineWith([inpatient]);
    e.onReading(bp(120, 70, 0));
    const out = continuous(e, 1, { rr: 26, hr: 115 }).flatMap((x) => ('d' in x && x.d ? [x.d] : []));
    const d = out.find((x) => x.conditionKey === 'news2');
    // RR 26 → 3, HR 115 → 2: 5 without a temperature (never measured) → urgent (high).
    assert.equal(d?.severity, 'high');
    assert.equal(d?.data?.partial, true);
    assert.deepEqual(d?.data?.missing, ['temperature']);
    assert.match(d?.summary ?? '', /NEWS2 5 \(partial\).*; temperature missing$/);
  });

  it('with fewer fresh parameters than minParameters there is no score', () => {
    const e = engineWith([inpatient]);
    const o = e.onReading(reading('8867-4', 70, 0));
    assert.deepEqual(o.derived, []);
  });

  it('scale 2 (COPD program) scores 97 % on oxygen as 3', () => {
    const e = engineWith([{ ...inpatient, minParameters: 5 }], { spo2Scale: 2, onOxygen: true });
    let last: number | null | undefined;
    for (const r of vitals(0, normal)) last = e.onReading(r).derived[0]?.value ?? last;
    assert.equal(last, 5);
  });

  it('observations due per Chart 4: score 0 → 12 h; due is a task (info), 30 min later an alert (low)', () => {
    const e = engineWith([{ ...rule, persistSeconds: 0 }]);
    for (const r of vitals(0, normal)) e.onReading(r);
    assert.deepEqual(e.tick(T0ms(12 * HOUR - 1)).detections, [], 'not due 1 s before 12 h');
    const due = e.tick(T0ms(12 * HOUR)).detections;
    assert.deepEqual(
      due.map((d) => [d.conditionKey, d.severity]),
      [['news2:observations-due', 'info']],
    );
    assert.equal(e.tick(T0ms(12 * HOUR + 29 * 60)).detections.length, 0);
    const overdue = e.tick(T0ms(12 * HOUR + 30 * 60)).detections;
    assert.deepEqual(
      overdue.map((d) => [d.conditionKey, d.severity]),
      [['news2:observations-due', 'low']],
    );
    const done = vitals(12 * HOUR + 31 * 60, normal).flatMap((r) => e.onReading(r).detections);
    assert.deepEqual(done.map((d) => [d.conditionKey, d.state]).at(-1), [
      'news2:observations-due',
      'cleared',
    ]);
  });

  it('a score of 1–4 makes the set due after 4 h; a single 3 after 1 h', () => {
    const low = engineWith([{ ...rule, persistSeconds: 0 }]);
    for (const r of vitals(0, { ...normal, hr: 95 })) low.onReading(r);
    assert.deepEqual(low.tick(T0ms(4 * HOUR - 1)).detections, []);
    assert.equal(low.tick(T0ms(4 * HOUR)).detections[0]?.conditionKey, 'news2:observations-due');
    const three = engineWith([{ ...rule, persistSeconds: 0 }]);
    for (const r of vitals(0, { ...normal, rr: 25 })) three.onReading(r);
    assert.deepEqual(
      three.tick(T0ms(HOUR - 1)).detections.filter((d) => d.conditionKey === 'news2:observations-due'),
      [],
    );
    assert.equal(
      three.tick(T0ms(HOUR)).detections.filter((d) => d.conditionKey === 'news2:observations-due').length,
      1,
    );
  });
});

function T0ms(sec: number): number {
  return T0 + sec * 1000;
}

describe('NEWS2 smoothing for continuous monitoring', () => {
  it('smoothMinutes: half a minute of RR 28 (talking) inside 5 min of RR 16 does not move the score', () => {
    const e = engineWith([{ ...rule, unrecordedConsciousness: 'assume-alert', smoothMinutes: 5 }]);
    const scores: Array<number | null> = [];
    for (let s = 0; s <= 300; s += 5) {
      const rr = s >= 240 && s < 270 ? 28 : 16;
      for (const r of [
        reading('9279-1', rr, s),
        reading('2708-6', 97, s, { unit: '%' }),
        bp(120, 70, s),
        reading('8867-4', 70, s),
        reading('8310-5', 37, s, { unit: 'Cel' }),
      ])
        for (const d of e.onReading(r).derived) scores.push(d.value);
    }
    assert.ok(scores.length > 0);
    assert.deepEqual([...new Set(scores)], [0]);
    // Without smoothing the same stream scores RR 28 as 3.
    const raw = engineWith([{ ...rule, unrecordedConsciousness: 'assume-alert' }]);
    let worst = 0;
    for (let s = 0; s <= 300; s += 5) {
      const rr = s >= 240 && s < 270 ? 28 : 16;
      for (const r of [
        reading('9279-1', rr, s),
        reading('2708-6', 97, s, { unit: '%' }),
        bp(120, 70, s),
        reading('8867-4', 70, s),
        reading('8310-5', 37, s, { unit: 'Cel' }),
      ])
        for (const d of raw.onReading(r).derived) worst = Math.max(worst, d.value ?? 0);
    }
    assert.equal(worst, 3);
  });
});
