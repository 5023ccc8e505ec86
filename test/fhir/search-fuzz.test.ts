import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeEachFhir, type Json } from './harness.ts';

/** mulberry32: a small seeded generator, so a failure replays with the same seed. */
function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const seed = Number(process.env['FHIR_FUZZ_SEED'] ?? 20261203);
const rounds = Number(process.env['FHIR_FUZZ_ROUNDS'] ?? 500);

/** Values that have broken parsers and SQL elsewhere: prefixes, separators, extremes, bytes. */
const values = [
  'x',
  '',
  '|',
  '||',
  '|||',
  '$',
  '$$',
  'a$b$c',
  '8867-4$',
  '$gt5',
  'gt',
  'ap',
  'apx',
  'gt-',
  'ne1e400',
  '1e400',
  '-1e-400',
  '1e308',
  '0',
  '-0',
  '.5',
  '5.',
  '5..5',
  'gt5|',
  'gt5||',
  'gt5|http://unitsofmeasure.org|',
  'gt5||Cel',
  'eq5|x|y|z',
  'true',
  'false',
  'maybe',
  '2025',
  'ge2025-13-40',
  'Patient/x',
  'Patient/',
  'http://x/fhir/Patient/1/_history/2',
  '%',
  '_',
  '\\',
  "'",
  '"',
  '%00',
  '%E0%80',
  '\u00e9',
  'a,b,,c',
  '\\,',
  'x'.repeat(500),
];
const modifiers = [
  '',
  ':missing',
  ':not',
  ':text',
  ':exact',
  ':contains',
  ':identifier',
  ':Patient',
  ':Device',
  ':below',
  ':iterate',
  ':',
  '::',
];

describeEachFhir('FHIR search fuzz: no query is a 5xx', (get) => {
  test(`${rounds} seeded searches (seed ${seed}) answer 200 or a 4xx OperationOutcome`, async () => {
    const h = get();
    const cs = (await h.call('GET', '/fhir/metadata')).json;
    const resources: Json[] = cs.rest[0].resource;
    const rnd = prng(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
    const failures: string[] = [];
    let answered = 0;
    for (let i = 0; i < rounds; i++) {
      const res = pick(resources);
      const parts: string[] = [];
      for (let k = 0; k < 1 + Math.floor(rnd() * 3); k++) {
        const p = pick(res.searchParam as Json[]).name as string;
        const roll = rnd();
        let key: string;
        if (roll < 0.6) key = p + pick(modifiers);
        else if (roll < 0.75)
          key = `${p}.${pick(['identifier', 'name', 'name:exact', 'x', 'identifier.value', '_id', '_has'])}`;
        else if (roll < 0.9)
          key = `_has:${pick(['Observation', 'CareTeam', 'Flag', 'X', ''])}:${pick(['subject', 'patient', 'device', ''])}:${pick(['code', 'value-quantity', 'status', '_has:Observation:subject:code', 'code:text', ''])}`;
        else
          key = pick([
            '_include',
            '_revinclude',
            '_include:iterate',
            '_sort',
            '_total',
            '_summary',
            '_elements',
            '_count',
          ]);
        const value =
          key === '_include' || key === '_revinclude'
            ? pick([...(res.searchInclude ?? []), ...(res.searchRevInclude ?? []), 'x:y', '*'])
            : pick(values);
        parts.push(`${encodeURIComponent(key)}=${encodeURIComponent(value)}`);
      }
      const url = `/fhir/${res.type}?${parts.join('&')}`;
      const prefer = rnd() < 0.3 ? { prefer: 'handling=lenient' } : undefined;
      const r = await h.call('GET', url, undefined, prefer);
      if (r.status === 200) answered++;
      if (r.status >= 500) failures.push(`#${i} ${url.slice(0, 300)} → ${r.status}`);
      else if (r.status >= 400 && r.json?.resourceType !== 'OperationOutcome')
        failures.push(`#${i} ${url.slice(0, 300)} → ${r.status} not an OperationOutcome`);
      else if (r.status === 200 && r.json?.resourceType !== 'Bundle')
        failures.push(`#${i} ${url} → 200 not a Bundle`);
    }
    assert.deepEqual(failures, []);
    // enough of them reach the stores (SQL), not only the parser's refusals
    assert.ok(answered >= rounds / 10, `only ${answered} of ${rounds} answered 200`);
    console.log(`# ${answered} of ${rounds} answered 200`);
  });
});
