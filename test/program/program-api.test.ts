import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { addDays, lastDayOf } from '../../src/program/calendar-days.ts';
import { type InProcess, insertPatient, startInProcess } from '../support/in-process.ts';

/**
 * The program API through a whole in-process Vigil: devices registered through the API, readings
 * sent by the devices with their secrets (device times spread over days), staff time logged by care
 * team nurses, then billing (JSON and CSV), metrics, fleet and access.
 */

const DAY = 86_400_000;
const PASSWORD = 'a-long-staff-password-1';

// A month that has ended, whatever day the test runs: two months before the current one.
const now = new Date();
const month = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 2, 1)).toISOString().slice(0, 7);
// Episode starts 5 days before the month's last day minus 29, so its first period ends in the month.
const periodEnd = addDays(lastDayOf(month), -3);
const periodStart = addDays(periodEnd, -29);
const at = (day: string, hhmm = '12:00') => new Date(`${day}T${hhmm}:00Z`).getTime();

let v: InProcess;
let admin: string;
const tokens: Record<'nurseA' | 'nurseB' | 'patientA', string> = { nurseA: '', nurseB: '', patientA: '' };

async function req(method: string, url: string, token: string | undefined, body?: unknown) {
  const r = await v.inject({
    method: method as 'GET',
    url,
    headers: token ? { authorization: `Bearer ${token}` } : {},
    ...(body !== undefined ? { payload: body as object } : {}),
  });
  return r;
}

async function must(method: string, url: string, token: string | undefined, body?: unknown) {
  const r = await req(method, url, token, body);
  if (r.statusCode >= 300) throw new Error(`${method} ${url} → ${r.statusCode} ${r.body}`);
  return r.json() as Record<string, unknown>;
}

async function put(resource: { resourceType: string; id: string } & Record<string, unknown>) {
  await v.vigil.db.query(
    `insert into fhir_resource (resource_type, id, version_id, last_updated, content) values ($1, $2, 1, now(), $3::jsonb)
     on conflict (resource_type, id) do update set content = $3::jsonb, version_id = fhir_resource.version_id + 1`,
    [resource.resourceType, resource.id, JSON.stringify(resource)],
  );
}

async function staffUser(username: string, roles: string[], links: Record<string, string>) {
  await must('POST', '/api/v1/users', admin, { username, roles, password: PASSWORD, ...links });
  const r = await must('POST', '/auth/token', undefined, { username, password: PASSWORD });
  return r['access_token'] as string;
}

async function device(id: string, kind: string, patientId: string, from: number, firmware = '2.1.0') {
  const reg = await must('POST', '/api/v1/devices', admin, { id, kind, firmware, model: 'Test model' });
  await must('POST', `/api/v1/devices/${id}/assignments`, admin, {
    patientId,
    start: new Date(from).toISOString(),
  });
  return reg['secret'] as string;
}

async function send(secret: string, times: number[], battery?: number) {
  const readings = times.map((t, i) => ({
    messageId: `m-${t}-${i}`,
    time: new Date(t).toISOString(),
    type: 'heart-rate',
    value: 70 + (i % 10),
    unit: '/min',
    ...(battery !== undefined ? { battery } : {}),
  }));
  const r = await req('POST', '/ingest/v1/readings', secret, { readings });
  assert.ok(r.statusCode < 300, `ingest ${r.statusCode} ${r.body}`);
  const results = (r.json() as { results: Array<{ status: string }> }).results;
  assert.equal(results.filter((x) => x.status === 'rejected').length, 0, r.body);
}

