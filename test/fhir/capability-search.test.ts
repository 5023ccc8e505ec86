import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validateFhir } from '../support/fhir-validator.ts';
import { describeEachFhir, type FhirHarness, type Json } from './harness.ts';

/** A well-formed value for a parameter of this type (what matches does not matter here). */
const sample: Record<string, string> = {
  token: 'x',
  reference: 'x',
  string: 'x',
  date: 'ge2025-01-01',
  quantity: 'gt5',
  composite: 'x$gt5',
};

describeEachFhir('the CapabilityStatement is true to the search code', (get) => {
  let h: FhirHarness;
  let cs: Json;

  test('metadata is valid R4 and lists searchInclude and searchRevInclude', async () => {
    h = get();
    const r = await h.call('GET', '/fhir/metadata');
    assert.equal(r.status, 200);
    assert.deepEqual(validateFhir(r.json), []);
    cs = r.json;
    const patient = cs.rest[0].resource.find((x: Json) => x.type === 'Patient');
    assert.ok(patient.searchRevInclude.includes('Observation:subject'));
    assert.ok(patient.searchRevInclude.includes('CareTeam:patient'));
    const obs = cs.rest[0].resource.find((x: Json) => x.type === 'Observation');
    for (const p of [
      'value-quantity',
      'component-code',
      'combo-code',
      'code-value-quantity',
      'component-code-value-quantity',
    ])
      assert.ok(
        obs.searchParam.some((s: Json) => s.name === p),
        p,
      );
    assert.ok(obs.searchInclude.includes('Observation:subject'));
  });

  test('every advertised parameter, modifier, _include and _revinclude is accepted (strict handling)', async () => {
    let checked = 0;
    for (const res of cs.rest[0].resource) {
      const queries: string[] = [];
      for (const p of res.searchParam) {
        const value = p.name === '_lastUpdated' ? 'ge2025-01-01' : (sample[p.type] as string);
        assert.ok(value, `${res.type}.${p.name}: no sample for type ${p.type}`);
        queries.push(`${p.name}=${encodeURIComponent(value)}`);
        const mods = /Modifiers: (.*)$/.exec(p.documentation ?? '')?.[1]?.split(' ') ?? [];
        for (const m of mods) {
          const name = m.slice(1);
          const v = name === 'missing' ? 'true' : p.type === 'reference' && /^[A-Z]/.test(name) ? 'x' : value;
          queries.push(`${p.name}:${name}=${encodeURIComponent(v)}`);
        }
      }
      for (const inc of res.searchInclude ?? []) queries.push(`_include=${inc}`);
      for (const rev of res.searchRevInclude ?? []) queries.push(`_revinclude=${rev}`);
      for (const q of queries) {
        const r = await h.call('GET', `/fhir/${res.type}?${q}`, undefined, { prefer: 'handling=strict' });
        assert.equal(r.status, 200, `${res.type}?${q}: ${r.text}`);
        assert.equal(r.json.resourceType, 'Bundle');
        checked++;
      }
    }
    assert.ok(checked > 150, `checked ${checked}`);
  });

  test('an unadvertised modifier on each type is refused, never a 500', async () => {
    for (const res of cs.rest[0].resource) {
      for (const p of res.searchParam) {
        const r = await h.call('GET', `/fhir/${res.type}?${p.name}:below=x`);
        assert.equal(r.status, 400, `${res.type}?${p.name}:below: ${r.text}`);
        assert.equal(r.json.resourceType, 'OperationOutcome');
      }
    }
  });
});
