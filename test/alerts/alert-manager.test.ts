import assert from 'node:assert/strict';
import { it } from 'node:test';
import { Alerting } from '../../src/alerts/alerting.ts';
import { RecordingNotifier } from '../../src/alerts/notifier.ts';
import { FakeClock } from '../../src/core/clock.ts';
import type { VigilError } from '../../src/core/errors.ts';
import { newId } from '../../src/core/ids.ts';
import { createLogger } from '../../src/core/logger.ts';
import { describeEachDatabase } from '../support/databases.ts';
import { firing, seedCareTeam } from './support.ts';

const nurse = { kind: 'user' as const, id: 'u-nurse' };
const doctor = { kind: 'user' as const, id: 'u-doc' };

describeEachDatabase('alert manager', (factory) => {
  async function setup() {
    const db = await factory.open();
    const clock = new FakeClock('2026-03-02T09:00:00Z'); // a Monday, working hours in UTC
    const recorder = new RecordingNotifier();
    const alerting = new Alerting({ db, clock, log: createLogger('silent'), notifiers: [recorder] });
    await seedCareTeam(db);
    return { db, clock, recorder, alerting, m: alerting.manager };
  }

  it('keeps one alert per condition: a second firing updates evidence, a cleared resolves automatically', async () => {
    const { m, alerting } = await setup();
    const [a] = await m.onDetections([firing()]);
    assert.ok(a);
    await m.onDetections([firing({ evidence: ['obs-2'], at: '2026-03-02T09:01:00Z' })]);
    const list = await alerting.repo.list({ patientId: 'pat-1' });
    assert.equal(list.length, 1);
    assert.deepEqual(list[0]?.evidence, ['obs-1', 'obs-2']);
    await m.onDetections([firing({ state: 'cleared', evidence: [] })]);
    const resolved = await alerting.repo.get(a.id);
    assert.equal(resolved?.state, 'resolved');
    assert.equal(resolved?.resolution, 'automatic');
    const events = await alerting.repo.events(a.id);
    assert.deepEqual(
      events.map((e) => e.type),
      ['raised', 'updated', 'resolved'],
    );
    // After resolution a new firing is a new alert.
    const [b] = await m.onDetections([firing({ evidence: ['obs-9'] })]);
    assert.notEqual(b?.id, a.id);
  });

  it('two acknowledges at once: one winner, the other gets 409 naming the winner; the same user twice is harmless', async () => {
    const { m } = await setup();
    const [a] = await m.onDetections([firing()]);
    assert.ok(a);
    const results = await Promise.allSettled([
      m.act(a.id, { type: 'acknowledge' }, nurse),
      m.act(a.id, { type: 'acknowledge' }, doctor),
    ]);
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    assert.equal(won.length, 1);
    assert.equal(lost.length, 1);
    const err = lost[0]?.reason as VigilError;
    assert.equal(err.code, 'VIGIL_ERR_ALERT_ALREADY_ACKNOWLEDGED');
    assert.equal(err.status, 409);
    const winner = (won[0] as PromiseFulfilledResult<{ alert: { acknowledgedBy: string } }>).value.alert
      .acknowledgedBy;
    assert.equal(err.details?.['acknowledgedBy'], winner);
    const again = await m.act(a.id, { type: 'acknowledge' }, winner === 'u-nurse' ? nurse : doctor);
    assert.equal(again.event, null);
    assert.equal(again.alert.version, 2);
  });

  it('notifies the first tier of the care team and escalates on time when nobody acknowledges', async () => {
    const { m, clock, recorder, alerting } = await setup();
    await m.onDetections([firing()]);
    await alerting.scheduler.tick();
    assert.equal(recorder.sent.length, 1);
    assert.equal(recorder.sent[0]?.reason, 'raised');
    assert.deepEqual(
      recorder.sent[0]?.recipients.map((r) => r.practitioner),
      ['Practitioner/nurse-1'],
    );
    clock.advance(14 * 60_000);
    await alerting.scheduler.tick();
    assert.equal(recorder.sent.length, 1, 'not yet: high escalates after 15 minutes');
    clock.advance(61_000);
    await alerting.scheduler.tick();
    await alerting.scheduler.tick();
    assert.equal(recorder.sent.length, 2);
    assert.equal(recorder.sent[1]?.reason, 'escalated');
    assert.equal(recorder.sent[1]?.tierName, 'clinician');
    assert.deepEqual(
      recorder.sent[1]?.recipients.map((r) => r.practitioner),
      ['Practitioner/doc-1'],
    );
    // Acknowledged: escalation stops.
    const a = (await alerting.repo.list({}))[0];
    assert.ok(a);
    assert.equal(a.state, 'escalated');
    await m.act(a.id, { type: 'acknowledge' }, doctor);
    clock.advance(3 * 3600_000);
    await alerting.scheduler.tick();
    assert.equal(recorder.sent.length, 2);
    assert.deepEqual(await alerting.repo.timers(a.id), []);
  });

  it('repeats the last tier until acknowledged', async () => {
    const { m, clock, recorder, alerting } = await setup();
    await alerting.repo.putPolicy(
      'high',
      { workingHoursTiers: [{ name: 'nurse', roles: ['nurse'], ackWithinSeconds: 60 }] },
      new Date(clock.now()).toISOString(),
      'admin',
    );
    await m.onDetections([firing()]);
    for (let i = 0; i < 3; i++) {
      clock.advance(61_000);
      await alerting.scheduler.tick();
      await alerting.scheduler.tick();
    }
    assert.deepEqual(
      recorder.sent.map((n) => n.reason),
      ['raised', 'repeat', 'repeat', 'repeat'],
    );
    const a = (await alerting.repo.list({}))[0];
    assert.equal(a?.escalationCount, 3);
  });

  it('a snooze holds against new firings; a worse severity notifies through it; the snooze end reminds', async () => {
    const { m, clock, recorder, alerting } = await setup();
    const [a] = await m.onDetections([firing({ severity: 'medium' })]);
    assert.ok(a);
    await m.act(a.id, { type: 'snooze', minutes: 30 }, nurse);
    await alerting.scheduler.tick();
    assert.equal(recorder.sent.length, 1);
    clock.advance(5 * 60_000);
    await m.onDetections([firing({ severity: 'medium', evidence: ['obs-2'] })]);
    await alerting.scheduler.tick();
    assert.equal(recorder.sent.length, 1, 'same severity while snoozed: no notification');
    assert.deepEqual((await alerting.repo.get(a.id))?.evidence, ['obs-1', 'obs-2']);
    clock.advance(30 * 60_000);
    await alerting.scheduler.tick();
    await alerting.scheduler.tick();
    assert.deepEqual(
      recorder.sent.map((n) => n.reason),
      ['raised', 'snooze-ended'],
    );
    await m.act(a.id, { type: 'snooze', minutes: 30 }, nurse);
    await m.onDetections([firing({ severity: 'critical', evidence: ['obs-3'] })]);
    await alerting.scheduler.tick();
    assert.deepEqual(
      recorder.sent.map((n) => n.reason),
      ['raised', 'snooze-ended', 'worsened'],
    );
    assert.equal((await alerting.repo.get(a.id))?.state, 'open');
  });

  it('retries a failed gateway delivery with backoff and logs every attempt', async () => {
    const { m, clock, recorder, alerting } = await setup();
    recorder.failNext(2);
    const [a] = await m.onDetections([firing()]);
    assert.ok(a);
    for (let i = 0; i < 6 && recorder.sent.length === 0; i++) {
      await alerting.scheduler.tick();
      clock.advance(60_000);
    }
    assert.equal(recorder.sent.length, 1);
    const [d] = await alerting.repo.deliveries({ alertId: a.id });
    assert.equal(d?.status, 'delivered');
    const attempts = await alerting.repo.attempts(d?.id as string);
    assert.deepEqual(
      attempts.map((x) => x.ok),
      [false, false, true],
    );
  });
});

