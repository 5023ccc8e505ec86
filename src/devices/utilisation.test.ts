import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type AvailabilityInterval, utilisation } from './utilisation.ts';

const t = (iso: string) => Date.parse(iso);
const iv = (
  p: Partial<Omit<AvailabilityInterval, 'start' | 'end'>> & { start: string; end: string | null },
): AvailabilityInterval => ({
  deviceId: 'pump-1',
  kind: 'infusion-pump',
  availability: 'in-use',
  unitId: 'icu',
  ...p,
  start: t(p.start),
  end: p.end === null ? null : t(p.end),
});

describe('equipment utilisation', () => {
  it('splits at UTC midnight and shares in-use over tracked time per kind × unit × day', () => {
    const rows = utilisation(
      [
        iv({ start: '2026-03-01T18:00:00Z', end: '2026-03-02T06:00:00Z' }), // 6 h day 1, 6 h day 2 in use
        iv({ availability: 'free', start: '2026-03-02T06:00:00Z', end: '2026-03-02T12:00:00Z' }),
        iv({
          deviceId: 'pump-2',
          availability: 'cleaning',
          start: '2026-03-02T00:00:00Z',
          end: '2026-03-02T12:00:00Z',
        }),
      ],
      t('2026-03-01T00:00:00Z'),
      t('2026-03-03T00:00:00Z'),
      t('2026-03-05T00:00:00Z'),
    );
    assert.equal(rows.length, 2);
    const [d1, d2] = rows;
    assert.equal(d1?.day, '2026-03-01');
    assert.equal(d1?.inUseSeconds, 6 * 3600);
    assert.equal(d1?.utilisation, 1);
    assert.equal(d2?.day, '2026-03-02');
    assert.equal(d2?.devices, 2);
    assert.equal(d2?.trackedSeconds, 24 * 3600);
    assert.equal(d2?.inUseSeconds, 6 * 3600);
    assert.equal(d2?.cleaningSeconds, 12 * 3600);
    assert.equal(d2?.utilisation, 0.25);
  });

  it('clips to [since, until) and counts an open interval up to now', () => {
    const rows = utilisation(
      [iv({ start: '2026-02-28T00:00:00Z', end: null })],
      t('2026-03-01T00:00:00Z'),
      t('2026-03-02T00:00:00Z'),
      t('2026-03-01T03:00:00Z'),
    );
    assert.equal(rows.length, 1);
    assert.equal(rows[0]?.trackedSeconds, 3 * 3600);
  });

  it('keeps units apart and reports nothing for an empty range', () => {
    const rows = utilisation(
      [
        iv({ start: '2026-03-01T00:00:00Z', end: '2026-03-01T01:00:00Z' }),
        iv({
          unitId: null,
          availability: 'free',
          start: '2026-03-01T01:00:00Z',
          end: '2026-03-01T02:00:00Z',
        }),
      ],
      t('2026-03-01T00:00:00Z'),
      t('2026-03-02T00:00:00Z'),
      t('2026-03-02T00:00:00Z'),
    );
    assert.deepEqual(
      rows.map((r) => [r.unitId, r.utilisation]),
      [
        [null, 0],
        ['icu', 1],
      ],
    );
    assert.deepEqual(utilisation([], 0, 1, 1), []);
  });
});
