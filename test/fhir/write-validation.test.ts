import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validateFhir } from '../support/fhir-validator.ts';
import { describeEachFhir, ensureTargets, type FhirHarness, type Json, r4Example } from './harness.ts';

/** What a server may change: id, meta.versionId, meta.lastUpdated (and an emptied meta). */
function strip(r: Json): Json {
  const { id: _id, meta, ...rest } = r;
  const { versionId: _v, lastUpdated: _l, ...m } = meta ?? {};
  return Object.keys(m).length ? { ...rest, meta: m } : rest;
}

const obs = (extra: Json) => ({
  resourceType: 'Observation',
  status: 'final',
  code: { text: 'pulse' },
  ...extra,
});

/**
 * Each invalid resource of the integrators' report, as raw JSON (some cannot be written as a JS
 * literal: 1e400, a lone surrogate), with the status and the FHIRPath each refusal must name.
 */
const invalid: Array<{ what: string; type: string; body: string; status: number; expression: string }> = [
  {
    what: 'an unknown element',
    type: 'Patient',
    body: '{"resourceType":"Patient","nickname":"Bob"}',
    status: 400,
    expression: 'Patient.nickname',
  },
  {
    what: 'gender F (required value set)',
    type: 'Patient',
    body: '{"resourceType":"Patient","gender":"F"}',
    status: 400,
    expression: 'Patient.gender',
  },
  {
    what: 'birthDate 1990-02-30',
    type: 'Patient',
    body: '{"resourceType":"Patient","birthDate":"1990-02-30"}',
    status: 400,
    expression: 'Patient.birthDate',
  },
  {
    what: 'valueQuantity.value "72"',
    type: 'Observation',
    body: JSON.stringify(obs({ valueQuantity: { value: '72' } })),
    status: 400,
    expression: 'Observation.value[x].value',
  },
  {
    what: 'valueQuantity.value 1e400',
    type: 'Observation',
    body: '{"resourceType":"Observation","status":"final","code":{"text":"pulse"},"valueQuantity":{"value":1e400}}',
    status: 400,
    expression: 'Observation.value[x].value',
  },
  {
    what: 'subject.reference 42',
    type: 'Observation',
    body: JSON.stringify(obs({ subject: { reference: 42 } })),
    status: 400,
    expression: 'Observation.subject.reference',
  },
  {
    what: 'category as a string',
    type: 'Observation',
    body: JSON.stringify(obs({ category: 'vital-signs' })),
    status: 400,
    expression: 'Observation.category',
  },
  {
    what: 'status bogus',
    type: 'Observation',
    body: JSON.stringify(obs({ status: 'bogus' })),
    status: 400,
    expression: 'Observation.status',
  },
  {
    what: 'no code (cardinality 1..1)',
    type: 'Observation',
    body: '{"resourceType":"Observation","status":"final"}',
    status: 400,
    expression: 'Observation.code',
  },
  {
    what: 'effectiveDateTime 2024-13-01',
    type: 'Observation',
    body: JSON.stringify(obs({ effectiveDateTime: '2024-13-01' })),
    status: 400,
    expression: 'Observation.effective[x]',
  },
  {
    what: 'a NUL in a string',
    type: 'Patient',
    body: '{"resourceType":"Patient","name":[{"family":"a\\u0000b"}]}',
    status: 400,
    expression: 'Patient.name[0].family',
  },
  {
    what: 'an unpaired surrogate',
    type: 'Patient',
    body: '{"resourceType":"Patient","name":[{"family":"a\\ud800b"}]}',
    status: 400,
    expression: 'Patient.name[0].family',
  },
  {
    what: 'a reference to a missing Patient',
    type: 'Observation',
    body: JSON.stringify(obs({ subject: { reference: 'Patient/no-such-patient' } })),
    status: 422,
    expression: 'Observation.subject.reference',
  },
  {
    what: 'a reference of the wrong type',
    type: 'Observation',
    body: JSON.stringify(obs({ subject: { reference: 'Organization/org-v' } })),
    status: 400,
    expression: 'Observation.subject.reference',
  },
  {
    what: 'a shipped profile it fails (heartrate without a value)',
    type: 'Observation',
    body: JSON.stringify(
      obs({
        meta: { profile: ['http://hl7.org/fhir/StructureDefinition/heartrate'] },
        subject: { reference: 'Patient/pat-v' },
      }),
    ),
    status: 422,
    expression: 'Observation',
  },
];