before(async () => {
  // On PostgreSQL when VIGIL_TEST_DATABASE_URL is set (a fresh database), else PGlite.
  v = await startInProcess({ postgres: !!process.env['VIGIL_TEST_DATABASE_URL'] });
  admin = await v.token();
  for (const id of ['pat-a', 'pat-b', 'pat-c']) await insertPatient(v.vigil, id);
  // pat-a lives in New York (FHIR timezone extension); pat-b and pat-c fall back to UTC.
  await put({
    resourceType: 'Patient',
    id: 'pat-a',
    extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/timezone', valueCode: 'America/New_York' }],
  });
  for (const id of ['pr-a', 'pr-b']) await put({ resourceType: 'Practitioner', id });
  await put({
    resourceType: 'CareTeam',
    id: 'team-a',
    status: 'active',
    subject: { reference: 'Patient/pat-a' },
    participant: [{ member: { reference: 'Practitioner/pr-a' } }],
  });
  for (const p of ['pat-b', 'pat-c'])
    await put({
      resourceType: 'CareTeam',
      id: `team-${p}`,
      status: 'active',
      subject: { reference: `Patient/${p}` },
      participant: [{ member: { reference: 'Practitioner/pr-b' } }],
    });
  tokens.nurseA = await staffUser('nurse-a', ['nurse'], { practitionerId: 'pr-a' });
  tokens.nurseB = await staffUser('nurse-b', ['nurse'], { practitionerId: 'pr-b' });
  tokens.patientA = await staffUser('patient-a', ['patient'], { patientId: 'pat-a' });

  const start = at(periodStart, '14:00');
  // pat-a: 16 days at 17:00 UTC, plus one reading at 03:30 UTC the day after the last — still the
  // evening before in New York, so it adds no day there (in UTC it would make 17).
  const secretA = await device('cuff-a', 'blood-pressure-cuff', 'pat-a', start);
  const daysA = Array.from({ length: 16 }, (_, i) => at(addDays(periodStart, i + 1), '17:00'));
  await send(secretA, [...daysA, at(addDays(periodStart, 17), '03:30')], 80);
  // pat-b: 15 days (99445), plus a second device the same days (still 15 distinct days).
  const secretB = await device('scale-b', 'scale', 'pat-b', start);
  const daysB = Array.from({ length: 15 }, (_, i) => at(addDays(periodStart, i * 2), '15:00'));
  await send(secretB, daysB, 12);
  const secretB2 = await device('ox-b', 'pulse-oximeter', 'pat-b', start, '3.0.0');
  await send(
    secretB2,
    daysB.map((t) => t + 3_600_000),
  );
  // pat-c: a single day of data.
  const secretC = await device('cgm-c', 'cgm', 'pat-c', start);
  await send(secretC, [at(addDays(periodStart, 4))]);
  // A registered device nobody uses.
  await must('POST', '/api/v1/devices', admin, { id: 'spare-1', kind: 'scale', firmware: '1.0.0' });
  // Derived readings (NEWS2 and the like) must not count as transmitted data.
  for (let i = 0; i < 10; i++) {
    await v.vigil.db.query(
      `insert into observation (id, patient_id, device_id, code, effective, received, value, data, idem_key)
       values (gen_random_uuid(), 'pat-c', 'cgm-c', '1104051000000101', $1, $1, 1, '{"transport":"derived"}'::jsonb, $2)`,
      [new Date(at(addDays(periodStart, 10 + i))).toISOString(), `derived-${i}`],
    );
  }

  // Care time in the month: pat-a 12 + 10 min with one call; pat-b 25 min without any call.
  const mid = (d: number, hh = '15:00') =>
    new Date(at(`${month}-${String(d).padStart(2, '0')}`, hh)).toISOString();
  await must('POST', '/api/v1/patients/pat-a/care-time', tokens.nurseA, {
    minutes: 12,
    activity: 'data-review',
    start: mid(3),
  });
  await must('POST', '/api/v1/patients/pat-a/care-time', tokens.nurseA, {
    minutes: 10,
    activity: 'patient-communication',
    interactive: true,
    start: mid(9),
    note: 'discussed readings',
  });
  await must('POST', '/api/v1/patients/pat-b/care-time', tokens.nurseB, {
    minutes: 25,
    activity: 'care-coordination',
    start: mid(12),
  });
});

