import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { newId } from '../../src/core/ids.ts';
import { type InProcess, startInProcess } from '../support/in-process.ts';

/**
 * Alarm burden across units and care teams through a whole Vigil (docs/alarm-burden.md): bed-days
 * from real ingested readings, units from the zone of each alert's device (equipment tracking), a
 * gateway outage's gap alerts grouped into one incident, time to acknowledge, non-actionable rate,
 * top patients named only for those the caller may read, bad input coded.
 */

const PASSWORD = 'a-long-staff-password-1';
const databases = [
  { name: 'PGlite', postgres: false },
  ...(process.env['VIGIL_TEST_DATABASE_URL'] ? [{ name: 'PostgreSQL', postgres: true }] : []),
];

interface Group {
  id: string;
  name: string | null;
  alerts: number;
  bedDays: number;
  alertsPerBedDay: number | null;
  afterFloodGrouping: number;
  incidents: number;
  byRule: Array<{ rule: string; alerts: number }>;
  topPatients: { members: number; top: Array<{ id: string }>; notShown: number };
  ackP50Seconds: number | null;
  nonActionableRate: number | null;
}

for (const db of databases) {
  describe(`alarm burden across units (${db.name})`, () => {
    let v: InProcess;
    let admin: string;
    let nurse: string;
    const patients: string[] = [];
    const now = Date.now();
    const iso = (ms: number) => new Date(ms).toISOString();

    const call = async (method: string, url: string, token: string | undefined, body?: unknown) =>
      v.inject({
        method: method as 'GET',
        url,
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(body !== undefined
            ? { 'content-type': url.startsWith('/fhir') ? 'application/fhir+json' : 'application/json' }
            : {}),
        },
        ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
      });
    const must = async (method: string, url: string, token: string, body?: unknown) => {
      const r = await call(method, url, token, body);
      if (r.statusCode >= 300) throw new Error(`${method} ${url} → ${r.statusCode} ${r.body}`);
      return r.body ? (r.json() as Record<string, unknown>) : {};
    };
    const alertRow = async (a: {
      patient: string;
      device: string;
      rule: string;
      condition: string;
      at: number;
      ackAfter?: number;
      resolvedAfter?: number;
      resolution?: string;
    }) =>
      v.vigil.db.query(
        `insert into alert (id, patient_id, condition_key, rule, severity, state, summary, device_id, raised_at,
           last_detection_at, created_at, updated_at, first_acknowledged_at, resolved_at, resolution)
         values ($1, $2, $3, $4, 'low', $5, 'test alert', $6, $7, $7, $7, $7, $8, $9, $10)`,
        [
          newId(),
          a.patient,
          a.condition,
          a.rule,
          a.resolvedAfter !== undefined ? 'resolved' : a.ackAfter !== undefined ? 'acknowledged' : 'open',
          a.device,
          iso(a.at),
          a.ackAfter !== undefined ? iso(a.at + a.ackAfter) : null,
          a.resolvedAfter !== undefined ? iso(a.at + a.resolvedAfter) : null,
          a.resolution ?? null,
        ],
      );

    before(async () => {
      v = await startInProcess({ postgres: db.postgres });
      admin = await v.token();
      await must('POST', '/api/v1/users', admin, {
        username: 'nurse1',
        roles: ['nurse'],
        password: PASSWORD,
        practitionerId: 'pr-n',
      });
      const t = await call('POST', '/auth/token', undefined, { username: 'nurse1', password: PASSWORD });
      nurse = (t.json() as { access_token: string }).access_token;
      for (const z of [
        { id: 'site', name: 'Site', kind: 'site' },
        { id: 'b', name: 'Main', kind: 'building', partOf: 'site' },
        { id: 'f2', name: 'Floor 2', kind: 'floor', partOf: 'b' },
        { id: 'icu', name: 'ICU', kind: 'unit', partOf: 'f2' },
        { id: 'icu-1', name: 'ICU bed space 1', kind: 'room', partOf: 'icu' },
        { id: 'ward-b', name: 'Ward B', kind: 'unit', partOf: 'f2' },
      ])
        await must('POST', '/api/v1/locations', admin, z);
      await must('POST', '/api/v1/devices', admin, { id: 'gw-1', kind: 'gateway' });
      for (let i = 1; i <= 5; i++) {
        const p = await must('POST', '/fhir/Patient', admin, {
          resourceType: 'Patient',
          name: [{ family: `Burden${i}`, given: ['Test'] }],
        });
        patients.push(p['id'] as string);
        const dev = `mon-${i}`;
        const reg = await must('POST', '/api/v1/devices', admin, { id: dev, kind: 'bedside-monitor' });
        await must('POST', `/api/v1/devices/${dev}/assignments`, admin, {
          patientId: p['id'],
          start: iso(now - 2 * 3600_000),
        });
        await must('PUT', `/api/v1/equipment/${dev}/location`, admin, {
          locationId: i <= 4 ? 'icu-1' : 'ward-b',
        });
        if (i <= 3) await must('PUT', `/api/v1/gateways/gw-1/devices/${dev}`, admin);
        const r = await v.inject({
          method: 'POST',
          url: '/ingest/v1/readings',
          headers: { authorization: `Bearer ${reg['secret']}`, 'content-type': 'application/json' },
          payload: JSON.stringify({
            messageId: `m-${i}`,
            time: iso(now - 3600_000),
            type: 'heart-rate',
            value: 72,
            unit: '/min',
          }),
        });
        assert.equal(r.json().accepted, 1, r.body);
      }
      await must('POST', '/fhir/CareTeam', admin, {
        resourceType: 'CareTeam',
        name: 'Team A',
        subject: { reference: `Patient/${patients[0]}` },
      });
      // a gateway outage: every patient behind gw-1 gets a gap alert within two minutes
      for (let i = 0; i < 3; i++)
        await alertRow({
          patient: patients[i] as string,
          device: `mon-${i + 1}`,
          rule: 'missing-data',
          condition: 'gap:heart-rate',
          at: now - 50 * 60_000 + i * 60_000,
          resolvedAfter: 600_000,
          resolution: 'automatic',
        });
      // a threshold alarm acknowledged after 2 min; one in ward B that cleared by itself
      await alertRow({
        patient: patients[3] as string,
        device: 'mon-4',
        rule: 'threshold',
        condition: 'threshold:hr-high',
        at: now - 40 * 60_000,
        ackAfter: 120_000,
      });
      await alertRow({
        patient: patients[4] as string,
        device: 'mon-5',
        rule: 'threshold',
        condition: 'threshold:hr-high',
        at: now - 30 * 60_000,
        resolvedAfter: 60_000,
        resolution: 'automatic',
      });
    });
    after(async () => v?.stop());

    it('per unit: alarms per bed-day by rule, the outage as one incident, ack time, non-actionable rate', async () => {
      const r = (await must('GET', '/api/v1/program/alarm-burden?groupBy=unit', admin)) as unknown as {
        groups: Group[];
        overall: Group;
        incidents: Array<{ gatewayId: string; patients: number; rule: string }>;
      };
      const icu = r.groups.find((g) => g.id === 'icu') as Group;
      assert.equal(icu.name, 'ICU');
      assert.equal(icu.alerts, 4);
      assert.equal(icu.bedDays, 4);
      assert.equal(icu.alertsPerBedDay, 1);
      assert.deepEqual(
        icu.byRule.map((x) => [x.rule, x.alerts]),
        [
          ['missing-data', 3],
          ['threshold', 1],
        ],
      );
      assert.equal(icu.incidents, 1);
      assert.equal(icu.afterFloodGrouping, 2);
      assert.equal(icu.ackP50Seconds, 120);
      assert.equal(icu.nonActionableRate, 1); // the three gap alerts cleared by themselves, unacknowledged
      assert.deepEqual(
        r.incidents.map((i) => [i.rule, i.gatewayId, i.patients]),
        [['missing-data', 'gw-1', 3]],
      );
      const ward = r.groups.find((g) => g.id === 'ward-b') as Group;
      assert.equal(ward.alerts, 1);
      assert.equal(ward.bedDays, 1);
      assert.equal(ward.nonActionableRate, 1);
      assert.equal(r.overall.alerts, 5);
      assert.equal(r.overall.bedDays, 5);
      assert.equal(r.overall.topPatients.members, 1);
      assert.equal(r.overall.topPatients.top.length, 1); // an admin sees who
    });

    it('per care team; a nurse outside the team sees counts, not who', async () => {
      const r = (await must('GET', '/api/v1/program/alarm-burden?groupBy=care-team', nurse)) as unknown as {
        groups: Group[];
        overall: Group;
      };
      const teamA = r.groups.find((g) => g.name === 'Team A') as Group;
      assert.equal(teamA.alerts, 1);
      assert.equal(teamA.bedDays, 1);
      const none = r.groups.find((g) => g.id === '(none)') as Group;
      assert.equal(none.alerts, 4);
      assert.equal(r.overall.topPatients.top.length, 0);
      assert.equal(r.overall.topPatients.notShown, 1);
      // a smaller flood threshold is applied when asked
      const strict = (await must('GET', '/api/v1/program/alarm-burden?minPatients=4', admin)) as unknown as {
        incidents: unknown[];
      };
      assert.deepEqual(strict.incidents, []);
    });

    it('bad input is coded; an anonymous caller is refused', async () => {
      const bad = await call('GET', '/api/v1/program/alarm-burden?since=yesterday', admin);
      assert.equal(bad.statusCode, 400);
      assert.equal(bad.json().error.code, 'VIGIL_ERR_PROGRAM_INVALID_RANGE');
      const backwards = await call(
        'GET',
        `/api/v1/program/alarm-burden?since=${iso(now)}&until=${iso(now - 1000)}`,
        admin,
      );
      assert.equal(backwards.json().error.code, 'VIGIL_ERR_PROGRAM_INVALID_RANGE');
      const grouping = await call('GET', '/api/v1/program/alarm-burden?groupBy=ward', admin);
      assert.equal(grouping.statusCode, 400);
      assert.equal((await call('GET', '/api/v1/program/alarm-burden', undefined)).statusCode, 401);
    });
  });
}
