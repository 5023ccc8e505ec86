import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createEngine } from './engine.ts';
import { resolvePatientRules, validateEnrolment, validateProgramConfig } from './program-config.ts';
import { builtInPrograms } from './programs/index.ts';
import { reading } from './test-fixtures.ts';

function refused(fn: () => unknown, field: string): void {
  assert.throws(fn, (e: Error & { code?: string }) => {
    assert.equal(e.code, 'VIGIL_ERR_DETECT_CONFIG_INVALID');
    assert.ok(e.message.startsWith(field), `message "${e.message}" names ${field}`);
    return true;
  });
}

describe('program configuration', () => {
  it('the six built-in programs load and validate', () => {
    assert.deepEqual(builtInPrograms.map((p) => p.name).sort(), [
      'copd',
      'diabetes-cgm',
      'heart-failure',
      'hypertension',
      'inpatient-continuous',
      'post-surgical',
    ]);
  });

  it('a wrong configuration is refused with the bad field named', () => {
    refused(
      () =>
        validateProgramConfig({
          name: 'x',
          rules: [
            {
              id: 'a',
              kind: 'threshold',
              code: '2708-6',
              direction: 'below',
              levels: [{ value: 'ninety', severity: 'high' }],
            },
          ],
        }),
      'program.rules[0].levels[0].value',
    );
    refused(
      () => validateProgramConfig({ name: 'x', rules: [{ id: 'a', kind: 'thresold' }] }),
      'program.rules[0].kind',
    );
    refused(
      () => validateProgramConfig({ name: 'x', rules: [{ id: 'a', kind: 'glucose', low2: -1 }] }),
      'program.rules[0].low2',
    );
    refused(
      () => validateProgramConfig({ name: 'x', rules: [{ id: 'a', kind: 'glucose', lowe: 60 }] }),
      'program.rules[0].lowe',
    );
    refused(
      () =>
        validateProgramConfig({
          name: 'x',
          rules: [
            { id: 'a', kind: 'device-health' },
            { id: 'a', kind: 'device-health' },
          ],
        }),
      'program.rules[1].id',
    );
    refused(
      () =>
        validateProgramConfig({ name: 'x', rules: [{ id: 'a', kind: 'news2', severityUrgent: 'urgent' }] }),
      'program.rules[0].severityUrgent',
    );
    refused(() => validateEnrolment({ programs: ['copd'], spo2Scale: 3 }), 'patient.spo2Scale');
  });

  it('patient overrides replace program defaults: a COPD patient’s SpO2 floor', () => {
    const program = validateProgramConfig({
      name: 'vitals',
      rules: [
        {
          id: 'spo2-low',
          kind: 'threshold',
          code: '2708-6',
          direction: 'below',
          levels: [{ value: 92, severity: 'high' }],
        },
      ],
    });
    const healthy = createEngine({ programs: [program], patients: { p1: { programs: ['vitals'] } } });
    assert.equal(healthy.onReading(reading('2708-6', 89, 0)).detections.length, 1);
    const copd = createEngine({
      programs: [program],
      patients: {
        p1: { programs: ['vitals'], rules: { 'spo2-low': { levels: [{ value: 88, severity: 'high' }] } } },
      },
    });
    assert.deepEqual(copd.onReading(reading('2708-6', 89, 0)).detections, []);
    assert.equal(copd.onReading(reading('2708-6', 87, 60)).detections.length, 1);
  });

  it('a bad override is refused by name; disable and add work', () => {
    const hf = builtInPrograms.filter((p) => p.name === 'heart-failure');
    refused(
      () =>
        resolvePatientRules(hf, {
          programs: ['heart-failure'],
          rules: { 'weight-gain': { clearFraction: 2 } },
        }),
      'patient.rules.weight-gain.clearFraction',
    );
    refused(
      () => resolvePatientRules(hf, { programs: ['heart-failure'], rules: { nope: {} } }),
      'patient.rules.nope',
    );
    const r = resolvePatientRules(hf, {
      programs: ['heart-failure'],
      disable: ['weight-trend'],
      add: [{ id: 'extra', kind: 'hypoxaemia' }],
    });
    const ids = r.rules.map((x) => x.id);
    assert.ok(!ids.includes('weight-trend'));
    assert.ok(ids.includes('extra'));
  });

  it('program settings apply unless the patient overrides them', () => {
    const copd = builtInPrograms.filter((p) => p.name === 'copd');
    assert.equal(resolvePatientRules(copd, { programs: ['copd'] }).settings.spo2Scale, 2);
    assert.equal(resolvePatientRules(copd, { programs: ['copd'], spo2Scale: 1 }).settings.spo2Scale, 1);
  });
});
