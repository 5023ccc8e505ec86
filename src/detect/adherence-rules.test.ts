import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { builtInProgram } from './programs/index.ts';
import { DAY, engineWith, HOUR, MIN, reading, T0 } from './test-fixtures.ts';

// T0 = 2026-03-01T08:00:00Z
const rescue = (sec: number) =>
  reading('vigil-inhaler-rescue', 1, sec, { unit: '{actuation}', deviceId: 'inh-blue' });
const dose = (sec: number) =>
  reading('vigil-inhaler-controller', 2, sec, { unit: '{actuation}', deviceId: 'inh-brown' });

describe('rescue-inhaler-use rule', () => {
  const rule = { id: 'rescue', kind: 'rescue-inhaler-use' };

  it('fires on the third use in 24 h with no baseline, not before; evidence is the uses in the window', () => {
    const e = engineWith([rule]);
    assert.equal(e.onReading(rescue(0)).detections.length, 0);
    assert.equal(e.onReading(rescue(2 * HOUR)).detections.length, 0);
    const out = e.onReading(rescue(4 * HOUR)).detections;
    assert.equal(out.length, 1);
    assert.equal(out[0]?.conditionKey, 'rescue-use:rescue');
    assert.equal(out[0]?.state, 'firing');
    assert.equal(out[0]?.severity, 'medium');
    assert.equal(out[0]?.evidence.length, 3);
    assert.match(out[0]?.summary ?? '', /used 3 times in 24 h \(more than 2/);
  });

  it('does not fire when the same use rate was the baseline (not rising)', () => {
    const e = engineWith([rule]);
    // 3 uses a day for 7 days, then 3 again: over the limit but not twice the baseline.
    let fired = 0;
    for (let d = 0; d < 8; d++)
      for (const h of [1, 9, 17])
        fired += e
          .onReading(rescue(d * DAY + h * HOUR))
          .detections.filter((x) => x.state === 'firing').length;
    // The first day fires (no baseline yet); from day 2 on the baseline holds it.
    const last = e.onReading(rescue(8 * DAY + 2 * HOUR)).detections;
    assert.ok(fired >= 1);
    assert.ok(last.every((x) => x.state !== 'firing'));
  });

  it('clears on the tick once uses age out of the window', () => {
    const e = engineWith([rule]);
    for (const h of [0, 1, 2]) e.onReading(rescue(h * HOUR));
    assert.equal(e.tick(T0 + 10 * HOUR * 1000).detections.length, 0, 'still 3 in 24 h');
    const cleared = e.tick(T0 + 26 * HOUR * 1000).detections;
    assert.equal(cleared.length, 1);
    assert.equal(cleared[0]?.state, 'cleared');
    assert.match(cleared[0]?.summary ?? '', /not rising/);
  });

  it('the COPD program watches rescue use', () => {
    assert.ok(builtInProgram('copd')?.rules.some((r) => r.kind === 'rescue-inhaler-use'));
  });
});

describe('missed-dose rule', () => {
  const rule = {
    id: 'controller',
    kind: 'missed-dose',
    times: ['08:00', '20:00'],
    label: 'Controller inhaler',
  };

  it('raises for a dose not taken within the grace, on the tick; the next dose clears it', () => {
    const e = engineWith([rule]);
    e.tick(T0 - 3 * HOUR * 1000); // first run (05:00): earlier doses are not judged
    e.onReading(dose(10 * MIN)); // 08:10 taken
    assert.equal(e.tick(T0 + 3 * HOUR * 1000).detections.length, 0, '08:00 taken');
    // 20:00 not taken: judged after 22:00
    assert.equal(e.tick(T0 + 13 * HOUR * 1000).detections.length, 0, 'grace not over at 21:00');
    const missed = e.tick(T0 + 14.5 * HOUR * 1000).detections;
    assert.equal(missed.length, 1);
    assert.equal(missed[0]?.conditionKey, 'missed-dose:controller');
    assert.equal(missed[0]?.severity, 'low');
    assert.match(missed[0]?.summary ?? '', /no dose recorded within 120 min of 2026-03-01T20:00:00.000Z/);
    const cleared = e.onReading(dose(24 * HOUR + 5 * MIN)).detections;
    assert.equal(cleared[0]?.state, 'cleared');
  });

  it('refuses a bad time of day in its config', () => {
    assert.throws(() => engineWith([{ ...rule, times: ['8am'] }]), /times\[0\]/);
    assert.throws(() => engineWith([{ ...rule, times: [] }]), /times/);
  });
});

describe('missed-dose rule: codes, devices and period', () => {
  const base = { id: 'mr', kind: 'missed-dose', times: ['08:00'], label: 'Pill' };
  it('an event of another device does not count; doses outside the period are not judged', () => {
    const e = engineWith([{ ...base, deviceIds: ['inh-1'] }]);
    e.onReading(dose(10 * MIN)); // from the fixture's device, not inh-1
    e.tick(T0 - HOUR * 1000); // first run (07:00)
    assert.equal(e.tick(T0 + 3 * HOUR * 1000).detections.length, 1);
    const p = engineWith([{ ...base, until: new Date(T0 - MIN * 1000).toISOString() }]);
    p.onReading(dose(-2 * HOUR));
    p.tick(T0 - HOUR * 1000);
    assert.equal(p.tick(T0 + 3 * HOUR * 1000).detections.length, 0, 'period ended before 08:00');
    assert.throws(() => engineWith([{ ...base, from: 'soon' }]), /from/);
  });
});
