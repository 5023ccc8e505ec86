import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** Prometheus metrics, one registry per Vigil instance (tests run several in one process). */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'vigil_process_' });
  /** Values read at scrape time, set by the module that owns them (the outbox's pending rows). */
  const sources: {
    outboxDepth?: () => Promise<{ channel: string; pending: number; oldestSeconds: number }[]>;
  } = {};
  return {
    registry,
    sources,
    outboxDepth: new Gauge({
      name: 'vigil_outbox_pending_deliveries',
      help: 'Notification deliveries not yet delivered or expired, by channel (whole cluster)',
      labelNames: ['channel'] as const,
      registers: [registry],
      async collect() {
        const rows = (await sources.outboxDepth?.().catch(() => undefined)) ?? [];
        this.reset();
        for (const r of rows) this.set({ channel: r.channel }, r.pending);
      },
    }),
    outboxOldest: new Gauge({
      name: 'vigil_outbox_oldest_pending_seconds',
      help: 'Age of the oldest pending notification delivery, by channel (whole cluster)',
      labelNames: ['channel'] as const,
      registers: [registry],
      async collect() {
        const rows = (await sources.outboxDepth?.().catch(() => undefined)) ?? [];
        this.reset();
        for (const r of rows) this.set({ channel: r.channel }, r.oldestSeconds);
      },
    }),
    readingsAccepted: new Counter({
      name: 'vigil_readings_accepted_total',
      help: 'Readings durably stored',
      labelNames: ['transport'] as const,
      registers: [registry],
    }),
    readingsDuplicate: new Counter({
      name: 'vigil_readings_duplicate_total',
      help: 'Readings recognised as redeliveries (no-op)',
      labelNames: ['transport'] as const,
      registers: [registry],
    }),
    readingsRejected: new Counter({
      name: 'vigil_readings_rejected_total',
      help: 'Payloads refused and kept as dead letters',
      labelNames: ['transport', 'reason'] as const,
      registers: [registry],
    }),
    ingestBatchSeconds: new Histogram({
      name: 'vigil_ingest_batch_commit_seconds',
      help: 'Time to commit one ingest batch',
      buckets: [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers: [registry],
    }),
    ingestBatchSize: new Histogram({
      name: 'vigil_ingest_batch_size',
      help: 'Readings per committed batch',
      buckets: [1, 5, 10, 50, 100, 500, 1000, 2000, 5000],
      registers: [registry],
    }),
    mqttClients: new Gauge({
      name: 'vigil_mqtt_clients',
      help: 'Connected MQTT clients',
      registers: [registry],
    }),
    httpRequests: new Counter({
      name: 'vigil_http_requests_total',
      help: 'HTTP requests',
      labelNames: ['method', 'route', 'status'] as const,
      registers: [registry],
    }),
    detections: new Counter({
      name: 'vigil_detections_total',
      help: 'Detections emitted by the rule engine',
      labelNames: ['rule', 'state'] as const,
      registers: [registry],
    }),
    alertsOpened: new Counter({
      name: 'vigil_alerts_opened_total',
      help: 'Alerts raised',
      labelNames: ['severity', 'rule'] as const,
      registers: [registry],
    }),
    alertsAcknowledged: new Counter({
      name: 'vigil_alerts_acknowledged_total',
      help: 'Alerts acknowledged by a person',
      labelNames: ['severity'] as const,
      registers: [registry],
    }),
    alertsNotified: new Counter({
      name: 'vigil_alert_notifications_total',
      help: 'Notifications decided (raised, worsened, escalated, reminder, …), before delivery',
      labelNames: ['reason', 'severity'] as const,
      registers: [registry],
    }),
    alertTimeToAcknowledge: new Histogram({
      name: 'vigil_alert_time_to_acknowledge_seconds',
      help: 'From an alert being raised to its acknowledgement',
      labelNames: ['severity'] as const,
      buckets: [15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 43200, 86400],
      registers: [registry],
    }),
    detectionLag: new Histogram({
      name: 'vigil_detection_lag_seconds',
      help: "From the evidence's event time (device time) to the alert decision on it",
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600],
      registers: [registry],
    }),
    notificationDeliveries: new Counter({
      name: 'vigil_notification_deliveries_total',
      help: 'Delivery attempts of notifications by channel and outcome (delivered, failed, expired)',
      labelNames: ['channel', 'outcome'] as const,
      registers: [registry],
    }),
    notificationSends: new Counter({
      name: 'vigil_notification_sends_total',
      help: 'Sends of notifications to one person on one channel, by channel and outcome (sent, failed, quiet-hours, …)',
      labelNames: ['channel', 'outcome'] as const,
      registers: [registry],
    }),
    notificationFailures: new Counter({
      name: 'vigil_notification_failures_total',
      help: 'Failed delivery attempts of notifications (each retry counts)',
      labelNames: ['channel'] as const,
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
