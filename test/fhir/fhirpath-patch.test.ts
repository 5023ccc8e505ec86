import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validateFhir } from '../support/fhir-validator.ts';
import { describeEachFhir, type FhirHarness, type Json } from './harness.ts';

const op = (type: string, path: string, more: Json[] = []) => ({
  name: 'operation',
  part: [{ name: 'type', valueCode: type }, { name: 'path', valueString: path }, ...more],
});
const patchOf = (...operation: Json[]) => ({ resourceType: 'Parameters', parameter: operation });
const fhir = { 'content-type': 'application/fhir+json' };

describeEachFhir('FHIRPath Patch', (get) => {
  let h: FhirHarness;
  const url = '/fhir/Patient/fpp-1';
  const patch = (body: Json, headers: Record<string, string> = {}) =>
    h.call('PATCH', url, JSON.stringify(body), { ...fhir, ...headers });
  const isOutcome = (r: { status: number; json: Json; text: string }, status: number) => {
    assert.equal(r.status, status, r.text);
    assert.equal(r.json?.resourceType, 'OperationOutcome');
    assert.deepEqual(validateFhir(r.json), []);
  };

  test('setup', async () => {
    h = get();
    const p = await h.call('PUT', url, {
      resourceType: 'Patient',
      id: 'fpp-1',
      birthDate: '1970-01-01',
      name: [{ family: 'Adeyemi', given: ['Ada'] }],
      identifier: [
        { system: 'urn:x', value: 'a' },
        { system: 'urn:x', value: 'b' },
        { system: 'urn:x', value: 'c' },
      ],
    });
    assert.equal(p.status, 201, p.text);
  });

  test('add (spec example: Patient.birthDate) and add to a list', async () => {
    await patch(patchOf(op('delete', 'Patient.birthDate')));
    const r = await patch(
      patchOf(
        op('add', 'Patient', [
          { name: 'name', valueString: 'birthDate' },
          { name: 'value', valueDate: '1930-01-01' },
        ]),
        op('add', 'Patient.name[0]', [
          { name: 'name', valueString: 'given' },
          { name: 'value', valueString: 'Bea' },
        ]),
      ),
    );
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.birthDate, '1930-01-01');
    assert.deepEqual(r.json.name[0].given, ['Ada', 'Bea']);
  });

  test('replace (spec example: Patient.birthDate) and a where() path', async () => {
    const r = await patch(
      patchOf(
        op('replace', 'Patient.birthDate', [{ name: 'value', valueDate: '1930-01-02' }]),
        op('replace', "Patient.identifier.where(value = 'b')", [
          { name: 'value', valueIdentifier: { system: 'urn:x', value: 'B' } },
        ]),
      ),
    );
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.birthDate, '1930-01-02');
    assert.deepEqual(
      r.json.identifier.map((i: Json) => i.value),
      ['a', 'B', 'c'],
    );
  });

  test('insert (spec example: Patient.identifier at index) and move (source → destination)', async () => {
    const ins = await patch(
      patchOf(
        op('insert', 'Patient.identifier', [
          { name: 'index', valueInteger: 0 },
          { name: 'value', valueIdentifier: { system: 'urn:x', value: 'z' } },
        ]),
      ),
    );
    assert.equal(ins.status, 200, ins.text);
    assert.deepEqual(
      ins.json.identifier.map((i: Json) => i.value),
      ['z', 'a', 'B', 'c'],
    );
    const mv = await patch(
      patchOf(
        op('move', 'Patient.identifier', [
          { name: 'source', valueInteger: 0 },
          { name: 'destination', valueInteger: 3 },
        ]),
      ),
    );
    assert.equal(mv.status, 200, mv.text);
    assert.deepEqual(
      mv.json.identifier.map((i: Json) => i.value),
      ['a', 'B', 'c', 'z'],
    );
  });

  test('delete (spec example: Patient.birthDate; a list item by index); deleting nothing is no change', async () => {
    const r = await patch(patchOf(op('delete', 'Patient.birthDate'), op('delete', 'Patient.identifier[3]')));
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.birthDate, undefined);
    assert.deepEqual(
      r.json.identifier.map((i: Json) => i.value),
      ['a', 'B', 'c'],
    );
    const again = await patch(patchOf(op('delete', 'Patient.birthDate')));
    assert.equal(again.status, 200, again.text);
  });

  test('If-Match honoured: a stale version is a 412', async () => {
    const cur = await h.call('GET', url);
    const stale = await patch(patchOf(op('delete', 'Patient.gender')), { 'if-match': 'W/"1"' });
    isOutcome(stale, 412);
    const ok = await patch(patchOf(op('delete', 'Patient.gender')), {
      'if-match': `W/"${cur.json.meta.versionId}"`,
    });
    assert.equal(ok.status, 200, ok.text);
  });

  test('bad paths and malformed operations are OperationOutcomes (400/422), never a 500', async () => {
    const before = await h.call('GET', url);
    isOutcome(await patch(patchOf(op('delete', 'Patient.name.where('))), 400);
    isOutcome(await patch(patchOf(op('jump', 'Patient.name'))), 400);
    isOutcome(await patch(patchOf(op('insert', 'Patient.identifier'))), 400); // no index/value
    isOutcome(await patch({ resourceType: 'Parameters' }), 400);
    isOutcome(await patch(patchOf({ name: 'op' })), 400);
    // replace of something absent, a path matching several, an element Patient does not have
    isOutcome(
      await patch(patchOf(op('replace', 'Patient.gender', [{ name: 'value', valueCode: 'male' }]))),
      422,
    );
    isOutcome(
      await patch(patchOf(op('replace', 'Patient.identifier', [{ name: 'value', valueString: 'x' }]))),
      422,
    );
    isOutcome(
      await patch(
        patchOf(
          op('add', 'Patient', [
            { name: 'name', valueString: 'colour' },
            { name: 'value', valueString: 'blue' },
          ]),
        ),
      ),
      422,
    );
    isOutcome(
      await patch(
        patchOf(
          op('move', 'Patient.identifier', [
            { name: 'source', valueInteger: 0 },
            { name: 'destination', valueInteger: 9 },
          ]),
        ),
      ),
      422,
    );
    // the result is validated like any update (strict on write): an invalid result is a 400, as for a PUT
    isOutcome(
      await patch(patchOf(op('replace', 'Patient.name[0].given[0]', [{ name: 'value', valueInteger: 7 }]))),
      400,
    );
    isOutcome(
      await patch(patchOf(op('replace', 'Patient.id', [{ name: 'value', valueString: 'other' }]))),
      422,
    );
    const after = await h.call('GET', url);
    assert.equal(after.json.meta.versionId, before.json.meta.versionId, 'nothing stored by a failed patch');
  });
});
