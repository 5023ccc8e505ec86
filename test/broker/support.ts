import { randomBytes } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import { loadConfig } from '../../src/config/config.ts';
import { startVigil, type Vigil } from '../../src/server.ts';
import { createFreshPostgresDatabase, testDatabaseUrl } from '../support/databases.ts';
import { tempDir } from '../support/process.ts';

export const runId = randomBytes(4).toString('hex');

/** A fresh database for one test: PostgreSQL when VIGIL_TEST_DATABASE_URL is set, else PGlite in a temp dir. */
export async function freshStore(): Promise<{ env: Record<string, string>; drop: () => Promise<void> }> {
  if (testDatabaseUrl) {
    const fresh = await createFreshPostgresDatabase();
    return { env: { VIGIL_DATABASE_URL: fresh.url }, drop: fresh.drop };
  }
  return { env: { VIGIL_DATA_DIR: tempDir() }, drop: async () => {} };
}

/** An in-process Vigil subscribed to an external broker (no embedded broker). */
export function startWithBroker(url: string, env: Record<string, string>): Promise<Vigil> {
  return startVigil(
    loadConfig({
      VIGIL_HTTP_PORT: '0',
      VIGIL_HTTP_HOST: '127.0.0.1',
      VIGIL_MQTT_PORT: 'off',
      VIGIL_LOG_LEVEL: 'silent',
      VIGIL_ADMIN_PASSWORD: 'a-long-test-password',
      VIGIL_DATA_DIR: tempDir(),
      VIGIL_MQTT_URL: url,
      VIGIL_MQTT_CLIENT_ID: `vigil-${runId}`,
      ...env,
    }),
    { print: () => {} },
  );
}

export async function waitFor(
  what: string,
  cond: () => Promise<boolean> | boolean,
  tries = 600,
): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

export async function ready(vigil: Vigil): Promise<{ status: number; mqtt: string }> {
  const r = await vigil.app.inject({ method: 'GET', url: '/ready' });
  return { status: r.statusCode, mqtt: (r.json() as { checks: { mqtt: string } }).checks.mqtt };
}

export function reading(i: number): string {
  return JSON.stringify({
    messageId: `${runId}-${i}`,
    time: new Date(Date.UTC(2026, 5, 1) + i * 1000).toISOString(),
    type: 'heart-rate',
    value: 60 + (i % 40),
    unit: '/min',
  });
}

/** Stored rows per idempotency key of one device. */
export async function storedCounts(vigil: Vigil, deviceId: string): Promise<Map<string, number>> {
  const rows = await vigil.db.query<{ idem_key: string; n: number | string }>(
    'select idem_key, count(*) as n from observation where device_id = $1 group by idem_key',
    [deviceId],
  );
  return new Map(rows.map((r) => [r.idem_key, Number(r.n)]));
}

export function messageIdOf(idemKey: string): string | undefined {
  return /\|m:([^|]+)\|/.exec(idemKey)?.[1];
}

/** A device that publishes through the broker with a persistent session (resends after a broker restart). */
export function publisher(url: string, clientId: string, extra: mqtt.IClientOptions = {}): MqttClient {
  return mqtt.connect(url, {
    clientId,
    clean: false,
    protocolVersion: 5,
    properties: { sessionExpiryInterval: 3600 },
    reconnectPeriod: 100,
    connectTimeout: 2000,
    ...extra,
  });
}
