import assert from 'node:assert/strict';
import { test } from 'node:test';
import { convert, convertGlucose, roundTo, toUcum, unitDimension } from './units.ts';

const close = (actual: number, expected: number, eps = 1e-9) =>
  assert.ok(Math.abs(actual - expected) <= eps, `${actual} ≉ ${expected}`);

test('temperature: °F ↔ °C by the scale definitions', () => {
  close(convert(98.6, '[degF]', 'Cel'), 37);
  close(convert(32, '[degF]', 'Cel'), 0);
  close(convert(212, '[degF]', 'Cel'), 100);
  close(convert(-40, '[degF]', 'Cel'), -40);
  close(convert(37, 'Cel', '[degF]'), 98.6);
  close(convert(310.15, 'K', 'Cel'), 37);
});

test('mass: lb, g → kg', () => {
  close(convert(1, '[lb_av]', 'kg'), 0.45359237);
  close(convert(150, '[lb_av]', 'kg'), 68.0388555);
  close(convert(70500, 'g', 'kg'), 70.5);
  close(convert(70, 'kg', '[lb_av]'), 154.3235835, 1e-6);
});

test('length: in ↔ cm', () => {
  close(convert(70, '[in_i]', 'cm'), 177.8);
  close(convert(1.8, 'm', 'cm'), 180);
  close(convert(254, 'cm', '[in_i]'), 100);
});

test('pressure: kPa → mmHg (101.325 kPa = 760 mmHg)', () => {
  close(convert(101.325, 'kPa', 'mm[Hg]'), 760, 1e-3);
  close(convert(18.9, 'kPa', 'mm[Hg]'), 141.76, 0.01);
});

test('glucose: mmol/L ↔ mg/dL with the glucose-specific factor 18.016', () => {
  close(convertGlucose(5.5, 'mmol/L', 'mg/dL'), 99.088);
  close(convertGlucose(180.16, 'mg/dL', 'mmol/L'), 10);
  // BLE glucose meters send kg/L and mol/L (§5.2: mg/dL = kg/L × 10^5)
  close(convertGlucose(0.0009, 'kg/L', 'mg/dL'), 90);
  close(convertGlucose(0.0055, 'mol/L', 'mmol/L'), 5.5);
  close(convertGlucose(0.0055, 'mol/L', 'mg/dL'), 99.088);
  assert.throws(() => convertGlucose(5, 'kg', 'mg/dL'));
});

test('conversion across dimensions is refused', () => {
  assert.throws(() => convert(1, 'kg', 'cm'), /cannot convert/);
  assert.throws(() => convert(1, 'mg/dL', 'mmol/L'), /cannot convert/);
  assert.throws(() => convert(1, 'furlong', 'cm'), /unknown unit/);
});

test('common spellings map to UCUM, unknown ones do not', () => {
  assert.equal(toUcum('mmHg'), 'mm[Hg]');
  assert.equal(toUcum('bpm'), '/min');
  assert.equal(toUcum('°F'), '[degF]');
  assert.equal(toUcum('lbs'), '[lb_av]');
  assert.equal(toUcum('mg/dl'), 'mg/dL');
  assert.equal(toUcum('Cel'), 'Cel');
  assert.equal(toUcum('{beats}/min'), '/min');
  assert.equal(toUcum('parsecs'), undefined);
  assert.equal(unitDimension('kPa'), 'pressure');
});

test('roundTo removes binary noise', () => {
  assert.equal(roundTo(0.1 + 0.2, 2), 0.3);
  assert.equal(roundTo(68.0388555, 3), 68.039);
});
