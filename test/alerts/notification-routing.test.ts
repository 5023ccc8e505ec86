import assert from 'node:assert/strict';
import { createECDH, randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import httpEce from 'http_ece';
import { decodeProtectedHeader, importJWK, jwtVerify } from 'jose';
import { AckLinks } from '../../src/alerts/ack-links.ts';
import { eventually } from '../pipeline/support.ts';
import { type InProcess, startInProcess } from '../support/in-process.ts';
import { firing, seedAllHoursTeam, signIn } from './support.ts';

interface Got {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** A stand-in for a push service (and an SMS relay): records requests; answers by path. */
async function fakeService(statusFor: (url: string) => number) {
  const got: Got[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('end', () => {
      got.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks),
      });
      res.statusCode = statusFor(req.url ?? '');
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { got, base, close: () => new Promise<void>((r) => server.close(() => r())) };
}

/** What a browser holds for one push subscription: its ECDH key pair and auth secret. */
function browserKeys() {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  const auth = randomBytes(16);
  return {
    ecdh,
    auth,
    keys: { p256dh: ecdh.getPublicKey().toString('base64url'), auth: auth.toString('base64url') },
  };
}

/** Decrypts an aes128gcm Web Push body as the browser would (RFC 8291). */
function decryptPush(body: Buffer, b: ReturnType<typeof browserKeys>): Record<string, unknown> {
  const plain = httpEce.decrypt(body, { version: 'aes128gcm', privateKey: b.ecdh, authSecret: b.auth });
  return JSON.parse(plain.toString('utf8')) as Record<string, unknown>;
}

const subject = 'mailto:ops@hospital.example';

describe('notifications to people: Web Push, fall-through, quiet hours, on-call, acknowledge links', () => {
  let t: InProcess;
  let push: Awaited<ReturnType<typeof fakeService>>;
  let sms: Awaited<ReturnType<typeof fakeService>>;
  let admin: string;
  let doc: { id: string; token: string };
  let seq = 0;
  const fire = async (severity: 'high' | 'critical' | 'medium' = 'high') => {
    const [a] = await t.vigil.alerts.onDetections([
      firing({ at: new Date().toISOString(), severity, conditionKey: `threshold:59408-5:low-${++seq}` }),
    ]);
    assert.ok(a);
    return a;
  };
  const sends = (alertId: string) =>
    t.vigil.db.query<{ user_id: string; channel: string; outcome: string; status_code: number | null }>(
      `select s.user_id, s.channel, s.outcome, s.status_code from notification_send s
         join alert_notification n on n.id = s.notification_id where n.alert_id = $1 order by s.at, s.channel`,
      [alertId],
    );
  const api = async (
    method: 'GET' | 'PUT' | 'POST' | 'DELETE',
    url: string,
    token: string,
    payload?: unknown,
  ) =>
    t.inject({ method, url, headers: { authorization: `Bearer ${token}` }, ...(payload ? { payload } : {}) });

  before(async () => {
    push = await fakeService((url) =>
      url.startsWith('/push/fail') ? 500 : url.startsWith('/push/gone') ? 410 : 201,
    );
    sms = await fakeService(() => 202);
    t = await startInProcess({
      env: {
        VIGIL_PUSH_SUBJECT: subject,
        VIGIL_SMS_GATEWAY: 'json',
        VIGIL_SMS_URL: `${sms.base}/send`,
        VIGIL_SMS_TOKEN: 'relay-token',
        VIGIL_SMS_FROM: 'VIGIL',
        VIGIL_PUBLIC_URL: 'https://vigil.hospital.example',
      },
    });
    await seedAllHoursTeam(t.vigil.db);
    admin = await t.token();
    const u = await api('POST', '/api/v1/users', admin, {
      username: 'doc.push',
      roles: ['clinician'],
      practitionerId: 'doc-1',
    });
    assert.equal(u.statusCode, 201, u.body);
    doc = { id: u.json().user.id, token: await signIn(t.vigil, 'doc.push', u.json().password) };
    const put = await api('PUT', '/api/v1/me/contact-methods', doc.token, {
      methods: [{ kind: 'sms', address: '+15005550006' }],
    });
    assert.equal(put.statusCode, 200, put.body);
  });
  after(async () => {
    await t?.stop();
    await push?.close();
    await sms?.close();
  });

  const subscribe = async (path: string) => {
    const b = browserKeys();
    const r = await api('POST', '/api/v1/me/push-subscriptions', doc.token, {
      endpoint: `${push.base}${path}`,
      keys: b.keys,
    });
    assert.equal(r.statusCode, 201, r.body);
    return b;
  };
  const unsubscribe = async (path: string) =>
    api(
      'DELETE',
      `/api/v1/me/push-subscriptions?endpoint=${encodeURIComponent(`${push.base}${path}`)}`,
      doc.token,
    );

  it('a push reaches the browser encrypted for it, signed with the VAPID key; acknowledging from it acts as that person', async () => {
    const key = await api('GET', '/api/v1/push/public-key', doc.token);
    assert.equal(key.statusCode, 200);
    const publicKey = key.json().publicKey as string;
    assert.equal(Buffer.from(publicKey, 'base64url').length, 65, 'an uncompressed P-256 point');
    const bad = await api('POST', '/api/v1/me/push-subscriptions', doc.token, {
      endpoint: 'ftp://push.example/x',
      keys: browserKeys().keys,
    });
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().error.code, 'VIGIL_ERR_NOTIFY_PUSH_ENDPOINT');
    const b = await subscribe('/push/ok-1');

    const alert = await fire('critical');
    const req = await eventually(
      'the push request',
      async () => push.got.find((g) => g.url === '/push/ok-1'),
      20_000,
    );
    assert.equal(req.method, 'POST');
    assert.equal(req.headers['content-encoding'], 'aes128gcm');
    assert.equal(req.headers.urgency, 'high');
    assert.ok(Number(req.headers.ttl) > 0);
    // VAPID (RFC 8292): a JWT for this push service's origin, signed with the server's key
    const m = /^vapid t=([^,]+), k=(.+)$/.exec(String(req.headers.authorization));
    assert.ok(m, String(req.headers.authorization));
    assert.equal(m[2], publicKey);
    const raw = Buffer.from(publicKey, 'base64url');
    const jwk = await importJWK(
      {
        kty: 'EC',
        crv: 'P-256',
        x: raw.subarray(1, 33).toString('base64url'),
        y: raw.subarray(33).toString('base64url'),
      },
      'ES256',
    );
    assert.equal(decodeProtectedHeader(m[1] as string).alg, 'ES256');
    const { payload: claims } = await jwtVerify(m[1] as string, jwk, { audience: push.base });
    assert.equal(claims.sub, subject);

    const payload = decryptPush(req.body, b);
    assert.equal(payload['alertId'], alert.id);
    assert.match(String(payload['title']), /^Vigil CRITICAL: SpO2 86 % below 88 %/);
    assert.ok(!JSON.stringify(payload).includes('pat-1'), 'no patient identifier in a push');
    const rows = await eventually('the send recorded', async () => {
      const r = await sends(alert.id);
      return r.length > 0 ? r : undefined;
    });
    assert.deepEqual(
      rows.map((r) => [r.channel, r.outcome]),
      [['push', 'sent']],
      'reached by push: the SMS is not sent as well',
    );

    const ack = await t.inject({
      method: 'POST',
      url: '/api/v1/alerts/acknowledge-with-link',
      payload: { token: payload['ackToken'] },
    });
    assert.equal(ack.statusCode, 200, ack.body);
    assert.equal(ack.json().alert.state, 'acknowledged');
    assert.equal(ack.json().alert.acknowledgedBy, doc.id);
    const audit = await eventually('the acknowledge audited', async () => {
      const r = await t.vigil.db.query<{ agent_id: string; patient_id: string; entity_id: string }>(
        `select agent_id, patient_id, entity_id from audit_event where subtype_code = 'acknowledge-link'`,
      );
      return r[0];
    });
    assert.equal(audit.agent_id, doc.id);
    assert.equal(audit.patient_id, 'pat-1');
    assert.equal(audit.entity_id, alert.id);
    await unsubscribe('/push/ok-1');
  });

  it('a failing push service falls through to SMS; a subscription the service calls gone is removed', async () => {
    await subscribe('/push/fail-1');
    const a1 = await fire();
    const rows = await eventually('push failed, then SMS sent', async () => {
      const r = await sends(a1.id);
      return r.some((x) => x.channel === 'sms') ? r : undefined;
    });
    assert.deepEqual(
      rows.map((r) => [r.channel, r.outcome, r.status_code]),
      [
        ['push', 'failed', 500],
        ['sms', 'sent', 202],
      ],
    );
    await unsubscribe('/push/fail-1');
    const detail = await api('GET', `/api/v1/alerts/${a1.id}`, doc.token);
    assert.deepEqual(
      detail
        .json()
        .notifications[0].sends.map((x: { channel: string; outcome: string }) => [x.channel, x.outcome]),
      [
        ['push', 'failed'],
        ['sms', 'sent'],
      ],
      'the alert shows every send with its outcome',
    );
    const metrics = await t.inject({ method: 'GET', url: '/metrics' });
    assert.match(metrics.body, /vigil_notification_sends_total\{channel="push",outcome="failed"\} [1-9]/);

    await subscribe('/push/gone-1');
    const a2 = await fire();
    const rows2 = await eventually('gone, then SMS', async () => {
      const r = await sends(a2.id);
      return r.some((x) => x.channel === 'sms') ? r : undefined;
    });
    assert.deepEqual(
      rows2.map((r) => [r.channel, r.outcome]),
      [
        ['push', 'subscription-gone'],
        ['sms', 'sent'],
      ],
    );
    const left = await t.vigil.db.query(
      `select 1 from user_contact_method where kind = 'push' and address like '%gone-1'`,
    );
    assert.equal(left.length, 0, 'the dead subscription is removed');
  });

  it('quiet hours hold push and SMS back below the breakthrough severity; a critical alert still reaches the person', async () => {
    const hhmm = (ms: number) => new Date(ms).toISOString().slice(11, 16);
    const bad = await api('PUT', '/api/v1/me/notification-settings', doc.token, {
      quietHours: { start: '22:00', end: '07:00', timeZone: 'Mars/Olympus' },
    });
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().error.code, 'VIGIL_ERR_NOTIFY_SETTINGS_INVALID');
    const now = Date.now();
    const set = await api('PUT', '/api/v1/me/notification-settings', doc.token, {
      quietHours: {
        start: hhmm(now - 3600_000),
        end: hhmm(now + 3600_000),
        timeZone: 'UTC',
        breakthroughSeverity: 'critical',
      },
    });
    assert.equal(set.statusCode, 200, set.body);
    assert.equal(set.json().quietHours.breakthroughSeverity, 'critical');
    await subscribe('/push/ok-quiet');

    const quiet = await fire('high');
    const held = await eventually('held by quiet hours', async () => {
      const r = await sends(quiet.id);
      return r.length >= 2 ? r : undefined;
    });
    assert.deepEqual(
      held.map((r) => [r.channel, r.outcome]),
      [
        ['push', 'quiet-hours'],
        ['sms', 'quiet-hours'],
      ],
    );
    const loud = await fire('critical');
    const sent = await eventually('a critical breaks through', async () => {
      const r = await sends(loud.id);
      return r.length > 0 ? r : undefined;
    });
    assert.deepEqual(
      sent.map((r) => [r.channel, r.outcome]),
      [['push', 'sent']],
    );
    await api('PUT', '/api/v1/me/notification-settings', doc.token, { quietHours: null });
    await unsubscribe('/push/ok-quiet');
  });

  it('the on-call tier reaches whoever holds a current shift for the care team, not an ended one', async () => {
    const mk = async (username: string, practitionerId: string) => {
      const r = await api('POST', '/api/v1/users', admin, { username, roles: ['nurse'], practitionerId });
      assert.equal(r.statusCode, 201, r.body);
      const id = r.json().user.id as string;
      const m = await api('PUT', `/api/v1/users/${id}/contact-methods`, admin, {
        methods: [{ kind: 'sms', address: username === 'oncall.now' ? '+15005550101' : '+15005550102' }],
      });
      assert.equal(m.statusCode, 200, m.body);
      return id;
    };
    const current = await mk('oncall.now', 'oc-now');
    const ended = await mk('oncall.past', 'oc-past');
    // an administrator account cannot hold a clinical shift
    const noPractitioner = await api('POST', '/api/v1/users', admin, {
      username: 'oncall.admin',
      roles: ['admin'],
    });
    assert.equal(noPractitioner.statusCode, 201, noPractitioner.body);
    const now = Date.now();
    const shift = (userId: string, start: number, end: number) =>
      api('POST', '/api/v1/care-teams/team-1/on-call', admin, {
        userId,
        start: new Date(start).toISOString(),
        end: new Date(end).toISOString(),
      });
    const refused = await shift(noPractitioner.json().user.id, now, now + 3600_000);
    assert.equal(refused.statusCode, 400);
    assert.equal(refused.json().error.code, 'VIGIL_ERR_ONCALL_USER_INVALID');
    const unknownTeam = await api('POST', '/api/v1/care-teams/no-such-team/on-call', admin, {
      userId: current,
      start: new Date(now).toISOString(),
      end: new Date(now + 3600_000).toISOString(),
    });
    assert.equal(unknownTeam.statusCode, 404);
    assert.equal((await shift(current, now - 3600_000, now + 3600_000)).statusCode, 201);
    assert.equal((await shift(ended, now - 7200_000, now - 3600_000)).statusCode, 201);
    const list = await api('GET', '/api/v1/care-teams/team-1/on-call', doc.token);
    assert.deepEqual(
      list.json().shifts.map((s: { username: string }) => s.username),
      ['oncall.now'],
      'the schedule from now on',
    );
    // the medium policy's tiers: on-call only, day and night (no time-of-day dependence here)
    const tier = [{ name: 'on-call', roles: ['on-call'], ackWithinSeconds: 600 }];
    const policy = await api('PUT', '/api/v1/alerts/policies/medium', admin, {
      timeZone: 'UTC',
      workingHours: { days: [1, 2, 3, 4, 5], start: '08:00', end: '18:00' },
      workingHoursTiers: tier,
      afterHoursTiers: tier,
    });
    assert.equal(policy.statusCode, 200, policy.body);
    const before = sms.got.length;
    const a = await fire('medium');
    const rows = await eventually('the on-call people texted', async () => {
      const r = await sends(a.id);
      return r.length >= 2 ? r : undefined;
    });
    assert.deepEqual(
      rows.map((r) => [r.user_id, r.channel, r.outcome]).sort(),
      [
        [current, 'sms', 'sent'],
        [doc.id, 'sms', 'sent'],
      ].sort(),
      'the holder of the current shift, and doc-1 who holds the on-call role in the CareTeam',
    );
    const texts = sms.got.slice(before).map((g) => JSON.parse(g.body.toString()).to[0]);
    assert.ok(!texts.includes('+15005550102'), 'the ended shift is not texted');
  });

  it('an acknowledge link opens a page that changes nothing; its form acknowledges; a tampered or expired link does not', async () => {
    const before = sms.got.length;
    const a = await fire();
    const req = await eventually('the SMS with the link', async () => sms.got.slice(before)[0], 20_000);
    const text = String(JSON.parse(req.body.toString()).text);
    const m = /Ack: https:\/\/vigil\.hospital\.example(\/ack\?token=[\w-]+\.[\w-]+\.[\w-]+)$/.exec(text);
    assert.ok(m, text);
    const path = m[1] as string;

    const page = await t.inject({ method: 'GET', url: path });
    assert.equal(page.statusCode, 200);
    assert.match(page.headers['content-type'] as string, /text\/html/);
    assert.match(page.body, /SpO2 86 % below 88 %/);
    assert.match(String(page.headers['content-security-policy']), /default-src 'none'/);
    assert.equal((await t.vigil.alerts.repo.get(a.id))?.state, 'open', 'opening the link changes nothing');

    const tampered = await t.inject({ method: 'POST', url: `${path.slice(0, -2)}xx` });
    assert.equal(tampered.statusCode, 400);
    assert.match(tampered.body, /not valid/);
    assert.equal((await t.vigil.alerts.repo.get(a.id))?.state, 'open');

    const done = await t.inject({
      method: 'POST',
      url: path,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: '',
    });
    assert.equal(done.statusCode, 200, done.body);
    assert.match(done.body, /<h1>Acknowledged<\/h1>/);
    const acked = await t.vigil.alerts.repo.get(a.id);
    assert.equal(acked?.state, 'acknowledged');
    const again = await t.inject({ method: 'POST', url: path });
    assert.match(again.body, /Already acknowledged/);

    // the same link 13 hours later
    const token = path.slice('/ack?token='.length);
    const later = await AckLinks.load(t.vigil.db, { now: () => Date.now() + 13 * 3600_000 });
    await assert.rejects(later.verify(token), { code: 'VIGIL_ERR_ALERT_ACK_LINK_EXPIRED' });
  });
});
