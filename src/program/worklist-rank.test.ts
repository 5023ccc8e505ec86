import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { acuity, news2FromVitals, type RankInput, rankWorklist } from './worklist-rank.ts';

const row = (name: string, o: Partial<RankInput> = {}): RankInput => ({
  patientId: name,
  name,
  unackedSeverity: null,
  ackedSeverity: null,
  news2: null,
  dataGap: false,
  lastReading: 1000,
  ...o,
});

describe('worklist ranking', () => {
  it('ranks by unacknowledged alert severity and NEWS2 band, then tie-breaks', () => {
    const ranked = rankWorklist([
      row('stable'),
      row('gap', { dataGap: true }),
      row('acked-critical', { ackedSeverity: 'critical' }),
      row('news2-high', { news2: { total: 8, band: 'high' } }),
      row('critical-alert', { unackedSeverity: 'critical' }),
      row('medium-alert', { unackedSeverity: 'medium' }),
      row('news2-medium', { news2: { total: 5, band: 'medium' } }),
      row('news2-low', { news2: { total: 2, band: 'low' } }),
    ]);
    assert.deepEqual(
      ranked.map((r) => r.name),
      [
        'critical-alert',
        'news2-high',
        'medium-alert',
        'news2-medium',
        'news2-low',
        'acked-critical',
        'gap',
        'stable',
      ],
    );
    assert.deepEqual(
      ranked.map((r) => r.rank),
      [1, 2, 3, 4, 5, 6, 7, 8],
    );
  });

  it('at equal acuity an unacknowledged alert outranks a NEWS2 band, acknowledging lowers the rank', () => {
    const a = row('alert', { unackedSeverity: 'high' });
    const n = row('news', { news2: { total: 9, band: 'high' } });
    assert.equal(acuity(a), acuity(n));
    assert.deepEqual(
      rankWorklist([n, a]).map((r) => r.name),
      ['alert', 'news'],
    );
    const acked = row('alert', { ackedSeverity: 'high' });
    assert.deepEqual(
      rankWorklist([acked, n]).map((r) => r.name),
      ['news', 'alert'],
    );
  });

  it('equal patients: most recent reading, then name', () => {
    const ranked = rankWorklist([
      row('b', { lastReading: 5 }),
      row('c', { lastReading: 9 }),
      row('a', { lastReading: 5 }),
    ]);
    assert.deepEqual(
      ranked.map((r) => r.name),
      ['c', 'a', 'b'],
    );
  });
});

describe('NEWS2 from the latest vitals', () => {
  it('needs all five measured parameters', () => {
    assert.equal(news2FromVitals({ respRate: 16, spo2: 97, systolic: 120, pulse: 70 }), null);
  });

  it('scores a normal and a deteriorating set (RCP chart, hand-scored)', () => {
    assert.deepEqual(news2FromVitals({ respRate: 16, spo2: 97, systolic: 120, pulse: 70, temperature: 37 }), {
      total: 0,
      band: 'none',
    });
    // RR 26 → 3, SpO2 91 → 3, SBP 95 → 2, HR 125 → 2, T 38.6 → 1 = 11
    assert.deepEqual(
      news2FromVitals({ respRate: 26, spo2: 91, systolic: 95, pulse: 125, temperature: 38.6 }),
      {
        total: 11,
        band: 'high',
      },
    );
    // a single 3 (RR 25) with total 3 → low-medium
    assert.deepEqual(news2FromVitals({ respRate: 25, spo2: 97, systolic: 120, pulse: 70, temperature: 37 }), {
      total: 3,
      band: 'low-medium',
    });
  });
});
