import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { isVigilError } from '../../core/errors.ts';
import { normalize } from '../normalize.ts';

const corpus = new URL('../../../test/corpora/cgm/nightscout/', import.meta.url);
const entries = (name: string) => JSON.parse(readFileSync(new URL(name, corpus), 'utf8')) as object[];
const receivedAt = Date.parse('2026-01-01T00:00:00Z');
const run = (entry: object, unit?: 'mg/dL' | 'mmol/L') =>
  normalize({
    format: 'nightscout',
    payload: entry,
    deviceId: 'cgm-1',
    receivedAt,
    ...(unit ? { programGlucoseUnit: unit } : {}),
  });

describe('Nightscout entries profile', () => {
  it('reads every Dexcom 2014 entry: sgv strings, special value 5 as data absent', () => {
    const list = entries('example-entries-dexcom-2014.json');
    assert.equal(list.length, 30);
    const readings = list.flatMap((e) => run(e).readings);
    assert.equal(readings.length, 30);
    const absent = readings.filter((r) => r.value === null);
    assert.equal(absent.length, 12);
    for (const r of absent) {
      assert.equal(r.dataAbsentReason, 'error');
      assert.ok(r.notes?.includes('CGM error code 5 (SENSOR_NOT_CALIBRATED)'));
      assert.ok(r.notes?.includes('trend: NOT COMPUTABLE'));
    }
    const first = readings.find((r) => r.value !== null);
    assert.equal(first?.code, '99504-3');
    assert.equal(first?.value, 178);
    assert.equal(first?.unit, 'mg/dL');
    assert.equal(first?.effective, '2014-07-19T10:59:15.000Z');
    assert.ok(first?.notes?.includes('trend: Flat'));
  });

  it('reads the OpenAPS entries with noise and stores glucose in the program unit', () => {
    const [r] = run(entries('openaps-glucose-zoned-merge-2016.json')[0] as object, 'mmol/L').readings;
    assert.equal(r?.code, '105272-9');
    assert.equal(r?.unit, 'mmol/L');
    assert.equal(r?.value, 5.7);
    assert.deepEqual(r?.original, { value: 102, unit: 'mg/dL' });
    assert.ok(r?.notes?.includes('noise: clean'));
    assert.equal(r?.messageId, 'ns|sgv|1477247616000');
  });

  it('flags heavy noise, maps mbg to capillary glucose, takes cal as a status only', () => {
    const noisy = run({ type: 'sgv', sgv: 140, date: 1477247616000, noise: 4 }).readings[0];
    assert.ok(noisy?.flags.includes('noisy'));
    const mbg = run({ type: 'mbg', mbg: 101, dateString: '2016-10-23T11:33:36-07:00' }).readings[0];
    assert.equal(mbg?.code, '41653-7');
    assert.equal(mbg?.effective, '2016-10-23T18:33:36.000Z');
    const cal = run({ type: 'cal', slope: 850, intercept: 30000, scale: 1, date: 1477247616000 });
    assert.equal(cal.readings.length, 0);
    assert.ok(cal.status);
  });

  it('refuses what cannot be a reading, with coded reasons', () => {
    const cases: Array<[object, string]> = [
      [{ type: 'sgv', sgv: 'high', date: 1477247616000 }, 'VIGIL_ERR_INGEST_NOT_A_NUMBER'],
      [{ type: 'sgv', sgv: 120 }, 'VIGIL_ERR_INGEST_INVALID_TIME'],
      [{ type: 'sgv', sgv: 120, dateString: '2016-10-23T11:33:36' }, 'VIGIL_ERR_INGEST_INVALID_TIME'],
      [{ type: 'sgv', sgv: 120, date: 1477247616 }, 'VIGIL_ERR_INGEST_INVALID_TIME'],
      [{ type: 'treatment', date: 1477247616000 }, 'VIGIL_ERR_INGEST_INVALID_FIELD'],
      [{ type: 'sgv', sgv: 4000, date: 1477247616000 }, 'VIGIL_ERR_INGEST_IMPLAUSIBLE_VALUE'],
    ];
    for (const [entry, code] of cases) {
      assert.throws(
        () => run(entry),
        (e) => isVigilError(e) && e.code === code,
        JSON.stringify(entry),
      );
    }
  });
});