describeEachDatabase('alert workers and metrics', (factory) => {
  it('two workers polling the same timers escalate each alert exactly once', async () => {
    const db = await factory.open();
    const clock = new FakeClock('2026-03-02T09:00:00Z');
    const log = createLogger('silent');
    const a = new Alerting({ db, clock, log });
    const b = new Alerting({ db, clock, log });
    await seedCareTeam(db);
    const detections = Array.from({ length: 20 }, (_, i) =>
      firing({ conditionKey: `c-${i}`, patientId: `pat-${i % 3}` }),
    );
    await a.onDetections(detections);
    clock.advance(16 * 60_000);
    await Promise.all([
      a.manager.runDueTimers(5),
      b.manager.runDueTimers(5),
      a.manager.runDueTimers(50),
      b.manager.runDueTimers(50),
    ]);
    await Promise.all([a.manager.runDueTimers(50), b.manager.runDueTimers(50)]);
    const rows = await db.query<{ type: string; n: number }>(
      `select type, count(*)::int as n from alert_event group by type order by type`,
    );
    assert.deepEqual(
      rows.map((r) => ({ type: r.type, n: r.n })),
      [
        { type: 'escalated', n: 20 },
        { type: 'raised', n: 20 },
      ],
    );
  });

  it('measures time to acknowledge and resolve per severity and team, escalations and alarm burden', async () => {
    const db = await factory.open();
    const clock = new FakeClock('2026-03-02T09:00:00Z');
    const alerting = new Alerting({ db, clock, log: createLogger('silent') });
    await seedCareTeam(db);
    const [x, y] = await alerting.onDetections([
      firing({ conditionKey: 'x' }),
      firing({ conditionKey: 'y' }),
    ]);
    assert.ok(x && y);
    clock.advance(60_000);
    await alerting.manager.act(x.id, { type: 'acknowledge' }, nurse);
    clock.advance(60_000);
    await alerting.manager.act(y.id, { type: 'acknowledge' }, nurse);
    await alerting.manager.act(x.id, { type: 'resolve' }, nurse);
    await alerting.manager.act(y.id, { type: 'escalate' }, nurse);
    for (const day of ['2026-03-01', '2026-03-02']) {
      await db.query(
        `insert into observation (id, patient_id, code, effective, received, idem_key) values ($1, 'pat-1', '59408-5', $2, $2, $3)`,
        [newId(), `${day}T08:00:00Z`, newId()],
      );
    }
    const { alertMetrics } = await import('../../src/alerts/alert-metrics.ts');
    const m = await alertMetrics(db, '2026-03-01T00:00:00Z', '2026-03-03T00:00:00Z');
    const all = m.rows.find((r) => r.severity === 'high' && r.team === '*');
    const team = m.rows.find((r) => r.severity === 'high' && r.team === 'team-1');
    assert.equal(all?.alerts, 2);
    assert.equal(all?.acknowledged, 2);
    assert.equal(all?.ackP50Seconds, 90);
    assert.equal(all?.resolveP50Seconds, 120);
    assert.equal(all?.escalations, 1);
    assert.equal(team?.alerts, 2);
    // Notified: two raised, one escalated (acknowledgements and the resolution notify nobody).
    assert.deepEqual(m.burden, {
      alerts: 2,
      patientDays: 2,
      alertsPerPatientDay: 1,
      notifications: 3,
      notificationsPerPatientDay: 1.5,
      notificationsPerAlert: 1.5,
      byClass: { clinical: 2, technical: 0, compressionSuspected: 0, measurementRequest: 0, task: 0 },
      clinicalAlertsPerPatientDay: 1,
    });
  });
});
