import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { systemClock } from '../../src/core/clock.ts';
import { newId } from '../../src/core/ids.ts';
import { createLogger } from '../../src/core/logger.ts';
import type { Reading } from '../../src/core/reading.ts';
import { AlarmSettingsService } from '../../src/pipeline/alarm-settings-service.ts';
import { AlarmSettingsRepository } from '../../src/store/alarm-settings-repository.ts';
import { type InProcess, insertPatient, startInProcess } from '../support/in-process.ts';

/**
 * Alarm settings under change control through a whole Vigil (docs/alarm-settings.md): a proposal
 * validated by the rule kinds, replayed over the program's stored readings (current vs proposed, an
 * acknowledged alert that would disappear flagged), reviewed by a second clinician (four eyes),
 * applied as a version that detection uses for the next reading; rejection, staleness, bad input coded.
 */

const PASSWORD = 'a-long-staff-password-1';
const databases = [
  { name: 'PGlite', postgres: false },
  ...(process.env['VIGIL_TEST_DATABASE_URL'] ? [{ name: 'PostgreSQL', postgres: true }] : []),
];
const DAY = 86_400_000;
const SBP_HIGH = 'threshold:8480-6:high';

interface Replay {
  before: { alerts: number };
  after: { alerts: number };
  byRuleSeverity: Array<{ rule: string; severity: string; before: number; after: number }>;
  patientsAffected: number;
  removedCount: number;
  removedAcknowledged: number;
  removed: Array<{ patientId: string; conditionKey: string; acknowledged: boolean }>;
  removedNotShown: number;
  warnings: string[];
  readings: number;
  patients: number;
  diff: Array<{ rule: string; field: string; before: unknown; after: unknown }>;
}
interface Proposal {
  id: string;
  status: string;
  proposedBy: string;
  reviewedBy: string | null;
  reviewNote: string | null;
  appliedVersion: number | null;
  replay: Replay | null;
  replayJob: { status: string; error?: string } | null;
}

