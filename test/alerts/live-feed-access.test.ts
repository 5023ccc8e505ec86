import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { careTeamMembers, patientsOfPractitioner, recipientContext } from '../../src/alerts/care-team.ts';
import { call, type Harness, putResource, seedWorld, startSecured, type World } from '../security/support.ts';

/**
 * The live feed asks the one access policy, on the open socket: a CareTeam that is only proposed,
 * or a participation whose period has ended, gives nothing; removal from a team stops that
 * patient's alerts on a socket that is already open (at once when the team is changed through
 * this worker, within the re-check interval when it is changed elsewhere).
 */
interface LiveAlert {
  type: string;
  alert?: { patientId: string; summary: string };
}

describe('live feed access on the open socket', () => {
  let h: Harness;
  let w: World;
  let n = 0;
  before(async () => {
    h = await startSecured();
    w = await seedWorld(h.vigil);
    const team = (
      id: string,
      patient: string,
      extra: Record<string, unknown> = {},
      participant: Record<string, unknown> = {},
    ) =>
      putResource(h.vigil, {
        resourceType: 'CareTeam',
        id,
        status: 'active',
        subject: { reference: `Patient/${patient}` },
        participant: [{ member: { reference: 'Practitioner/pr-clin' }, ...participant }],
        ...extra,
      });
    for (const id of [
      'pat-past',
      'pat-proposed',
      'pat-team-ended',
      'pat-keep',
      'pat-marker',
      'pat-elsewhere',
    ])
      await putResource(h.vigil, { resourceType: 'Patient', id, active: true });
    await team(
      'team-past',
      'pat-past',
      {},
      { period: { start: '2019-01-01T00:00:00Z', end: '2021-01-01T00:00:00Z' } },
    );
    await team('team-proposed', 'pat-proposed', { status: 'proposed' });
    await team('team-ended', 'pat-team-ended', { period: { end: '2021-06-30T00:00:00Z' } });
    await team('team-keep', 'pat-keep');
    await team('team-marker', 'pat-marker');
    await team('team-elsewhere', 'pat-elsewhere');
    h.vigil.ctx.security.careTeams.invalidate();
  });
  after(async () => h?.close());

  async function open(
    token: string,
  ): Promise<{ received: LiveAlert[]; close(): void; waitFor(summary: string): Promise<void> }> {
    const url = h.vigil.httpUrl.replace(/^http/, 'ws');
    const received: LiveAlert[] = [];
    const waiters: Array<() => void> = [];
    const ws = new WebSocket(`${url}/api/v1/live`, ['vigil.v1', `vigil.bearer.${token}`]);
    await new Promise<void>((resolve, reject) => {
      ws.addEventListener('message', (e) => {
        const m = JSON.parse(String(e.data)) as LiveAlert;
        if (m.type === 'ready') resolve();
        received.push(m);
        for (const wake of waiters.splice(0)) wake();
      });
      ws.addEventListener('close', (e) => reject(new Error(`closed ${e.code}`)));
    });
    return {
      received,
      close: () => ws.close(),
      async waitFor(summary) {
        for (let i = 0; i < 400; i++) {
          if (received.some((m) => m.alert?.summary === summary)) return;
          await Promise.race([
            new Promise<void>((r) => waiters.push(r)),
            new Promise((r) => setTimeout(r, 50)),
          ]);
        }
        assert.fail(`live message "${summary}" never arrived`);
      },
    };
  }

  async function raise(patientId: string): Promise<string> {
    n += 1;
    const summary = `live-access ${patientId} #${n}`;
    const r = await call(h.vigil, 'POST', '/api/v1/alerts', {
      token: w.tokens.admin,
      body: { patientId, severity: 'high', summary, conditionKey: `live-access-${n}` },
    });
    assert.equal(r.status, 201, r.body);
    return summary;
  }

  const summaries = (feed: { received: LiveAlert[] }, patientId: string) =>
    feed.received.filter((m) => m.alert?.patientId === patientId).map((m) => m.alert?.summary);

  test('a proposed team, an ended participation or an ended team gives no alert; a current one does', async () => {
    const feed = await open(w.tokens.clinician);
    try {
      for (const p of ['pat-past', 'pat-proposed', 'pat-team-ended']) await raise(p);
      // Messages on one socket arrive in order: once the marker is in, the others would have been too.
      await feed.waitFor(await raise('pat-marker'));
      assert.deepEqual(summaries(feed, 'pat-past'), []);
      assert.deepEqual(summaries(feed, 'pat-proposed'), []);
      assert.deepEqual(summaries(feed, 'pat-team-ended'), []);
      assert.equal(summaries(feed, 'pat-marker').length, 1);
    } finally {
      feed.close();
    }
  });

  test('removed from a team through the FHIR API: the next alert of that patient is not sent', async () => {
    const feed = await open(w.tokens.clinician);
    try {
      await feed.waitFor(await raise('pat-keep'));
      const put = await call(h.vigil, 'PUT', '/fhir/CareTeam/team-keep', {
        token: w.tokens.admin,
        body: JSON.stringify({
          resourceType: 'CareTeam',
          id: 'team-keep',
          status: 'active',
          subject: { reference: 'Patient/pat-keep' },
          participant: [{ member: { reference: 'Practitioner/pr-elsewhere' } }],
        }),
        headers: { 'content-type': 'application/fhir+json' },
      });
      assert.ok(put.status === 200 || put.status === 201, put.body);
      const after1 = await raise('pat-keep');
      const after2 = await raise('pat-keep');
      await feed.waitFor(await raise('pat-marker'));
      const got = summaries(feed, 'pat-keep');
      assert.equal(got.includes(after1), false, 'alert after removal was sent');
      assert.equal(got.includes(after2), false, 'alert after removal was sent');
      assert.equal(got.length, 1);
    } finally {
      feed.close();
    }
  });

  test('removed from a team by another worker (database only): the open socket stops within the re-check', async () => {
    const feed = await open(w.tokens.clinician);
    try {
      await feed.waitFor(await raise('pat-elsewhere'));
      // Written straight to the store: no invalidation reaches this worker, only its periodic re-check.
      await putResource(h.vigil, {
        resourceType: 'CareTeam',
        id: 'team-elsewhere',
        status: 'inactive',
        subject: { reference: 'Patient/pat-elsewhere' },
        participant: [{ member: { reference: 'Practitioner/pr-clin' } }],
      });
      let stopped = false;
      for (let i = 0; i < 60 && !stopped; i++) {
        const probe = await raise('pat-elsewhere');
        await feed.waitFor(await raise('pat-marker'));
        stopped = !summaries(feed, 'pat-elsewhere').includes(probe);
        if (!stopped) await new Promise((r) => setTimeout(r, 500));
      }
      assert.equal(stopped, true, 'the removal never reached the open socket');
      const before = summaries(feed, 'pat-elsewhere').length;
      for (let i = 0; i < 3; i++) await raise('pat-elsewhere');
      await feed.waitFor(await raise('pat-marker'));
      assert.equal(summaries(feed, 'pat-elsewhere').length, before, 'alerts kept coming after the removal');
    } finally {
      feed.close();
    }
  });
  test('patientsOfPractitioner and the notification recipients honour status and periods', async () => {
    const mine = new Set(await patientsOfPractitioner(h.vigil.db, 'pr-clin'));
    for (const p of ['pat-past', 'pat-proposed', 'pat-team-ended']) assert.equal(mine.has(p), false, p);
    assert.equal(mine.has('pat-marker'), true);
    for (const p of ['pat-past', 'pat-proposed', 'pat-team-ended'])
      assert.deepEqual(await careTeamMembers(h.vigil.db, p), [], p);
    const ctx = await recipientContext(h.vigil.db, ['pat-past', 'pat-proposed', 'pat-marker']);
    assert.deepEqual(ctx.members.get('pat-past'), []);
    assert.deepEqual(ctx.members.get('pat-proposed'), []);
    assert.equal(ctx.members.get('pat-marker')?.length, 1);
  });
});
