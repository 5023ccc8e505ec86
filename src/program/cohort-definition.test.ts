import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isVigilError } from '../core/errors.ts';
import { cohortSql, criterionLabel, Params, validateCohortDefinition } from './cohort-definition.ts';

const refusedAt = (input: unknown, path: string) =>
  assert.throws(
    () => validateCohortDefinition(input),
    (e: unknown) =>
      isVigilError(e) &&
      e.code === 'VIGIL_ERR_PROGRAM_COHORT_INVALID' &&
      e.status === 400 &&
      e.details?.['path'] === path,
  );

describe('cohort definitions', () => {
  it('accepts every criterion kind and keeps only what it knows', () => {
    const d = validateCohortDefinition({
      criteria: [
        { kind: 'program', program: 'home-bp' },
        { kind: 'condition', system: 'http://hl7.org/fhir/sid/icd-10', code: 'I10' },
        { kind: 'measure', code: '8480-6', statistic: 'mean', days: 14, op: '>', value: 150 },
        { kind: 'readings-per-week', code: '85354-9', days: 14, op: '<', value: 3 },
        { kind: 'alerts', severity: 'high', days: 30, op: '>=', value: 2 },
      ],
    });
    assert.equal(d.criteria.length, 5);
    assert.deepEqual(d.criteria.map(criterionLabel), [
      'program home-bp',
      'condition http://hl7.org/fhir/sid/icd-10|I10',
      'mean 8480-6 14d > 150',
      'readings/week 85354-9 14d < 3',
      'alerts high 30d >= 2',
    ]);
  });

  it('names the part that is wrong', () => {
    refusedAt(null, 'definition');
    refusedAt({ criteria: [] }, 'definition.criteria');
    refusedAt({ criteria: [{ kind: 'age' }] }, 'definition.criteria[0].kind');
    refusedAt({ criteria: [{ kind: 'program', program: 'a b' }] }, 'definition.criteria[0].program');
    refusedAt(
      {
        criteria: [
          { kind: 'program', program: 'x' },
          { kind: 'measure', code: '8480-6', statistic: 'mean', days: 400, op: '>', value: 1 },
        ],
      },
      'definition.criteria[1].days',
    );
    refusedAt(
      { criteria: [{ kind: 'measure', code: '8480-6', statistic: 'mean', days: 14, op: '!=', value: 1 }] },
      'definition.criteria[0].op',
    );
    refusedAt(
      { criteria: [{ kind: 'readings-per-week', code: '85354-9', days: 14, op: '<', value: 'three' }] },
      'definition.criteria[0].value',
    );
    refusedAt(
      { criteria: [{ kind: 'alerts', severity: 'urgent', days: 1, op: '>', value: 0 }] },
      'definition.criteria[0].severity',
    );
    refusedAt({ criteria: [{ kind: 'program', program: 'x', extra: 1 }] }, 'definition.criteria[0].extra');
    refusedAt({ criteria: [{ kind: 'program', program: 'x' }], sql: 'drop table' }, 'definition.sql');
  });

  it('passes every value as a parameter, never as statement text', () => {
    const q = new Params();
    const sql = cohortSql(
      validateCohortDefinition({
        criteria: [
          { kind: 'program', program: "x';--" },
          { kind: 'measure', code: "8480-6'", statistic: 'max', days: 7, op: '>=', value: 1 },
        ],
      }),
      { asOf: '2026-03-20T12:00:00.000Z', readable: new Set(["p'1"]) },
      q,
    );
    assert.doesNotMatch(sql, /x';--|8480-6'|p'1/);
    assert.ok(q.values.includes('["x\';--"]'));
    assert.ok(q.values.includes('["p\'1"]'));
    // a statistic over no readings is null: the outer filter drops the patient
    assert.match(sql, /where c1 >= \$\d+::float8/);
  });
});
