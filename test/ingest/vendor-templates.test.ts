import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import mqtt from 'mqtt';
import { VendorTemplateRepository } from '../../src/store/vendor-template-repository.ts';
import { validateFhir } from '../support/fhir-validator.ts';
import { type InProcess, insertPatient, startInProcess } from '../support/in-process.ts';

// Issue 13 item 9 / issue 17.5: vendor mapping templates were validated at load but unreachable
// (normalize() was called without templates; no topic or route took template payloads). Here:
// managed through the API, stored, assigned to a device model, reachable over HTTP and MQTT, with
// dead letter and replay, and read back through FHIR.
const withings = JSON.parse(
  readFileSync(new URL('../../src/normalize/templates/withings-getmeas.json', import.meta.url), 'utf8'),
) as { name: string; description: string };

// Withings Measure - Getmeas response shape: body.measuregrps[].measures[] of {value, type, unit}
const getmeas = (grpid: number, date: number, grams: number, pulse?: number) => ({
  status: 0,
  body: {
    updatetime: date + 60,
    timezone: 'Europe/Paris',
    measuregrps: [
      {
        grpid,
        attrib: 0,
        date,
        created: date + 30,
        category: 1,
        measures: [
          { value: grams, type: 1, unit: -3 },
          ...(pulse === undefined ? [] : [{ value: pulse, type: 11, unit: 0 }]),
        ],
      },
    ],
  },
});

