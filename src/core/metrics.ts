import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** Prometheus metrics, one registry per Vigil instance (tests run several in one process). */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'vigil_process_' });
  return {
    registry,
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
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
