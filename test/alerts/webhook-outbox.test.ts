import assert from 'node:assert/strict';
import { it } from 'node:test';
import { Alerting } from '../../src/alerts/alerting.ts';
import { verifyWebhook } from '../../src/alerts/webhook.ts';
import { FakeClock } from '../../src/core/clock.ts';
import { newId } from '../../src/core/ids.ts';
import { createLogger } from '../../src/core/logger.ts';
import { describeEachDatabase } from '../support/databases.ts';
import { firing, webhookReceiver } from './support.ts';

describeEachDatabase('webhook outbox', (factory) => {
  async function setup(expirySeconds = 86400, failFirst = 0) {
    const db = await factory.open();
    const clock = new FakeClock('2026-03-02T09:00:00Z');
    const alerting = new Alerting({
      db,
      clock,
      log: createLogger('silent'),
      backoff: { baseMs: 1000, maxMs: 60_000 },
    });
    const receiver = await webhookReceiver(failFirst);
    const now = new Date(clock.now()).toISOString();
    const hook = {
      id: newId(),
      url: receiver.url,
      secret: 'whsec_test-secret',
      description: null,
      severities: null,
      enabled: true,
      expirySeconds,
      createdAt: now,
      updatedAt: now,
    };
    await alerting.repo.insertWebhook(hook);
    return { alerting, clock, receiver, hook };
  }

  it('retries a flaky receiver with backoff until delivered; the delivery is signed and every attempt logged', async () => {
    const { alerting, clock, receiver, hook } = await setup(86400, 2);
    try {
      const [a] = await alerting.onDetections([firing()]);
      assert.ok(a);
      for (let i = 0; i < 10 && receiver.received.length === 0; i++) {
        await alerting.outbox.runDue();
        clock.advance(5_000);
      }
      assert.equal(receiver.received.length, 1);
      assert.equal(receiver.attempts(), 3);
      const got = receiver.received[0];
      assert.ok(got);
      const verified = verifyWebhook(
        got.body,
        got.headers['vigil-signature'] as string,
        hook.secret,
        Math.floor(clock.now() / 1000),
      );
      assert.equal(verified.ok, true);
      const n = JSON.parse(got.body);
      assert.equal(n.alert.id, a.id);
      assert.equal(got.headers['vigil-event-id'], n.id);
      assert.equal(got.headers['vigil-delivery-attempt'], '3');
      const [d] = await alerting.repo.deliveries({ target: hook.id });
      assert.equal(d?.status, 'delivered');
      const log = await alerting.repo.attempts(d?.id as string);
      assert.deepEqual(
        log.map((x) => x.statusCode),
        [503, 503, 204],
      );
    } finally {
      await receiver.close();
    }
  });

  it('tells webhooks of acknowledgements, snooze ends and resolutions (signed), and notifier channels only of pages', async () => {
    const { RecordingNotifier } = await import('../../src/alerts/notifier.ts');
    const db = await factory.open();
    const clock = new FakeClock('2026-03-02T09:00:00Z');
    const recorder = new RecordingNotifier();
    const alerting = new Alerting({ db, clock, log: createLogger('silent'), notifiers: [recorder] });
    const receiver = await webhookReceiver();
    const now = new Date(clock.now()).toISOString();
    const secret = 'whsec_pager-gateway';
    await alerting.repo.insertWebhook({
      id: newId(),
      url: receiver.url,
      secret,
      description: 'pager gateway',
      severities: null,
      enabled: true,
      expirySeconds: 3600,
      createdAt: now,
      updatedAt: now,
    });
    const nurse = { kind: 'user' as const, id: 'u-nurse' };
    const drain = async () => {
      for (let i = 0; i < 5; i++) await alerting.outbox.runDue();
    };
    try {
      const [a] = await alerting.onDetections([firing()]);
      assert.ok(a);
      await alerting.manager.act(a.id, { type: 'snooze', minutes: 10 }, nurse);
      clock.advance(11 * 60_000);
      await alerting.manager.runDueTimers();
      await alerting.manager.act(a.id, { type: 'acknowledge', note: 'on my way' }, nurse);
      await alerting.onDetections([firing({ state: 'cleared', summary: 'SpO2 95 %' })]);
      await drain();
      const bodies = receiver.received.map((r) => {
        const check = verifyWebhook(
          r.body,
          r.headers['vigil-signature'] as string,
          secret,
          Math.floor(clock.now() / 1000),
        );
        assert.equal(check.ok, true, 'every event is signed');
        assert.equal(r.headers['vigil-event-id'], JSON.parse(r.body).id);
        return JSON.parse(r.body) as {
          reason: string;
          alert: { id: string; state: string };
          actor?: { id: string };
        };
      });
      assert.deepEqual(bodies.map((b) => b.reason).sort(), [
        'acknowledged',
        'raised',
        'resolved',
        'snooze-ended',
      ]);
      const ack = bodies.find((b) => b.reason === 'acknowledged');
      assert.equal(ack?.alert.id, a.id);
      assert.equal(ack?.alert.state, 'acknowledged');
      assert.deepEqual(ack?.actor, { kind: 'user', id: 'u-nurse' });
      const resolved = bodies.find((b) => b.reason === 'resolved');
      assert.equal(resolved?.alert.state, 'resolved');
      assert.deepEqual(resolved?.actor, { kind: 'system', id: 'vigil' });
      // People are paged for the raise and the snooze end only; acknowledgements are not pages.
      assert.deepEqual(recorder.sent.map((n) => n.reason).sort(), ['raised', 'snooze-ended']);
    } finally {
      await receiver.close();
    }
  });

  it('gives up only at the configured expiry, marked expired', async () => {
    const { alerting, clock, receiver, hook } = await setup(120, 1_000_000);
    try {
      await alerting.onDetections([firing()]);
      for (let i = 0; i < 40; i++) {
        await alerting.outbox.runDue();
        clock.advance(10_000);
      }
      const [d] = await alerting.repo.deliveries({ target: hook.id });
      assert.equal(d?.status, 'expired');
      assert.ok((d?.attempts ?? 0) >= 5, `kept trying until expiry (attempts ${d?.attempts})`);
    } finally {
      await receiver.close();
    }
  });
});

describeEachDatabase('alerts FHIR view', (factory) => {
  it('serves an alert as a Flag and its notifications as Communications with delivery status', async () => {
    const { AlertFhirView } = await import('../../src/alerts/fhir.ts');
    const { RecordingNotifier } = await import('../../src/alerts/notifier.ts');
    const db = await factory.open();
    const clock = new FakeClock('2026-03-02T09:00:00Z');
    const alerting = new Alerting({
      db,
      clock,
      log: createLogger('silent'),
      notifiers: [new RecordingNotifier()],
    });
    const [a] = await alerting.onDetections([firing()]);
    assert.ok(a);
    const view = new AlertFhirView(alerting.repo);
    assert.equal((await view.flag(a.id))?.status, 'active');
    assert.equal((await view.flags({ patientId: 'pat-1', active: true })).length, 1);
    assert.equal((await view.communicationsAbout(a.id))[0]?.status, 'in-progress');
    await alerting.outbox.runDue();
    const [c] = await view.communicationsAbout(a.id);
    assert.equal(c?.status, 'completed');
    assert.equal((await view.communication(c?.id as string))?.about[0]?.reference, `Flag/${a.id}`);
    assert.equal(await view.flag(newId()), undefined);
  });
});