for (const db of databases) {
  describe(`alarm settings change control (${db.name})`, () => {
    let v: InProcess;
    let admin: string;
    const tok = { a: '', b: '', nurse: '' };
    let secret = '';
    const now = Date.now();
    const iso = (ms: number) => new Date(ms).toISOString();
    const base = '/api/v1/programs/hypertension/alarm-settings';

    const call = async (method: string, url: string, token: string | undefined, body?: unknown) => {
      const r = await v.inject({
        method: method as 'GET',
        url,
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
      });
      return { status: r.statusCode, body: (r.body ? r.json() : {}) as Record<string, unknown> };
    };
    const must = async (method: string, url: string, token: string, body?: unknown) => {
      const r = await call(method, url, token, body);
      if (r.status >= 300) throw new Error(`${method} ${url} → ${r.status} ${JSON.stringify(r.body)}`);
      return r.body;
    };
    const code = (r: { body: Record<string, unknown> }) => (r.body['error'] as { code: string })?.code;
    const user = async (username: string, roles: string[], practitionerId: string) => {
      await must('POST', '/api/v1/users', admin, { username, roles, password: PASSWORD, practitionerId });
      return (await must('POST', '/auth/token', '', { username, password: PASSWORD }))[
        'access_token'
      ] as string;
    };
    const bp = (patientId: string, t: number, sbp: number): Reading => ({
      id: newId(),
      deviceId: 'cuff-hist',
      patientId,
      code: '85354-9',
      codings: [],
      category: 'vital-signs',
      value: null,
      unit: null,
      components: [
        { code: '8480-6', value: sbp, unit: 'mm[Hg]' },
        { code: '8462-4', value: 85, unit: 'mm[Hg]' },
      ],
      effective: iso(t),
      received: iso(t),
      flags: [],
      idempotencyKey: `hist-${patientId}-${t}`,
      transport: 'http',
      profile: 'native-json',
    });
    const storedAlert = (patient: string, at: number, acknowledged: boolean) =>
      v.vigil.db.query(
        `insert into alert (id, patient_id, condition_key, rule, severity, state, summary, raised_at,
           last_detection_at, created_at, updated_at, first_acknowledged_at, resolved_at, resolution)
         values ($1, $2, $3, 'sbp-high', 'medium', 'resolved', 'Systolic BP high', $4, $4, $4, $4, $5, $6, 'automatic')`,
        [newId(), patient, SBP_HIGH, iso(at), acknowledged ? iso(at + 60_000) : null, iso(at + 3600_000)],
      );
    const waitReplay = async (id: string, token: string): Promise<Proposal> => {
      for (let i = 0; i < 600; i++) {
        const p = (await must('GET', `${base}/proposals/${id}`, token)) as unknown as Proposal;
        if (p.replay !== null || p.replayJob?.status === 'failed') return p;
        await sleep(50);
      }
      throw new Error('replay did not finish');
    };

    before(async () => {
      v = await startInProcess({ postgres: db.postgres });
      admin = await v.token();
      for (const id of ['pat-1', 'pat-2', 'pat-3']) await insertPatient(v.vigil, id);
      await must('PUT', '/fhir/Practitioner/pr-a', admin, { resourceType: 'Practitioner', id: 'pr-a' }).catch(
        () => {},
      );
      await v.inject({
        method: 'PUT',
        url: '/fhir/CareTeam/team-a',
        headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/fhir+json' },
        payload: JSON.stringify({
          resourceType: 'CareTeam',
          id: 'team-a',
          status: 'active',
          subject: { reference: 'Patient/pat-1' },
          participant: [{ member: { reference: 'Practitioner/pr-a' } }],
        }),
      });
      tok.a = await user('clin-a', ['clinician'], 'pr-a');
      tok.b = await user('clin-b', ['clinician'], 'pr-b');
      tok.nurse = await user('nurse-n', ['nurse'], 'pr-n');
      for (const p of ['pat-1', 'pat-2'])
        await must('PUT', `/api/v1/patients/${p}/monitoring`, admin, {
          monitoring: { programs: ['hypertension'] },
        });
      // pat-3 is in another program: its readings are not the hypertension program's.
      await must('PUT', '/api/v1/patients/pat-3/monitoring', admin, {
        monitoring: { programs: ['heart-failure'] },
      });
      // Last month: pat-1 had a 165 (acknowledged: actionable) and a 175; pat-2 a 172; pat-3 a 165.
      const h = 3600_000;
      const rows = [
        bp('pat-1', now - 10 * DAY, 165),
        bp('pat-1', now - 10 * DAY + h, 140),
        bp('pat-1', now - 5 * DAY, 175),
        bp('pat-1', now - 5 * DAY + h, 140),
        bp('pat-2', now - 8 * DAY, 172),
        bp('pat-2', now - 8 * DAY + h, 140),
        bp('pat-3', now - 8 * DAY, 165),
        // Older than the 30 days replayed.
        bp('pat-2', now - 40 * DAY, 166),
        bp('pat-2', now - 40 * DAY + h, 140),
      ];
      await v.vigil.ctx.observations.insertBatch(v.vigil.db, rows);
      await storedAlert('pat-1', now - 10 * DAY, true);
      await storedAlert('pat-1', now - 5 * DAY, false);
      await storedAlert('pat-2', now - 8 * DAY, false);
      const reg = await must('POST', '/api/v1/devices', admin, {
        id: 'cuff-live',
        kind: 'blood-pressure-cuff',
      });
      secret = reg['secret'] as string;
      await must('POST', '/api/v1/devices/cuff-live/assignments', admin, {
        patientId: 'pat-2',
        start: iso(now - 60_000),
      });
    });
    after(async () => {
      await v?.stop();
    });

    it('shows the settings in force: version 0, the program’s own rules', async () => {
      const s = await must('GET', base, tok.nurse);
      assert.equal(s['version'], 0);
      const rule = (s['rules'] as Array<{ id: string; levels: Array<{ value: number }> }>).find(
        (r) => r.id === 'sbp-high',
      );
      assert.equal(rule?.levels[0]?.value, 160);
      assert.equal(
        code(await call('GET', '/api/v1/programs/no-such/alarm-settings', admin)),
        'VIGIL_ERR_ALARMSET_UNKNOWN_PROGRAM',
      );
    });

    it('refuses a change the rule kind refuses, naming the field; a nurse may not propose', async () => {
      const bad = await call('POST', `${base}/proposals`, tok.a, {
        changes: { 'sbp-high': { clearAt: 'high' } },
        reason: 'x',
      });
      assert.equal(bad.status, 400);
      assert.equal(code(bad), 'VIGIL_ERR_DETECT_CONFIG_INVALID');
      assert.match(JSON.stringify(bad.body), /changes\.sbp-high\.clearAt/);
      const unknown = await call('POST', `${base}/proposals`, tok.a, {
        changes: { 'no-rule': { severity: 'low' } },
        reason: 'x',
      });
      assert.equal(code(unknown), 'VIGIL_ERR_DETECT_CONFIG_INVALID');
      const kind = await call('POST', `${base}/proposals`, tok.a, {
        changes: { 'sbp-high': { kind: 'trend' } },
        reason: 'x',
      });
      assert.equal(code(kind), 'VIGIL_ERR_DETECT_CONFIG_INVALID');
      const empty = await call('POST', `${base}/proposals`, tok.a, { changes: {}, reason: 'x' });
      assert.equal(code(empty), 'VIGIL_ERR_DETECT_CONFIG_INVALID');
      const nurse = await call('POST', `${base}/proposals`, tok.nurse, {
        changes: { 'sbp-high': { clearAt: 145 } },
        reason: 'x',
      });
      assert.equal(nurse.status, 403);
    });

    let pid = '';
    let stale = '';
    it('replays a proposal: alerts before/after per rule, the acknowledged alert that disappears is a warning', async () => {
      const p = (await must('POST', `${base}/proposals`, tok.a, {
        changes: { 'sbp-high': { levels: [{ value: 170, severity: 'medium' }] } },
        reason: 'Too many systolic alerts between 160 and 170 in this cohort',
      })) as unknown as Proposal;
      assert.equal(p.status, 'proposed');
      assert.equal(p.replay, null);
      pid = p.id;
      // Proposed on the same version: will be stale once the first is applied.
      stale = (
        (await must('POST', `${base}/proposals`, tok.b, {
          changes: { 'sbp-high': { clearAt: 145 } },
          reason: 'clear sooner',
        })) as unknown as Proposal
      ).id;
      // Approval before any replay is refused: the reviewer must see the effect.
      const early = await call('POST', `${base}/proposals/${pid}/review`, tok.b, {
        decision: 'approve',
        note: 'ok',
      });
      assert.equal(code(early), 'VIGIL_ERR_ALARMSET_NO_REPLAY');

      const started = await call('POST', `${base}/proposals/${pid}/replay`, tok.a, { days: 30 });
      assert.equal(started.status, 202, JSON.stringify(started.body));
      const done = await waitReplay(pid, tok.a);
      assert.equal(done.replayJob, null, JSON.stringify(done.replayJob));
      const r = done.replay as Replay;
      assert.equal(r.patients, 2, 'pat-1 and pat-2 only (pat-3 is in another program)');
      assert.equal(r.readings, 6, 'the 30 days only, the program’s patients only');
      const sbp = r.byRuleSeverity.find((c) => c.rule === 'sbp-high' && c.severity === 'medium');
      assert.deepEqual(sbp && { before: sbp.before, after: sbp.after }, { before: 3, after: 2 });
      assert.equal(r.removedCount, 1);
      assert.equal(r.patientsAffected, 1);
      assert.equal(r.removedAcknowledged, 1);
      assert.equal(r.warnings.length, 1);
      assert.match(r.warnings[0] as string, /acknowledged/);
      // Clinician A is in pat-1's care team: the removed alert is named.
      assert.equal(r.removed.length, 1);
      assert.deepEqual(
        { p: r.removed[0]?.patientId, k: r.removed[0]?.conditionKey, ack: r.removed[0]?.acknowledged },
        { p: 'pat-1', k: SBP_HIGH, ack: true },
      );
      assert.ok(r.diff.some((d) => d.rule === 'sbp-high' && d.field === 'levels'));
      // Clinician B is not: counted, not named.
      const forB = (await must('GET', `${base}/proposals/${pid}`, tok.b)) as unknown as Proposal;
      assert.equal(forB.replay?.removed.length, 0);
      assert.equal(forB.replay?.removedNotShown, 1);
      // The replay raised nothing real.
      const real = await v.vigil.db.query<{ n: number }>('select count(*)::int as n from alert');
      assert.equal(real[0]?.n, 3);
    });

    it('a replay is bounded: past its reading limit it says it was cut', async () => {
      const small = new AlarmSettingsService({
        repo: new AlarmSettingsRepository(v.vigil.db),
        monitoring: v.vigil.pipeline.monitoring,
        clock: systemClock,
        log: createLogger('silent'),
        limits: { maxReadings: 3, maxPatients: 1, sliceReadings: 1 },
      });
      const r = await small.replay(await small.proposal('hypertension', pid), 30);
      assert.equal(r.readings, 3);
      assert.equal(r.patients, 1);
      assert.deepEqual(r.truncated, { readings: true, patients: true });
      assert.equal(r.warnings.filter((w) => /only/.test(w)).length, 2);
    });

    it('only its proposer withdraws a proposal', async () => {
      const p = (await must('POST', `${base}/proposals`, tok.a, {
        changes: { 'bp-trend': { severity: 'medium' } },
        reason: 'try',
      })) as unknown as Proposal;
      const other = await call('POST', `${base}/proposals/${p.id}/withdraw`, tok.b);
      assert.equal(code(other), 'VIGIL_ERR_ALARMSET_NOT_PROPOSER');
      const w = (await must('POST', `${base}/proposals/${p.id}/withdraw`, tok.a)) as unknown as Proposal;
      assert.equal(w.status, 'withdrawn');
      const late = await call('POST', `${base}/proposals/${p.id}/replay`, tok.a, {});
      assert.equal(code(late), 'VIGIL_ERR_ALARMSET_NOT_OPEN');
    });

    it('is reviewed by a second clinician only, and approval applies it as version 1', async () => {
      const self = await call('POST', `${base}/proposals/${pid}/review`, tok.a, {
        decision: 'approve',
        note: 'mine',
      });
      assert.equal(self.status, 403);
      assert.equal(code(self), 'VIGIL_ERR_ALARMSET_SELF_REVIEW');
      const byAdmin = await call('POST', `${base}/proposals/${pid}/review`, admin, {
        decision: 'approve',
        note: 'x',
      });
      assert.equal(byAdmin.status, 403, 'an administrator is not a clinical reviewer');
      const ok = await must('POST', `${base}/proposals/${pid}/review`, tok.b, {
        decision: 'approve',
        note: 'Accepted: the removed alert was reviewed with the team',
      });
      const p = ok['proposal'] as Proposal;
      assert.equal(p.status, 'approved');
      assert.ok(p.reviewedBy !== null && p.reviewedBy !== p.proposedBy, 'a second person reviewed');
      assert.equal(p.appliedVersion, 1);
      const again = await call('POST', `${base}/proposals/${pid}/review`, tok.b, {
        decision: 'approve',
        note: 'x',
      });
      assert.equal(code(again), 'VIGIL_ERR_ALARMSET_NOT_OPEN');

      const s = await must('GET', base, tok.nurse);
      assert.equal(s['version'], 1);
      const rule = (s['rules'] as Array<{ id: string; levels: Array<{ value: number }> }>).find(
        (r) => r.id === 'sbp-high',
      );
      assert.equal(rule?.levels[0]?.value, 170);
      const versions = (await must('GET', `${base}/versions`, tok.nurse))['versions'] as Array<{
        version: number;
        proposalId: string;
        reason: string;
        diff: Array<{ field: string; before: unknown; after: unknown }>;
      }>;
      assert.equal(versions.length, 1);
      assert.equal(versions[0]?.proposalId, pid);
      assert.match(versions[0]?.reason ?? '', /Too many systolic/);
      assert.deepEqual(
        versions[0]?.diff.map((d) => d.field),
        ['levels'],
      );
      // Audited: who approved what.
      const audited = async () =>
        (
          await v.vigil.db.query<{ n: number }>(
            `select count(*)::int as n from audit_event where entity_type = 'AlarmSettings' and entity_id = $1
               and action in ('C', 'E')`,
            [pid],
          )
        )[0]?.n ?? 0;
      for (let i = 0; i < 100 && (await audited()) < 3; i++) await sleep(50);
      assert.ok((await audited()) >= 3, 'propose, replay and review are audited');
    });

    it('detection uses the applied version for the next reading', async () => {
      const send = async (id: string, t: number, sbp: number) => {
        const r = await v.inject({
          method: 'POST',
          url: '/ingest/v1/readings',
          headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
          payload: JSON.stringify({
            readings: [
              {
                messageId: id,
                time: iso(t),
                type: 'blood-pressure',
                unit: 'mmHg',
                components: { systolic: sbp, diastolic: 80 },
              },
            ],
          }),
        });
        assert.ok(r.statusCode < 300, r.body);
      };
      const open = async () =>
        (
          await v.vigil.db.query<{ n: number }>(
            `select count(*)::int as n from alert where patient_id = 'pat-2' and condition_key = $1 and state <> 'resolved'`,
            [SBP_HIGH],
          )
        )[0]?.n ?? 0;
      await send('live-1', now - 30_000, 165);
      await send('live-2', now - 20_000, 175);
      for (let i = 0; i < 200 && (await open()) === 0; i++) await sleep(50);
      const raised = await v.vigil.db.query<{ summary: string; raised_at: Date | string }>(
        `select summary, raised_at from alert where patient_id = 'pat-2' and condition_key = $1 and state <> 'resolved'`,
        [SBP_HIGH],
      );
      assert.equal(raised.length, 1);
      // Opened by the 175, not the 165 (which the program's own 160 would have alarmed on).
      assert.equal(new Date(raised[0]?.raised_at as string).toISOString(), iso(now - 20_000));
    });

    it('a proposal made on an older version cannot be approved; a rejection records why', async () => {
      const r = await call('POST', `${base}/proposals/${stale}/review`, tok.a, {
        decision: 'approve',
        note: 'x',
      });
      assert.equal(r.status, 409);
      assert.equal(code(r), 'VIGIL_ERR_ALARMSET_STALE');
      const rej = await must('POST', `${base}/proposals/${stale}/review`, tok.a, {
        decision: 'reject',
        note: 'superseded by version 1',
      });
      const p = rej['proposal'] as Proposal;
      assert.equal(p.status, 'rejected');
      assert.equal(p.reviewNote, 'superseded by version 1');
      const list = (await must('GET', `${base}/proposals?status=rejected`, tok.nurse))[
        'proposals'
      ] as Proposal[];
      assert.deepEqual(
        list.map((x) => x.id),
        [stale],
      );
      const s = await must('GET', base, tok.nurse);
      assert.equal(s['version'], 1, 'a rejection applies nothing');
      const ghost = await call('GET', `${base}/proposals/01900000-0000-7000-8000-00000000dead`, tok.nurse);
      assert.equal(code(ghost), 'VIGIL_ERR_ALARMSET_NOT_FOUND');
    });
  });
}