after(async () => {
  await v?.stop();
});

type Billing = {
  patientId: string;
  timeZone: string;
  codes: Array<{ code: string; units: number }>;
  devicePeriods: Array<{
    start: string;
    end: string;
    daysWithData: number;
    complete: boolean;
    reasons: string[];
  }>;
  treatment: { minutes: number; interactiveCommunications: number; reasons: string[] };
};
const codeList = (b: Billing | undefined) =>
  (b?.codes ?? []).map((c) => (c.units > 1 ? `${c.code}x${c.units}` : c.code)).join(' ');

describe('program API', () => {
  it('bills per patient: days in the patient time zone, exclusive device and management codes', async () => {
    const r = await must('GET', `/api/v1/program/billing?month=${month}`, admin);
    const patients = r['patients'] as Billing[];
    const a = patients.find((p) => p.patientId === 'pat-a');
    const b = patients.find((p) => p.patientId === 'pat-b');
    const c = patients.find((p) => p.patientId === 'pat-c');
    assert.equal(a?.timeZone, 'America/New_York');
    assert.equal(a?.devicePeriods[0]?.end, periodEnd);
    assert.equal(a?.devicePeriods[0]?.daysWithData, 16);
    assert.equal(a?.treatment.minutes, 22);
    assert.equal(codeList(a), '99453 99454 99457');
    assert.equal(b?.timeZone, 'UTC');
    assert.equal(b?.devicePeriods[0]?.daysWithData, 15);
    assert.equal(codeList(b), '99445');
    assert.match(b?.treatment.reasons[0] ?? '', /no real-time interactive communication/);
    assert.equal(c?.devicePeriods[0]?.daysWithData, 1, 'derived readings are not transmitted data');
    assert.equal(codeList(c), '');
    assert.match(c?.devicePeriods[0]?.reasons[0] ?? '', /99445 needs 2/);
    assert.equal(r['timeZoneDefault'], 'UTC');
  });

  it('applies the 2-day set-up rule when asked (unverified rule, configurable)', async () => {
    const r = await must('GET', `/api/v1/program/billing?month=${month}&setupMinDays=2`, admin);
    const b = (r['patients'] as Billing[]).find((p) => p.patientId === 'pat-b');
    assert.equal(codeList(b), '99445 99453');
    assert.match(JSON.stringify(r['rules']), /unverified/);
  });

  it('answers CSV: one line per device period and per treatment month', async () => {
    const r = await req('GET', `/api/v1/program/billing?month=${month}&format=csv`, admin);
    assert.equal(r.statusCode, 200);
    assert.match(String(r.headers['content-type']), /^text\/csv/);
    const lines = r.body.trimEnd().split('\r\n');
    assert.equal(
      lines[0],
      'patientId,timeZone,item,start,end,daysWithData,minutes,interactiveCommunications,complete,codes,reasons',
    );
    const a = lines.filter((l) => l.startsWith('pat-a,'));
    assert.equal(a.length, 2);
    assert.match(
      a[0] ?? '',
      new RegExp(`^pat-a,America/New_York,device-period,${periodStart},${periodEnd},16,,,true,99454 99453,`),
    );
    assert.match(a[1] ?? '', /^pat-a,America\/New_York,treatment-month,.*,22,1,true,99457,/);
    const b = lines.find((l) => l.startsWith('pat-b,') && l.includes('treatment-month'));
    assert.match(b ?? '', /,25,0,true,,"?25 minutes logged but no real-time/);
  });

  it('refuses a malformed month', async () => {
    const r = await req('GET', '/api/v1/program/billing?month=2026-13', admin);
    assert.equal(r.statusCode, 400);
  });

  it('care time: the nurse of the care team logs and reads; another team gets 403', async () => {
    const own = await must(
      'GET',
      '/api/v1/patients/pat-a/care-time?since=2000-01-01T00:00:00Z',
      tokens.nurseA,
    );
    assert.equal(own['minutes'], 22);
    assert.equal(own['interactiveCommunications'], 1);
    const denied = await req('POST', '/api/v1/patients/pat-a/care-time', tokens.nurseB, {
      minutes: 5,
      activity: 'data-review',
    });
    assert.equal(denied.statusCode, 403);
    assert.equal(
      (denied.json() as { error: { code: string } }).error.code,
      'VIGIL_ERR_AUTH_NOT_IN_CARE_TEAM',
    );
    assert.equal((await req('GET', '/api/v1/patients/pat-a/care-time', tokens.nurseB)).statusCode, 403);
    // An administrator is not clinical staff; a patient cannot log time.
    for (const t of [admin, tokens.patientA]) {
      const r = await req('POST', '/api/v1/patients/pat-a/care-time', t, {
        minutes: 5,
        activity: 'data-review',
      });
      assert.equal(r.statusCode, 403);
    }
  });

  it('care time refuses time in the future and unknown activities', async () => {
    const future = new Date(Date.now() + 2 * DAY).toISOString();
    const r = await req('POST', '/api/v1/patients/pat-a/care-time', tokens.nurseA, {
      minutes: 5,
      activity: 'data-review',
      start: future,
    });
    assert.equal(r.statusCode, 400);
    assert.equal((r.json() as { error: { code: string } }).error.code, 'VIGIL_ERR_PROGRAM_FUTURE_TIME');
    const bad = await req('POST', '/api/v1/patients/pat-a/care-time', tokens.nurseA, {
      minutes: 5,
      activity: 'golf',
    });
    assert.equal(bad.statusCode, 400);
  });

  it('billing is for administrators only', async () => {
    assert.equal((await req('GET', `/api/v1/program/billing?month=${month}`, tokens.nurseA)).statusCode, 403);
  });

  it('metrics: enrolment, adherence, patient-days from transmitted data', async () => {
    const until = new Date(at(addDays(periodEnd, 1), '00:00')).toISOString();
    const m = await must('GET', `/api/v1/program/metrics?until=${until}`, tokens.nurseA);
    assert.equal(m['enrolledPatients'], 3);
    assert.equal(m['activeDevices'], 4);
    assert.equal(m['adherentPatients'], 1);
    assert.equal(m['adherence'], 0.333);
    // pat-a 16 (New York days; the window starts 30 UTC days before `until`) + pat-b 15 + pat-c 1.
    assert.equal(m['patientDays'], 32);
    assert.ok(Array.isArray(m['acknowledgementBySeverity']));
  });

  it('fleet: offline by cadence, low battery, firmware versions, unassigned devices', async () => {
    const f = await must('GET', '/api/v1/program/fleet', tokens.nurseB);
    const totals = f['totals'] as Record<string, number>;
    const devices = f['devices'] as Array<{
      id: string;
      state: string;
      lowBattery: boolean;
      assigned: boolean;
    }>;
    const byId = new Map(devices.map((d) => [d.id, d]));
    assert.equal(totals['devices'], 5);
    assert.equal(byId.get('spare-1')?.state, 'never-seen');
    assert.equal(byId.get('spare-1')?.assigned, false);
    assert.equal(totals['unassigned'], 1);
    assert.equal(byId.get('scale-b')?.lowBattery, true);
    assert.equal(byId.get('cuff-a')?.lowBattery, false);
    assert.equal(totals['lowBattery'], 1);
    const fw = f['firmware'] as Array<{ kind: string; firmware: string; devices: number }>;
    assert.ok(fw.some((x) => x.kind === 'pulse-oximeter' && x.firmware === '3.0.0' && x.devices === 1));
  });

  it('logs no patient data', () => {
    assert.ok(!v.logs().includes('discussed readings'));
  });
});
