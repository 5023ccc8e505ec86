import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeEachFhir, type Json, r4Example } from './harness.ts';

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

const seed = Number(process.env['FHIR_FUZZ_SEED'] ?? 20261202);
const rounds = Number(process.env['FHIR_FUZZ_ROUNDS'] ?? 600);

/** Raw JSON fragments no well-behaved client sends (some not writable as JS values). */
const nasty = [
  '"\\u0000"',
  '"a\\u0000b"',
  '"\\ud800"',
  '"\\udc00x"',
  '1e400',
  '-1e400',
  '42',
  '0.1',
  'true',
  'null',
  '[]',
  '{}',
  '"1990-02-30"',
  '"F"',
  '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]',
  '"Patient/%00"',
  '{"reference":42}',
  '{"reference":"Patient/\\u0000"}',
  '"x".repeat',
  '"' + 'é'.repeat(50) + '"',
];

const seeds: Json[] = [
  r4Example('Observation-heart-rate.json'),
  r4Example('Observation-blood-pressure.json'),
  r4Example('Patient-example.json'),
  {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [{ resource: { resourceType: 'Patient' }, request: { method: 'POST', url: 'Patient' } }],
  },
  { resourceType: 'CareTeam', status: 'active', subject: { reference: 'Patient/fz' } },
];

/** Every path to a value of a JSON tree (as keys), for picking one to replace. */
function paths(n: Json, prefix: Array<string | number> = [], out: Array<Array<string | number>> = []) {
  out.push(prefix);
  if (n && typeof n === 'object')
    for (const [k, v] of Object.entries(n)) paths(v, [...prefix, Array.isArray(n) ? Number(k) : k], out);
  return out;
}

/** JSON text of `doc` with the value at `path` replaced by the raw fragment. */
function withFragment(doc: Json, path: Array<string | number>, fragment: string): string {
  const marker = '__FUZZ_MARKER__';
  if (path.length === 0) return fragment;
  const copy = structuredClone(doc);
  let n = copy;
  for (const k of path.slice(0, -1)) n = n[k];
  n[path[path.length - 1] as string] = marker;
  return JSON.stringify(copy).replace(`"${marker}"`, fragment);
}

describeEachFhir('FHIR fuzz: no bad input is a 5xx', (get) => {
  test(`${rounds} seeded requests (seed ${seed}) answer 2xx/4xx, errors as OperationOutcomes`, async () => {
    const h = get();
    await h.call('PUT', '/fhir/Patient/fz', { resourceType: 'Patient', id: 'fz' });
    const rnd = prng(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
    const failures: string[] = [];
    for (let i = 0; i < rounds; i++) {
      const kind = rnd();
      let method: 'GET' | 'POST' | 'PUT' | 'PATCH' = 'POST';
      let url: string;
      let body: string | undefined;
      let headers: Record<string, string> = {};
      if (kind < 0.6) {
        const doc = pick(seeds);
        body = withFragment(doc, pick(paths(doc)), pick(nasty));
        url = doc.resourceType === 'Bundle' ? '/fhir' : `/fhir/${doc.resourceType}`;
        if (rnd() < 0.2) {
          method = 'PUT';
          url = `/fhir/${doc.resourceType}/fz-${i}`;
        }
      } else if (kind < 0.75) {
        method = 'GET';
        const bytes = Array.from(
          { length: 1 + Math.floor(rnd() * 6) },
          () =>
            `%${Math.floor(rnd() * 256)
              .toString(16)
              .padStart(2, '0')}`,
        ).join('');
        url = pick([
          `/fhir/Patient/${bytes}`,
          `/fhir/Observation?code=${bytes}`,
          `/fhir/Patient?name=${bytes}`,
          `/fhir/${bytes}`,
          `/fhir/Observation?date=${bytes}`,
          `/fhir/Patient/${bytes}/_history/${bytes}`,
        ]);
      } else if (kind < 0.85) {
        method = 'PATCH';
        url = '/fhir/Patient/fz';
        headers = { 'content-type': 'application/json-patch+json' };
        body = `[{"op":${pick(['"add"', '"replace"', '"remove"', '"test"', '42', 'null'])},"path":${pick(['"/name"', '"/id"', '"/x/y/z"', '42', '"/gender"'])},"value":${pick(nasty)}}]`;
      } else {
        body = pick([
          '{"resourceType":"Bundle","type":"transaction","entry":"x"}',
          '{"resourceType":"Bundle","type":"transaction","entry":[42]}',
          '{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":42,"url":"Patient"}}]}',
          '{"resourceType":"Bundle","type":"transaction","entry":[{"request":{"method":"POST","url":"Patient"},"resource":"x"}]}',
          '{"resourceType":"Bundle","type":"transaction","entry":[{"request":{"method":"POST","url":"Patient","ifNoneExist":42},"resource":{"resourceType":"Patient"}}]}',
          '{"resourceType":"Bundle","type":"transaction","entry":[{"request":{"method":"GET","url":"Patient?name=%E0"}}]}',
          '{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"GET","url":"Patient/\\u0000"}}]}',
          '{"resourceType":"Bundle","type":{"x":1}}',
          '{"resourceType":42}',
          '"just a string"',
          '{"resourceType":"Patient","name":[{"family":"\\u0000"}]',
        ]);
        url = '/fhir';
      }
      const r = await h.call(method, url, body, headers);
      if (r.status >= 500)
        failures.push(
          `#${i} ${method} ${url.slice(0, 80)} ${body?.slice(0, 200)} → ${r.status} ${r.text.slice(0, 200)}`,
        );
      else if (r.status >= 400 && r.json?.resourceType !== 'OperationOutcome')
        failures.push(
          `#${i} ${method} ${url.slice(0, 80)} → ${r.status} not an OperationOutcome: ${r.text.slice(0, 200)}`,
        );
    }
    assert.deepEqual(failures, []);
  });
});
