import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { builtInPrograms } from '../detect/programs/index.ts';
import { withScheduleRules } from './medication-schedule-rules.ts';

const req = (
  over: Record<string, unknown> = {},
  repeat: Record<string, unknown> = { timeOfDay: ['08:00:00', '20:00:00'] },
) => ({
  resourceType: 'MedicationRequest',
  id: 'mr1',
  status: 'active',
  subject: { reference: 'Patient/p1' },
  authoredOn: '2026-03-01',
  medicationCodeableConcept: { text: 'fluticasone' },
  dosageInstruction: [{ timing: { repeat } }],
  ...over,
});
const copd = { programs: ['copd'] };

describe('missed-dose rules from MedicationRequests', () => {
  it('an active scheduled request gives one rule with its times, period and devices', () => {
    const e = withScheduleRules(
      copd,
      [
        req({
          dispenseRequest: { validityPeriod: { start: '2026-03-01', end: '2026-03-31' } },
          extension: [
            {
              url: 'https://vigil.example.org/fhir/StructureDefinition/adherence-device',
              valueReference: { reference: 'Device/inh-1' },
            },
          ],
        }),
      ],
      builtInPrograms,
    );
    assert.deepEqual(e.add, [
      {
        id: 'medication-request-mr1',
        kind: 'missed-dose',
        label: 'fluticasone',
        times: ['08:00', '20:00'],
        codes: ['vigil-inhaler-controller', 'vigil-pill-bottle-opening'],
        deviceIds: ['inh-1'],
        from: '2026-03-01',
        until: '2026-03-31',
      },
    ]);
  });

  it('stopped, entered-in-error, as-needed or without times of day: no rule', () => {
    for (const r of [
      req({ status: 'stopped' }),
      req({ status: 'entered-in-error' }),
      req({ dosageInstruction: [{ asNeededBoolean: true, timing: { repeat: { timeOfDay: ['08:00'] } } }] }),
      req({}, { frequency: 2, period: 1, periodUnit: 'd' }),
      req({ subject: { reference: 'Group/g1' } }),
    ])
      assert.equal(withScheduleRules(copd, [r], builtInPrograms).add, undefined, JSON.stringify(r));
  });

  it('not enrolled: nothing; the enrolment’s own missed-dose rule wins', () => {
    assert.deepEqual(withScheduleRules({ programs: [] }, [req()], builtInPrograms), { programs: [] });
    const own = { programs: ['copd'], add: [{ id: 'controller', kind: 'missed-dose', times: ['09:00'] }] };
    assert.deepEqual(withScheduleRules(own, [req()], builtInPrograms), own);
  });
});