describe('vendor templates from the wire to FHIR', () => {
  let t: InProcess;
  let admin: string;
  let secret: string;
  const h = () => ({ authorization: `Bearer ${admin}` });
  before(async () => {
    t = await startInProcess({ mqtt: true, env: { VIGIL_LOG_LEVEL: 'silent' } });
    admin = await t.token();
    await insertPatient(t.vigil, 'pat-w');
    const r = await t.inject({
      method: 'POST',
      url: '/api/v1/devices',
      headers: h(),
      payload: { id: 'withings-1', kind: 'scale', manufacturer: 'Withings', model: 'Body+' },
    });
    assert.equal(r.statusCode, 201, r.body);
    secret = (r.json() as { secret: string }).secret;
    const a = await t.inject({
      method: 'POST',
      url: '/api/v1/devices/withings-1/assignments',
      headers: h(),
      payload: { patientId: 'pat-w', start: '2025-01-01T00:00:00Z' },
    });
    assert.equal(a.statusCode, 201, a.body);
  });
  after(async () => t?.stop());

  it('validates a template (with a sample preview) and refuses a broken one with its reason', async () => {
    const ok = await t.inject({
      method: 'POST',
      url: '/api/v1/vendor-templates/validate',
      headers: h(),
      payload: { template: withings, sample: getmeas(1, 1736924400, 72450, 64) },
    });
    assert.equal(ok.statusCode, 200, ok.body);
    const preview = ok.json() as { readings: Array<{ code: string; value: number; unit: string }> };
    assert.deepEqual(
      preview.readings.map((r) => [r.code, r.value, r.unit]),
      [
        ['29463-7', 72.45, 'kg'],
        ['8867-4', 64, '/min'],
      ],
    );
    const broken = await t.inject({
      method: 'POST',
      url: '/api/v1/vendor-templates',
      headers: h(),
      payload: { ...withings, measurements: [{ type: 'heart-rate', value: '$.x', unit: 'mmHg' }] },
    });
    assert.equal(broken.statusCode, 400);
    assert.equal(
      (broken.json() as { error: { code: string } }).error.code,
      'VIGIL_ERR_NORMALIZE_INVALID_TEMPLATE',
    );
    const none = await t.inject({ method: 'GET', url: '/api/v1/vendor-templates', headers: h() });
    assert.deepEqual(
      (none.json() as { templates: unknown[] }).templates,
      [],
      'a refused template is not stored',
    );
  });

  let letterId = '';
  it('a payload for a template not yet created, then not assigned, is refused into a dead letter', async () => {
    const post = () =>
      t.inject({
        method: 'POST',
        url: '/ingest/v1/vendor/withings-getmeas',
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
        payload: getmeas(9001, 1736924400, 72450, 64),
      });
    const first = await post();
    assert.equal(first.statusCode, 400);
    assert.equal(
      (first.json() as { results: Array<{ reason: string }> }).results[0]?.reason,
      'VIGIL_ERR_INGEST_UNKNOWN_TEMPLATE',
    );
    const created = await t.inject({
      method: 'POST',
      url: '/api/v1/vendor-templates',
      headers: h(),
      payload: withings,
    });
    assert.equal(created.statusCode, 201, created.body);
    assert.equal((created.json() as { version: number }).version, 1);
    const second = await post();
    const r = (second.json() as { results: Array<{ reason: string; deadLetterId: string }> }).results[0];
    assert.equal(r?.reason, 'VIGIL_ERR_INGEST_TEMPLATE_NOT_ASSIGNED');
    letterId = r?.deadLetterId ?? '';
    const letter = await t.inject({ method: 'GET', url: `/api/v1/dead-letters/${letterId}`, headers: h() });
    assert.equal((letter.json() as { format: string }).format, 'template:withings-getmeas');
  });

  it('assigned to the device model: the dead letter replays, MQTT and HTTP are stored, FHIR reads them', async () => {
    const assign = await t.inject({
      method: 'POST',
      url: '/api/v1/vendor-templates/withings-getmeas/assignments',
      headers: h(),
      payload: { model: 'Body+' },
    });
    assert.equal(assign.statusCode, 201, assign.body);

    const replay = await t.inject({
      method: 'POST',
      url: `/api/v1/dead-letters/${letterId}/replay`,
      headers: h(),
    });
    assert.equal(replay.statusCode, 200, replay.body);
    assert.equal((replay.json() as { results: Array<{ status: string }> }).results[0]?.status, 'accepted');

    const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${t.vigil.mqttPort}`, {
      username: 'withings-1',
      password: secret,
      reconnectPeriod: 0,
    });
    await c.publishAsync(
      'devices/withings-1/vendor/withings-getmeas',
      JSON.stringify(getmeas(9002, 1736928000, 72100)),
      {
        qos: 1,
      },
    );
    await c.endAsync();

    const http = await t.inject({
      method: 'POST',
      url: '/ingest/v1/vendor/withings-getmeas',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      payload: getmeas(9003, 1736931600, 71980, 70),
    });
    assert.equal(http.statusCode, 200, http.body);
    assert.equal((http.json() as { accepted: number }).accepted, 1);

    const bundle = await t.inject({
      method: 'GET',
      url: '/fhir/Observation?patient=pat-w&code=http://loinc.org|29463-7&_sort=date',
      headers: h(),
    });
    assert.equal(bundle.statusCode, 200, bundle.body);
    const entries = (bundle.json() as { entry?: Array<{ resource: Record<string, unknown> }> }).entry ?? [];
    const kg = entries.map((e) => (e.resource['valueQuantity'] as { value: number; code: string }).value);
    assert.deepEqual(kg, [72.45, 72.1, 71.98], 'replayed (HTTP), MQTT and HTTP readings, scaled by 10^unit');
    const obs = entries[0]?.resource as { resourceType: 'Observation'; id: string };
    assert.deepEqual(validateFhir(obs as never), []);
    const one = await t.inject({ method: 'GET', url: `/fhir/Observation/${obs.id}`, headers: h() });
    assert.equal(one.statusCode, 200);
    assert.equal((one.json() as { subject: { reference: string } }).subject.reference, 'Patient/pat-w');
  });

  it('versions: a change is a new version; an assignment can pin one; list and read show them', async () => {
    const v2 = await t.inject({
      method: 'POST',
      url: '/api/v1/vendor-templates',
      headers: h(),
      payload: { ...withings, description: `${withings.description} (v2)` },
    });
    assert.equal(v2.statusCode, 201);
    assert.equal((v2.json() as { version: number }).version, 2);
    const same = await t.inject({
      method: 'POST',
      url: '/api/v1/vendor-templates',
      headers: h(),
      payload: { ...withings, description: `${withings.description} (v2)` },
    });
    assert.equal((same.json() as { version: number }).version, 2, 'the same spec again is not a new version');
    const read = await t.inject({
      method: 'GET',
      url: '/api/v1/vendor-templates/withings-getmeas',
      headers: h(),
    });
    const body = read.json() as { version: number; versions: Array<{ version: number }> };
    assert.equal(body.version, 2);
    assert.deepEqual(
      body.versions.map((v) => v.version),
      [1, 2],
    );
    const pin = await t.inject({
      method: 'POST',
      url: '/api/v1/vendor-templates/withings-getmeas/assignments',
      headers: h(),
      payload: { deviceId: 'withings-1', version: 1 },
    });
    assert.equal(pin.statusCode, 201);
    const list = await t.inject({
      method: 'GET',
      url: '/api/v1/vendor-templates/withings-getmeas/assignments',
      headers: h(),
    });
    const as = (
      list.json() as {
        assignments: Array<{ deviceId: string | null; deviceModel: string | null; version: number | null }>;
      }
    ).assignments;
    assert.deepEqual(
      as.map((a) => [a.deviceId, a.deviceModel, a.version]),
      [
        [null, 'Body+', null],
        ['withings-1', null, 1],
      ],
    );
    // what ingest resolves: the device's own pin (v1) wins over its model's assignment (newest, v2)
    const repo = new VendorTemplateRepository(t.vigil.db);
    const pinned = await repo.forDevice('withings-1', 'withings-getmeas');
    assert.equal(pinned !== 'unassigned' && pinned?.version, 1);
    await t.inject({
      method: 'POST',
      url: '/api/v1/devices',
      headers: h(),
      payload: { id: 'withings-2', kind: 'scale', model: 'Body+' },
    });
    const byModel = await repo.forDevice('withings-2', 'withings-getmeas');
    assert.equal(byModel !== 'unassigned' && byModel?.version, 2);
    const rows = await t.vigil.db.query<{ profile: string }>(
      `select data->>'profile' as profile from observation where device_id = 'withings-1' limit 1`,
    );
    assert.match(rows[0]?.profile ?? '', /template:withings-getmeas/);
  });

  it('a device may not use a template assigned to others', async () => {
    const r = await t.inject({
      method: 'POST',
      url: '/api/v1/devices',
      headers: h(),
      payload: { id: 'other-scale', kind: 'scale', model: 'Other' },
    });
    const s = (r.json() as { secret: string }).secret;
    const post = await t.inject({
      method: 'POST',
      url: '/ingest/v1/vendor/withings-getmeas',
      headers: { authorization: `Bearer ${s}`, 'content-type': 'application/json' },
      payload: getmeas(9100, 1736931600, 70000),
    });
    assert.equal(post.statusCode, 400);
    assert.equal(
      (post.json() as { results: Array<{ reason: string }> }).results[0]?.reason,
      'VIGIL_ERR_INGEST_TEMPLATE_NOT_ASSIGNED',
    );
  });
});
