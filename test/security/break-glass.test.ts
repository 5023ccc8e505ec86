import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { SMTPServer } from 'smtp-server';
import { FakeClock } from '../../src/core/clock.ts';
import { eventually } from '../pipeline/support.ts';
import {
  adminPassword,
  call,
  createUser,
  type Harness,
  seedWorld,
  signIn,
  startSecured,
  type World,
} from './support.ts';

interface Mail {
  to: string[];
  data: string;
}

async function smtpSink(): Promise<{ port: number; mails: Mail[]; close: () => Promise<void> }> {
  const mails: Mail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, done) {
      let data = '';
      stream.on('data', (d: Buffer) => {
        data += d.toString();
      });
      stream.on('end', () => {
        mails.push({ to: session.envelope.rcptTo.map((r) => r.address), data });
        done();
      });
    },
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.server.address() as AddressInfo).port;
  return { port, mails, close: () => new Promise<void>((r) => server.close(() => r())) };
}

interface Grant {
  id: string;
  patientId: string;
  status: string;
  expiresAt: string;
  grantedAt: string;
  reviewOutcome: string | null;
  notifiedAt: string | null;
  reason: string;
}

describe('break-glass access outside the care team', () => {
  const clock = new FakeClock(Date.now());
  let h: Harness;
  let w: World;
  let sink: Awaited<ReturnType<typeof smtpSink>>;
  let privacy: string;
  let privacyId: string;
  let privacyPassword: string;
  const reason = 'Unconscious in ED, her own team is not reachable';

  before(async () => {
    sink = await smtpSink();
    h = await startSecured({
      clock,
      env: {
        VIGIL_SMTP_URL: `smtp://127.0.0.1:${sink.port}`,
        VIGIL_SMTP_FROM: 'vigil@hospital.example',
        VIGIL_PUBLIC_URL: 'https://vigil.hospital.example',
        VIGIL_BREAK_GLASS_MINUTES: '30',
        VIGIL_BREAK_GLASS_MAX_MINUTES: '120',
      },
    });
    w = await seedWorld(h.vigil);
    const officer = await createUser(h.vigil, w.tokens.admin, 'privacy.officer', ['privacy']);
    privacyId = officer.id;
    privacyPassword = officer.password;
    const put = await call(h.vigil, 'PUT', `/api/v1/users/${officer.id}/contact-methods`, {
      token: w.tokens.admin,
      body: { methods: [{ kind: 'email', address: 'privacy@hospital.example' }] },
    });
    assert.equal(put.status, 200, put.body);
    privacy = (await signIn(h.vigil, 'privacy.officer', officer.password)).access_token as string;
  });
  after(async () => {
    await h?.close();
    await sink?.close();
  });

  const readOther = (token: string) =>
    call(h.vigil, 'GET', `/api/v1/patients/${w.other}/monitoring`, { token });
  const open = (token: string, body: Record<string, unknown>) =>
    call(h.vigil, 'POST', '/api/v1/break-glass', { token, body });

  it('refuses what is not a break-glass: no reason, a too long grant, a patient already in the team, roles that may not, an unknown patient', async () => {
    const short = await open(w.tokens.clinician, { patientId: w.other, reason: 'need it' });
    assert.equal(short.status, 400, short.body);
    assert.equal((short.json().error as { code: string }).code, 'VIGIL_ERR_BREAK_GLASS_REASON');
    const long = await open(w.tokens.clinician, { patientId: w.other, reason, minutes: 121 });
    assert.equal(long.status, 400, long.body);
    assert.equal((long.json().error as { code: string }).code, 'VIGIL_ERR_BREAK_GLASS_DURATION');
    const own = await open(w.tokens.clinician, { patientId: w.own, reason });
    assert.equal(own.status, 409, own.body);
    assert.equal((own.json().error as { code: string }).code, 'VIGIL_ERR_BREAK_GLASS_NOT_NEEDED');
    const unknown = await open(w.tokens.clinician, { patientId: 'nobody-here', reason });
    assert.equal(unknown.status, 404, unknown.body);
    for (const token of [w.tokens.patient, w.tokens.integration, w.tokens.admin, privacy]) {
      const r = await open(token, { patientId: w.other, reason });
      assert.equal(r.status, 403, `${r.status} ${r.body}`);
    }
    const none = await call(h.vigil, 'GET', '/api/v1/break-glass', { token: privacy });
    assert.deepEqual(none.json().grants, [], 'nothing refused became a grant');
  });

  it('opens the patient for the stated time, everywhere (API, FHIR), audited; the privacy officer is e-mailed without the patient named', async () => {
    assert.equal((await readOther(w.tokens.clinician)).status, 403, 'not in the care team before');
    const r = await open(w.tokens.clinician, { patientId: w.other, reason });
    assert.equal(r.status, 201, r.body);
    const g = r.json() as unknown as Grant;
    assert.equal(g.status, 'active');
    assert.equal(Date.parse(g.expiresAt) - Date.parse(g.grantedAt), 30 * 60_000, 'the default duration');

    assert.equal((await readOther(w.tokens.clinician)).status, 200, 'the record is open to the holder');
    const fhir = await call(h.vigil, 'GET', `/fhir/Observation?patient=Patient/${w.other}`, {
      token: w.tokens.clinician,
    });
    assert.equal(fhir.status, 200, fhir.body);
    assert.ok(((fhir.json().entry as unknown[]) ?? []).length >= 1, 'FHIR search honours the grant');
    assert.equal((await readOther(w.tokens.nurse)).status, 403, 'nobody else gains access');

    const started = await call(h.vigil, 'GET', '/api/v1/audit?subtype=110127', {
      token: privacy,
    });
    assert.equal(started.status, 200, started.body);
    const ev = (started.json().events as Array<{ entity?: Array<{ what?: { reference?: string } }> }>)[0];
    assert.ok(
      ev?.entity?.some((e) => e.what?.reference === `Patient/${w.other}`),
      'the patient is named',
    );
    assert.ok(ev?.entity?.some((e) => e.what?.reference === `BreakGlassGrant/${g.id}`));
    assert.ok(
      !JSON.stringify(started.json()).includes('Unconscious'),
      'the free-text reason stays out of the audit log',
    );

    const mail = await eventually('the notice to the privacy officer', async () => sink.mails[0], 20_000);
    assert.deepEqual(mail.to, ['privacy@hospital.example']);
    const body = mail.data.replace(/=\r?\n/g, '');
    assert.match(body, /clin opened break-glass access/);
    assert.ok(body.includes(g.id), 'the grant is named');
    assert.ok(!body.includes(w.other), 'no patient identifier in the e-mail');
    assert.ok(!body.includes('Unconscious'), 'no reason (it may describe the patient) in the e-mail');
    const notified = await eventually('the grant marked notified', async () => {
      const l = await call(h.vigil, 'GET', '/api/v1/break-glass?status=active', { token: privacy });
      const x = (l.json().grants as Grant[]).find((y) => y.id === g.id);
      return x?.notifiedAt ? x : undefined;
    });
    assert.ok(notified.notifiedAt);
    assert.equal(sink.mails.length, 1, 'one notice, not one per pass');
  });

  it('expires by itself; the review shows what the holder did; the holder cannot review themselves', async () => {
    const list = await call(h.vigil, 'GET', '/api/v1/break-glass', { token: w.tokens.clinician });
    const g = (list.json().grants as Grant[])[0] as Grant;
    assert.equal(g.reason, reason, 'the holder sees their own grant');
    assert.deepEqual(
      (await call(h.vigil, 'GET', '/api/v1/break-glass', { token: w.tokens.nurse })).json().grants,
      [],
      "another clinician does not see someone else's grants",
    );

    clock.advance(31 * 60_000);
    // access tokens last less than that: everyone signs in again
    w.tokens.clinician = (await signIn(h.vigil, 'clin', w.users.clinician.password)).access_token as string;
    w.tokens.nurse = (await signIn(h.vigil, 'nurse', w.users.nurse.password)).access_token as string;
    w.tokens.admin = (await signIn(h.vigil, 'admin', adminPassword)).access_token as string;
    privacy = (await signIn(h.vigil, 'privacy.officer', privacyPassword)).access_token as string;
    assert.equal((await readOther(w.tokens.clinician)).status, 403, 'access ends with the grant');
    const expired = await call(h.vigil, 'GET', '/api/v1/break-glass?status=expired', { token: privacy });
    assert.deepEqual(
      (expired.json().grants as Grant[]).map((x) => x.id),
      [g.id],
    );

    const acc = await call(h.vigil, 'GET', `/api/v1/break-glass/${g.id}/accesses`, { token: privacy });
    assert.equal(acc.status, 200, acc.body);
    const accesses = acc.json().accesses as Array<{ subtype: string | null; outcome: string }>;
    assert.ok(
      accesses.some((a) => a.outcome === '0' && a.subtype !== 'emergency-override-started'),
      `the holder's reads of the patient are listed: ${JSON.stringify(accesses)}`,
    );
    assert.equal(
      (await call(h.vigil, 'GET', `/api/v1/break-glass/${g.id}/accesses`, { token: w.tokens.clinician }))
        .status,
      403,
      'the holder does not read the audit log',
    );

    const self = await call(h.vigil, 'POST', `/api/v1/break-glass/${g.id}/review`, {
      token: w.tokens.clinician,
      body: { outcome: 'appropriate' },
    });
    assert.equal(self.status, 403);
    const bad = await call(h.vigil, 'POST', `/api/v1/break-glass/${g.id}/review`, {
      token: privacy,
      body: { outcome: 'fine' },
    });
    assert.equal(bad.status, 400, bad.body);
    const ok = await call(h.vigil, 'POST', `/api/v1/break-glass/${g.id}/review`, {
      token: privacy,
      body: { outcome: 'appropriate', note: 'ED attendance confirmed' },
    });
    assert.equal(ok.status, 200, ok.body);
    assert.equal((ok.json() as unknown as Grant).reviewOutcome, 'appropriate');
    const again = await call(h.vigil, 'POST', `/api/v1/break-glass/${g.id}/review`, {
      token: privacy,
      body: { outcome: 'inappropriate' },
    });
    assert.equal(again.status, 409);
    const queue = await call(h.vigil, 'GET', '/api/v1/break-glass?status=unreviewed', { token: privacy });
    assert.deepEqual(queue.json().grants, [], 'the review queue is empty once reviewed');
    const reviewed = await call(h.vigil, 'GET', '/api/v1/audit?subtype=break-glass-review', {
      token: privacy,
    });
    const rec = (
      reviewed.json().events as Array<{ agent: Array<{ who?: { identifier?: { value?: string } } }> }>
    )[0];
    assert.equal(
      rec?.agent[0]?.who?.identifier?.value,
      privacyId,
      'the review is recorded with its reviewer',
    );
  });

  it('the holder can end a grant early, and it ends at once', async () => {
    const r = await open(w.tokens.nurse, { patientId: w.other, reason, minutes: 10 });
    assert.equal(r.status, 201, r.body);
    const g = r.json() as unknown as Grant;
    assert.equal((await readOther(w.tokens.nurse)).status, 200);
    const stranger = await call(h.vigil, 'POST', `/api/v1/break-glass/${g.id}/end`, {
      token: w.tokens.clinician,
    });
    assert.equal(stranger.status, 404, 'not their grant');
    const end = await call(h.vigil, 'POST', `/api/v1/break-glass/${g.id}/end`, { token: w.tokens.nurse });
    assert.equal(end.status, 200, end.body);
    assert.equal((end.json() as unknown as Grant).status, 'ended');
    assert.equal((await readOther(w.tokens.nurse)).status, 403, 'closed without waiting for a cache');
    const twice = await call(h.vigil, 'POST', `/api/v1/break-glass/${g.id}/end`, { token: w.tokens.nurse });
    assert.equal(twice.status, 409);
    assert.equal((twice.json().error as { code: string }).code, 'VIGIL_ERR_BREAK_GLASS_NOT_ACTIVE');
  });
});
