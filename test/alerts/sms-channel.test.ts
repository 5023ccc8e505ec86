import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { SmsChannel } from '../../src/alerts/sms-channel.ts';
import { eventually } from '../pipeline/support.ts';
import { type InProcess, startInProcess } from '../support/in-process.ts';
import { firing, seedAllHoursTeam } from './support.ts';

/** A fake SMS provider that records every request (method, path, headers, body). */
async function fakeProvider(status = 201) {
  const got: Array<{ method: string; url: string; headers: IncomingHttpHeaders; body: string }> = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => {
      body += d;
    });
    req.on('end', () => {
      got.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      res.statusCode = status;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ sid: `SM${got.length}`, status: 'queued' }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { got, base, close: () => new Promise<void>((r) => server.close(() => r())) };
}

async function clinicianWithPhone(t: InProcess, username: string, phone: string): Promise<void> {
  await seedAllHoursTeam(t.vigil.db);
  const token = await t.token();
  const u = await t.inject({
    method: 'POST',
    url: '/api/v1/users',
    headers: { authorization: `Bearer ${token}` },
    payload: { username, roles: ['clinician'], practitionerId: 'doc-1' },
  });
  assert.equal(u.statusCode, 201, u.body);
  const put = await t.inject({
    method: 'PUT',
    url: `/api/v1/users/${u.json().user.id}/contact-methods`,
    headers: { authorization: `Bearer ${token}` },
    payload: { methods: [{ kind: 'sms', address: phone }] },
  });
  assert.equal(put.statusCode, 200, put.body);
}

describe('SMS notifications through an HTTP gateway', () => {
  const closers: Array<() => Promise<void>> = [];
  after(async () => {
    for (const c of closers.reverse()) await c();
  });

  it('Twilio-compatible: one form-encoded Messages request per number, Basic auth, no patient identifier', async () => {
    const provider = await fakeProvider();
    closers.push(provider.close);
    const t = await startInProcess({
      env: {
        VIGIL_SMS_GATEWAY: 'twilio',
        VIGIL_SMS_URL: `${provider.base}/2010-04-01`,
        VIGIL_SMS_ACCOUNT: 'AC123',
        VIGIL_SMS_TOKEN: 'sms-token-secret',
        VIGIL_SMS_FROM: '+15005550006',
      },
    });
    closers.push(t.stop);
    await clinicianWithPhone(t, 'doc.sms', '+33612345678');
    await t.vigil.alerts.onDetections([firing({ at: new Date().toISOString() })]);
    const req = await eventually('the provider request', async () => provider.got[0], 20_000);
    assert.equal(req.method, 'POST');
    assert.equal(req.url, '/2010-04-01/Accounts/AC123/Messages.json');
    assert.equal(
      req.headers.authorization,
      `Basic ${Buffer.from('AC123:sms-token-secret').toString('base64')}`,
    );
    const form = new URLSearchParams(req.body);
    assert.equal(form.get('To'), '+33612345678');
    assert.equal(form.get('From'), '+15005550006');
    assert.match(form.get('Body') ?? '', /^Vigil HIGH: SpO2 86 % below 88 %/);
    assert.ok(!(form.get('Body') ?? '').includes('pat-1'));
    const delivered = await eventually('the delivery recorded', async () => {
      const rows = await t.vigil.db.query<{ status: string }>(
        `select d.status from alert_delivery d join notification_send s on s.notification_id = d.notification_id
          where d.target = 'direct' and d.status = 'delivered' and s.channel = 'sms' and s.outcome = 'sent'`,
      );
      return rows[0];
    });
    assert.equal(delivered.status, 'delivered');
  });

  it('a provider error is a failed delivery with its status; the neutral JSON gateway gets one request', async () => {
    const failing = await fakeProvider(503);
    closers.push(failing.close);
    const to = { userId: 'u-1', kind: 'sms' as const, address: '+441234567890', details: null };
    const n = {
      notification: {
        id: 'n-1',
        reason: 'raised',
        tier: 1,
        tierName: 'clinician',
        recipients: [{ practitioner: 'Practitioner/doc-1', role: 'clinician' }],
        alert: { id: 'a-1', severity: 'critical', summary: 'NEWS2 7', patientId: 'pat-9' },
      },
      ackUrl: 'https://vigil.example/ack/t0k3n',
    } as never;
    const twilio = new SmsChannel({
      kind: 'twilio',
      url: failing.base,
      account: 'AC1',
      token: 't',
      from: '+1500',
    });
    const r = await twilio.send(to, n);
    assert.equal(r.ok, false);
    assert.equal(r.statusCode, 503);

    const relay = await fakeProvider(202);
    closers.push(relay.close);
    const json = new SmsChannel({
      kind: 'json',
      url: `${relay.base}/send`,
      token: 'relay-token',
      from: 'VIGIL',
    });
    assert.equal((await json.send(to, n)).ok, true);
    const req = relay.got[0];
    assert.ok(req);
    assert.equal(req.headers.authorization, 'Bearer relay-token');
    const body = JSON.parse(req.body);
    assert.deepEqual(body.to, ['+441234567890']);
    assert.equal(body.eventId, 'n-1');
    assert.ok(!String(body.text).includes('pat-9'));
    assert.ok(
      String(body.text).endsWith('Ack: https://vigil.example/ack/t0k3n'),
      'the acknowledge link is whole',
    );
  });
});
