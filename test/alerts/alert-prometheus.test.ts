import assert from 'node:assert/strict';
import { it } from 'node:test';
import { Alerting } from '../../src/alerts/alerting.ts';
import { RecordingNotifier } from '../../src/alerts/notifier.ts';
import { FakeClock } from '../../src/core/clock.ts';
import { createLogger } from '../../src/core/logger.ts';
import { createMetrics } from '../../src/core/metrics.ts';
import { describeEachDatabase } from '../support/databases.ts';
import { firing } from './support.ts';

/** The value of one sample of the Prometheus text exposition (undefined when absent). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-z_]+)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries(
      (m[2] ?? '')
        .split(',')
        .filter(Boolean)
        .map((kv) => {
          const [k, v] = kv.split('=');
          return [k, v?.replace(/^"|"$/g, '')];
        }),
    );
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[3]);
  }
  return undefined;
}

describeEachDatabase('alert metrics for Prometheus', (factory) => {
  it('counts opened, notified and acknowledged alerts, time to acknowledge, lag, outbox depth and failures', async () => {
    const db = await factory.open();
    const clock = new FakeClock('2026-03-02T09:00:30Z');
    const metrics = createMetrics();
    const pager = new RecordingNotifier('pager');
    pager.failNext(1);
    const alerting = new Alerting({
      db,
      clock,
      log: createLogger('silent'),
      notifiers: [pager],
      metrics,
      backoff: { baseMs: 1000, maxMs: 2000 },
    });
    try {
      const [a] = await alerting.onDetections([firing({ at: '2026-03-02T09:00:00Z' })]);
      assert.ok(a);
      let text = await metrics.registry.metrics();
      assert.equal(sample(text, 'vigil_alerts_opened_total', { severity: 'high', rule: 'threshold' }), 1);
      assert.equal(
        sample(text, 'vigil_alert_notifications_total', { reason: 'raised', severity: 'high' }),
        1,
      );
      assert.equal(sample(text, 'vigil_detection_lag_seconds_count'), 1);
      assert.equal(
        sample(text, 'vigil_detection_lag_seconds_sum'),
        30,
        'event time 09:00:00, decided 09:00:30',
      );
      assert.equal(sample(text, 'vigil_outbox_pending_deliveries', { channel: 'notifier' }), 1);

      await alerting.outbox.runDue(); // the pager fails once
      text = await metrics.registry.metrics();
      assert.equal(sample(text, 'vigil_notification_failures_total', { channel: 'notifier' }), 1);
      assert.equal(
        sample(text, 'vigil_notification_deliveries_total', { channel: 'notifier', outcome: 'failed' }),
        1,
      );
      clock.advance(5_000);
      await alerting.outbox.runDue();
      text = await metrics.registry.metrics();
      assert.equal(
        sample(text, 'vigil_notification_deliveries_total', { channel: 'notifier', outcome: 'delivered' }),
        1,
      );
      assert.equal(sample(text, 'vigil_outbox_pending_deliveries', { channel: 'notifier' }), undefined);

      clock.advance(120_000);
      await alerting.manager.act(a.id, { type: 'acknowledge' }, { kind: 'user', id: 'u-nurse' });
      text = await metrics.registry.metrics();
      assert.equal(sample(text, 'vigil_alerts_acknowledged_total', { severity: 'high' }), 1);
      assert.equal(sample(text, 'vigil_alert_time_to_acknowledge_seconds_count', { severity: 'high' }), 1);
      const raised = Date.parse(a.raisedAt);
      assert.equal(
        sample(text, 'vigil_alert_time_to_acknowledge_seconds_sum', { severity: 'high' }),
        (clock.now() - raised) / 1000,
      );
    } finally {
      await alerting.stop();
      await db.close();
    }
  });
});
