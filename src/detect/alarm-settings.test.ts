import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VigilError } from '../core/errors.ts';
import {
  applyAlarmSettings,
  compareReplays,
  episodesOf,
  mergeOverrides,
  type ReplayEpisode,
  settingsDiff,
  validateAlarmChanges,
} from './alarm-settings.ts';
import { builtInProgram } from './programs/index.ts';
import type { ReplayEvent } from './replay.ts';

const hypertension = builtInProgram('hypertension');
if (!hypertension) throw new Error('hypertension program missing');

const refusedAt = (fn: () => unknown, path: RegExp) =>
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof VigilError);
    assert.equal(e.code, 'VIGIL_ERR_DETECT_CONFIG_INVALID');
    assert.match(e.message, path);
    return true;
  });

describe('alarm settings: validation with the rule kinds’ own validators', () => {
  it('accepts a field change and applies it over the program', () => {
    const changes = validateAlarmChanges(hypertension, { 'sbp-high': { clearAt: 145 } });
    const p = applyAlarmSettings(hypertension, changes);
    const rule = p.rules.find((r) => r.id === 'sbp-high') as unknown as { clearAt: number };
    assert.equal(rule.clearAt, 145);
    // The program's own definition is untouched.
    const own = hypertension.rules.find((r) => r.id === 'sbp-high') as unknown as { clearAt: number };
    assert.equal(own.clearAt, 150);
  });

  it('refuses a bad value, an unknown field or rule, an id or kind change, an empty change — by path', () => {
    refusedAt(
      () => validateAlarmChanges(hypertension, { 'sbp-high': { clearAt: 'x' } }),
      /changes\.sbp-high\.clearAt/,
    );
    refusedAt(() => validateAlarmChanges(hypertension, { 'sbp-high': { noSuchField: 1 } }), /noSuchField/);
    refusedAt(() => validateAlarmChanges(hypertension, { 'no-rule': { clearAt: 1 } }), /changes\.no-rule/);
    refusedAt(() => validateAlarmChanges(hypertension, { 'sbp-high': { kind: 'trend' } }), /sbp-high\.kind/);
    refusedAt(() => validateAlarmChanges(hypertension, { 'sbp-high': { id: 'x' } }), /sbp-high\.id/);
    refusedAt(() => validateAlarmChanges(hypertension, {}), /names no rule/);
    refusedAt(() => validateAlarmChanges(hypertension, { 'sbp-high': {} }), /changes no field/);
    refusedAt(() => validateAlarmChanges(hypertension, []), /expected an object/);
  });

  it('merges changes field by field over the overrides in force', () => {
    const m = mergeOverrides(
      { 'sbp-high': { clearAt: 145, persistReadings: 2 } },
      { 'sbp-high': { clearAt: 140 } },
    );
    assert.deepEqual(m, { 'sbp-high': { clearAt: 140, persistReadings: 2 } });
  });

  it('diffs effective values only', () => {
    const after = applyAlarmSettings(hypertension, {
      'sbp-high': { clearAt: 145 },
      'bp-trend': { severity: 'low' },
    });
    // bp-trend's severity is already low: no change reported for it.
    assert.deepEqual(settingsDiff(hypertension, after), [
      { rule: 'sbp-high', field: 'clearAt', before: 150, after: 145 },
    ]);
  });
});

const ev = (
  event: ReplayEvent['event'],
  patientId: string,
  at: string,
  severity: ReplayEvent['severity'] = 'medium',
  conditionKey = 'threshold:8480-6:high',
): ReplayEvent => ({
  event,
  patientId,
  conditionKey,
  rule: 'threshold',
  severity,
  at,
  summary: 's',
  evidence: [],
  data: { ruleId: 'sbp-high' },
});

describe('alarm settings: replay comparison', () => {
  it('turns events into episodes: highest severity, cleared time, configured rule id', () => {
    const eps = episodesOf([
      ev('opened', 'p1', '2026-03-01T08:00:00Z'),
      ev('updated', 'p1', '2026-03-01T08:10:00Z', 'high'),
      ev('cleared', 'p1', '2026-03-01T09:00:00Z'),
      ev('opened', 'p1', '2026-03-02T08:00:00Z'),
    ]);
    assert.equal(eps.length, 2);
    assert.deepEqual(
      eps.map((e) => [e.rule, e.kind, e.severity, e.clearedAt]),
      [
        ['sbp-high', 'threshold', 'high', '2026-03-01T09:00:00Z'],
        ['sbp-high', 'threshold', 'medium', null],
      ],
    );
  });

  const ep = (patientId: string, openedAt: string, clearedAt: string | null): ReplayEpisode => ({
    patientId,
    conditionKey: 'threshold:8480-6:high',
    rule: 'sbp-high',
    kind: 'threshold',
    severity: 'medium',
    openedAt,
    clearedAt,
    summary: 's',
  });
  const end = Date.parse('2026-03-31T00:00:00Z');

  it('an alert delayed but overlapping stays; one with nothing overlapping is removed or added', () => {
    const before = [
      ep('p1', '2026-03-01T08:00:00Z', '2026-03-01T09:00:00Z'),
      ep('p1', '2026-03-05T08:00:00Z', '2026-03-05T09:00:00Z'),
      ep('p2', '2026-03-06T08:00:00Z', null),
    ];
    const after = [
      // Opens 30 min later (longer persistence): the same alarm.
      ep('p1', '2026-03-01T08:30:00Z', '2026-03-01T09:00:00Z'),
      // p2's still-open alert, opened later: overlaps the open one up to the end.
      ep('p2', '2026-03-20T08:00:00Z', null),
      ep('p3', '2026-03-07T08:00:00Z', '2026-03-07T09:00:00Z'),
    ];
    const c = compareReplays(before, after, end);
    assert.deepEqual(
      c.removed.map((e) => [e.patientId, e.openedAt]),
      [['p1', '2026-03-05T08:00:00Z']],
    );
    assert.deepEqual(
      c.added.map((e) => e.patientId),
      ['p3'],
    );
    assert.equal(c.patientsAffected, 2);
    assert.deepEqual(c.byRuleSeverity, [{ rule: 'sbp-high', severity: 'medium', before: 3, after: 3 }]);
    assert.deepEqual(c.before, { alerts: 3, patients: 2 });
    assert.deepEqual(c.after, { alerts: 3, patients: 3 });
  });

  it('another patient’s alert of the same condition does not keep one', () => {
    const c = compareReplays(
      [ep('p1', '2026-03-01T08:00:00Z', '2026-03-01T09:00:00Z')],
      [ep('p2', '2026-03-01T08:00:00Z', '2026-03-01T09:00:00Z')],
      end,
    );
    assert.equal(c.removed.length, 1);
    assert.equal(c.added.length, 1);
  });
});
