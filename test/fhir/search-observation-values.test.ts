import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newId } from '../../src/core/ids.ts';
import type { Reading } from '../../src/core/reading.ts';
import { describeEachFhir, type FhirHarness, type Json } from './harness.ts';

const LOINC = 'http://loinc.org';
const UCUM = 'http://unitsofmeasure.org';
const MDC = 'urn:iso:std:iso:11073:10101';

const qty = (value: number, code: string) => ({ value, unit: code, system: UCUM, code });
const obs = (patient: string, code: string, extra: Json) => ({
  resourceType: 'Observation',
  status: 'final',
  code: { coding: [{ system: LOINC, code }] },
  subject: { reference: `Patient/${patient}` },
  effectiveDateTime: '2025-05-01T10:00:00Z',
  ...extra,
});
const bp = (patient: string, sys: number, dia: number) =>
  obs(patient, '85354-9', {
    code: { coding: [{ system: LOINC, code: '85354-9' }], text: 'Blood pressure panel' },
    component: [
      {
        code: { coding: [{ system: LOINC, code: '8480-6', display: 'Systolic blood pressure' }] },
        valueQuantity: qty(sys, 'mm[Hg]'),
      },
      {
        code: { coding: [{ system: LOINC, code: '8462-4', display: 'Diastolic blood pressure' }] },
        valueQuantity: qty(dia, 'mm[Hg]'),
      },
    ],
  });

const ingest = (patient: string, extra: Partial<Reading>): Reading => ({
  id: newId(),
  deviceId: 'dev-values',
  patientId: patient,
  code: '8867-4',
  codings: [],
  category: 'vital-signs',
  value: null,
  unit: null,
  components: [],
  effective: '2025-05-02T10:00:00.000Z',
  received: '2025-05-02T10:00:01.000Z',
  flags: [],
  idempotencyKey: `test:${newId()}`,
  transport: 'http',
  profile: 'native-json',
  ...extra,
});

