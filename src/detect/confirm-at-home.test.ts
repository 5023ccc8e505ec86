import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Detection } from '../core/detection.ts';
import { createEngine } from './engine.ts';
import { validateProgramConfig } from './program-config.ts';
import { bp, DAY, engineWith, HOUR, MIN, reading, T0 } from './test-fixtures.ts';

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

describe('measurement requests: the record fields and every outcome', () => {
  it('the request names its code, trigger, window and status; the repeat is linked as fulfilledBy', () => {
    const e = engineWith([crisis]);
    const first = bp(190, 100, 0);
    const open = e.onReading(first).detections[0];
    assert.equal(open?.data?.request, 'repeat-bp');
    assert.equal(open?.data?.code, '85354-9');
    assert.equal(open?.data?.trigger, first.id);
    assert.equal(open?.data?.status, 'open');
    assert.equal(open?.data?.requestedAt, at(0));
    assert.match(String(open?.data?.instruction), /measure again in 5 minutes/);
    const repeat = bp(150, 90, 6 * MIN);
    const closed = e.onReading(repeat).detections[0];
    assert.equal(closed?.data?.status, 'fulfilled');
    assert.equal(closed?.data?.fulfilledBy, repeat.id);
    assert.equal(closed?.data?.trigger, first.id);
    assert.match(closed?.summary ?? '', /below crisis levels: request fulfilled, no crisis alert/);
  });

  it('an extreme reading before the repeat is due cancels the request and alarms at once', () => {
    const e = engineWith([{ ...crisis, extremeSystolic: 220 }]);
    e.onReading(bp(190, 100, 0));
    const d = e.onReading(bp(225, 100, 2 * MIN)).detections;
    assert.deepEqual(show(d), ['cleared:request:repeat-bp:info', 'firing:hypertensive-crisis:high']);
    assert.equal(d[0]?.data?.status, 'cancelled');
    assert.equal(d[1]?.data?.confirmation, 'extreme: at once');
  });

  it('a reading after the window (no tick in between) first expires the request, then counts on its own', () => {
    const e = engineWith([crisis]);
    e.onReading(bp(190, 100, 0));
    const d = e.onReading(bp(140, 85, 40 * MIN)).detections;
    assert.deepEqual(show(d), [
      'cleared:request:repeat-bp:info',
      'firing:hypertensive-crisis:high',
      'cleared:hypertensive-crisis:high',
    ]);
    assert.equal(d[0]?.data?.status, 'expired');
    assert.equal(d[0]?.data?.fulfilledBy, undefined, 'a late reading does not fulfil the request');
    assert.equal(d[1]?.at, at(30 * MIN));
    assert.match(d[1]?.summary ?? '', /no repeat reading within 30 min/);
  });

  it('a flagged BP is not the repeat', () => {
    const e = engineWith([{ ...crisis, ignoreFlags: ['motion-artifact'] }]);
    e.onReading(bp(190, 100, 0));
    assert.deepEqual(e.onReading(bp(150, 90, 6 * MIN, { flags: ['motion-artifact'] })).detections, []);
  });
});

const weight = (kg: number, sec: number) => reading('29463-7', kg, sec, { unit: 'kg' });
const wg = { id: 'weight-gain', kind: 'weight-gain', reweighWithinMinutes: 60 };

