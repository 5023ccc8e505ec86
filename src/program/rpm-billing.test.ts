import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addDays, dayIn, daysBetween, lastDayOf } from './calendar-days.ts';
import {
  billingFor,
  type CodeLine,
  codesText,
  defaultBillingRules,
  deviceSupply,
  type Episode,
  periodsEndingIn,
  setup,
  treatmentManagement,
} from './rpm-billing.ts';

const codes = (r: { codes: readonly CodeLine[] }) => codesText(r.codes);

describe('device supply per 30-day period (99454 / 99445, mutually exclusive)', () => {
  it('1 day: nothing, with the reason', () => {
    const r = deviceSupply(1);
    assert.equal(codes(r), '');
    assert.match(r.reasons[0] ?? '', /1 day with transmitted data: 99445 needs 2, 99454 needs 16/);
  });
  it('0 days: nothing', () => assert.equal(codes(deviceSupply(0)), ''));
  it('2 days: 99445', () => assert.equal(codes(deviceSupply(2)), '99445'));
  it('15 days: 99445, never 99454', () => {
    const r = deviceSupply(15);
    assert.equal(codes(r), '99445');
    assert.match(r.reasons[0] ?? '', /99454 needs 16/);
  });
  it('16 days: 99454 alone', () => assert.equal(codes(deviceSupply(16)), '99454'));
  it('30 days: 99454 alone', () => assert.equal(codes(deviceSupply(30)), '99454'));
});

describe('99453 set-up (2- vs 16-day rule configurable, unverified)', () => {
  it('16-day rule (default): 15 days no, 16 days yes', () => {
    assert.equal(codes(setup(15, true)), '');
    assert.match(setup(15, true).reasons[0] ?? '', /needs 16 days .*unverified/);
    assert.equal(codes(setup(16, true)), '99453');
  });
  it('2-day rule: 1 day no, 2 days yes', () => {
    const rules = { ...defaultBillingRules, setupMinDays: 2 };
    assert.equal(codes(setup(1, true, rules)), '');
    assert.equal(codes(setup(2, true, rules)), '99453');
    assert.match(setup(2, true, rules).reasons[0] ?? '', /2-day rule/);
  });
  it('not proposed again for a later episode', () => {
    const r = setup(30, false);
    assert.equal(codes(r), '');
    assert.match(r.reasons[0] ?? '', /earlier episode/);
  });
});

describe('treatment management per calendar month (99470 / 99457 exclusive, 99458 add-on)', () => {
  const cases: Array<[number, string]> = [
    [9, ''],
    [10, '99470'],
    [19, '99470'],
    [20, '99457'],
    [39, '99457'],
    [40, '99457 99458'],
    [59, '99457 99458'],
    [60, '99457 99458x2'],
  ];
  for (const [min, want] of cases) {
    it(`${min} min with an interactive communication → ${want || 'nothing'}`, () => {
      assert.equal(codes(treatmentManagement(min, 1)), want);
    });
  }
  for (const min of [9, 10, 19, 20, 39, 40]) {
    it(`${min} min without an interactive communication → nothing`, () => {
      const r = treatmentManagement(min, 0);
      assert.equal(codes(r), '');
      assert.match(
        r.reasons[0] ?? '',
        min < 10 ? /99470 needs 10/ : /no real-time interactive communication/,
      );
    });
  }
  it('never 99470 and 99457 together', () => {
    for (let m = 0; m <= 120; m++) {
      const c = codes(treatmentManagement(m, 2));
      assert.ok(!(c.includes('99470') && c.includes('99457')), `${m} min: ${c}`);
      assert.ok(!c.includes('99458') || c.includes('99457'), `99458 without its base at ${m} min`);
    }
  });
});

