import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parse } from 'csv-parse/sync';
import { newId } from '../../src/core/ids.ts';
import { validateFhir } from '../support/fhir-validator.ts';
import { type InProcess, startInProcess } from '../support/in-process.ts';

/**
 * Population analytics through a whole Vigil (docs/populations.md): the example cohort
 * ("hypertension program, mean SBP > 150 over 14 days, fewer than 3 readings a week") over
 * planted patients that each miss one criterion, the care-team limit, alerts, the views (BP
 * control, TIR distribution, monthly trend), the exports (CSV, FHIR Group), the audit and bad input.
 * All windows end at a fixed `asOf`, so nothing depends on the day the test runs.
 */

const PASSWORD = 'a-long-staff-password-1';
const databases = [
  { name: 'PGlite', postgres: false },
  ...(process.env['VIGIL_TEST_DATABASE_URL'] ? [{ name: 'PostgreSQL', postgres: true }] : []),
];
const SNOMED = 'http://snomed.info/sct';
const HYPERTENSION = '38341003';
const PROGRAM_SYSTEM = 'https://vigil.example.org/fhir/CodeSystem/monitoring-program';
const AS_OF = '2026-03-20T12:00:00.000Z';
const asOf = Date.parse(AS_OF);
const DAY = 86_400_000;
const iso = (ms: number) => new Date(ms).toISOString();

const example = {
  criteria: [
    { kind: 'program', program: 'home-bp' },
    { kind: 'condition', system: SNOMED, code: HYPERTENSION },
    { kind: 'measure', code: '8480-6', statistic: 'mean', days: 14, op: '>', value: 150 },
    { kind: 'readings-per-week', code: '85354-9', days: 14, op: '<', value: 3 },
  ],
};

