import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Resource } from '@medplum/fhirtypes';
import { FakeClock } from '../../src/core/clock.ts';
import { validateFhir } from '../support/fhir-validator.ts';
import { type InProcess, startInProcess } from '../support/in-process.ts';

/**
 * Equipment and asset tracking through a whole in-process Vigil (docs/equipment.md): zones as a
 * FHIR Location hierarchy, tags and receivers, BLE sightings smoothed at their boundaries (event
 * times from a fake clock), the vendor RTLS webhook, find by kind / availability / zone,
 * utilisation, the operational left-building alert, bad input coded and dead-lettered, and who may
 * do what.
 */

const PASSWORD = 'a-long-staff-password-1';
const databases = [
  { name: 'PGlite', postgres: false },
  ...(process.env['VIGIL_TEST_DATABASE_URL'] ? [{ name: 'PostgreSQL', postgres: true }] : []),
];

for (const db of databases) {
  describe(`equipment tracking (${db.name})`, () => {
    let v: InProcess;
    let admin: string;
    let nurse: string;
    const secrets: Record<string, string> = {};
    // Event times: a fake clock an hour in the past, advanced by hand (receive time is the server's).
    const events = new FakeClock(Date.now() - 3600_000);

    const call = async (method: string, url: string, token: string | undefined, body?: unknown) =>
      v.inject({
        method: method as 'GET',
        url,
        headers: token ? { authorization: `Bearer ${token}` } : {},
        ...(body !== undefined ? { payload: body as string } : {}),
      });
    const must = async (method: string, url: string, token: string, body?: unknown) => {
      const r = await call(method, url, token, body);
      if (r.statusCode >= 300) throw new Error(`${method} ${url} → ${r.statusCode} ${r.body}`);
      return r.body ? (r.json() as Record<string, unknown>) : {};
    };
    const see = async (gateway: string, tag: string, rssi: number, advanceMs = 1000) => {
      events.advance(advanceMs);
      return must('POST', '/ingest/v1/rtls/sightings', secrets[gateway] as string, {
        sightings: [{ tag, rssi, time: new Date(events.now()).toISOString() }],
      });
    };
    const where = async (id: string) =>
      ((await must('GET', `/api/v1/equipment/${id}`, nurse)).equipment as { locationId: string | null })
        .locationId;

    before(async () => {
      v = await startInProcess({
        postgres: db.postgres,
        env: {
          VIGIL_RTLS_MIN_SIGHTINGS: '3',
          VIGIL_RTLS_DWELL_SECONDS: '60',
          VIGIL_RTLS_MARGIN_DB: '5',
          VIGIL_RTLS_WINDOW_SECONDS: '2',
        },
      });
      admin = await v.token();
      await must('POST', '/api/v1/users', admin, {
        username: 'nurse1',
        roles: ['nurse'],
        password: PASSWORD,
        practitionerId: 'pr-n',
      });
      const t = await call('POST', '/auth/token', undefined, { username: 'nurse1', password: PASSWORD });
      nurse = (t.json() as { access_token: string }).access_token;
      for (const [id, kind] of [
        ['gw-icu-1', 'gateway'],
        ['gw-icu-2', 'gateway'],
        ['gw-exit', 'gateway'],
        ['rtls-server', 'gateway'],
        ['pump-1', 'infusion-pump'],
        ['pump-2', 'infusion-pump'],
        ['chair-1', 'wheelchair'],
        ['oxi-1', 'pulse-oximeter'],
      ]) {
        const r = await must('POST', '/api/v1/devices', admin, { id, kind });
        secrets[id as string] = r['secret'] as string;
      }
      const zones = [
        { id: 'site-a', name: 'General Hospital', kind: 'site' },
        { id: 'bldg-main', name: 'Main building', kind: 'building', partOf: 'site-a' },
        { id: 'floor-2', name: 'Floor 2', kind: 'floor', partOf: 'bldg-main' },
        { id: 'floor-0', name: 'Ground floor', kind: 'floor', partOf: 'bldg-main' },
        { id: 'icu', name: 'ICU', kind: 'unit', partOf: 'floor-2' },
        { id: 'icu-r1', name: 'ICU room 1', kind: 'room', partOf: 'icu' },
        { id: 'icu-r2', name: 'ICU room 2', kind: 'room', partOf: 'icu', rtlsZone: 'ZONE-ICU-2' },
        { id: 'exit-east', name: 'East entrance', kind: 'room', partOf: 'floor-0', exit: true },
      ];
      for (const z of zones) await must('POST', '/api/v1/locations', admin, z);
      await must('PUT', '/api/v1/rtls/receivers/gw-icu-1', admin, { locationId: 'icu-r1' });
      await must('PUT', '/api/v1/rtls/receivers/gw-icu-2', admin, { locationId: 'icu-r2' });
      await must('PUT', '/api/v1/rtls/receivers/gw-exit', admin, { locationId: 'exit-east' });
      await must('PUT', '/api/v1/equipment/pump-1/tag', admin, { tagId: 'AC:23:3F:00:00:01' });
      await must('PUT', '/api/v1/equipment/chair-1/tag', admin, { tagId: 'AC:23:3F:00:00:02' });
    });
    after(async () => v?.stop());

    it('zones form a FHIR Location hierarchy; a wrong level or missing parent is refused, coded', async () => {
      const fhir = (await must('GET', '/api/v1/locations/icu-r2/fhir', nurse)) as unknown as Resource & {
        partOf?: { reference: string };
        identifier?: Array<{ value: string }>;
      };
      assert.deepEqual(validateFhir(fhir), []);
      assert.equal(fhir.partOf?.reference, 'Location/icu');
      assert.equal(fhir.identifier?.[0]?.value, 'ZONE-ICU-2');
      const list = (await must('GET', '/api/v1/locations', nurse)).locations as Array<{
        id: string;
        path: string[];
      }>;
      assert.deepEqual(list.find((l) => l.id === 'icu-r1')?.path, [
        'General Hospital',
        'Main building',
        'Floor 2',
        'ICU',
        'ICU room 1',
      ]);
      const wrongLevel = await call('POST', '/api/v1/locations', admin, {
        id: 'bad-room',
        name: 'x',
        kind: 'room',
        partOf: 'bldg-main',
      });
      assert.equal(wrongLevel.statusCode, 400);
      assert.equal(wrongLevel.json().error.code, 'VIGIL_ERR_EQUIPMENT_LOCATION_INVALID');
      const orphan = await call('POST', '/api/v1/locations', admin, {
        id: 'orphan',
        name: 'x',
        kind: 'unit',
        partOf: 'nowhere',
      });
      assert.equal(orphan.json().error.code, 'VIGIL_ERR_EQUIPMENT_LOCATION_NOT_FOUND');
      const siteWithParent = await call('POST', '/api/v1/locations', admin, {
        id: 's2',
        name: 'x',
        kind: 'site',
        partOf: 'site-a',
      });
      assert.equal(siteWithParent.json().error.code, 'VIGIL_ERR_EQUIPMENT_LOCATION_INVALID');
      const zoneTaken = await call('PUT', '/api/v1/locations/icu-r1', admin, {
        name: 'ICU room 1',
        kind: 'room',
        partOf: 'icu',
        rtlsZone: 'ZONE-ICU-2',
      });
      assert.equal(zoneTaken.json().error.code, 'VIGIL_ERR_EQUIPMENT_ZONE_TAKEN');
      const inUse = await call('DELETE', '/api/v1/locations/icu', admin);
      assert.equal(inUse.statusCode, 409);
      assert.equal(inUse.json().error.code, 'VIGIL_ERR_EQUIPMENT_LOCATION_IN_USE');
      assert.equal((await call('POST', '/api/v1/locations', nurse, zones0)).statusCode, 403);
    });

    it('BLE sightings: the first zone at once, another only after 3 wins in a row by 5 dB', async () => {
      const first = await see('gw-icu-1', 'AC:23:3F:00:00:01', -70);
      assert.equal(first['accepted'], 1);
      assert.equal(await where('pump-1'), 'icu-r1');
      // room 2 heard 4.9 dB stronger while room 1 is in the window: room 1 holds the round
      await see('gw-icu-2', 'AC:23:3F:00:00:01', -65.1, 100);
      await see('gw-icu-2', 'AC:23:3F:00:00:01', -65.1, 100);
      await see('gw-icu-2', 'AC:23:3F:00:00:01', -65.1, 100);
      assert.equal(await where('pump-1'), 'icu-r1');
      // 5 dB stronger: two wins are not enough…
      await see('gw-icu-1', 'AC:23:3F:00:00:01', -70, 100);
      await see('gw-icu-2', 'AC:23:3F:00:00:01', -65, 100);
      await see('gw-icu-2', 'AC:23:3F:00:00:01', -65, 100);
      assert.equal(await where('pump-1'), 'icu-r1');
      // …the third is
      const third = await see('gw-icu-2', 'AC:23:3F:00:00:01', -65, 100);
      assert.equal(third['moved'], 1);
      const e = (await must('GET', '/api/v1/equipment/pump-1', nurse)).equipment as Record<string, unknown>;
      assert.equal(e['locationId'], 'icu-r2');
      assert.equal(e['locationSince'], new Date(events.now()).toISOString());
      assert.equal(e['lastSeenAt'], new Date(events.now()).toISOString());
      assert.equal(e['unitId'], 'icu');
      assert.equal(e['floorId'], 'floor-2');
    });

    it('a late (older) sighting is stored but moves nothing; the vendor webhook names zones', async () => {
      const late = new Date(events.now() - 60_000).toISOString();
      const r = await must('POST', '/ingest/v1/rtls/sightings', secrets['gw-icu-1'] as string, {
        sightings: [{ tag: 'AC:23:3F:00:00:01', rssi: -30, time: late }],
      });
      assert.equal(r['accepted'], 1);
      assert.equal(await where('pump-1'), 'icu-r2');
      // the vendor's zone name and a location id both resolve; an unknown zone is refused, coded
      events.advance(1000);
      const vendor = await must('POST', '/ingest/v1/rtls/vendor', secrets['rtls-server'] as string, {
        events: [
          { tag: 'AC:23:3F:00:00:02', zone: 'ZONE-ICU-2', time: new Date(events.now()).toISOString() },
          { tag: 'AC:23:3F:00:00:02', zone: 'ZONE-NOWHERE', time: new Date(events.now()).toISOString() },
        ],
      });
      assert.equal(vendor['accepted'], 1);
      assert.equal(vendor['rejected'], 1);
      const results = vendor['results'] as Array<{ status: string; reason?: string }>;
      assert.equal(results[1]?.reason, 'VIGIL_ERR_EQUIPMENT_UNKNOWN_ZONE');
      assert.equal(await where('chair-1'), 'icu-r2');
    });

    it('bad sightings are coded and dead-lettered; unknown tags ignored; only gateways may post', async () => {
      const r = await must('POST', '/ingest/v1/rtls/sightings', secrets['gw-icu-1'] as string, {
        sightings: [
          { tag: 'AC:23:3F:00:00:01', rssi: 'loud', time: new Date(events.now()).toISOString() },
          { tag: 'AC:23:3F:00:00:01', rssi: -60, time: '2026-03-01 10:00' },
          { tag: 'AC:23:3F:00:00:01', rssi: -60, time: new Date(Date.now() + 3600_000).toISOString() },
          { tag: 'FF:FF:FF:FF:FF:FF', rssi: -60, time: new Date(events.now()).toISOString() },
        ],
      });
      const reasons = (r['results'] as Array<{ status: string; reason: string }>).map((x) => [
        x.status,
        x.reason,
      ]);
      assert.deepEqual(reasons, [
        ['rejected', 'VIGIL_ERR_EQUIPMENT_SIGHTING_INVALID'],
        ['rejected', 'VIGIL_ERR_EQUIPMENT_SIGHTING_INVALID'],
        ['rejected', 'VIGIL_ERR_EQUIPMENT_FUTURE_TIME'],
        ['ignored', 'VIGIL_ERR_EQUIPMENT_UNKNOWN_TAG'],
      ]);
      const malformed = await v.inject({
        method: 'POST',
        url: '/ingest/v1/rtls/sightings',
        headers: { authorization: `Bearer ${secrets['gw-icu-1']}`, 'content-type': 'application/json' },
        payload: '{"sightings": [',
      });
      assert.equal(malformed.statusCode, 400);
      assert.equal(malformed.json().error.code, 'VIGIL_ERR_EQUIPMENT_MALFORMED');
      const letters = await v.vigil.db.query<{ reason_code: string; n: number }>(
        `select reason_code, count(*)::int as n from dead_letter where transport = 'rtls-ble' group by reason_code order by 1`,
      );
      assert.deepEqual(
        letters.map((l) => [l.reason_code, l.n]),
        [
          ['VIGIL_ERR_EQUIPMENT_FUTURE_TIME', 1],
          ['VIGIL_ERR_EQUIPMENT_MALFORMED', 1],
          ['VIGIL_ERR_EQUIPMENT_SIGHTING_INVALID', 2],
        ],
      );
      const notGateway = await call('POST', '/ingest/v1/rtls/sightings', secrets['oxi-1'], { sightings: [] });
      assert.equal(notGateway.statusCode, 403);
      assert.equal(notGateway.json().error.code, 'VIGIL_ERR_EQUIPMENT_FORBIDDEN');
      const unplaced = await call('POST', '/ingest/v1/rtls/sightings', secrets['rtls-server'], {
        sightings: [{ tag: 'AC:23:3F:00:00:01', rssi: -60, time: new Date(events.now()).toISOString() }],
      });
      assert.equal(unplaced.statusCode, 409);
      assert.equal(unplaced.json().error.code, 'VIGIL_ERR_EQUIPMENT_RECEIVER_UNPLACED');
      assert.equal(
        (await call('POST', '/ingest/v1/rtls/sightings', undefined, { sightings: [] })).statusCode,
        401,
      );
    });

    it('finds equipment by kind, availability and zone (below a floor), and by text', async () => {
      await must('PUT', '/api/v1/equipment/pump-2/location', nurse, { locationId: 'icu-r1' });
      await must('PUT', '/api/v1/equipment/pump-1/availability', nurse, { availability: 'in-use' });
      await must('PUT', '/api/v1/equipment/pump-2/availability', nurse, { availability: 'cleaning' });
      const free = await must('GET', '/api/v1/equipment?kind=infusion-pump&availability=free', nurse);
      assert.deepEqual(free.equipment, []);
      const onFloor = await must('GET', '/api/v1/equipment?locationId=floor-2', nurse);
      assert.deepEqual(
        (onFloor.equipment as Array<{ deviceId: string }>).map((e) => e.deviceId),
        ['pump-1', 'pump-2', 'chair-1'], // by kind, then id
      );
      assert.deepEqual(onFloor.counts, { 'in-use': 1, free: 1, cleaning: 1, maintenance: 0 });
      const byTag = await must('GET', '/api/v1/equipment?q=00:00:02', nurse);
      assert.deepEqual(
        (byTag.equipment as Array<{ deviceId: string }>).map((e) => e.deviceId),
        ['chair-1'],
      );
      const bad = await call('PUT', '/api/v1/equipment/pump-1/availability', nurse, { availability: 'lost' });
      assert.equal(bad.statusCode, 400);
      const ghost = await call('PUT', '/api/v1/equipment/ghost/availability', nurse, {
        availability: 'free',
      });
      assert.equal(ghost.json().error.code, 'VIGIL_ERR_DEVICE_NOT_FOUND');
      const taken = await call('PUT', '/api/v1/equipment/pump-2/tag', admin, { tagId: 'AC:23:3F:00:00:01' });
      assert.equal(taken.json().error.code, 'VIGIL_ERR_EQUIPMENT_TAG_TAKEN');
    });

    it('utilisation per kind and unit: the in-use share of tracked time', async () => {
      const r = await must('GET', '/api/v1/equipment/utilisation?kind=infusion-pump', nurse);
      const rows = r.rows as Array<{
        unitId: string | null;
        inUseSeconds: number;
        trackedSeconds: number;
        devices: number;
      }>;
      const icu = rows.filter((x) => x.unitId === 'icu');
      assert.ok(icu.length >= 1);
      const inUse = icu.reduce((s, x) => s + x.inUseSeconds, 0);
      const tracked = icu.reduce((s, x) => s + x.trackedSeconds, 0);
      assert.ok(inUse > 0 && inUse < tracked, `in use ${inUse} of ${tracked}`);
      const bad = await call('GET', '/api/v1/equipment/utilisation?since=yesterday', nurse);
      assert.equal(bad.json().error.code, 'VIGIL_ERR_EQUIPMENT_INVALID_RANGE');
    });

    it('a tagged device at a building exit raises one low-priority operational alert, cleared when back', async () => {
      for (let i = 0; i < 3; i++) await see('gw-exit', 'AC:23:3F:00:00:02', -50, 2500);
      assert.equal(await where('chair-1'), 'exit-east');
      const alerts = (await must('GET', '/api/v1/equipment/alerts', nurse)).alerts as Array<
        Record<string, unknown>
      >;
      assert.equal(alerts.length, 1);
      assert.equal(alerts[0]?.['deviceId'], 'chair-1');
      assert.equal(alerts[0]?.['priority'], 'low');
      assert.equal(alerts[0]?.['class'], 'operational');
      assert.match(
        String(alerts[0]?.['summary']),
        /wheelchair chair-1 seen at building exit zone "East entrance"/,
      );
      // never in the clinical alert queue
      const clinical = await v.vigil.db.query<{ n: number }>('select count(*)::int as n from alert');
      assert.equal(clinical[0]?.n, 0);
      // more sightings at the exit: still one alert
      await see('gw-exit', 'AC:23:3F:00:00:02', -50, 2500);
      const ack = await must('POST', `/api/v1/equipment/alerts/${alerts[0]?.['id']}/acknowledge`, nurse);
      assert.equal((ack.alert as { state: string }).state, 'acknowledged');
      const twice = await call('POST', `/api/v1/equipment/alerts/${alerts[0]?.['id']}/acknowledge`, nurse);
      assert.equal(twice.json().error.code, 'VIGIL_ERR_EQUIPMENT_ALERT_STATE');
      // back inside: resolved automatically
      for (let i = 0; i < 3; i++) await see('gw-icu-1', 'AC:23:3F:00:00:02', -50, 2500);
      const after = (await must('GET', '/api/v1/equipment/alerts?state=resolved', nurse)).alerts as Array<
        Record<string, unknown>
      >;
      assert.equal(after.length, 1);
      assert.match(String(after[0]?.['resolution']), /^automatic: seen in zone "ICU room 1"/);
      // an untagged device placed at the exit by hand raises nothing
      await must('PUT', '/api/v1/equipment/pump-2/location', nurse, { locationId: 'exit-east' });
      assert.deepEqual((await must('GET', '/api/v1/equipment/alerts', nurse)).alerts, []);
    });
  });
}

const zones0 = { id: 'nurse-site', name: 'x', kind: 'site' };