describe('30-day periods reported in the month they end', () => {
  const ep: Episode = { start: '2026-09-10', end: null, first: true };
  it('first period of an episode starting 10 Sep ends 9 Oct', () => {
    assert.deepEqual(periodsEndingIn(ep, '2026-10'), [{ index: 0, start: '2026-09-10', end: '2026-10-09' }]);
    assert.deepEqual(periodsEndingIn(ep, '2026-09'), []);
  });
  it('a 31-day month can hold two period ends', () => {
    const jan: Episode = { start: '2025-12-03', end: null, first: true };
    assert.deepEqual(
      periodsEndingIn(jan, '2026-01').map((p) => p.end),
      ['2026-01-01', '2026-01-31'],
    );
  });
  it('no period after the episode ended', () => {
    const ended: Episode = { start: '2026-09-10', end: '2026-09-20', first: true };
    assert.equal(periodsEndingIn(ended, '2026-10').length, 1);
    assert.equal(periodsEndingIn(ended, '2026-11').length, 0);
  });
  it('period n starts 30·n days after the episode', () => {
    const ps = periodsEndingIn(ep, '2027-03');
    for (const p of ps) assert.equal(daysBetween(ep.start, p.start), p.index * 30);
    assert.ok(ps.length >= 1);
  });
});

describe('billingFor: one patient and month', () => {
  const days = (start: string, n: number) => new Set(Array.from({ length: n }, (_, i) => addDays(start, i)));
  const base = {
    patientId: 'p1',
    timeZone: 'UTC',
    episodes: [{ start: '2026-09-10', end: null, first: true }],
  };
  it('16 days, 25 min with a call: 99453 99454 99457', () => {
    const b = billingFor(
      {
        ...base,
        dataDays: days('2026-09-12', 16),
        timeEntries: [
          { day: '2026-10-02', minutes: 15, interactive: false },
          { day: '2026-10-20', minutes: 10, interactive: true },
          { day: '2026-09-30', minutes: 30, interactive: true },
        ],
      },
      '2026-10',
      '2026-11-05',
    );
    assert.equal(codesText(b.codes), '99453 99454 99457');
    assert.equal(b.devicePeriods[0]?.daysWithData, 16);
    assert.equal(b.devicePeriods[0]?.complete, true);
    assert.equal(b.treatment.minutes, 25);
    assert.equal(b.treatment.complete, true);
    assert.match(b.notes[0] ?? '', /99091/);
  });
  it('15 days of data: 99445 and no 99453 under the 16-day rule, 99453 under the 2-day rule', () => {
    const input = { ...base, dataDays: days('2026-09-12', 15), timeEntries: [] };
    assert.equal(codesText(billingFor(input, '2026-10', '2026-11-01').codes), '99445');
    const two = { ...defaultBillingRules, setupMinDays: 2 };
    assert.equal(codesText(billingFor(input, '2026-10', '2026-11-01', two).codes), '99445 99453');
  });
  it('days outside the period do not count', () => {
    const input = { ...base, dataDays: days('2026-10-05', 16), timeEntries: [] };
    // 5–9 Oct inside the first period (5 days), the rest in the next one (ends 8 Nov).
    assert.equal(billingFor(input, '2026-10', '2026-11-20').devicePeriods[0]?.daysWithData, 5);
    assert.equal(billingFor(input, '2026-11', '2026-11-20').devicePeriods[0]?.daysWithData, 11);
  });
  it('a period or month still running says so', () => {
    const b = billingFor(
      { ...base, dataDays: days('2026-09-12', 3), timeEntries: [] },
      '2026-10',
      '2026-10-05',
    );
    assert.equal(b.devicePeriods[0]?.complete, false);
    assert.equal(b.treatment.complete, false);
    assert.ok(b.devicePeriods[0]?.reasons.some((r) => /in progress until 2026-10-09/.test(r)));
  });
});

describe('calendar days', () => {
  it('a day in a patient time zone', () => {
    const t = Date.parse('2026-03-08T03:30:00Z');
    assert.equal(dayIn(t), '2026-03-08');
    assert.equal(dayIn(t, 'America/New_York'), '2026-03-07');
    assert.equal(dayIn(t, 'Asia/Tokyo'), '2026-03-08');
  });
  it('month ends', () => {
    assert.equal(lastDayOf('2026-02'), '2026-02-28');
    assert.equal(lastDayOf('2028-02'), '2028-02-29');
    assert.equal(lastDayOf('2026-12'), '2026-12-31');
  });
});