for (const db of databases) {
  describe(`cohorts (${db.name})`, () => {
    let v: InProcess;
    let admin: string;
    let clinician: string;
    let nurse: string;
    const ids: Record<string, string> = {};

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
    let seq = 0;
    const bp = (patient: string, at: number, sys: number, dia = 80) =>
      v.vigil.db.query(
        `insert into observation (id, patient_id, device_id, code, category, effective, received, value, unit, data, idem_key)
         values ($1, $2, 'cuff', '85354-9', 'vital-signs', $3, $3, null, null, $4::jsonb, $5)`,
        [
          newId(),
          patient,
          iso(at),
          JSON.stringify({
            components: [
              { code: '8480-6', value: sys, unit: 'mm[Hg]' },
              { code: '8462-4', value: dia, unit: 'mm[Hg]' },
            ],
          }),
          `bp-${++seq}`,
        ],
      );
    const glucose = (patient: string, at: number, mgdl: number) =>
      v.vigil.db.query(
        `insert into observation (id, patient_id, device_id, code, category, effective, received, value, unit, idem_key)
         values ($1, $2, 'cgm', '99504-3', 'laboratory', $3, $3, $4, 'mg/dL', $5)`,
        [newId(), patient, iso(at), mgdl, `cgm-${++seq}`],
      );
    const enrol = (patient: string, programs: string[]) =>
      v.vigil.db.query(
        `insert into monitoring_config (patient_id, version, enrolment, changed_by, changed_at)
         values ($1, 1, $2::jsonb, 'test', $3)`,
        [patient, JSON.stringify({ programs }), iso(asOf - 60 * DAY)],
      );
    const condition = (patient: string, status = 'active') =>
      must('POST', '/fhir/Condition', admin, {
        resourceType: 'Condition',
        subject: { reference: `Patient/${patient}` },
        clinicalStatus: {
          coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: status }],
        },
        code: { coding: [{ system: SNOMED, code: HYPERTENSION, display: 'Hypertensive disorder' }] },
      });

    before(async () => {
      v = await startInProcess({ postgres: db.postgres });
      admin = await v.token();
      for (const [username, roles, practitionerId] of [
        ['clin1', ['clinician'], 'pr-c'],
        ['nurse1', ['nurse'], 'pr-n'],
      ] as const)
        await must('POST', '/api/v1/users', admin, { username, roles, password: PASSWORD, practitionerId });
      const tok = async (username: string) =>
        (
          (await call('POST', '/auth/token', undefined, { username, password: PASSWORD })).json() as {
            access_token: string;
          }
        ).access_token;
      clinician = await tok('clin1');
      nurse = await tok('nurse1');
      for (const k of ['p1', 'p2', 'p3', 'p4', 'p5', 'p6']) {
        const p = await must('POST', '/fhir/Patient', admin, {
          resourceType: 'Patient',
          name: [{ family: `Cohort${k.toUpperCase()}`, given: ['Test'] }],
        });
        ids[k] = p['id'] as string;
      }
      const [p1, p2, p3, p4, p5, p6] = ['p1', 'p2', 'p3', 'p4', 'p5', 'p6'].map((k) => ids[k] as string) as [
        string,
        string,
        string,
        string,
        string,
        string,
      ];
      // p1 meets every criterion: program, hypertension, mean SBP 160, 2 readings in 14 days (1/week)
      await enrol(p1, ['home-bp']);
      await condition(p1);
      await bp(p1, asOf - 3 * DAY, 158);
      await bp(p1, asOf - 10 * DAY, 162);
      // p2: mean SBP 130 in the window (its 200 is 40 days old)
      await enrol(p2, ['home-bp']);
      await condition(p2);
      await bp(p2, asOf - 2 * DAY, 128);
      await bp(p2, asOf - 5 * DAY, 132);
      await bp(p2, asOf - 40 * DAY, 200);
      // p3: high SBP but 8 readings in 14 days (4 a week)
      await enrol(p3, ['home-bp']);
      await condition(p3);
      for (let i = 0; i < 8; i++) await bp(p3, asOf - (i + 1) * DAY, 165);
      // p4: another program
      await enrol(p4, ['heart-failure']);
      await condition(p4);
      await bp(p4, asOf - 2 * DAY, 170);
      // p5: no monitoring configuration; the program from its care team, which the clinician is in
      await must('PUT', '/fhir/Practitioner/pr-c', admin, { resourceType: 'Practitioner', id: 'pr-c' });
      await must('POST', '/fhir/CareTeam', admin, {
        resourceType: 'CareTeam',
        status: 'active',
        name: 'BP clinic',
        subject: { reference: `Patient/${p5}` },
        category: [{ coding: [{ system: PROGRAM_SYSTEM, code: 'home-bp' }] }],
        participant: [{ member: { reference: 'Practitioner/pr-c' } }],
      });
      await condition(p5);
      await bp(p5, asOf - 1 * DAY, 150);
      await bp(p5, asOf - 8 * DAY, 160);
      // p6: the hypertension is resolved
      await enrol(p6, ['home-bp']);
      await condition(p6, 'resolved');
      await bp(p6, asOf - 2 * DAY, 170);
      // CGM: p1 80 % in range, p2 50 %
      for (let i = 0; i < 10; i++) await glucose(p1, asOf - (i + 1) * 3600_000, i < 8 ? 120 : 220);
      for (let i = 0; i < 10; i++) await glucose(p2, asOf - (i + 1) * 3600_000, i < 5 ? 110 : 260);
      // alerts: one high threshold alert for p1 in the window, one for p2 long before
      for (const [patient, at] of [
        [p1, asOf - 5 * DAY],
        [p2, asOf - 90 * DAY],
      ] as const)
        await v.vigil.db.query(
          `insert into alert (id, patient_id, condition_key, rule, severity, state, summary, raised_at,
             last_detection_at, created_at, updated_at)
           values ($1, $2, 'threshold:sbp', 'threshold', 'high', 'open', 'test', $3, $3, $3, $3)`,
          [newId(), patient, iso(at)],
        );
    });
    after(async () => {
      await v?.stop();
    });

    it("finds exactly the patients meeting all the example's criteria, values per criterion", async () => {
      const r = await must('POST', '/api/v1/cohorts/evaluate', admin, { definition: example, asOf: AS_OF });
      const members = r['members'] as Array<{ patientId: string; name: string; values: number[] }>;
      assert.equal(r['count'], 2);
      assert.deepEqual(members.map((m) => m.patientId).sort(), [ids['p1'], ids['p5']].sort());
      const p1 = members.find((m) => m.patientId === ids['p1']);
      assert.deepEqual(p1?.values, [1, 1, 160, 1]);
      assert.equal(p1?.name, 'COHORTP1, Test');
    });

    it("a clinician counts only their care teams' patients; admins all", async () => {
      const r = await must('POST', '/api/v1/cohorts/evaluate', clinician, {
        definition: example,
        asOf: AS_OF,
      });
      assert.equal(r['count'], 1);
      assert.deepEqual(
        (r['members'] as Array<{ patientId: string }>).map((m) => m.patientId),
        [ids['p5']],
      );
      const n = await must('POST', '/api/v1/cohorts/evaluate', nurse, { definition: example, asOf: AS_OF });
      assert.equal(n['count'], 0);
    });

    it('counts alerts of a rule and severity in the window', async () => {
      const def = {
        criteria: [
          { kind: 'program', program: 'home-bp' },
          { kind: 'alerts', rule: 'threshold', severity: 'high', days: 30, op: '>=', value: 1 },
        ],
      };
      const r = await must('POST', '/api/v1/cohorts/evaluate', admin, { definition: def, asOf: AS_OF });
      assert.deepEqual(
        (r['members'] as Array<{ patientId: string }>).map((m) => m.patientId),
        [ids['p1']],
      );
      // "fewer than one alert" keeps the patients with none
      const none = await must('POST', '/api/v1/cohorts/evaluate', admin, {
        definition: { criteria: [{ ...def.criteria[0] }, { ...def.criteria[1], op: '<', value: 1 }] },
        asOf: AS_OF,
      });
      assert.equal(none['count'], 4);
    });

    it('saves a cohort, lists it, and shows BP control, TIR distribution and the monthly trend', async () => {
      const c = await must('POST', '/api/v1/cohorts', clinician, {
        name: 'Home BP program',
        definition: { criteria: [{ kind: 'program', program: 'home-bp' }] },
      });
      const list = await must('GET', '/api/v1/cohorts', nurse);
      assert.ok((list['cohorts'] as Array<{ id: string }>).some((x) => x.id === c['id']));
      const view = (await must('GET', `/api/v1/cohorts/${c['id']}/view?asOf=${AS_OF}&months=3`, admin)) as {
        members: number;
        bpControl: {
          patientsWithBp: number;
          controlled: number;
          rate: number;
          settings: { verified: boolean };
        };
        tir: {
          patientsWithCgm: number;
          meetingTarget: number;
          median: number;
          bins: Array<{ from: number; patients: number }>;
        };
        trend: Array<{
          month: string;
          patientsWithBp: number;
          bpControlRate: number | null;
          meanTir: number | null;
          alerts: number;
        }>;
      };
      assert.equal(view.members, 5); // p1 p2 p3 p5 p6
      // 30 days: only p2 (mean 130/80) is below 140/90
      assert.equal(view.bpControl.patientsWithBp, 5);
      assert.equal(view.bpControl.controlled, 1);
      assert.equal(view.bpControl.rate, 0.2);
      assert.equal(view.bpControl.settings.verified, false);
      assert.equal(view.tir.patientsWithCgm, 2);
      assert.equal(view.tir.meetingTarget, 1);
      assert.equal(view.tir.median, 65);
      assert.equal(view.tir.bins.find((b) => b.from === 80)?.patients, 1);
      assert.equal(view.tir.bins.find((b) => b.from === 50)?.patients, 1);
      assert.deepEqual(
        view.trend.map((t) => t.month),
        ['2026-01', '2026-02', '2026-03'],
      );
      const feb = view.trend[1];
      const mar = view.trend[2];
      assert.equal(feb?.patientsWithBp, 1); // p2's 200/80
      assert.equal(feb?.bpControlRate, 0);
      assert.equal(mar?.alerts, 1);
      assert.equal(mar?.meanTir, 65);
      // a clinician's view counts only their care team's patient (p5: 150 and 160, not controlled)
      const mine = (await must('GET', `/api/v1/cohorts/${c['id']}/view?asOf=${AS_OF}`, clinician)) as {
        members: number;
        bpControl: { patientsWithBp: number; controlled: number };
        tir: { patientsWithCgm: number };
      };
      assert.equal(mine.members, 1);
      assert.equal(mine.bpControl.patientsWithBp, 1);
      assert.equal(mine.bpControl.controlled, 0);
      assert.equal(mine.tir.patientsWithCgm, 0);
      // a stricter target, configurable: nobody is below 125/90
      const strict = (await must(
        'GET',
        `/api/v1/cohorts/${c['id']}/view?asOf=${AS_OF}&systolicBelow=125`,
        admin,
      )) as {
        bpControl: { controlled: number };
      };
      assert.equal(strict.bpControl.controlled, 0);
    });

    it('exports CSV and a valid FHIR Group of the members; audits without naming patients in logs', async () => {
      const c = await must('POST', '/api/v1/cohorts', admin, {
        name: 'Uncontrolled, few readings',
        definition: example,
      });
      const csv = await call('GET', `/api/v1/cohorts/${c['id']}/export?format=csv&asOf=${AS_OF}`, admin);
      assert.equal(csv.statusCode, 200);
      assert.match(String(csv.headers['content-type']), /text\/csv/);
      const rows = parse(csv.body) as string[][];
      assert.deepEqual(rows[0]?.slice(0, 2), ['patientId', 'name']);
      assert.equal(rows[0]?.[4], 'mean 8480-6 14d > 150');
      assert.equal(rows.length, 3);
      const g = await call('GET', `/api/v1/cohorts/${c['id']}/export?format=fhir&asOf=${AS_OF}`, admin);
      assert.match(String(g.headers['content-type']), /application\/fhir\+json/);
      const group = g.json();
      assert.deepEqual(validateFhir(group), []);
      assert.equal(group.actual, true);
      assert.equal(group.type, 'person');
      assert.deepEqual(
        group.member.map((m: { entity: { reference: string } }) => m.entity.reference).sort(),
        [`Patient/${ids['p1']}`, `Patient/${ids['p5']}`].sort(),
      );
      await v.vigil.ctx.security.audit.flush();
      const audit = await v.vigil.db.query<{ n: number }>(
        `select count(*)::int as n from audit_event where content::text like $1`,
        [`%cohort export: 2 patients%`],
      );
      assert.ok((audit[0]?.n ?? 0) >= 3, 'one record for the export and one per patient named');
      assert.doesNotMatch(v.logs(), /CohortP1|COHORTP1/i);
    });

    it('refuses bad definitions with a coded error naming the part, unknown cohorts, and nurses saving', async () => {
      const bad = await call('POST', '/api/v1/cohorts', admin, {
        name: 'bad',
        definition: {
          criteria: [{ kind: 'measure', code: '8480-6', statistic: 'median', days: 14, op: '>', value: 1 }],
        },
      });
      assert.equal(bad.statusCode, 400);
      assert.equal(bad.json().error.code, 'VIGIL_ERR_PROGRAM_COHORT_INVALID');
      assert.match(bad.json().error.message, /criteria\[0\]\.statistic/);
      const days = await call('POST', '/api/v1/cohorts/evaluate', admin, {
        definition: { criteria: [{ kind: 'alerts', days: 0, op: '>', value: 1 }] },
      });
      assert.equal(days.statusCode, 400);
      const asOfBad = await call('POST', '/api/v1/cohorts/evaluate', admin, {
        definition: example,
        asOf: 'yesterday',
      });
      assert.equal(asOfBad.json().error.code, 'VIGIL_ERR_PROGRAM_COHORT_INVALID');
      const missing = await call('GET', `/api/v1/cohorts/${newId()}/view`, admin);
      assert.equal(missing.statusCode, 404);
      assert.equal(missing.json().error.code, 'VIGIL_ERR_PROGRAM_COHORT_NOT_FOUND');
      const nurseSave = await call('POST', '/api/v1/cohorts', nurse, { name: 'x', definition: example });
      assert.equal(nurseSave.statusCode, 403);
    });
  });
}
