import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FakeClock } from '../../src/core/clock.ts';
import type { Vigil } from '../../src/server.ts';
import { call, signIn, startTestVigil } from '../pipeline/support.ts';

interface RequestView {
  id: string;
  kind: string;
  code: string;
  status: string;
  outcome: string;
  triggerReadingId: string;
  fulfilledBy: string | null;
  requestedAt: string;
  notBefore: string;
  dueBy: string;
  closedAt: string | null;
  instruction: string | null;
  summary: string;
}

/**
 * Measurement requests end to end: a first crisis-level home BP opens a request (a record, not a
 * crisis alert), visible to the care team and the patient; the repeat 6 min later fulfils it
 * (linked); a second first reading without a repeat expires at its due time and the crisis alert
 * is raised then, saying there was no repeat.
 */
describe('measurement requests (home BP, hypertension program)', () => {
  const clock = new FakeClock(Date.parse('2026-03-02T08:00:00Z'));
  let vigil: Vigil;
  let url: string;
  let admin: string;
  let patientToken: string;
  let patientId: string;
  let otherId: string;
  let secret: string;
  const readingIds = async () =>
    (
      await vigil.db.query<{ id: string; systolic: number }>(
        `select id::text as id from observation where patient_id = $1 order by effective`,
        [patientId],
      )
    ).map((r) => r.id);
  const send = async (tag: string, sys: number, dia: number) => {
    const res = await fetch(`${url}/ingest/v1/readings`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify([
        {
          messageId: tag,
          time: new Date(clock.now()).toISOString(),
          type: 'blood-pressure',
          unit: 'mmHg',
          components: { systolic: sys, diastolic: dia },
        },
      ]),
    });
    assert.ok(res.status < 300, `ingest answered ${res.status}: ${await res.text()}`);
    await vigil.pipeline.idle();
  };
  const requests = async (token: string, q = '') =>
    call<{ patientId: string; measurementRequests: RequestView[] }>(
      url,
      token,
      'GET',
      `/api/v1/patients/${patientId}/measurement-requests${q}`,
    );
  const alerts = async () =>
    (
      await call<{ alerts: Array<{ conditionKey: string; severity: string; summary: string }> }>(
        url,
        admin,
        'GET',
        `/api/v1/alerts?patient=${encodeURIComponent(patientId)}`,
      )
    ).body.alerts;

  before(async () => {
    vigil = await startTestVigil({ clock });
    url = vigil.httpUrl;
    admin = await signIn(url);
    const mk = async () =>
      (
        await call<{ id: string }>(
          url,
          admin,
          'POST',
          '/fhir/Patient',
          { resourceType: 'Patient', name: [{ family: 'Home' }] },
          'application/fhir+json',
        )
      ).body.id;
    patientId = await mk();
    otherId = await mk();
    const put = await call(url, admin, 'PUT', `/api/v1/patients/${patientId}/monitoring`, {
      monitoring: { programs: ['hypertension'] },
      reason: 'home BP monitoring',
    });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    const reg = await call<{ secret: string }>(url, admin, 'POST', '/api/v1/devices', {
      id: 'cuff-mr',
      kind: 'blood-pressure-cuff',
    });
    secret = reg.body.secret;
    const asg = await call(url, admin, 'POST', '/api/v1/devices/cuff-mr/assignments', {
      patientId,
      start: new Date(clock.now() - 3600_000).toISOString(),
    });
    assert.equal(asg.status, 201, JSON.stringify(asg.body));
    const user = await call<{ password: string }>(url, admin, 'POST', '/api/v1/users', {
      username: 'home-patient',
      roles: ['patient'],
      patientId,
    });
    assert.equal(user.status, 201, JSON.stringify(user.body));
    patientToken = await signIn(url, user.body.password, 'home-patient');
  });
  after(async () => {
    await vigil?.stop();
  });

  it('a first 190/100 opens a request — a record the patient can read — and no crisis alert', async () => {
    await send('bp-1', 190, 100);
    const [first] = await readingIds();
    const r = await requests(patientToken);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.measurementRequests.length, 1);
    const m = r.body.measurementRequests[0] as RequestView;
    assert.equal(m.kind, 'repeat-bp');
    assert.equal(m.code, '85354-9');
    assert.equal(m.status, 'open');
    assert.equal(m.triggerReadingId, first);
    assert.equal(m.notBefore, new Date(clock.now() + 5 * 60_000).toISOString());
    assert.equal(m.dueBy, new Date(clock.now() + 15 * 60_000).toISOString());
    assert.match(m.instruction ?? '', /measure again in 5 minutes/);
    const keys = (await alerts()).map((a) => a.conditionKey);
    assert.ok(keys.includes('request:repeat-bp'));
    assert.ok(!keys.includes('hypertensive-crisis'), `no crisis alert yet: ${keys.join(', ')}`);
  });

  it("the patient may not read another patient's requests; a bad status filter is a coded 400", async () => {
    const other = await call(url, patientToken, 'GET', `/api/v1/patients/${otherId}/measurement-requests`);
    assert.equal(other.status, 403);
    const bad = await requests(admin, '?status=open,nope');
    assert.equal(bad.status, 400);
    assert.match(String((bad.body as unknown as { error?: { code?: string } }).error?.code), /^VIGIL_ERR_/);
  });

  it('the repeat 6 min later at 150/90 fulfils the request, linked to it; still no crisis alert', async () => {
    clock.advance(6 * 60_000);
    await vigil.pipeline.stage?.tick();
    await send('bp-2', 150, 90);
    const [first, repeat] = await readingIds();
    const r = await requests(admin, '?status=fulfilled');
    assert.equal(r.body.measurementRequests.length, 1);
    const m = r.body.measurementRequests[0] as RequestView;
    assert.equal(m.triggerReadingId, first);
    assert.equal(m.fulfilledBy, repeat);
    assert.equal(m.outcome, 'not-confirmed');
    assert.equal(m.closedAt, new Date(clock.now()).toISOString());
    assert.match(m.summary, /below crisis levels: request fulfilled, no crisis alert/);
    assert.equal((await requests(admin, '?status=open')).body.measurementRequests.length, 0);
    assert.ok(!(await alerts()).some((a) => a.conditionKey === 'hypertensive-crisis'));
  });

  it('no repeat: the request expires at its due time and the crisis alert says there was none', async () => {
    clock.advance(60 * 60_000);
    await send('bp-3', 195, 100);
    clock.advance(16 * 60_000);
    await vigil.pipeline.stage?.tick();
    await vigil.pipeline.idle();
    admin = await signIn(url); // the fake clock ran past the first token's lifetime
    const ex = await requests(admin, '?status=expired');
    assert.equal(ex.status, 200, JSON.stringify(ex.body));
    const expired = ex.body.measurementRequests;
    assert.equal(expired.length, 1);
    assert.equal(expired[0]?.fulfilledBy, null);
    assert.equal(expired[0]?.closedAt, expired[0]?.dueBy);
    const crisis = (await alerts()).find((a) => a.conditionKey === 'hypertensive-crisis');
    assert.equal(crisis?.severity, 'high');
    assert.match(
      crisis?.summary ?? '',
      /^BP 195\/100 mmHg: hypertensive crisis, no repeat reading within 15 min$/,
    );
    const all = (await requests(admin)).body.measurementRequests;
    assert.deepEqual(
      all.map((x) => x.status),
      ['expired', 'fulfilled'],
      'newest first',
    );
  });
});