describe('re-weigh before a weight-gain alert', () => {
  it('a first weight over the limit asks for a re-weigh; a re-weigh still over it raises the alert with both', () => {
    const e = engineWith([wg]);
    const base = weight(70, HOUR);
    e.onReading(base);
    const first = weight(71.6, DAY);
    const d1 = e.onReading(first).detections;
    assert.deepEqual(show(d1), ['firing:request:reweigh:info']);
    assert.equal(d1[0]?.data?.code, '29463-7');
    assert.equal(d1[0]?.data?.dueBy, at(DAY + 60 * MIN));
    const again = weight(71.5, DAY + 3 * MIN);
    const d2 = e.onReading(again).detections;
    assert.deepEqual(show(d2), ['cleared:request:reweigh:info', 'firing:weight-gain:medium']);
    assert.equal(d2[0]?.data?.outcome, 'confirmed');
    assert.equal(d2[0]?.data?.fulfilledBy, again.id);
    assert.deepEqual(new Set(d2[1]?.evidence), new Set([base.id, first.id, again.id]));
    assert.match(d2[1]?.summary ?? '', /\+1\.5 kg > 1 kg within 24 h, confirmed by a re-weigh/);
  });

  it('a re-weigh within the limits closes the request without an alert, and the first weight is forgotten', () => {
    const e = engineWith([wg]);
    e.onReading(weight(70, HOUR));
    e.onReading(weight(71.6, DAY));
    const d = e.onReading(weight(70.3, DAY + 2 * MIN)).detections;
    assert.deepEqual(show(d), ['cleared:request:reweigh:info']);
    assert.equal(d[0]?.data?.outcome, 'not-confirmed');
    assert.deepEqual(show(e.onReading(weight(70.4, DAY + 6 * HOUR)).detections), []);
  });

  it('no re-weigh within 60 min: the alert fires at the 60th minute on the first weight, saying so', () => {
    const e = engineWith([wg]);
    e.onReading(weight(70, 0));
    e.onReading(weight(71.6, DAY));
    assert.deepEqual(e.tick(T0 + (DAY + 60 * MIN - 1) * 1000).detections, []);
    const d = e.tick(T0 + (DAY + 61 * MIN) * 1000).detections;
    assert.deepEqual(show(d), ['cleared:request:reweigh:info', 'firing:weight-gain:medium']);
    assert.equal(d[0]?.data?.status, 'expired');
    assert.equal(d[1]?.at, at(DAY + 60 * MIN));
    assert.match(d[1]?.summary ?? '', /\+1\.6 kg > 1 kg within 24 h, no re-weigh within 60 min/);
  });

  it('an extreme gain alarms at once; without reweighWithinMinutes the first weight alarms as before', () => {
    const e = engineWith([{ ...wg, extremeGainKg: 3 }]);
    e.onReading(weight(70, 0));
    assert.deepEqual(show(e.onReading(weight(73.5, DAY)).detections), ['firing:weight-gain:medium']);
    const plain = engineWith([{ id: 'weight-gain', kind: 'weight-gain' }]);
    plain.onReading(weight(70, 0));
    assert.deepEqual(show(plain.onReading(weight(71.6, DAY)).detections), ['firing:weight-gain:medium']);
  });
});

const spo2 = (v: number, sec: number) => reading('2708-6', v, sec, { unit: '%' });
const hyp = {
  id: 'hypoxaemia',
  kind: 'hypoxaemia',
  persistSeconds: 0,
  confirmRepeatMinutes: 5,
  confirmWithinMinutes: 20,
  extremeScale2Below: 84,
};

