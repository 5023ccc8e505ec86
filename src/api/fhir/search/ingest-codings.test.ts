import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CODES, LOINC, MDC, MDC_TO_LOINC } from '../../../normalize/codes.ts';
import { ingestTerminology as t } from './ingest-codings.ts';

test('every MDC code normalize attaches leads to its primary LOINC code', () => {
  for (const [mdc, m] of MDC_TO_LOINC) {
    assert.ok(t.carriersOf(MDC, mdc).includes(m.loinc), `MDC ${mdc} → ${m.loinc}`);
    assert.ok(t.carriersOf(undefined, mdc).includes(m.loinc));
    assert.ok(t.carriersOfSystem(MDC).includes(m.loinc));
  }
  // Many-to-one: the candidates are the primary code only; the row's codings decide.
  assert.deepEqual(t.carriersOf(MDC, '149530'), ['8867-4']);
  assert.deepEqual(t.carriersOf(MDC, '147842'), ['8867-4']);
  assert.deepEqual(t.carriersOf(LOINC, '149530'), []);
});

test("every code table's extra coding leads to the code that carries it", () => {
  let checked = 0;
  for (const def of CODES.values()) {
    for (const c of def.extraCodings ?? []) {
      assert.ok(t.carriersOf(c.system, c.code).includes(def.code), `${c.system}|${c.code} → ${def.code}`);
      assert.ok(t.carriersOfSystem(c.system).includes(def.code));
      checked++;
    }
  }
  assert.ok(checked > 0);
  assert.deepEqual(t.carriersOf(LOINC, '59408-5'), ['2708-6']);
});

test('glucose MDC codes lead to both concentration codes (the unit picks one)', () => {
  const g = t.carriersOf(MDC, '160184');
  assert.ok(g.length >= 2, g.join());
  for (const c of g) assert.equal(CODES.get(c)?.glucose !== undefined, true);
});

test('primary code systems', () => {
  assert.equal(t.systemOf('8867-4'), LOINC);
  assert.equal(t.systemOf('no-such-code'), undefined);
  assert.ok(t.primariesOf(LOINC).includes('8867-4'));
  assert.ok(!t.carriersOf(undefined, '8867-4').includes('8867-4'));
});