/** Valid R4 Observations whose code has only text: refused before, stored now. */
const textOnly = [
  'Observation-decimal.json',
  'Observation-example-genetics-3.json',
  'Observation-example-genetics-4.json',
  'Observation-example-genetics-5.json',
  'Observation-eye-color.json',
];

/**
 * Every official R4 example of a type Vigil writes (Flag, Communication and AuditEvent are
 * read-only views). Two more are refused, rightly: DeviceMetric-example.json (parent names a
 * DeviceDefinition where R4 allows a Device) and Observation-clinical-gender.json (a performer that
 * is an Encounter) — see `wrongTargets`.
 */
const roundTrip = [
  'Bundle-101.json',
  'Bundle-10bb101f-a121-4264-a920-67be9cb82c74.json',
  'Bundle-3a0707d3-549e-4467-b8b8-5a2ab3800efe.json',
  'Bundle-3ad0687e-f477-468c-afd5-fcc2bf897808.json',
  'Bundle-3ad0687e-f477-468c-afd5-fcc2bf897809.json',
  'Bundle-3ad0687e-f477-468c-afd5-fcc2bf897819.json',
  'Bundle-b0a5e4277-83c4-4adb-87e2-e3efe3369b6f.json',
  'Bundle-b248b1b2-1686-4b94-9936-37d7a5f94b51.json',
  'Bundle-bundle-example.json',
  'Bundle-bundle-references.json',
  'Bundle-bundle-request-medsallergies.json',
  'Bundle-bundle-request-simplesummary.json',
  'Bundle-bundle-response-medsallergies.json',
  'Bundle-bundle-response-simplesummary.json',
  'Bundle-bundle-response.json',
  'Bundle-bundle-search-warning.json',
  'Bundle-bundle-transaction.json',
  'Bundle-conceptmaps.json',
  'Bundle-dg2.json',
  'Bundle-externals.json',
  'Bundle-f001.json',
  'Bundle-f202.json',
  'Bundle-father.json',
  'Bundle-ghp.json',
  'Bundle-hla-1.json',
  'Bundle-lipids.json',
  'Bundle-lri-example.json',
  'Bundle-micro.json',
  'Bundle-registry.json',
  'Bundle-report.json',
  'Bundle-ussg-fht.json',
  'Bundle-xds.json',
  'CareTeam-example.json',
  'Consent-consent-example-Emergency.json',
  'Consent-consent-example-Out.json',
  'Consent-consent-example-basic.json',
  'Consent-consent-example-grantor.json',
  'Consent-consent-example-notAuthor.json',
  'Consent-consent-example-notOrg.json',
  'Consent-consent-example-notThem.json',
  'Consent-consent-example-notThis.json',
  'Consent-consent-example-notTime.json',
  'Consent-consent-example-pkb.json',
  'Consent-consent-example-signature.json',
  'Consent-consent-example-smartonfhir.json',
  'Device-example.json',
  'Device-f001.json',
  'Group-101.json',
  'Group-102.json',
  'Group-example-patientlist.json',
  'Group-herd1.json',
  'Observation-10minute-apgar-score.json',
  'Observation-1minute-apgar-score.json',
  'Observation-20minute-apgar-score.json',
  'Observation-2minute-apgar-score.json',
  'Observation-5minute-apgar-score.json',
  'Observation-656.json',
  'Observation-abdo-tender.json',
  'Observation-alcohol-type.json',
  'Observation-bgpanel.json',
  'Observation-blood-pressure-cancel.json',
  'Observation-blood-pressure-dar.json',
  'Observation-blood-pressure.json',
  'Observation-bloodgroup.json',
  'Observation-bmd.json',
  'Observation-bmi-using-related.json',
  'Observation-bmi.json',
  'Observation-body-height.json',
  'Observation-body-length.json',
  'Observation-body-temperature.json',
  'Observation-date-lastmp.json',
  'Observation-decimal.json',
  'Observation-ekg.json',
  'Observation-example-TPMT-diplotype.json',
  'Observation-example-TPMT-haplotype-one.json',
  'Observation-example-TPMT-haplotype-two.json',
  'Observation-example-diplotype1.json',
  'Observation-example-genetics-1.json',
  'Observation-example-genetics-2.json',
  'Observation-example-genetics-3.json',
  'Observation-example-genetics-4.json',
  'Observation-example-genetics-5.json',
  'Observation-example-genetics-brcapat.json',
  'Observation-example-haplotype1.json',
  'Observation-example-haplotype2.json',
  'Observation-example-phenotype.json',
  'Observation-example.json',
  'Observation-eye-color.json',
  'Observation-f001.json',
  'Observation-f002.json',
  'Observation-f003.json',
  'Observation-f004.json',
  'Observation-f005.json',
  'Observation-f202.json',
  'Observation-f203.json',
  'Observation-f204.json',
  'Observation-f205.json',
  'Observation-f206.json',
  'Observation-gcs-qa.json',
  'Observation-glasgow.json',
  'Observation-head-circumference.json',
  'Observation-heart-rate.json',
  'Observation-herd1.json',
  'Observation-map-sitting.json',
  'Observation-mbp.json',
  'Observation-respiratory-rate.json',
  'Observation-rhstatus.json',
  'Observation-satO2.json',
  'Observation-secondsmoke.json',
  'Observation-trachcare.json',
  'Observation-unsat.json',
  'Observation-vitals-panel.json',
  'Observation-vomiting.json',
  'Observation-vp-oyster.json',
  'Organization-1.json',
  'Organization-1832473e-2fe0-452d-abe9-3cdb9879522f.json',
  'Organization-2.16.840.1.113883.19.5.json',
  'Organization-2.json',
  'Organization-3.json',
  'Organization-f001.json',
  'Organization-f002.json',
  'Organization-f003.json',
  'Organization-f201.json',
  'Organization-f203.json',
  'Organization-hl7.json',
  'Organization-hl7pay.json',
  'Organization-mmanu.json',
  'Patient-animal.json',
  'Patient-ch-example.json',
  'Patient-dicom.json',
  'Patient-example.json',
  'Patient-f001.json',
  'Patient-f201.json',
  'Patient-genetics-example1.json',
  'Patient-glossy.json',
  'Patient-ihe-pcd.json',
  'Patient-infant-fetal.json',
  'Patient-infant-mom.json',
  'Patient-infant-twin-1.json',
  'Patient-infant-twin-2.json',
  'Patient-mom.json',
  'Patient-newborn.json',
  'Patient-pat1.json',
  'Patient-pat2.json',
  'Patient-pat3.json',
  'Patient-pat4.json',
  'Patient-proband.json',
  'Patient-xcda.json',
  'Patient-xds.json',
  'Practitioner-example.json',
  'Practitioner-f001.json',
  'Practitioner-f002.json',
  'Practitioner-f003.json',
  'Practitioner-f004.json',
  'Practitioner-f005.json',
  'Practitioner-f006.json',
  'Practitioner-f007.json',
  'Practitioner-f201.json',
  'Practitioner-f202.json',
  'Practitioner-f203.json',
  'Practitioner-f204.json',
  'Practitioner-xcda-author.json',
  'Practitioner-xcda1.json',
  'PractitionerRole-example.json',
];

