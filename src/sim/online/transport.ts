/**
 * Sends a device's emissions the way real devices do: over MQTT (username = device id, password =
 * its secret; JSON on devices/{id}/readings, raw GATT bytes on devices/{id}/gatt/{uuid}; QoS 1, so
 * the broker acknowledges only once the reading is durable) or as HTTP batches to
 * /ingest/v1/readings with the device's bearer secret. Malformed payloads go out the same way.
 */
import mqtt, { type MqttClient } from 'mqtt';
import type { Emission } from '../devices/device.ts';
import { jsonBody } from '../wire/native-json.ts';
import type { SimApiClient } from './api-client.ts';

export interface SendStats {
  messages: number;
  readings: number;
  malformed: number;
  duplicates: number;
  errors: number;
  /** Readings the server answered accepted / duplicate / rejected (HTTP only; MQTT has no per-reading answer). */
  httpAccepted: number;
  httpDuplicate: number;
  httpRejected: number;
}

export const emptySendStats = (): SendStats => ({
  messages: 0,
  readings: 0,
  malformed: 0,
  duplicates: 0,
  errors: 0,
  httpAccepted: 0,
  httpDuplicate: 0,
  httpRejected: 0,
});

export interface DeviceLink {
  send(emissions: readonly Emission[], stats: SendStats): Promise<void>;
  close(): Promise<void>;
}

export async function mqttLink(url: string, deviceId: string, secret: string): Promise<DeviceLink> {
  const client: MqttClient = await mqtt.connectAsync(url, {
    username: deviceId,
    password: secret,
    clientId: `${deviceId}-${Math.random().toString(36).slice(2, 8)}`,
    reconnectPeriod: 1000,
    connectTimeout: 10_000,
    clean: true,
  });
  return {
    async send(emissions, stats) {
      await Promise.all(
        emissions.map(async (e) => {
          let topic = `devices/${deviceId}/readings`;
          let payload: string | Buffer;
          if (e.malformed) {
            if (e.malformed.payload instanceof Uint8Array)
              topic = `devices/${deviceId}/gatt/${e.gatt?.characteristic ?? '2A35'}`;
            payload =
              typeof e.malformed.payload === 'string'
                ? e.malformed.payload
                : Buffer.from(e.malformed.payload);
          } else if (e.gatt) {
            topic = `devices/${deviceId}/gatt/${e.gatt.characteristic}`;
            payload = Buffer.from(e.gatt.bytes);
          } else payload = jsonBody(e.readings);
          try {
            await client.publishAsync(topic, payload, { qos: 1 });
            count(stats, e);
          } catch {
            stats.errors++;
          }
        }),
      );
    },
    async close() {
      await client.endAsync();
    },
  };
}

export function httpLink(api: SimApiClient, secret: string, maxBatch = 200): DeviceLink {
  return {
    async send(emissions, stats) {
      const good = emissions.filter((e) => !e.malformed);
      for (let i = 0; i < good.length; i += maxBatch) {
        const chunk = good.slice(i, i + maxBatch);
        const readings = chunk.flatMap((e) => e.readings);
        if (readings.length === 0) continue;
        try {
          const r = await api.postReadings(secret, JSON.stringify({ readings }));
          stats.httpAccepted += r.accepted;
          stats.httpDuplicate += r.duplicate;
          stats.httpRejected += r.rejected;
          for (const e of chunk) count(stats, e);
        } catch {
          stats.errors++;
        }
      }
      for (const e of emissions.filter((x) => x.malformed)) {
        try {
          if (typeof e.malformed?.payload === 'string') await api.postReadings(secret, e.malformed.payload);
          count(stats, e);
        } catch {
          // A malformed whole body is answered 400: that is the point.
          count(stats, e);
        }
      }
    },
    async close() {},
  };
}

function count(stats: SendStats, e: Emission): void {
  stats.messages++;
  stats.readings += e.readings.filter((r) => r.type !== undefined).length;
  if (e.malformed) stats.malformed++;
  if (e.duplicate) stats.duplicates++;
}
