import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { newId } from '../../src/core/ids.ts';
import type { Reading } from '../../src/core/reading.ts';
import { readingToObservation } from '../../src/normalize/fhir-observation.ts';
import { type FhirHarness, type Json, startFhir } from './harness.ts';

const LOINC = 'http://loinc.org';
const MDC = 'urn:iso:std:iso:11073:10101';

function hr(patient: string, when: string, value: number, extra: Record<string, unknown> = {}) {
  return {
    resourceType: 'Observation',
    status: 'final',
    category: [
      {
        coding: [
          { system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' },
        ],
      },
    ],
    code: {
      coding: [
        { system: LOINC, code: '8867-4' },
        { system: MDC, code: '147842' },
      ],
    },
    subject: { reference: `Patient/${patient}` },
    effectiveDateTime: when,
    valueQuantity: { value, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
    ...extra,
  };
}

describe('FHIR search', () => {
  let h: FhirHarness;
  let patient: string;
  const ids = (b: Json) =>
    (b.entry ?? []).filter((e: Json) => e.search?.mode === 'match').map((e: Json) => e.resource.id);
  const search = async (q: string, headers?: Record<string, string>) => {
    const r = await h.call('GET', `/fhir/${q}`, undefined, headers);
    assert.equal(r.status, 200, r.text);
    return r.json;
  };

  before(async () => {
    h = await startFhir();
    const p = await h.call('POST', '/fhir/Patient', {
      resourceType: 'Patient',
      identifier: [{ system: 'urn:mrn', value: 'S-1' }],
      name: [{ family: 'Ng', given: ['Alice'] }],
      birthDate: '1970-03-04',
    });
    patient = p.json.id;
    for (let day = 1; day <= 5; day++) {
      const r = await h.call('POST', '/fhir/Observation', hr(patient, `2024-05-0${day}T10:00:00Z`, 60 + day));
      assert.equal(r.status, 201, r.text);
    }
    await h.call('POST', '/fhir/Observation', {
      ...hr(patient, '2024-05-03T12:00:00Z', 97),
      code: {
        coding: [
          { system: LOINC, code: '59408-5' },
          { system: LOINC, code: '2708-6' },
        ],
      },
    });
  });
  after(async () => h?.close());

  test('by patient and code, LOINC and MDC, comma lists', async () => {
    assert.equal(ids(await search(`Observation?patient=${patient}&code=${LOINC}|8867-4`)).length, 5);
    assert.equal(ids(await search(`Observation?subject=Patient/${patient}&code=${MDC}|147842`)).length, 5);
    assert.equal(ids(await search(`Observation?patient=${patient}&code=8867-4,2708-6`)).length, 6);
    assert.equal(ids(await search(`Observation?patient=${patient}&code=${LOINC}|2708-6`)).length, 1);
    assert.equal(ids(await search(`Observation?patient=${patient}&code=${MDC}|8867-4`)).length, 0);
    assert.equal(ids(await search(`Observation?patient=${patient}&category=vital-signs`)).length, 6);
  });

  test('date prefixes', async () => {
    const n = async (d: string) =>
      ids(await search(`Observation?patient=${patient}&code=8867-4&date=${d}`)).length;
    assert.equal(await n('2024-05-03'), 1);
    assert.equal(await n('eq2024-05'), 5);
    assert.equal(await n('ne2024-05-03'), 4);
    assert.equal(await n('lt2024-05-03'), 2);
    assert.equal(await n('le2024-05-03'), 3);
    assert.equal(await n('gt2024-05-03'), 2);
    assert.equal(await n('ge2024-05-03'), 3);
    assert.equal(await n('sa2024-05-03'), 2);
    assert.equal(await n('eb2024-05-03'), 2);
    // ap: within 10 % of the distance from now (well over the 2 days between these readings)
    assert.equal(await n('ap2024-05-03'), 5);
    assert.equal(await n('ap1990-01-01'), 0);
    const both = await search(
      `Observation?patient=${patient}&code=8867-4&date=ge2024-05-02&date=lt2024-05-04`,
    );
    assert.equal(ids(both).length, 2);
    const bad = await h.call('GET', `/fhir/Observation?patient=${patient}&date=xx2024`);
    assert.equal(bad.status, 400);
    assert.equal(bad.json.resourceType, 'OperationOutcome');
  });

  test('_sort, _count, paging with next links, _summary=count', async () => {
    const asc = await search(`Observation?patient=${patient}&code=8867-4&_sort=date`);
    const dates = asc.entry.map((e: Json) => e.resource.effectiveDateTime);
    assert.deepEqual(dates, [...dates].sort());
    const desc = await search(`Observation?patient=${patient}&code=8867-4&_sort=-date`);
    assert.deepEqual(
      desc.entry.map((e: Json) => e.resource.effectiveDateTime),
      [...dates].reverse(),
    );

    const seen: string[] = [];
    let page = await search(`Observation?patient=${patient}&code=8867-4&_count=2`);
    for (;;) {
      seen.push(...ids(page));
      const next = page.link.find((l: Json) => l.relation === 'next');
      if (!next) break;
      assert.match(next.url, /^http:\/\/[^/]+\/fhir\/Observation\?/);
      page = await search(next.url.replace(/^http:\/\/[^/]+\/fhir\//, ''));
    }
    assert.equal(seen.length, 5);
    assert.equal(new Set(seen).size, 5);

    const count = await search(`Observation?patient=${patient}&_summary=count`);
    assert.equal(count.total, 6);
    assert.equal(count.entry, undefined);
  });

  test('_include=Observation:patient', async () => {
    const b = await search(`Observation?patient=${patient}&code=2708-6&_include=Observation:patient`);
    const inc = b.entry.filter((e: Json) => e.search.mode === 'include');
    assert.equal(inc.length, 1);
    assert.equal(inc[0].resource.resourceType, 'Patient');
    assert.equal(inc[0].resource.id, patient);
  });

  test('unknown parameters: 400, or a warning under Prefer: handling=lenient', async () => {
    const strict = await h.call('GET', `/fhir/Observation?patient=${patient}&colour=blue`);
    assert.equal(strict.status, 400);
    assert.match(strict.json.issue[0].diagnostics, /colour/);
    const lenient = await search(`Observation?patient=${patient}&colour=blue`, {
      prefer: 'handling=lenient',
    });
    assert.equal(ids(lenient).length, 6);
    assert.ok(lenient.entry.some((e: Json) => e.search.mode === 'outcome'));
  });

  test('Patient by identifier, name, birthdate', async () => {
    assert.deepEqual(ids(await search('Patient?identifier=urn:mrn|S-1')), [patient]);
    assert.deepEqual(ids(await search('Patient?identifier=S-1')), [patient]);
    assert.deepEqual(ids(await search('Patient?name=ali')), [patient]);
    assert.deepEqual(ids(await search('Patient?name:exact=Ng')), [patient]);
    // :exact is case-sensitive (R4); the plain search is not.
    assert.deepEqual(ids(await search('Patient?name:exact=ng')), []);
    assert.deepEqual(ids(await search('Patient?name=NG')), [patient]);
    assert.deepEqual(ids(await search('Patient?name:contains=lic')), [patient]);
    assert.deepEqual(ids(await search('Patient?birthdate=1970-03')), [patient]);
    assert.deepEqual(ids(await search('Patient?birthdate=lt1970-03-04')), []);
    assert.deepEqual(ids(await search('Patient?birthdate=ge1970-03-04')), [patient]);
  });

  test('registry devices and ingest readings appear as FHIR with the same ids; $lastn', async () => {
    await h.vigil.ctx.devices.register({
      id: 'cuff-1',
      kind: 'blood-pressure-cuff',
      manufacturer: 'Acme',
      model: 'BP-9',
      serial: 'SN1',
      firmware: '1.2',
    });
    await h.vigil.ctx.devices.assign('cuff-1', patient, '2024-01-01T00:00:00Z');
    const dev = await h.call('GET', '/fhir/Device/cuff-1');
    assert.equal(dev.status, 200, dev.text);
    assert.equal(dev.json.manufacturer, 'Acme');
    assert.equal(dev.json.patient.reference, `Patient/${patient}`);
    assert.deepEqual(ids(await search(`Device?patient=${patient}`)), ['cuff-1']);
    assert.deepEqual(ids(await search('Device?type=urn:iso:std:iso:11073:10101|528391')), ['cuff-1']);
    assert.deepEqual(ids(await search('Device?identifier=cuff-1')), ['cuff-1']);

    const reading: Reading = {
      id: newId(),
      deviceId: 'cuff-1',
      patientId: patient,
      code: '8867-4',
      codings: [{ system: MDC, code: '149546' }],
      category: 'vital-signs',
      value: 88,
      unit: '/min',
      components: [],
      effective: '2024-05-06T10:00:00.000Z',
      received: '2024-05-06T10:00:01.000Z',
      flags: [],
      idempotencyKey: `test:${newId()}`,
      transport: 'http',
      profile: 'native-json',
    };
    await h.vigil.ctx.observations.insertBatch(h.vigil.db, [reading]);
    const read = await h.call('GET', `/fhir/Observation/${reading.id}`);
    assert.equal(read.status, 200, read.text);
    assert.equal(read.json.id, reading.id);
    assert.equal(read.json.valueQuantity.value, 88);
    const found = ids(await search(`Observation?patient=${patient}&code=${MDC}|149546`));
    assert.deepEqual(found, [reading.id]);
    assert.ok(ids(await search(`Observation?device=cuff-1`)).includes(reading.id));

    const last = await search(`Observation/$lastn?patient=${patient}&max=2`);
    const byCode = new Map<string, string[]>();
    for (const e of last.entry) {
      const code = e.resource.code.coding.find((c: Json) => c.system === LOINC).code;
      byCode.set(code, [
        ...(byCode.get(code) ?? []),
        e.resource.effectiveDateTime ?? e.resource.effectiveInstant,
      ]);
    }
    assert.equal(byCode.get('8867-4')?.length, 2);
    assert.match(String(byCode.get('8867-4')?.[0]), /^2024-05-06/);
    assert.equal(byCode.get('59408-5')?.length, 1);
  });

  test('ingest rows: extra codings found through the terminology (MDC many-to-one), rendered as normalize renders them', async () => {
    const who = `ingest-${newId()}`;
    const reading = (code: string, codings: Reading['codings'], value: number, unit: string, t: string) =>
      ({
        id: newId(),
        deviceId: 'dev-codings',
        patientId: who,
        code,
        codings,
        category: 'vital-signs',
        value,
        unit,
        components: [],
        effective: t,
        received: t,
        flags: ['low-perfusion'],
        notes: ['moved'],
        original: { value: value * 2, unit },
        idempotencyKey: `test:${newId()}`,
        transport: 'mqtt',
        profile: 'native-json',
      }) satisfies Reading;
    const oximeterRate = reading(
      '8867-4',
      [{ system: MDC, code: '149530', display: 'MDC_PULS_OXIM_PULS_RATE' }],
      71,
      '/min',
      '2024-06-01T10:00:00.000Z',
    );
    const ecgRate = reading(
      '8867-4',
      [{ system: MDC, code: '147842', display: 'MDC_ECG_HEART_RATE' }],
      72,
      '/min',
      '2024-06-01T10:01:00.000Z',
    );
    const spo2 = reading(
      '2708-6',
      [
        { system: LOINC, code: '59408-5', display: 'Oxygen saturation in Arterial blood by Pulse oximetry' },
        { system: MDC, code: '150456', display: 'MDC_PULS_OXIM_SAT_O2' },
      ],
      97,
      '%',
      '2024-06-01T10:02:00.000Z',
    );
    await h.vigil.ctx.observations.insertBatch(h.vigil.db, [oximeterRate, ecgRate, spo2]);
    const q = (code: string) => search(`Observation?patient=${who}&code=${code}`).then(ids);
    assert.deepEqual(await q(`${MDC}|149530`), [oximeterRate.id]);
    assert.deepEqual(await q(`${MDC}|147842`), [ecgRate.id]);
    assert.deepEqual(await q(`${MDC}|149546`), []);
    assert.deepEqual(await q('149530'), [oximeterRate.id]);
    assert.deepEqual(await q(`${LOINC}|8867-4`), [ecgRate.id, oximeterRate.id]);
    assert.deepEqual(await q(`${LOINC}|59408-5`), [spo2.id]);
    assert.deepEqual(await q(`${MDC}|150456`), [spo2.id]);
    assert.deepEqual(await q(`${MDC}|149530,${LOINC}|8867-4`), [ecgRate.id, oximeterRate.id]);
    assert.deepEqual(await q(`${MDC}|`), [spo2.id, ecgRate.id, oximeterRate.id]);
    assert.equal((await search(`Observation?patient=${who}&code=${MDC}|149530&_summary=count`)).total, 1);
    assert.deepEqual(
      ids(await search(`Observation?patient=${who}&code:not=${MDC}|149530`)).sort(),
      [ecgRate.id, spo2.id].sort(),
    );

    // The read path renders exactly what normalize renders (plus version meta).
    const read = await h.call('GET', `/fhir/Observation/${spo2.id}`);
    assert.equal(read.status, 200, read.text);
    const expected = readingToObservation(spo2);
    assert.equal(read.json.meta.versionId, '1');
    assert.match(read.json.meta.lastUpdated, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const { meta, ...rest } = read.json;
    const { meta: expectedMeta, ...expectedRest } = expected;
    assert.deepEqual(rest, expectedRest);
    assert.deepEqual(
      { ...meta, versionId: undefined, lastUpdated: undefined },
      {
        ...expectedMeta,
        versionId: undefined,
        lastUpdated: undefined,
      },
    );
  });

  test('keyset paging: next links carry a cursor; every row once, in order, for each sort', async () => {
    const who = `paging-${newId()}`;
    const rows: Reading[] = [];
    for (let i = 0; i < 23; i++) {
      // Pairs share a timestamp, so the id breaks ties.
      const t = new Date(Date.UTC(2024, 6, 1, 0, Math.floor(i / 2))).toISOString();
      rows.push({
        id: newId(),
        deviceId: 'dev-paging',
        patientId: who,
        code: '8867-4',
        codings: [],
        category: 'vital-signs',
        value: 60 + i,
        unit: '/min',
        components: [],
        effective: t,
        received: t,
        flags: [],
        idempotencyKey: `test:${newId()}`,
        transport: 'mqtt',
        profile: 'native-json',
      });
    }
    await h.vigil.ctx.observations.insertBatch(h.vigil.db, rows);
    for (const sort of ['-date', 'date', '_id', '-_id', '-_lastUpdated']) {
      const all = ids(await search(`Observation?patient=${who}&_sort=${sort}&_count=100`));
      assert.equal(all.length, 23);
      const seen: string[] = [];
      let page = await search(`Observation?patient=${who}&_sort=${sort}&_count=5`);
      for (;;) {
        seen.push(...ids(page));
        const next = page.link.find((l: Json) => l.relation === 'next');
        if (!next) break;
        assert.match(next.url, /_cursor=/);
        page = await search(next.url.replace(/^http:\/\/[^/]+\/fhir\//, ''));
        const prev = page.link.find((l: Json) => l.relation === 'previous');
        assert.ok(prev && !/_cursor=/.test(prev.url), 'previous links page by offset');
      }
      assert.deepEqual(seen, all, `sort ${sort}`);
    }
    const bad = await h.call('GET', `/fhir/Observation?patient=${who}&_cursor=not-a-cursor`);
    assert.equal(bad.status, 400);
    assert.equal(bad.json.resourceType, 'OperationOutcome');
  });

  test('CareTeam by participant and patient', async () => {
    const pr = await h.call('POST', '/fhir/Practitioner', {
      resourceType: 'Practitioner',
      name: [{ family: 'House' }],
    });
    const ct = await h.call('POST', '/fhir/CareTeam', {
      resourceType: 'CareTeam',
      status: 'active',
      subject: { reference: `Patient/${patient}` },
      participant: [{ member: { reference: `Practitioner/${pr.json.id}` } }],
    });
    assert.equal(ct.status, 201, ct.text);
    assert.deepEqual(ids(await search(`CareTeam?participant=Practitioner/${pr.json.id}`)), [ct.json.id]);
    assert.deepEqual(ids(await search(`CareTeam?patient=${patient}`)), [ct.json.id]);
    assert.deepEqual(ids(await search('CareTeam?patient=nobody')), []);
  });
});