describe('re-measure SpO2 at rest before a home hypoxaemia alert (scale 2)', () => {
  const scale2 = { spo2Scale: 2 as const };
  it('a first 86 % asks for a repeat at rest; a repeat at 86 % 5 min later raises the alert with both', () => {
    const e = engineWith([hyp], scale2);
    const first = spo2(86, 0);
    const d1 = e.onReading(first).detections;
    assert.deepEqual(show(d1), ['firing:request:spo2-at-rest:info']);
    assert.match(d1[0]?.summary ?? '', /SpO2 86 % < 88 % \(scale 2\): repeat at rest requested/);
    assert.deepEqual(e.onReading(spo2(85, 4 * MIN)).detections, [], 'not rested long enough');
    const d2 = e.onReading(spo2(86, 5 * MIN)).detections;
    assert.deepEqual(show(d2), ['cleared:request:spo2-at-rest:info', 'firing:hypoxaemia:high']);
    assert.ok(d2[1]?.evidence.includes(first.id));
    assert.match(d2[1]?.summary ?? '', /confirmed by a repeat at rest/);
  });

  it('a repeat at 90 % closes the request with no alert', () => {
    const e = engineWith([hyp], scale2);
    e.onReading(spo2(86, 0));
    const d = e.onReading(spo2(90, 6 * MIN)).detections;
    assert.deepEqual(show(d), ['cleared:request:spo2-at-rest:info']);
    assert.equal(d[0]?.data?.outcome, 'not-confirmed');
  });

  it('83 % alarms at once (extreme), also while a request is open (the request is cancelled)', () => {
    const e = engineWith([hyp], scale2);
    assert.deepEqual(show(e.onReading(spo2(83, 0)).detections), ['firing:hypoxaemia:high']);
    const f = engineWith([hyp], scale2);
    f.onReading(spo2(86, 0));
    const d = f.onReading(spo2(82, 1 * MIN)).detections;
    assert.deepEqual(show(d), ['cleared:request:spo2-at-rest:info', 'firing:hypoxaemia:high']);
    assert.equal(d[0]?.data?.status, 'cancelled');
  });

  it('no repeat within 20 min: the alert fires at the 20th minute on the first reading, saying so', () => {
    const e = engineWith([hyp], scale2);
    e.onReading(spo2(86, 0));
    const d = e.tick(T0 + 25 * MIN * 1000).detections;
    assert.deepEqual(show(d), ['cleared:request:spo2-at-rest:info', 'firing:hypoxaemia:high']);
    assert.equal(d[1]?.at, at(20 * MIN));
    assert.match(d[1]?.summary ?? '', /SpO2 86 % < 88 % \(scale 2\), no repeat at rest within 20 min/);
  });
});

describe('a decided request opens the alert whatever the rule persistence', () => {
  it('hypoxaemia with persistReadings 2: the confirming repeat opens it (the request was the persistence)', () => {
    const e = engineWith([{ ...hyp, persistReadings: 2, persistSeconds: 15 }], { spo2Scale: 2 });
    e.onReading(spo2(86, 0));
    assert.deepEqual(show(e.onReading(spo2(86, 5 * MIN)).detections), [
      'cleared:request:spo2-at-rest:info',
      'firing:hypoxaemia:high',
    ]);
  });
  it('a BP crisis with persistReadings 2: expiry opens it at the due time', () => {
    const e = engineWith([{ ...crisis, persistReadings: 2 }]);
    e.onReading(bp(190, 100, 0));
    assert.deepEqual(show(e.tick(T0 + 31 * MIN * 1000).detections), [
      'cleared:request:repeat-bp:info',
      'firing:hypertensive-crisis:high',
    ]);
  });
});

describe('a rule that goes cancels its open request', () => {
  const programs = [
    validateProgramConfig({ name: 'home-bp', rules: [crisis] }),
    validateProgramConfig({ name: 'none', rules: [] }),
  ];
  it('an enrolment change that drops the rule closes the request as cancelled (with the next output)', () => {
    let now = T0;
    const e = createEngine({ programs, patients: { p1: { programs: ['home-bp'] } } }, { now: () => now });
    e.onReading(bp(190, 100, 0));
    now = T0 + 2 * MIN * 1000;
    e.setEnrolment('p1', { programs: ['none'] });
    const d = e.tick(now).detections;
    assert.deepEqual(show(d), ['cleared:request:repeat-bp:info']);
    assert.equal(d[0]?.data?.status, 'cancelled');
    assert.equal(d[0]?.at, at(2 * MIN));
    assert.deepEqual(e.tick(T0 + 40 * MIN * 1000).detections, [], 'no crisis alert from a rule that is gone');
  });
  it('a handover drops the rule silently: the next owner decides the request', () => {
    const e = createEngine({ programs, patients: { p1: { programs: ['home-bp'] } } });
    e.onReading(bp(190, 100, 0));
    e.setEnrolment('p1', { programs: [] }, { handover: true });
    assert.deepEqual(e.tick(T0 + MIN * 1000).detections, []);
  });
});
