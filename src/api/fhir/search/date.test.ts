import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dateRange, parseDateValue } from './date.ts';

test('a date value denotes the range of its precision', () => {
  assert.deepEqual(dateRange('2020'), { low: '2020-01-01T00:00:00.000Z', high: '2021-01-01T00:00:00.000Z' });
  assert.deepEqual(dateRange('2020-02'), {
    low: '2020-02-01T00:00:00.000Z',
    high: '2020-03-01T00:00:00.000Z',
  });
  assert.deepEqual(dateRange('2020-02-28'), {
    low: '2020-02-28T00:00:00.000Z',
    high: '2020-02-29T00:00:00.000Z',
  });
  assert.deepEqual(dateRange('2020-02-28T10:00+02:00'), {
    low: '2020-02-28T08:00:00.000Z',
    high: '2020-02-28T08:01:00.000Z',
  });
  assert.deepEqual(dateRange('2020-02-28T10:00:05Z'), {
    low: '2020-02-28T10:00:05.000Z',
    high: '2020-02-28T10:00:06.000Z',
  });
  assert.equal(dateRange('2020-13'), undefined);
  assert.equal(dateRange('yesterday'), undefined);
});

test('prefixes are recognised; a bare value is eq', () => {
  assert.equal(parseDateValue('ge2020-01-01')?.prefix, 'ge');
  assert.equal(parseDateValue('ap2020')?.prefix, 'ap');
  assert.equal(parseDateValue('2020-01-01')?.prefix, 'eq');
  assert.equal(parseDateValue('xx2020'), undefined);
});
