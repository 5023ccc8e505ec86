import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseQuantity } from './parse.ts';

const UCUM = 'http://unitsofmeasure.org';
const close = (a: number, b: number) => Math.abs(a - b) < 1e-9;

test('a quantity value: prefix, number, the range its precision denotes', () => {
  const q = parseQuantity('5.4');
  assert.equal(q?.prefix, 'eq');
  assert.ok(q && close(q.low, 5.35) && close(q.high, 5.45));
  const i = parseQuantity('gt100');
  assert.equal(i?.prefix, 'gt');
  assert.ok(i && close(i.low, 99.5) && close(i.high, 100.5) && i.value === 100);
  const z = parseQuantity('le5.40');
  assert.ok(z && close(z.low, 5.395) && close(z.high, 5.405));
  const e = parseQuantity('1e2');
  assert.ok(e && e.value === 100 && close(e.low, 50) && close(e.high, 150));
  assert.equal(parseQuantity('-0.5')?.value, -0.5);
});

test('units: system|code, ||code, and UCUM equivalents of the same dimension', () => {
  const c = parseQuantity(`38|${UCUM}|Cel`);
  assert.equal(c?.system, UCUM);
  assert.equal(c?.code, 'Cel');
  const f = c?.equivalents?.find((x) => x.code === '[degF]');
  assert.ok(f && close(f.value, 100.4), JSON.stringify(f));
  assert.ok(f && close(f.low, 37.5 * 1.8 + 32) && close(f.high, 38.5 * 1.8 + 32));
  const bare = parseQuantity('72||/min');
  assert.equal(bare?.system, undefined);
  assert.deepEqual(bare?.equivalents?.map((x) => x.code).sort(), ['{beats}/min', '{breaths}/min']);
  // another system: no conversions; an unknown UCUM unit: none either
  assert.equal(parseQuantity('70|urn:local|KG')?.equivalents, undefined);
  assert.equal(parseQuantity(`70|${UCUM}|furlong`)?.equivalents, undefined);
  // no unit: any unit
  assert.equal(parseQuantity('70')?.code, undefined);
});

test('malformed values are refused (undefined), never NaN or Infinity', () => {
  for (const bad of [
    '',
    'gt',
    'xx5',
    'abc',
    '5..5',
    '1e400',
    '-1e400',
    '5|x',
    '5|a|b|c',
    'gt 5',
    '0x10',
    'NaN',
  ])
    assert.equal(parseQuantity(bad), undefined, bad);
});
