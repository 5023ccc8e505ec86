import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { VigilError } from '../core/errors.ts';
import { defaultPolicy, isWorkingHours, tiersAt, validatePolicy } from './escalation-policy.ts';

describe('escalation policy', () => {
  const policy = validatePolicy(
    {
      timeZone: 'Europe/Paris',
      workingHours: { days: [1, 2, 3, 4, 5], start: '08:00', end: '18:00' },
      workingHoursTiers: [{ name: 'nurse', roles: ['nurse'], ackWithinSeconds: 300 }],
      afterHoursTiers: [
        {
          name: 'on-call',
          roles: ['on-call'],
          practitioners: ['Practitioner/oncall-1'],
          ackWithinSeconds: 120,
        },
      ],
    },
    'high',
  );

  it('routes by working hours in the policy time zone', () => {
    // Monday 2026-03-02 07:30 UTC = 08:30 in Paris (CET, UTC+1): working hours.
    assert.equal(isWorkingHours(policy, Date.parse('2026-03-02T07:30:00Z')), true);
    // 06:30 UTC = 07:30 Paris: before the start.
    assert.equal(isWorkingHours(policy, Date.parse('2026-03-02T06:30:00Z')), false);
    // Saturday noon: after hours.
    assert.equal(tiersAt(policy, Date.parse('2026-03-07T11:00:00Z'))[0]?.name, 'on-call');
    assert.equal(tiersAt(policy, Date.parse('2026-03-02T11:00:00Z'))[0]?.name, 'nurse');
  });

  it('handles an overnight window', () => {
    const night = validatePolicy(
      {
        workingHours: { days: [1], start: '22:00', end: '06:00' },
        workingHoursTiers: [{ name: 'n', roles: ['nurse'] }],
      },
      'low',
    );
    assert.equal(isWorkingHours(night, Date.parse('2026-03-02T23:00:00Z')), true, 'Monday 23:00');
    assert.equal(
      isWorkingHours(night, Date.parse('2026-03-03T05:00:00Z')),
      true,
      'Tuesday 05:00 belongs to Monday night',
    );
    assert.equal(isWorkingHours(night, Date.parse('2026-03-03T23:00:00Z')), false, 'Tuesday 23:00');
  });

  it('names the first bad value', () => {
    const bad = (input: unknown) => {
      try {
        validatePolicy(input, 'high');
      } catch (e) {
        return (e as VigilError).details?.['path'];
      }
      return 'accepted';
    };
    assert.equal(
      bad({ timeZone: 'Mars/Olympus', workingHoursTiers: [{ name: 'a', roles: ['nurse'] }] }),
      'timeZone',
    );
    assert.equal(bad({ workingHoursTiers: [] }), 'workingHoursTiers');
    assert.equal(
      bad({ workingHoursTiers: [{ name: 'a', roles: ['nurse'], ackWithinSeconds: 0 }] }),
      'workingHoursTiers[0].ackWithinSeconds',
    );
    assert.equal(bad({ workingHoursTiers: [{ name: 'a', roles: ['nurse'] }], colour: 'red' }), 'colour');
  });

  it('has a valid default for every severity', () => {
    for (const s of ['info', 'low', 'medium', 'high', 'critical'] as const) {
      const d = defaultPolicy(s);
      assert.deepEqual(validatePolicy(d, s), d);
    }
  });
});
