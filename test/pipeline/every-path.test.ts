import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import mqtt from 'mqtt';
import type { Vigil } from '../../src/server.ts';
import { MllpClient } from '../hl7v2/support.ts';
import { call, eventually, signIn, startTestVigil } from './support.ts';

interface AlertView {
  conditionKey: string;
  severity: string;
  state: string;
}

const corpus = (name: string) =>
  JSON.parse(readFileSync(new URL(`../corpora/fhir-phd-ig-examples/${name}`, import.meta.url), 'utf8'));

/** BP 210/130 mmHg: above the hypertensive-crisis limits of the heart-failure program (> 180 and/or > 120). */
const SYS = 210;
const DIA = 130;
const fhirJson = 'application/fhir+json';

const bpObservation = (patientRef: string, time: string, sys = SYS, dia = DIA) => ({
  resourceType: 'Observation',
  status: 'final',
  category: [
    {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }],
    },
  ],
  code: { coding: [{ system: 'http://loinc.org', code: '85354-9' }] },
  subject: { reference: patientRef },
  effectiveDateTime: time,
  component: [
    {
      code: { coding: [{ system: 'http://loinc.org', code: '8480-6' }] },
      valueQuantity: { value: sys, unit: 'mmHg', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' },
    },
    {
      code: { coding: [{ system: 'http://loinc.org', code: '8462-4' }] },
      valueQuantity: { value: dia, unit: 'mmHg', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' },
    },
  ],
});

/**
 * The PHD IG's gateway bundle (bundle-example-1: Patient and two Devices as conditional creates,
 * coincident time stamp, SpO2 and pulse) with the IG's compound blood pressure Observation of the
 * same patient and device added, its values set to 210/130 and its time to `time`.
 */
function phdBundle(time: string) {
  const b = corpus('bundle-example-1.json');
  const bp = corpus('compound-numeric-blood-pressure-no-mean.json');
  const patientUrl = b.entry.find(
    (e: { resource: { resourceType: string } }) => e.resource.resourceType === 'Patient',
  ).fullUrl as string;
  const pulse = b.entry.find(
    (e: { resource: { resourceType: string; code?: { coding: Array<{ code: string }> } } }) =>
      e.resource.code?.coding[0]?.code === '149530',
  );
  delete bp.id;
  delete bp.extension; // references to resources outside the bundle
  bp.subject = { reference: patientUrl };
  bp.performer = [{ reference: patientUrl }];
  bp.device = pulse.resource.device;
  bp.effectiveDateTime = time;
  bp.component[0].valueQuantity.value = SYS;
  bp.component[1].valueQuantity.value = DIA;
  b.entry.push({
    fullUrl: 'urn:uuid:0b1e9e5c-4c1d-4f43-9d8e-6a4a2f7c2d11',
    resource: bp,
    request: { method: 'POST', url: 'Observation' },
  });
  return b;
}

const hl7Time = (iso: string) => iso.replace(/[-:T]/g, '').slice(0, 14) + '+0000';
/** An IHE PCD-01 message of the cuff behind a gateway (OBX-18 EUI-64), BP 210/130 at `time`. */
const pcd01 = (eui: string, time: string) =>
  [
    `MSH|^~\\&|AcmeInc^ACDE48234567ABCD^EUI-64||||${hl7Time(time)}||ORU^R01^ORU_R01|MSG-${eui}|P|2.6|||NE|AL|||||IHE PCD ORU-R012006^HL7^2.16.840.1.113883.9.n.m^HL7`,
    'PID|||789567^^^Imaginary Hospital^PI ||Doe^John^Joseph^^^^L^A|||M',
    `OBR|1|AB12345^AcmeAHDInc^ACDE48234567ABCD^EUI-64|CD12345^AcmeAHDInc^ACDE48234567ABCD^EUI-64|182777000^monitoring of patient^SNOMED-CT|||${hl7Time(time)}`,
    `OBX|1||528391^MDC_DEV_SPEC_PROFILE_BP^MDC|1|||||||X|||||||${eui.replace(/-/g, '')}^EUI-64`,
    `OBX|2||150020^MDC_PRESS_BLD_NONINV^MDC|1.0.1|||||||X|||${hl7Time(time)}`,
    `OBX|3|NM|150021^MDC_PRESS_BLD_NONINV_SYS^MDC|1.0.1.1|${SYS}|266016^MDC_DIM_MMHG^MDC|||||R`,
    `OBX|4|NM|150022^MDC_PRESS_BLD_NONINV_DIA^MDC|1.0.1.2|${DIA}|266016^MDC_DIM_MMHG^MDC|||||R`,
  ].join('\r');

