/**
 * Golden files: each golden/<case>.input.json (an envelope + the identity ingest would give) beside
 * golden/<case>.observations.json, the FHIR it must become — written by hand, not generated.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { Observation } from '@medplum/fhirtypes';
import { validateFhir } from '../../test/support/fhir-validator.ts';
import type { Transport } from '../core/reading.ts';
import { readingToObservation } from './fhir-observation.ts';
import { type NormalizeEnvelope, normalize } from './normalize.ts';
import { EXAMPLE_TEMPLATES } from './templates/index.ts';
import { completeReading } from './test-helpers.ts';

const dir = new URL('./golden/', import.meta.url);
const read = (name: string) => JSON.parse(readFileSync(new URL(name, dir), 'utf8'));
const cases = readdirSync(dir)
  .filter((f) => f.endsWith('.input.json'))
  .map((f) => f.replace(/\.input\.json$/, ''));

test('there are golden cases', () => assert.ok(cases.length >= 3));

for (const name of cases) {
  test(`golden ${name}`, () => {
    const input = read(`${name}.input.json`) as {
      envelope: NormalizeEnvelope;
      reading: { id: string; patientId: string | null; transport: Transport };
    };
    const expected = read(`${name}.observations.json`) as Observation[];
    const { readings } = normalize(input.envelope, { templates: EXAMPLE_TEMPLATES });
    const received = new Date(input.envelope.receivedAt).toISOString();
    const actual = readings.map((d, i) =>
      readingToObservation(
        completeReading(d, { ...input.reading, id: `${input.reading.id}-${i}`, received }),
      ),
    );
    assert.deepEqual(actual, expected);
    for (const obs of expected) {
      assert.deepEqual(validateFhir(obs, obs.meta?.profile?.[0]), []);
    }
  });
}
