import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { Observation } from '@medplum/fhirtypes';
import { VITAL_SIGNS_PROFILE, VITAL_SIGNS_PROFILES, validateFhir } from './fhir-validator.ts';

const examples = new URL('../../test/corpora/fhir-r4-examples/package/', import.meta.url);
const example = (name: string): Observation =>
  JSON.parse(readFileSync(new URL(name, examples), 'utf8')) as Observation;

test('official R4 vital-signs examples pass their own profiles', () => {
  const cases: [string, string][] = [
    ['Observation-heart-rate.json', 'heartrate'],
    ['Observation-blood-pressure.json', 'bp'],
    ['Observation-satO2.json', 'oxygensat'],
    ['Observation-body-temperature.json', 'bodytemp'],
    ['Observation-respiratory-rate.json', 'resprate'],
  ];
  for (const [file, profile] of cases) {
    const obs = example(file);
    assert.deepEqual(validateFhir(obs, VITAL_SIGNS_PROFILES[profile]), [], file);
    assert.deepEqual(validateFhir(obs, VITAL_SIGNS_PROFILE), [], file);
  }
});

test('the validator can fail: missing subject, wrong profile, missing BP component', () => {
  const hr = example('Observation-heart-rate.json');
  const { subject: _s, ...noSubject } = hr;
  assert.ok(validateFhir(noSubject as Observation, VITAL_SIGNS_PROFILE).some((i) => i.includes('subject')));
  assert.notDeepEqual(validateFhir(hr, VITAL_SIGNS_PROFILES.bp), []);
  const bp = example('Observation-blood-pressure.json');
  const oneComponent = { ...bp, component: bp.component?.slice(0, 1) };
  assert.ok(validateFhir(oneComponent, VITAL_SIGNS_PROFILES.bp).some((i) => i.includes('DiastolicBP')));
  const badBase = { ...hr, effectiveDateTime: 'yesterday' };
  assert.notDeepEqual(validateFhir(badBase), []);
  assert.throws(() => validateFhir(hr, 'http://example.org/no-such-profile'));
});