describeEachFhir('FHIR Observation value, component and composite search', (get) => {
  let h: FhirHarness;
  const id: Record<string, string> = {};
  const pa = `va-${newId().slice(-8)}`;
  const pb = `vb-${newId().slice(-8)}`;
  const ids = (b: Json) =>
    (b.entry ?? [])
      .filter((e: Json) => e.search?.mode === 'match')
      .map((e: Json) => e.resource.id)
      .sort();
  /** Match ids of a search restricted to the two fixture patients. */
  const find = async (q: string, headers?: Record<string, string>) => {
    const r = await h.call(
      'GET',
      `/fhir/Observation?subject=Patient/${pa},Patient/${pb}&${q}`,
      undefined,
      headers,
    );
    assert.equal(r.status, 200, `${q}: ${r.text}`);
    return ids(r.json);
  };
  const of = (...names: string[]) => names.map((n) => id[n] as string).sort();

  test('setup: FHIR-written and ingest Observations for two patients', async () => {
    h = get();
    for (const [p, mrn] of [
      [pa, 'A-1'],
      [pb, 'B-1'],
    ] as const) {
      const r = await h.call('PUT', `/fhir/Patient/${p}`, {
        resourceType: 'Patient',
        id: p,
        identifier: [{ system: 'urn:mrn', value: `${mrn}-${p}` }],
        name: [{ family: p === pa ? 'Alpha' : 'Beta' }],
      });
      assert.equal(r.status, 201, r.text);
    }
    const enc = await h.call('PUT', '/fhir/Encounter/enc-1', {
      resourceType: 'Encounter',
      id: 'enc-1',
      status: 'in-progress',
      class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'HH' },
      subject: { reference: `Patient/${pa}` },
    });
    assert.equal(enc.status, 201, enc.text);
    const written: Record<string, Json> = {
      hrA: obs(pa, '8867-4', {
        code: { coding: [{ system: LOINC, code: '8867-4', display: 'Heart rate' }], text: 'Heart rate' },
        valueQuantity: qty(72, '/min'),
        subject: { reference: `Patient/${pa}`, identifier: { system: 'urn:mrn', value: `A-1-${pa}` } },
        encounter: { reference: 'Encounter/enc-1' },
      }),
      hrB: obs(pb, '8867-4', { valueQuantity: qty(130, '{beats}/min') }),
      bpA: bp(pa, 145, 90),
      bpB: bp(pb, 118, 76),
      tempA: obs(pa, '8310-5', { valueQuantity: qty(37.0, 'Cel') }),
      tempB: obs(pb, '8310-5', { valueQuantity: qty(100.4, '[degF]') }),
      weightOther: obs(pb, '29463-7', {
        valueQuantity: { value: 70, unit: 'kilo', system: 'urn:local-units', code: 'KG' },
      }),
      textOnly: obs(pb, '', { code: { text: 'Pain score' }, valueString: 'mild' }),
    };
    for (const [k, body] of Object.entries(written)) {
      const r = await h.call('POST', '/fhir/Observation', body);
      assert.equal(r.status, 201, `${k}: ${r.text}`);
      id[k] = r.json.id;
    }
    const readings: Record<string, Reading> = {
      ingestHrA: ingest(pa, { value: 88, unit: '/min', codings: [{ system: MDC, code: '149546' }] }),
      ingestBpB: ingest(pb, {
        code: '85354-9',
        components: [
          { code: '8480-6', value: 160, unit: 'mm[Hg]', codings: [{ system: MDC, code: '150021' }] },
          { code: '8462-4', value: 95, unit: 'mm[Hg]' },
        ],
      }),
    };
    await h.vigil.ctx.observations.insertBatch(h.vigil.db, Object.values(readings));
    for (const [k, r] of Object.entries(readings)) id[k] = r.id;
  });

  test('value-quantity: a number matches within its precision; prefixes eq ne gt lt ge le sa eb ap', async () => {
    assert.deepEqual(await find('value-quantity=72'), of('hrA'));
    assert.deepEqual(await find('value-quantity=72.0'), of('hrA'));
    assert.deepEqual(await find('value-quantity=72.4'), []);
    assert.deepEqual(await find('value-quantity=eq88'), of('ingestHrA'));
    assert.deepEqual(await find('code=8867-4&value-quantity=gt80'), of('hrB', 'ingestHrA'));
    assert.deepEqual(await find('code=8867-4&value-quantity=ge88'), of('hrB', 'ingestHrA'));
    assert.deepEqual(await find('code=8867-4&value-quantity=lt88'), of('hrA'));
    assert.deepEqual(await find('code=8867-4&value-quantity=le88'), of('hrA', 'ingestHrA'));
    assert.deepEqual(await find('code=8867-4&value-quantity=sa100'), of('hrB'));
    assert.deepEqual(await find('code=8867-4&value-quantity=eb80'), of('hrA'));
    assert.deepEqual(await find('code=8867-4&value-quantity=ne72'), of('hrB', 'ingestHrA'));
    // ap: within 10 % of the value
    assert.deepEqual(await find('value-quantity=ap80'), of('hrA', 'ingestHrA'));
    assert.deepEqual(await find('value-quantity=ap60'), []);
    // comma = or
    assert.deepEqual(await find('value-quantity=72,130'), of('hrA', 'hrB'));
    // extremes stay finite or compare as infinities, never an error
    assert.deepEqual(await find('value-quantity=ap1.7e308'), []);
    assert.deepEqual(await find('value-quantity=ap-1.7e308'), []);
    assert.deepEqual(await find('code=8867-4&value-quantity=gt-1.7e308'), of('hrA', 'hrB', 'ingestHrA'));
  });

  test('value-quantity with units: system|code, code alone, UCUM conversions, another system', async () => {
    assert.deepEqual(await find(`value-quantity=72|${UCUM}|/min`), of('hrA'));
    assert.deepEqual(await find(`value-quantity=gt0|${UCUM}|/min`), of('hrA', 'hrB', 'ingestHrA'));
    assert.deepEqual(await find('value-quantity=72||/min'), of('hrA'));
    assert.deepEqual(await find(`value-quantity=72|${UCUM}|Cel`), []);
    // 100.4 °F = 38 °C; 37 °C = 98.6 °F
    assert.deepEqual(await find(`value-quantity=38|${UCUM}|Cel`), of('tempB'));
    assert.deepEqual(await find(`value-quantity=98.6|${UCUM}|[degF]`), of('tempA'));
    assert.deepEqual(await find(`value-quantity=gt37.5|${UCUM}|Cel`), of('tempB'));
    // A unit of another system: only that system's quantities; without a system, the unit text too
    assert.deepEqual(await find('value-quantity=70|urn:local-units|KG'), of('weightOther'));
    assert.deepEqual(await find(`value-quantity=70|${UCUM}|KG`), []);
    assert.deepEqual(await find('value-quantity=70||kilo'), of('weightOther'));
    // a malformed value is a 400 naming the parameter
    for (const bad of ['value-quantity=abc', 'value-quantity=xx5', 'value-quantity=5|only-system']) {
      const r = await h.call('GET', `/fhir/Observation?${bad}`);
      assert.equal(r.status, 400, bad);
      assert.equal(r.json.resourceType, 'OperationOutcome');
      assert.deepEqual(r.json.issue[0].expression, ['value-quantity']);
    }
  });

  test('component-code, combo-code, component-value-quantity (FHIR-written and ingest panels)', async () => {
    assert.deepEqual(await find(`component-code=${LOINC}|8480-6`), of('bpA', 'bpB', 'ingestBpB'));
    assert.deepEqual(await find('component-code=8462-4'), of('bpA', 'bpB', 'ingestBpB'));
    // the MDC coding an ingest component carries
    assert.deepEqual(await find(`component-code=${MDC}|150021`), of('ingestBpB'));
    assert.deepEqual(await find('component-code=8867-4'), []);
    assert.deepEqual(await find('combo-code=8480-6'), of('bpA', 'bpB', 'ingestBpB'));
    assert.deepEqual(await find('combo-code=8867-4'), of('hrA', 'hrB', 'ingestHrA'));
    assert.deepEqual(await find('component-value-quantity=gt140'), of('bpA', 'ingestBpB'));
    assert.deepEqual(await find('combo-value-quantity=gt140'), of('bpA', 'ingestBpB'));
    assert.deepEqual(await find('combo-value-quantity=130'), of('hrB'));
  });

  test('composite code$value: code-value-quantity, component-code-value-quantity, combo-code-value-quantity', async () => {
    assert.deepEqual(await find(`code-value-quantity=${LOINC}|8867-4$gt100`), of('hrB'));
    assert.deepEqual(await find('code-value-quantity=8867-4$ge72'), of('hrA', 'hrB', 'ingestHrA'));
    assert.deepEqual(await find('code-value-quantity=8310-5$gt100'), of('tempB'));
    assert.deepEqual(await find(`code-value-quantity=8310-5$38|${UCUM}|Cel`), of('tempB'));
    // the code and the value of the SAME component: systolic ≥ 140 is bpA and the ingest panel;
    // diastolic ≥ 140 is none (bpA has 145 only as systolic)
    assert.deepEqual(
      await find(`component-code-value-quantity=${LOINC}|8480-6$ge140`),
      of('bpA', 'ingestBpB'),
    );
    assert.deepEqual(await find(`component-code-value-quantity=${LOINC}|8462-4$ge140`), []);
    assert.deepEqual(await find('component-code-value-quantity=8462-4$gt80'), of('bpA', 'ingestBpB'));
    assert.deepEqual(
      await find(`component-code-value-quantity=8480-6$lt150|${UCUM}|mm[Hg]`),
      of('bpA', 'bpB'),
    );
    assert.deepEqual(await find('combo-code-value-quantity=8480-6$gt150'), of('ingestBpB'));
    assert.deepEqual(await find('combo-code-value-quantity=8867-4$gt100'), of('hrB'));
    const bad = await h.call('GET', '/fhir/Observation?code-value-quantity=8867-4');
    assert.equal(bad.status, 400);
    assert.match(bad.json.issue[0].diagnostics, /code\$value/);
  });

  test(':missing on value-quantity, encounter, component-code, subject', async () => {
    assert.deepEqual(await find('value-quantity:missing=true'), of('bpA', 'bpB', 'ingestBpB', 'textOnly'));
    assert.deepEqual(
      await find('value-quantity:missing=false'),
      of('hrA', 'hrB', 'tempA', 'tempB', 'weightOther', 'ingestHrA'),
    );
    assert.deepEqual(await find('encounter:missing=false'), of('hrA'));
    assert.equal((await find('encounter:missing=true')).length, Object.keys(id).length - 1);
    assert.deepEqual(await find('component-code:missing=false'), of('bpA', 'bpB', 'ingestBpB'));
    assert.deepEqual(await find('subject:missing=true'), []);
    const bad = await h.call('GET', '/fhir/Observation?encounter:missing=maybe');
    assert.equal(bad.status, 400);
  });

  test(':text on code and component-code; :not on tokens; :identifier on subject', async () => {
    assert.deepEqual(await find('code:text=heart'), of('hrA', 'ingestHrA'));
    assert.deepEqual(await find('code:text=pain'), of('textOnly'));
    assert.deepEqual(await find('code:text=score'), of('textOnly'));
    assert.deepEqual(await find('code:text=blood pressure'), of('bpA', 'bpB', 'ingestBpB'));
    assert.deepEqual(await find('component-code:text=systolic'), of('bpA', 'bpB', 'ingestBpB'));
    assert.deepEqual(await find('combo-code:text=diastolic'), of('bpA', 'bpB', 'ingestBpB'));
    assert.deepEqual(await find('code:text=nothing-like-this'), []);
    assert.deepEqual(
      await find('code:not=8867-4'),
      of('bpA', 'bpB', 'ingestBpB', 'tempA', 'tempB', 'weightOther', 'textOnly'),
    );
    assert.deepEqual(await find(`subject:identifier=urn:mrn|A-1-${pa}`), of('hrA'));
    assert.deepEqual(await find(`patient:identifier=A-1-${pa}`), of('hrA'));
    assert.deepEqual(await find('subject:identifier=urn:mrn|nobody'), []);
  });

  test('unsupported parameters and modifiers: strict 400 naming them, lenient ignored and reported', async () => {
    for (const q of ['colour=blue', 'code:below=8867', 'status:text=final', 'date:missing=true']) {
      const strict = await h.call('GET', `/fhir/Observation?patient=${pa}&${q}`, undefined, {
        prefer: 'handling=strict',
      });
      assert.equal(strict.status, 400, q);
      assert.equal(strict.json.resourceType, 'OperationOutcome');
      const name = q.split('=')[0] as string;
      assert.ok(
        strict.json.issue[0].diagnostics.includes(name.split(':')[0]),
        strict.json.issue[0].diagnostics,
      );
      const lenient = await h.call('GET', `/fhir/Observation?patient=${pa}&${q}`, undefined, {
        prefer: 'handling=lenient',
      });
      assert.equal(lenient.status, 200, `${q}: ${lenient.text}`);
      const warn = lenient.json.entry.find((e: Json) => e.search?.mode === 'outcome');
      assert.ok(warn, q);
      assert.ok(warn.resource.issue[0].diagnostics.includes(name), warn.resource.issue[0].diagnostics);
      // the rest of the search still applies
      assert.equal(ids(lenient.json).length, 4, q);
    }
    // :text, :identifier and quantity parameters are Observation's: on a generic type, not supported
    const generic = await h.call('GET', '/fhir/Patient?organization:identifier=x');
    assert.equal(generic.status, 400);
    assert.equal(generic.json.issue[0].code, 'not-supported');
  });
});