/** SFLOAT (IEEE 11073-20601) of an integer value, little-endian. */
const sfloat = (v: number) => [v & 0xff, (v >> 8) & 0x0f];

interface Env {
  vigil: Vigil;
  url: string;
  token: string;
  patientId: string;
  deviceId: string;
  secret: string;
}

interface PathCase {
  name: string;
  program?: string;
  kind?: string;
  identifier?: string;
  /** The condition the alert must be about. */
  expect: (a: AlertView) => boolean;
  send: (e: Env, time: string) => Promise<void>;
}

const crisis = (a: AlertView) => a.conditionKey === 'hypertensive-crisis' && a.severity === 'high';
const ok = async (res: Response, what: string) => {
  const text = await res.text();
  assert.ok(res.status < 300, `${what} answered ${res.status}: ${text}`);
  return text;
};

const cases: PathCase[] = [
  {
    name: 'HTTP ingest (native JSON)',
    expect: crisis,
    send: async (e, time) => {
      await ok(
        await fetch(`${e.url}/ingest/v1/readings`, {
          method: 'POST',
          headers: { authorization: `Bearer ${e.secret}`, 'content-type': 'application/json' },
          body: JSON.stringify([
            {
              messageId: 'bp-http',
              time,
              type: 'blood-pressure',
              unit: 'mmHg',
              components: { systolic: SYS, diastolic: DIA },
            },
          ]),
        }),
        'HTTP ingest',
      );
    },
  },
  {
    name: 'MQTT (embedded broker)',
    expect: crisis,
    send: async (e, time) => {
      const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${e.vigil.mqttPort}`, {
        username: e.deviceId,
        password: e.secret,
        reconnectPeriod: 0,
      });
      try {
        await c.publishAsync(
          `devices/${e.deviceId}/readings`,
          JSON.stringify({
            messageId: 'bp-mqtt',
            time,
            type: 'blood-pressure',
            unit: 'mmHg',
            components: { systolic: SYS, diastolic: DIA },
          }),
          { qos: 1 },
        );
      } finally {
        await c.endAsync();
      }
    },
  },
  {
    name: 'GATT (Blood Pressure Measurement 0x2A35)',
    expect: crisis,
    send: async (e) => {
      // flags 0 (mmHg, no time stamp: the receive time), systolic, diastolic, mean arterial pressure
      const payload = Buffer.from([0x00, ...sfloat(SYS), ...sfloat(DIA), ...sfloat(157)]);
      await ok(
        await fetch(`${e.url}/ingest/v1/gatt/2A35`, {
          method: 'POST',
          headers: { authorization: `Bearer ${e.secret}`, 'content-type': 'application/octet-stream' },
          body: payload,
        }),
        'GATT ingest',
      );
    },
  },
  {
    name: 'HL7 v2 PCD-01 over MLLP',
    kind: 'blood-pressure-cuff',
    identifier: '01-23-45-67-89-AB-CD-EF',
    expect: crisis,
    send: async (e, time) => {
      const c = await MllpClient.open(e.vigil.mllpPort as number);
      try {
        const ack = await c.send(pcd01('01-23-45-67-89-AB-CD-EF', time));
        assert.match(ack, /MSA\|AA\|/, ack);
      } finally {
        c.close();
      }
    },
  },
  {
    name: 'Nightscout (CGM uploader): glucose 45 mg/dL → glucose alert',
    program: 'diabetes-cgm',
    kind: 'cgm',
    expect: (a) => a.conditionKey.startsWith('glucose'),
    send: async (e, time) => {
      const r = await call<{ secret: string }>(
        e.url,
        e.token,
        'POST',
        `/api/v1/devices/${e.deviceId}/nightscout`,
      );
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const { createHash } = await import('node:crypto');
      await ok(
        await fetch(`${e.url}/nightscout/${e.deviceId}/api/v1/entries`, {
          method: 'POST',
          headers: {
            'api-secret': createHash('sha1').update(r.body.secret).digest('hex'),
            'content-type': 'application/json',
          },
          body: JSON.stringify([{ type: 'sgv', sgv: 45, date: Date.parse(time), direction: 'Flat' }]),
        }),
        'Nightscout upload',
      );
    },
  },
  {
    name: 'FHIR create (POST /fhir/Observation, a user)',
    expect: crisis,
    send: async (e, time) => {
      const r = await call(
        e.url,
        e.token,
        'POST',
        '/fhir/Observation',
        bpObservation(`Patient/${e.patientId}`, time),
        fhirJson,
      );
      assert.equal(r.status, 201, JSON.stringify(r.body));
    },
  },
  {
    name: 'FHIR update (PUT /fhir/Observation/:id, 120/80 corrected to 210/130)',
    expect: crisis,
    send: async (e, time) => {
      const normal = bpObservation(`Patient/${e.patientId}`, time, 120, 80);
      const created = await call<{ id: string }>(
        e.url,
        e.token,
        'POST',
        '/fhir/Observation',
        normal,
        fhirJson,
      );
      assert.equal(created.status, 201, JSON.stringify(created.body));
      await e.vigil.pipeline.idle();
      const before = await alertsOf(e);
      assert.equal(before.filter(crisis).length, 0, 'no crisis from 120/80');
      const id = created.body.id;
      const r = await call(
        e.url,
        e.token,
        'PUT',
        `/fhir/Observation/${id}`,
        { ...bpObservation(`Patient/${e.patientId}`, time), id },
        fhirJson,
      );
      assert.equal(r.status, 200, JSON.stringify(r.body));
    },
  },
  {
    name: 'FHIR transaction Bundle (a user)',
    expect: crisis,
    send: async (e, time) => {
      const r = await call(
        e.url,
        e.token,
        'POST',
        '/fhir',
        {
          resourceType: 'Bundle',
          type: 'transaction',
          entry: [
            {
              resource: bpObservation(`Patient/${e.patientId}`, time),
              request: { method: 'POST', url: 'Observation' },
            },
          ],
        },
        fhirJson,
      );
      assert.equal(r.status, 200, JSON.stringify(r.body));
    },
  },
  {
    name: 'PHD gateway bundle (IG example), posted by a user',
    identifier: 'sisansarahId',
    expect: crisis,
    send: async (e, time) => {
      const r = await call(e.url, e.token, 'POST', '/fhir', phdBundle(time), fhirJson);
      assert.equal(r.status, 200, JSON.stringify(r.body));
    },
  },
  {
    name: 'PHD gateway bundle (IG example), posted with the DEVICE credential',
    expect: crisis,
    send: async (e, time) => {
      const r = await call(e.url, e.secret, 'POST', '/fhir', phdBundle(time), fhirJson);
      assert.equal(r.status, 200, JSON.stringify(r.body));
    },
  },
];

async function alertsOf(e: Env): Promise<AlertView[]> {
  const r = await call<{ alerts: AlertView[] }>(
    e.url,
    e.token,
    'GET',
    `/api/v1/alerts?patient=${e.patientId}`,
  );
  assert.equal(r.status, 200);
  return r.body.alerts;
}

/**
 * Every path that stores an Observation for a patient reaches the same detection: one patient per
 * path, the same values, the same alert.
 */
describe('every ingest path reaches detection', () => {
  let vigil: Vigil;
  let url: string;
  let token: string;
  before(async () => {
    vigil = await startTestVigil({ env: { VIGIL_MLLP_PORT: '0', VIGIL_MLLP_HOST: '127.0.0.1' } });
    url = vigil.httpUrl;
    token = await signIn(url);
  });
  after(async () => vigil?.stop());

  const setUp = async (c: PathCase, n: number): Promise<Env> => {
    const patient: Record<string, unknown> = { resourceType: 'Patient' };
    // The PHD bundle's Patient entry is a conditional create on this identifier (posted by a user).
    if (c.identifier === 'sisansarahId')
      patient['identifier'] = [{ system: 'urn:oid:2.9991.2.3.4.5.6.7.8.10', value: 'sisansarahId' }];
    const p = await call<{ id: string }>(url, token, 'POST', '/fhir/Patient', patient, fhirJson);
    assert.equal(p.status, 201, JSON.stringify(p.body));
    const m = await call(url, token, 'PUT', `/api/v1/patients/${p.body.id}/monitoring`, {
      monitoring: { programs: [c.program ?? 'heart-failure'] },
    });
    assert.equal(m.status, 200, JSON.stringify(m.body));
    const deviceId = `path-dev-${n}`;
    const d = await call<{ secret: string }>(url, token, 'POST', '/api/v1/devices', {
      id: deviceId,
      kind: c.kind ?? 'blood-pressure-cuff',
      ...(c.identifier && c.identifier !== 'sisansarahId' ? { identifier: c.identifier } : {}),
    });
    assert.equal(d.status, 201, JSON.stringify(d.body));
    const a = await call(url, token, 'POST', `/api/v1/devices/${deviceId}/assignments`, {
      patientId: p.body.id,
      start: new Date(Date.now() - 3600_000).toISOString(),
    });
    assert.equal(a.status, 201, JSON.stringify(a.body));
    return { vigil, url, token, patientId: p.body.id, deviceId, secret: d.body.secret };
  };

  for (const [n, c] of cases.entries())
    it(`${c.name}: the alert is raised`, async () => {
      const e = await setUp(c, n);
      await c.send(e, new Date(Date.now() - 60_000).toISOString());
      const alert = await eventually(`the alert from ${c.name}`, async () => {
        await vigil.pipeline.idle();
        return (await alertsOf(e)).find(c.expect);
      });
      assert.equal(alert.state, 'open');
    });

  it('a device may post a gateway bundle only for the patient it is assigned to, and creates no Patient', async () => {
    const e = await setUp({ name: 'refusal', expect: crisis, send: async () => {} }, 99);
    const other = await call<{ id: string }>(
      url,
      token,
      'POST',
      '/fhir/Patient',
      { resourceType: 'Patient' },
      fhirJson,
    );
    const b = phdBundle(new Date().toISOString());
    for (const entry of b.entry)
      if (
        entry.resource.resourceType === 'Observation' &&
        entry.resource.subject?.reference?.startsWith('urn:uuid:5b78')
      )
        entry.resource.subject = { reference: `Patient/${other.body.id}` };
    const r = await call<{ resourceType: string }>(url, e.secret, 'POST', '/fhir', b, fhirJson);
    assert.equal(r.status, 403, JSON.stringify(r.body));
    const read = await call(url, e.secret, 'GET', `/fhir/Patient/${e.patientId}`);
    assert.equal(read.status, 403, 'a device reads no Patient');
    const put = await call(
      url,
      e.secret,
      'PUT',
      `/fhir/Patient/${e.patientId}`,
      { resourceType: 'Patient', id: e.patientId },
      fhirJson,
    );
    assert.equal(put.status, 403, 'a device updates nothing');
  });

  it("a device's repeated PHD bundle creates its Devices once (the IG's conditional creates)", async () => {
    const e = await setUp({ name: 'repeat', expect: crisis, send: async () => {} }, 98);
    const count = async () =>
      (
        await call<{ total: number }>(
          url,
          token,
          'GET',
          '/fhir/Device?identifier=urn:oid:1.2.840.10004.1.1.1.0.0.1.0.0.1.2680|4C-4E-49-12-34-56-FF-FF&_summary=count',
        )
      ).body.total;
    const before = await count();
    const t = new Date().toISOString();
    for (let i = 0; i < 2; i++) {
      const r = await call(url, e.secret, 'POST', '/fhir', phdBundle(t), fhirJson);
      assert.equal(r.status, 200, JSON.stringify(r.body));
    }
    assert.equal(await count(), Math.max(before, 1), 'the PHD Device exists once');
  });
});
