import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  news2,
  news2Band,
  scoreConsciousness,
  scoreOxygen,
  scorePulse,
  scoreRespRate,
  scoreSpo2Scale1,
  scoreSpo2Scale2,
  scoreSystolic,
  scoreTemperature,
} from './news2-score.ts';

// Expected scores typed in from RCP NEWS2 Chart 1 (clinical-reference §1.1): both sides of every
// band boundary, plus fractional values that sit between the chart's integer bands.
const cases: Array<[string, (v: number) => number, Array<[number, number]>]> = [
  [
    'respiration rate',
    scoreRespRate,
    [
      [0, 3],
      [8, 3],
      [9, 1],
      [11, 1],
      [12, 0],
      [20, 0],
      [21, 2],
      [24, 2],
      [25, 3],
      [60, 3],
      [8.5, 1],
      [20.5, 2],
      [24.5, 3],
    ],
  ],
  [
    'SpO2 scale 1',
    scoreSpo2Scale1,
    [
      [70, 3],
      [91, 3],
      [92, 2],
      [93, 2],
      [94, 1],
      [95, 1],
      [96, 0],
      [100, 0],
      [91.5, 2],
      [95.5, 0],
    ],
  ],
  [
    'systolic BP',
    scoreSystolic,
    [
      [60, 3],
      [90, 3],
      [91, 2],
      [100, 2],
      [101, 1],
      [110, 1],
      [111, 0],
      [219, 0],
      [220, 3],
      [260, 3],
    ],
  ],
  [
    'pulse',
    scorePulse,
    [
      [30, 3],
      [40, 3],
      [41, 1],
      [50, 1],
      [51, 0],
      [90, 0],
      [91, 1],
      [110, 1],
      [111, 2],
      [130, 2],
      [131, 3],
      [200, 3],
    ],
  ],
  [
    'temperature',
    scoreTemperature,
    [
      [34, 3],
      [35.0, 3],
      [35.1, 1],
      [36.0, 1],
      [36.1, 0],
      [38.0, 0],
      [38.1, 1],
      [39.0, 1],
      [39.1, 2],
      [41, 2],
      [35.05, 1],
    ],
  ],
];

describe('NEWS2 Chart 1 bands', () => {
  for (const [name, fn, table] of cases) {
    it(`${name} scores every band boundary as the chart`, () => {
      for (const [v, want] of table) assert.equal(fn(v), want, `${name} ${v}`);
    });
  }

  it('SpO2 scale 2 on air: ≥93 % scores 0', () => {
    const table: Array<[number, number]> = [
      [80, 3],
      [83, 3],
      [84, 2],
      [85, 2],
      [86, 1],
      [87, 1],
      [88, 0],
      [92, 0],
      [93, 0],
      [97, 0],
      [100, 0],
    ];
    for (const [v, want] of table) assert.equal(scoreSpo2Scale2(v, false), want, `air ${v}`);
  });

  it('SpO2 scale 2 on oxygen: high saturations score', () => {
    const table: Array<[number, number]> = [
      [83, 3],
      [84, 2],
      [85, 2],
      [86, 1],
      [87, 1],
      [88, 0],
      [92, 0],
      [93, 1],
      [94, 1],
      [95, 2],
      [96, 2],
      [97, 3],
      [100, 3],
    ];
    for (const [v, want] of table) assert.equal(scoreSpo2Scale2(v, true), want, `oxygen ${v}`);
  });

  it('air scores 0, supplemental oxygen 2', () => {
    assert.equal(scoreOxygen(false), 0);
    assert.equal(scoreOxygen(true), 2);
  });

  it('consciousness: Alert 0, new confusion / V / P / U score 3', () => {
    assert.equal(scoreConsciousness('A'), 0);
    for (const c of ['C', 'V', 'P', 'U'] as const) assert.equal(scoreConsciousness(c), 3, c);
  });
});

describe('NEWS2 aggregate and Chart 4 bands', () => {
  const normal = {
    respRate: 16,
    spo2: 97,
    spo2Scale: 1 as const,
    onOxygen: false,
    systolic: 120,
    pulse: 70,
    consciousness: 'A' as const,
    temperature: 37,
  };

  it('all-normal vitals score 0, no trigger', () => {
    const r = news2(normal);
    assert.equal(r.total, 0);
    assert.equal(news2Band(r), 'none');
  });

  it('worst case totals 20', () => {
    const r = news2({
      respRate: 30,
      spo2: 80,
      spo2Scale: 1,
      onOxygen: true,
      systolic: 80,
      pulse: 140,
      consciousness: 'U',
      temperature: 34,
    });
    assert.equal(r.total, 3 + 3 + 2 + 3 + 3 + 3 + 3);
  });

  it('a single parameter scoring 3 with total < 5 is low–medium', () => {
    const r = news2({ ...normal, respRate: 26 });
    assert.equal(r.total, 3);
    assert.equal(news2Band(r), 'low-medium');
  });

  it('total 4 without a 3 is low; 5 and 6 medium; 7 high', () => {
    assert.equal(news2Band({ total: 4, anyThree: false }), 'low');
    assert.equal(news2Band({ total: 1, anyThree: false }), 'low');
    assert.equal(news2Band({ total: 5, anyThree: false }), 'medium');
    assert.equal(news2Band({ total: 6, anyThree: true }), 'medium');
    assert.equal(news2Band({ total: 7, anyThree: false }), 'high');
  });

  it('oxygen adds 2 on scale 1', () => {
    assert.equal(news2({ ...normal, onOxygen: true }).total, 2);
  });
});