const wrongTargets: Array<[string, string]> = [
  ['DeviceMetric-example.json', 'DeviceMetric.parent.reference'],
  ['Observation-clinical-gender.json', 'Observation.performer[0].reference'],
];

describeEachFhir('FHIR strict on write', (get) => {
  let h: FhirHarness;
  test('setup: the targets the cases reference', async () => {
    h = get();
    assert.equal(
      (await h.call('PUT', '/fhir/Patient/pat-v', { resourceType: 'Patient', id: 'pat-v' })).status,
      201,
    );
    assert.equal(
      (await h.call('PUT', '/fhir/Organization/org-v', { resourceType: 'Organization', id: 'org-v' })).status,
      201,
    );
  });

  for (const c of invalid) {
    test(`refused: ${c.what} → ${c.status} naming ${c.expression}, nothing stored`, async () => {
      const before = await h.call('GET', `/fhir/${c.type}?_summary=count`);
      const r = await h.call('POST', `/fhir/${c.type}`, c.body);
      assert.equal(r.status, c.status, r.text);
      assert.equal(r.json.resourceType, 'OperationOutcome');
      assert.ok(
        r.json.issue.some((i: Json) => i.severity === 'error' && i.expression?.includes(c.expression)),
        `no error issue at ${c.expression}: ${r.text}`,
      );
      assert.deepEqual(validateFhir(r.json), []);
      // The same resource as an update and as a transaction entry: refused the same way.
      const put = await h.call(
        'PUT',
        `/fhir/${c.type}/strict-${c.status}`,
        c.body.replace('{', `{"id":"strict-${c.status}",`),
      );
      if (c.type !== 'Observation') assert.equal(put.status, c.status, put.text);
      const entryBody = `{"resourceType":"Bundle","type":"transaction","entry":[{"resource":${c.body},"request":{"method":"POST","url":"${c.type}"}}]}`;
      const tx = await h.call('POST', '/fhir', entryBody);
      assert.equal(tx.status, c.status, tx.text);
      const after = await h.call('GET', `/fhir/${c.type}?_summary=count`);
      assert.equal(after.json.total, before.json.total);
    });
  }

  test('a profile Vigil does not have is a warning, not a refusal', async () => {
    const r = await h.call(
      'POST',
      '/fhir/Observation',
      obs({ meta: { profile: ['http://example.org/StructureDefinition/unknown'] }, valueString: 'x' }),
      { prefer: 'return=OperationOutcome' },
    );
    assert.equal(r.status, 201, r.text);
    const warning = r.json.issue.find((i: Json) => i.severity === 'warning');
    assert.deepEqual(warning.expression, ['Observation.meta.profile[0]']);
  });

  test('a shipped profile that the resource meets: stored', async () => {
    const hr = r4Example('Observation-heart-rate.json');
    const r = await h.call('POST', '/fhir/Observation', {
      ...hr,
      subject: { reference: 'Patient/pat-v' },
      meta: { profile: ['http://hl7.org/fhir/StructureDefinition/heartrate'] },
    });
    assert.equal(r.status, 201, r.text);
  });

  test('a transaction may reference what it creates later in the Bundle', async () => {
    const r = await h.call('POST', '/fhir', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          fullUrl: 'urn:uuid:7f0c8a52-0000-4000-8000-000000000001',
          resource: obs({ subject: { reference: 'urn:uuid:7f0c8a52-0000-4000-8000-000000000002' } }),
          request: { method: 'POST', url: 'Observation' },
        },
        {
          fullUrl: 'urn:uuid:7f0c8a52-0000-4000-8000-000000000002',
          resource: { resourceType: 'Patient' },
          request: { method: 'POST', url: 'Patient' },
        },
      ],
    });
    assert.equal(r.status, 200, r.text);
  });

  for (const name of textOnly) {
    test(`valid text-only code ${name}: stored and read back unchanged`, async () => {
      const ex = r4Example(name);
      assert.ok(!ex.code.coding?.some((c: Json) => c.code), 'the example has no coded code');
      await ensureTargets(h, ex);
      const c = await h.call('POST', '/fhir/Observation', ex);
      assert.equal(c.status, 201, c.text);
      const read = await h.call('GET', `/fhir/Observation/${c.json.id}`);
      assert.deepEqual(strip(read.json), strip(ex));
    });
  }

  test(`every official example of a written type round-trips unchanged (${roundTrip.length} files)`, async () => {
    const failures: string[] = [];
    for (const name of roundTrip) {
      const ex = r4Example(name);
      await ensureTargets(h, ex);
      const c = await h.call('POST', `/fhir/${ex.resourceType}`, ex);
      if (c.status !== 201) {
        failures.push(`${name}: ${c.status} ${c.text.slice(0, 300)}`);
        continue;
      }
      const read = await h.call('GET', `/fhir/${ex.resourceType}/${c.json.id}`);
      try {
        assert.deepEqual(strip(read.json), strip(ex));
      } catch {
        failures.push(`${name}: changed on read-back`);
      }
    }
    assert.deepEqual(failures, []);
  });

  for (const [name, expression] of wrongTargets) {
    test(`official example ${name} names a reference type R4 does not allow there: 400 at ${expression}`, async () => {
      const ex = r4Example(name);
      const r = await h.call('POST', `/fhir/${ex.resourceType}`, ex);
      assert.equal(r.status, 400, r.text);
      assert.ok(
        r.json.issue.some((i: Json) => i.expression?.includes(expression)),
        r.text,
      );
    });
  }
});
