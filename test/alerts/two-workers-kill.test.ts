import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { PostgresDatabase } from '../../src/store/postgres/postgres-database.ts';
import { createFreshPostgresDatabase } from '../support/databases.ts';
import { type RunningVigil, startVigilProcess } from '../support/process.ts';
import { until, webhookReceiver } from './support.ts';

const dbUrl = process.env['VIGIL_TEST_DATABASE_URL'];
const password = 'two-workers-kill-password';

/**
 * Two Vigil processes on one PostgreSQL database; the one that raised an alert is killed with
 * SIGKILL before its escalation is due. The survivor escalates it once and delivers every
 * notification (the outbox is at least once with the notification id as idempotency key: a send in
 * flight at the kill may arrive twice with the same id, never two different notifications).
 */
describe('two api/alert workers on PostgreSQL, one killed', {
  skip: dbUrl ? false : 'VIGIL_TEST_DATABASE_URL is not set',
}, () => {
  const procs: RunningVigil[] = [];
  let drop: (() => Promise<void>) | undefined;
  after(async () => {
    for (const p of procs) if (p.proc.exitCode === null) p.proc.kill('SIGKILL');
    await drop?.();
  });

  it('the survivor escalates once and delivers what the dead worker left', { timeout: 300_000 }, async () => {
    const fresh = await createFreshPostgresDatabase();
    drop = fresh.drop;
    const env = {
      VIGIL_DATABASE_URL: fresh.url,
      VIGIL_ADMIN_PASSWORD: password,
      VIGIL_SECRETS_KEY: randomBytes(32).toString('base64'),
      VIGIL_LOG_LEVEL: 'warn',
    };
    const a = await startVigilProcess({ env });
    procs.push(a);
    const b = await startVigilProcess({ env });
    procs.push(b);
    const receiver = await webhookReceiver();
    try {
      const call = async <T>(base: string, method: string, path: string, body?: unknown, token?: string) => {
        const r = await fetch(`${base}${path}`, {
          method,
          headers: {
            ...(token ? { authorization: `Bearer ${token}` } : {}),
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        assert.ok(r.ok, `${method} ${path}: ${r.status} ${await r.clone().text()}`);
        return (await r.json()) as T;
      };
      const { access_token: token } = await call<{ access_token: string }>(a.httpUrl, 'POST', '/auth/token', {
        username: 'admin',
        password,
      });
      await call(a.httpUrl, 'POST', '/api/v1/alerts/webhooks', { url: receiver.url }, token);
      const tiers = [
        { name: 'nurse', roles: ['nurse'], ackWithinSeconds: 5 },
        { name: 'clinician', roles: ['clinician'] },
      ];
      await call(
        a.httpUrl,
        'PUT',
        '/api/v1/alerts/policies/critical',
        {
          workingHours: { days: [1, 2, 3, 4, 5, 6, 7], start: '00:00', end: '23:59' },
          workingHoursTiers: tiers,
          afterHoursTiers: tiers,
        },
        token,
      );
      const { alert } = await call<{ alert: { id: string } }>(
        a.httpUrl,
        'POST',
        '/api/v1/alerts',
        { patientId: 'pat-two-workers', severity: 'critical', summary: 'two workers, one killed' },
        token,
      );
      a.proc.kill('SIGKILL');
      await a.exited;

      const db = await PostgresDatabase.open(fresh.url, { max: 1 });
      try {
        await until(
          async () => {
            const r = await db.query<{ escalated: number; pending: number }>(
              `select
                 (select count(*)::int from alert_notification where alert_id = $1 and reason = 'escalated') as escalated,
                 (select count(*)::int from alert_delivery d join alert_notification n on n.id = d.notification_id
                   where n.alert_id = $1 and d.status = 'pending') as pending`,
              [alert.id],
            );
            return r[0] && r[0].escalated > 0 && r[0].pending === 0 ? true : undefined;
          },
          'the survivor to escalate and deliver everything',
          200_000, // a send claimed by the killed worker waits out its 60 s lease
        );
        const notifications = await db.query<{ id: string; reason: string }>(
          'select id::text as id, reason from alert_notification where alert_id = $1 order by created_at',
          [alert.id],
        );
        assert.deepEqual(
          notifications.map((n) => n.reason),
          ['raised', 'escalated'],
          'one raised, one escalation: never twice',
        );
        const received = receiver.received
          .map((r) => JSON.parse(r.body) as { id: string; alert: { id: string } })
          .filter((n) => n.alert.id === alert.id);
        assert.deepEqual(
          [...new Set(received.map((n) => n.id))].sort(),
          notifications.map((n) => n.id).sort(),
          'every notification delivered, none invented',
        );
        assert.ok(received.length <= notifications.length + 1, `${received.length} deliveries`);
      } finally {
        await db.close();
      }
    } finally {
      await receiver.close();
      b.proc.kill('SIGTERM');
      await b.exited;
    }
  });
});
