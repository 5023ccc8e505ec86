import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  addDevice,
  addPatient,
  addStaff,
  api,
  must,
  push,
  type Running,
  signIn,
  startTestVigil,
  vitalSet,
} from './seed.ts';

const HOUR = 3_600_000;
const CLIN_PW = 'clinician-pass-2026';

interface WorklistBody {
  total: number;
  filters: { programs: string[]; careTeams: string[] };
  patients: Array<{
    patientId: string;
    name: string;
    rank: number;
    acuity: number;
    programs: string[];
    news2: { total: number; band: string; source: string } | null;
    dataGap: boolean;
    unackedSeverity: string | null;
    topAlert: { id: string } | null;
    latest: Record<string, { value: number | null; components?: Record<string, number>; unit: string }>;
    trends: Record<string, Array<[number, number]>>;
    devices: Array<{ id: string; online: boolean; battery: number | null }>;
  }>;
}

describe('dashboard API', () => {
  let s: Running;
  let clinician: string;
  let stable: string;
  let sick: string;
  let other: string;
  let diabetic: string;
  const now = Date.now();

  before(async () => {
    s = await startTestVigil();
    const { practitionerId } = await addStaff(
      s.url,
      s.admin,
      'dr.lee',
      'clinician',
      { given: 'Jo', family: 'Lee' },
      CLIN_PW,
    );
    const { practitionerId: otherPr } = await addStaff(
      s.url,
      s.admin,
      'dr.other',
      'clinician',
      { given: 'Max', family: 'Other' },
      CLIN_PW,
    );
    clinician = await signIn(s.url, 'dr.lee', CLIN_PW);
    stable = await addPatient(s.url, s.admin, { given: 'Ada', family: 'Stable', program: 'post-surgical' }, [
      practitionerId,
    ]);
    sick = await addPatient(s.url, s.admin, { given: 'Bo', family: 'Sick', program: 'post-surgical' }, [
      practitionerId,
    ]);
    diabetic = await addPatient(
      s.url,
      s.admin,
      { given: 'Cy', family: 'Sugar', program: 'diabetes-cgm', team: 'Diabetes clinic' },
      [practitionerId],
    );
    other = await addPatient(s.url, s.admin, { given: 'Di', family: 'Elsewhere', program: 'post-surgical' }, [
      otherPr,
    ]);
    const sStable = await addDevice(
      s.url,
      s.admin,
      { id: 'mon-stable', kind: 'bedside-monitor' },
      stable,
      now - 48 * HOUR,
    );
    const sSick = await addDevice(
      s.url,
      s.admin,
      { id: 'mon-sick', kind: 'bedside-monitor' },
      sick,
      now - 48 * HOUR,
    );
    const sCgm = await addDevice(s.url, s.admin, { id: 'cgm-1', kind: 'cgm' }, diabetic, now - 48 * HOUR);
    await addDevice(s.url, s.admin, { id: 'mon-other', kind: 'bedside-monitor' }, other, now - 48 * HOUR);
    const normal = { hr: 72, spo2: 97, rr: 16, temp: 37, sys: 122, dia: 78 };
    const stableSets = [];
    const sickSets = [];
    for (let i = 6; i >= 0; i--) {
      stableSets.push(...vitalSet(now - i * HOUR - 60_000, normal));
      const k = (6 - i) / 6; // 0 → 1: worsening
      sickSets.push(
        ...vitalSet(
          now - i * HOUR - 60_000,
          {
            hr: 80 + 45 * k,
            spo2: 97 - 6 * k,
            rr: 16 + 10 * k,
            temp: 37 + 1.6 * k,
            sys: 125 - 30 * k,
            dia: 80 - 20 * k,
          },
          60,
        ),
      );
    }
    await push(s.url, sStable, stableSets);
    await push(s.url, sSick, sickSets);
    // CGM every 5 min for 2 days: 100 mg/dL by night, 200 after meals.
    const cgm = [];
    for (let t = now - 48 * HOUR; t < now; t += 5 * 60_000) {
      const h = new Date(t).getUTCHours();
      cgm.push({
        messageId: `g-${t}`,
        time: new Date(t).toISOString(),
        type: 'cgm-glucose',
        value: h >= 12 && h < 14 ? 200 : 100,
        unit: 'mg/dL',
      });
    }
    await push(s.url, sCgm, cgm);
  });
  after(async () => {
    await s?.stop();
  });

  it('ranks the deteriorating patient first and shows only the care team’s patients', async () => {
    const w = await must<WorklistBody>(s.url, clinician, 'GET', '/api/v1/dashboard/worklist');
    const ids = w.patients.map((p) => p.patientId);
    assert.ok(!ids.includes(other), 'a patient of another care team is not listed');
    assert.deepEqual(new Set(ids), new Set([stable, sick, diabetic]));
    const first = w.patients[0];
    assert.equal(first?.patientId, sick);
    assert.equal(first?.news2?.band, 'high');
    assert.equal(first?.news2?.source, 'computed');
    assert.equal(first?.latest['bp']?.components?.['systolic'], 95);
    assert.equal(first?.latest['hr']?.unit, '/min');
    assert.ok((first?.trends['hr']?.length ?? 0) >= 6, 'hourly heart-rate trend');
    assert.equal(first?.devices[0]?.id, 'mon-sick');
    assert.equal(first?.devices[0]?.battery, 60);
    const st = w.patients.find((p) => p.patientId === stable);
    assert.equal(st?.news2?.total, 0);
    assert.equal(st?.dataGap, false);
    assert.ok(w.filters.programs.includes('diabetes-cgm'));
    assert.ok(w.filters.careTeams.includes('Diabetes clinic'));
  });

  it('an admin sees every patient; filters by program and care team', async () => {
    const all = await must<WorklistBody>(s.url, s.admin, 'GET', '/api/v1/dashboard/worklist');
    assert.equal(all.total, 4);
    const byProgram = await must<WorklistBody>(
      s.url,
      clinician,
      'GET',
      '/api/v1/dashboard/worklist?program=diabetes-cgm',
    );
    assert.deepEqual(
      byProgram.patients.map((p) => p.patientId),
      [diabetic],
    );
    const byTeam = await must<WorklistBody>(
      s.url,
      clinician,
      'GET',
      `/api/v1/dashboard/worklist?careTeam=${encodeURIComponent('Diabetes clinic')}`,
    );
    assert.deepEqual(
      byTeam.patients.map((p) => p.patientId),
      [diabetic],
    );
  });

  it('an unacknowledged alert moves a patient up; acknowledging moves it back', async () => {
    const raised = await must<{ alert: { id: string } }>(s.url, clinician, 'POST', '/api/v1/alerts', {
      patientId: diabetic,
      severity: 'critical',
      summary: 'Glucose 48 mg/dL',
    });
    let w = await must<WorklistBody>(s.url, clinician, 'GET', '/api/v1/dashboard/worklist');
    assert.equal(w.patients[0]?.patientId, diabetic);
    assert.equal(w.patients[0]?.unackedSeverity, 'critical');
    assert.equal(w.patients[0]?.topAlert?.id, raised.alert.id);
    await must(s.url, clinician, 'POST', `/api/v1/alerts/${raised.alert.id}/acknowledge`, {
      note: 'calling patient',
    });
    w = await must<WorklistBody>(s.url, clinician, 'GET', '/api/v1/dashboard/worklist');
    assert.equal(w.patients[0]?.patientId, sick);
  });

  it('refuses patients outside the care team and anonymous callers', async () => {
    const r = await api(s.url, clinician, 'GET', `/api/v1/dashboard/patients/${other}/series?code=hr`);
    assert.equal(r.status, 403);
    const anon = await api(s.url, undefined, 'GET', '/api/v1/dashboard/worklist');
    assert.equal(anon.status, 401);
    const missing = await api(s.url, s.admin, 'GET', '/api/v1/dashboard/patients/no-such-patient');
    assert.equal(missing.status, 404);
  });

  it('patient summary: programs, devices, thresholds', async () => {
    const p = await must<{
      patient: { name: string };
      programs: string[];
      devices: Array<{ id: string }>;
      thresholds: Record<string, Array<{ value: number; direction: string }>>;
      hasCgm: boolean;
    }>(s.url, clinician, 'GET', `/api/v1/dashboard/patients/${diabetic}`);
    assert.equal(p.patient.name, 'SUGAR, Cy');
    assert.deepEqual(p.programs, ['diabetes-cgm']);
    assert.equal(p.hasCgm, true);
    assert.deepEqual(
      p.devices.map((d) => d.id),
      ['cgm-1'],
    );
    assert.ok(
      (p.thresholds['glucose'] ?? []).some((t) => t.direction === 'below'),
      'glucose low threshold',
    );
  });

  it('series: raw when short, bucketed with min/max over 30 days', async () => {
    const raw = await must<{
      bucketSeconds: number;
      keys: string[];
      columns: Record<string, number[]>;
      unit: string;
    }>(
      s.url,
      clinician,
      'GET',
      `/api/v1/dashboard/patients/${sick}/series?code=bp&from=${new Date(now - 24 * HOUR).toISOString()}`,
    );
    assert.equal(raw.bucketSeconds, 0);
    assert.deepEqual(raw.keys, ['systolic', 'diastolic']);
    assert.equal(raw.unit, 'mmHg');
    assert.equal(raw.columns['t']?.length, 7);
    assert.equal(raw.columns['systolic']?.at(-1), 95);
    const month = await must<{ bucketSeconds: number; columns: Record<string, Array<number | null>> }>(
      s.url,
      clinician,
      'GET',
      `/api/v1/dashboard/patients/${diabetic}/series?code=99504-3&from=${new Date(now - 30 * 24 * HOUR).toISOString()}&points=100`,
    );
    assert.ok(month.bucketSeconds >= 3600, 'bucketed');
    assert.ok((month.columns['t']?.length ?? 0) <= 101);
    assert.ok(month.columns['valueMax']?.includes(200));
    assert.ok(month.columns['valueMin']?.includes(100));
    const news = await must<{ columns: Record<string, number[]>; derived?: string }>(
      s.url,
      clinician,
      'GET',
      `/api/v1/dashboard/patients/${sick}/series?code=news2`,
    );
    assert.ok(news.derived, 'NEWS2 computed when detection stored none');
    assert.equal(news.columns['value']?.[0], 0);
    assert.ok((news.columns['value']?.at(-1) ?? 0) >= 7);
  });

  it('AGP and consensus metrics for a CGM patient', async () => {
    const agp = await must<{
      profile: Array<{ minute: number; n: number; p50: number | null }>;
      metrics: {
        readings: number;
        mean: number;
        inRange: number;
        above180: number;
        gmi: number;
        sufficient: boolean;
      };
      cadenceMinutes: number;
    }>(s.url, clinician, 'GET', `/api/v1/dashboard/patients/${diabetic}/agp?days=2&tz=UTC`);
    assert.equal(agp.profile.length, 96);
    assert.equal(agp.cadenceMinutes, 5);
    assert.equal(agp.profile.find((x) => x.minute === 12 * 60 + 30)?.p50, 200);
    assert.equal(agp.profile.find((x) => x.minute === 3 * 60)?.p50, 100);
    assert.ok(agp.metrics.readings >= 570);
    assert.equal(agp.metrics.inRange, Math.round((1 - agp.metrics.above180 / 100) * 1000) / 10);
    assert.equal(agp.metrics.sufficient, false, '2 days is not 14');
    const bad = await api(
      s.url,
      clinician,
      'GET',
      `/api/v1/dashboard/patients/${diabetic}/agp?tz=Mars/Olympus`,
    );
    assert.equal(bad.status, 400);
  });

  it('devices: the fleet with assigned patient only where visible', async () => {
    const d = await must<{
      devices: Array<{ id: string; online: boolean; patientId: string | null; patientName: string | null }>;
    }>(s.url, clinician, 'GET', '/api/v1/dashboard/devices');
    const mine = d.devices.find((x) => x.id === 'mon-sick');
    assert.equal(mine?.patientId, sick);
    assert.equal(
      mine?.patientName,
      `SICK, Bo (Vigil ID ${sick})`,
      'named with the identifier: names are not unique',
    );
    assert.equal(mine?.online, true);
    const theirs = d.devices.find((x) => x.id === 'mon-other');
    assert.equal(theirs?.patientId, null);
    assert.equal(theirs?.patientName, null);
  });

  it('serves the dashboard at / with an SPA fallback that never shadows the APIs', async () => {
    const root = await fetch(`${s.url}/`);
    assert.equal(root.status, 200);
    assert.match(root.headers.get('content-type') ?? '', /text\/html/);
    assert.match(await root.text(), /Vigil/);
    const deep = await fetch(`${s.url}/some/client/view`);
    assert.equal(deep.status, 200);
    assert.match(deep.headers.get('content-type') ?? '', /text\/html/);
    for (const path of ['/api/v1/nope', '/fhir/Nope/1', '/auth/nope']) {
      const r = await fetch(`${s.url}${path}`);
      assert.ok(r.status === 404 || r.status === 401, `${path} → ${r.status}`);
      assert.doesNotMatch(r.headers.get('content-type') ?? '', /text\/html/, `${path} is not the SPA`);
    }
    const health = await fetch(`${s.url}/health`);
    assert.equal(health.status, 200);
  });
});
