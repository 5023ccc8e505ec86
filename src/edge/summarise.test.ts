import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Reading } from '../core/reading.ts';
import { summariseByMinute } from './summarise.ts';

const base = Date.UTC(2026, 0, 1, 10, 0, 0);
const r = (deviceId: string, s: number, value: number | null, code = '59408-5'): Reading => ({
  id: `${deviceId}-${s}`,
  deviceId,
  patientId: null,
  code,
  codings: [],
  category: 'vital-signs',
  value,
  unit: '%',
  components: [],
  effective: new Date(base + s * 1000).toISOString(),
  received: new Date(base + s * 1000).toISOString(),
  flags: [],
  idempotencyKey: `${deviceId}|${s}`,
  transport: 'mqtt',
  profile: 'native-json',
});

describe('summariseByMinute', () => {
  it('min, mean and max per device, code and minute of event time', () => {
    const { summaries, unsummarised } = summariseByMinute([
      r('a', 0, 96),
      r('a', 30, 98),
      r('a', 59, 94),
      r('a', 60, 90),
      r('b', 10, 99),
      r('a', 20, 70, '8867-4'),
    ]);
    assert.deepEqual(unsummarised, []);
    assert.deepEqual(
      summaries.map((s) => [s.deviceId, s.code, s.minute.slice(11, 16), s.n, s.min, s.mean, s.max]),
      [
        ['a', '59408-5', '10:00', 3, 94, 96, 98],
        ['a', '8867-4', '10:00', 1, 70, 70, 70],
        ['b', '59408-5', '10:00', 1, 99, 99, 99],
        ['a', '59408-5', '10:01', 1, 90, 90, 90],
      ],
    );
  });

  it('readings without a numeric value are returned apart (a summary cannot stand for them)', () => {
    const panel = r('a', 5, null);
    const { summaries, unsummarised } = summariseByMinute([r('a', 0, 96), panel]);
    assert.equal(summaries.length, 1);
    assert.deepEqual(unsummarised, [panel]);
  });
});
