import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { SMTPServer } from 'smtp-server';
import { eventually } from '../pipeline/support.ts';
import { startInProcess } from '../support/in-process.ts';
import { firing, seedAllHoursTeam } from './support.ts';

interface Mail {
  from: string;
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
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          data,
        });
        done();
      });
    },
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.server.address() as AddressInfo).port;
  return { port, mails, close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe('e-mail notifications over SMTP', () => {
  const closers: Array<() => Promise<void>> = [];
  after(async () => {
    for (const c of closers.reverse()) await c();
  });

  it("reach the tier's clinicians at their e-mail contact methods through a real SMTP exchange, without patient identifiers", async () => {
    const sink = await smtpSink();
    closers.push(sink.close);
    const t = await startInProcess({
      env: {
        VIGIL_SMTP_URL: `smtp://127.0.0.1:${sink.port}`,
        VIGIL_SMTP_FROM: 'vigil@hospital.example',
        VIGIL_PUBLIC_URL: 'https://vigil.hospital.example',
      },
    });
    closers.push(t.stop);
    await seedAllHoursTeam(t.vigil.db);
    const token = await t.token();
    const nurse = await t.inject({
      method: 'POST',
      url: '/api/v1/users',
      headers: { authorization: `Bearer ${token}` },
      payload: { username: 'nurse.mail', roles: ['clinician'], practitionerId: 'doc-1' },
    });
    assert.equal(nurse.statusCode, 201, nurse.body);
    const nurseId = nurse.json().user.id as string;
    const bad = await t.inject({
      method: 'PUT',
      url: `/api/v1/users/${nurseId}/contact-methods`,
      headers: { authorization: `Bearer ${token}` },
      payload: { methods: [{ kind: 'email', address: 'not an address' }] },
    });
    assert.equal(bad.statusCode, 400);
    const put = await t.inject({
      method: 'PUT',
      url: `/api/v1/users/${nurseId}/contact-methods`,
      headers: { authorization: `Bearer ${token}` },
      payload: { methods: [{ kind: 'email', address: 'nurse.one@hospital.example' }] },
    });
    assert.equal(put.statusCode, 200, put.body);
    assert.deepEqual(put.json().methods, [{ kind: 'email', address: 'nurse.one@hospital.example' }]);

    const [alert] = await t.vigil.alerts.onDetections([firing({ at: new Date().toISOString() })]);
    assert.ok(alert);
    const mail = await eventually('the e-mail at the SMTP sink', async () => sink.mails[0], 20_000);
    assert.deepEqual(mail.to, ['nurse.one@hospital.example']);
    assert.equal(mail.from, 'vigil@hospital.example');
    assert.match(mail.data, /Subject: \[Vigil\] high alert: SpO2 86 % below 88 %/);
    const body = mail.data.replace(/=\r?\n/g, ''); // quoted-printable soft line breaks
    assert.ok(body.includes(`https://vigil.hospital.example/alerts/${alert.id}`), body);
    assert.ok(!body.includes('pat-1'), 'no patient identifier in the e-mail');
    assert.match(body, /Acknowledge: https:\/\/vigil\.hospital\.example\/ack\?token=[\w-]+\.[\w-]+\.[\w-]+/);

    const deliveries = await eventually('the delivery recorded as delivered', async () => {
      const rows = await t.vigil.db.query<{ status: string; target: string }>(
        `select d.status, s.channel as target from alert_delivery d
           join notification_send s on s.notification_id = d.notification_id and s.outcome = 'sent'
          where d.target = 'direct'`,
      );
      return rows.find((r) => r.status === 'delivered');
    });
    assert.equal(deliveries.target, 'email');
  });

  it('an unreachable SMTP server is a failed attempt, recorded with its error, retried later', async () => {
    const sink = await smtpSink();
    const port = sink.port;
    await sink.close(); // nothing listens there now
    const t = await startInProcess({
      env: { VIGIL_SMTP_URL: `smtp://127.0.0.1:${port}`, VIGIL_SMTP_FROM: 'vigil@hospital.example' },
    });
    closers.push(t.stop);
    await seedAllHoursTeam(t.vigil.db);
    const token = await t.token();
    const nurse = await t.inject({
      method: 'POST',
      url: '/api/v1/users',
      headers: { authorization: `Bearer ${token}` },
      payload: { username: 'nurse.down', roles: ['clinician'], practitionerId: 'doc-1' },
    });
    await t.inject({
      method: 'PUT',
      url: `/api/v1/users/${nurse.json().user.id}/contact-methods`,
      headers: { authorization: `Bearer ${token}` },
      payload: { methods: [{ kind: 'email', address: 'nurse.two@hospital.example' }] },
    });
    await t.vigil.alerts.onDetections([firing({ at: new Date().toISOString() })]);
    const attempt = await eventually('a failed attempt', async () => {
      const rows = await t.vigil.db.query<{ ok: boolean; error: string | null; status: string }>(
        `select a.ok, a.error, d.status from alert_delivery_attempt a join alert_delivery d on d.id = a.delivery_id
          where d.target = 'direct'`,
      );
      return rows[0];
    });
    assert.equal(attempt.ok, false);
    assert.match(attempt.error ?? '', /not reached on any channel yet/);
    const [send] = await t.vigil.db.query<{ channel: string; outcome: string; error: string }>(
      `select channel, outcome, error from notification_send order by at limit 1`,
    );
    assert.equal(send?.channel, 'email');
    assert.equal(send?.outcome, 'failed');
    assert.match(send?.error ?? '', /^SMTP: /);
    assert.equal(attempt.status, 'pending', 'retried with backoff until it expires');
  });
});
