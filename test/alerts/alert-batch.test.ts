import assert from 'node:assert/strict';
import { it } from 'node:test';
import { Alerting } from '../../src/alerts/alerting.ts';
import { FakeClock } from '../../src/core/clock.ts';
import { createLogger } from '../../src/core/logger.ts';
import { describeEachDatabase } from '../support/databases.ts';
import { firing, seedCareTeam } from './support.ts';

const log = createLogger('silent');
const nurse = { kind: 'user' as const, id: 'u-nurse' };

describeEachDatabase('alert batches', (factory) => {
  it('applies a batch in order: raise, update, resolve and raise again of one condition, other conditions beside', async () => {
    const db = await factory.open();
    const clock = new FakeClock('2026-03-02T09:00:00Z');
    const alerting = new Alerting({ db, clock, log });
    const out = await alerting.onDetections([
      firing({ evidence: ['obs-1'] }),
      firing({ conditionKey: 'other', patientId: 'pat-2' }),
      firing({ evidence: ['obs-2'], severity: 'critical' }),
      firing({ state: 'cleared', summary: 'SpO2 95 %' }),
      firing({ evidence: ['obs-3'] }),
    ]);
    assert.equal(out.length, 5);
    const rows = await db.query<{ state: string; evidence: string[]; severity: string }>(
      `select state, evidence, severity from alert where patient_id = 'pat-1' order by created_at, id`,
    );
    assert.deepEqual(
      rows.map((r) => [r.state, r.severity, r.evidence]),
      [
        ['resolved', 'critical', ['obs-1', 'obs-2']],
        ['open', 'high', ['obs-3']],
      ],
    );
    const first = out[0];
    assert.ok(first);
    const events = await alerting.repo.events(first.id);
    assert.deepEqual(
      events.map((e) => e.type),
      ['raised', 'worsened', 'resolved'],
    );
    const timers = await db.query<{ n: number }>('select count(*)::int as n from alert_timer');
    assert.equal(timers[0]?.n, 2, 'escalation timers of the two open alerts only');
  });

  it('a change made by another worker meanwhile: the stale fast path rolls back and the batch is decided on what is stored', async () => {
    const db = await factory.open();
    const clock = new FakeClock('2026-03-02T09:00:00Z');
    await seedCareTeam(db);
    const a = new Alerting({ db, clock, log });
    const b = new Alerting({ db, clock, log });
    const [raised] = await a.onDetections([firing()]);
    assert.ok(raised);
    // B acknowledges: A's remembered version is now stale.
    await b.manager.act(raised.id, { type: 'acknowledge' }, nurse);
    const [updated] = await a.onDetections([firing({ evidence: ['obs-2'] })]);
    assert.equal(updated?.id, raised.id);
    assert.equal(updated?.state, 'acknowledged', 'the acknowledgement made elsewhere is kept');
    assert.deepEqual(updated?.evidence, ['obs-1', 'obs-2']);
    // B raises a condition A has never seen; A's raise of it becomes an update, not a second alert.
    await b.onDetections([firing({ conditionKey: 'c2' })]);
    await a.onDetections([firing({ conditionKey: 'c2', evidence: ['obs-9'] })]);
    const c2 = await db.query<{ n: number }>(
      `select count(*)::int as n from alert where condition_key = 'c2' and state <> 'resolved'`,
    );
    assert.equal(c2[0]?.n, 1);
    // Recipients are resolved after the commit from the care team.
    await a.manager.settled();
    const [n] = await a.repo.notifications(raised.id);
    assert.deepEqual(n?.recipients.map((r) => r.practitioner).sort(), ['Practitioner/nurse-1']);
    assert.ok(n);
    assert.equal((n.payload as { recipientsPending?: unknown }).recipientsPending, undefined);
  });
});
