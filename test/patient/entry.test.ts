import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { entryBody, entryUnit, parseTypedNumber } from '../../web/src/patient/entry.ts';

describe('typing in a reading (patient app)', () => {
  it('reads numbers as typed in English, Spanish and Arabic', () => {
    assert.equal(parseTypedNumber('72'), 72);
    assert.equal(parseTypedNumber(' 98.6 '), 98.6);
    assert.equal(parseTypedNumber('36,8'), 36.8, 'decimal comma');
    assert.equal(parseTypedNumber('١٢٠'), 120, 'Arabic-Indic digits');
    assert.equal(parseTypedNumber('٣٦٫٥'), 36.5, 'Arabic decimal separator');
    for (const bad of ['', 'abc', '1.2.3', '-5', '12a', '1e3'])
      assert.equal(parseTypedNumber(bad), undefined, bad);
  });

  it('sends the patient’s own unit, never a converted number', () => {
    const now = new Date('2026-05-04T09:00:00Z');
    assert.deepEqual(entryBody('weight', 'us', { value: '176,4' }, 'm-1', now), {
      messageId: 'm-1',
      type: 'weight',
      unit: '[lb_av]',
      time: '2026-05-04T09:00:00.000Z',
      value: 176.4,
    });
    assert.equal(entryUnit('temperature', 'us').ucum, '[degF]');
    assert.equal(entryUnit('glucose', 'metric').ucum, 'mmol/L');
    assert.equal(entryUnit('glucose', 'us').ucum, 'mg/dL');
    const bp = entryBody('bloodPressure', 'metric', { systolic: '150', diastolic: '92' }, 'm-2', now);
    assert.equal('systolic' in bp && bp.systolic, 150);
    assert.deepEqual(entryBody('bloodPressure', 'metric', { systolic: '150' }, 'm-3', now), {
      invalid: 'diastolic',
    });
  });
});
