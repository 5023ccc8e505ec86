import mqtt, { type MqttClient } from 'mqtt';
import { VigilError } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import type { IngestService } from '../ingest-service.ts';
import { deviceSubscriptions, parseDeviceTopic } from './topics.ts';

export interface DeviceRegistryCheck {
  isActive(deviceId: string): Promise<boolean>;
}

/**
 * Vigil as a client of an external broker (Mosquitto, EMQX). Device authentication and topic ACLs
 * are the broker's job there (e.g. Mosquitto `pattern write devices/%u/#`); Vigil still refuses
 * readings of unregistered or revoked devices. A persistent session (clean: false, fixed client id,
 * session expiry) keeps what devices publish while Vigil is down, and the PUBACK to the broker is
 * sent only after the reading is durable, so the broker redelivers anything not yet committed.
 * With several workers, a shared subscription ($share/<deployment>/…) splits the load between them.
 */
export class ExternalBrokerClient {
  readonly #client: MqttClient;
  readonly #log: Logger;

  private constructor(client: MqttClient, log: Logger) {
    this.#client = client;
    this.#log = log;
  }

  static async connect(opts: {
    url: string;
    clientId: string;
    shared: boolean;
    /** Shared-subscription group: one per deployment (its workers split the stream). */
    shareGroup: string;
    ingest: IngestService;
    devices: DeviceRegistryCheck;
    log: Logger;
    maxPayloadBytes: number;
  }): Promise<ExternalBrokerClient> {
    const client = mqtt.connect(opts.url, {
      clientId: opts.clientId,
      clean: false,
      protocolVersion: 5,
      properties: { sessionExpiryInterval: 7 * 24 * 3600 },
      reconnectPeriod: 1000,
      connectTimeout: 5000,
      manualConnect: true,
    });
    const self = new ExternalBrokerClient(client, opts.log);
    client.handleMessage = (packet, callback) => {
      const topic = parseDeviceTopic(packet.topic);
      const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
      if (!topic) {
        callback();
        return;
      }
      const env = {
        transport: 'mqtt' as const,
        deviceId: topic.deviceId,
        format: topic.format,
        payload,
        topic: packet.topic,
        receivedAt: Date.now(),
      };
      const work = (async () => {
        if (!(await opts.devices.isActive(topic.deviceId))) {
          return opts.ingest.refuse(
            { ...env, payload: payload.subarray(0, 4096) },
            new VigilError(
              'VIGIL_ERR_INGEST_UNKNOWN_DEVICE',
              'device is not registered or its credential is revoked',
              401,
            ),
          );
        }
        if (payload.length > opts.maxPayloadBytes) {
          return opts.ingest.refuse(
            { ...env, payload: payload.subarray(0, 4096) },
            new VigilError(
              'VIGIL_ERR_INGEST_OVERSIZE',
              `payload exceeds ${opts.maxPayloadBytes} bytes (first 4 KiB kept)`,
            ),
          );
        }
        return opts.ingest.ingest(env);
      })();
      work.then(
        () => callback(),
        (err) => {
          // Not durable: no PUBACK, so the broker redelivers it in this persistent session.
          opts.log.error({ err, deviceId: topic.deviceId }, 'reading from external broker not committed');
        },
      );
    };
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => {
        client.end(true);
        reject(
          new VigilError(
            'VIGIL_ERR_CONFIG_MQTT_UNREACHABLE',
            `cannot reach MQTT broker at VIGIL_MQTT_URL: ${err.message}`,
            1,
          ),
        );
      };
      client.once('error', onError);
      client.once('connect', () => {
        client.off('error', onError);
        resolve();
      });
      client.connect();
    });
    client.on('error', (err) => opts.log.warn({ err: err.message }, 'external MQTT broker error'));
    // The share group is the deployment's client id: workers of one deployment split the stream,
    // another deployment on the same broker gets its own copy.
    const group = opts.shareGroup;
    const topics = deviceSubscriptions.map((t) => (opts.shared ? `$share/${group}/${t}` : t));
    await client.subscribeAsync(topics, { qos: 1 });
    opts.log.info({ topics }, 'subscribed to external MQTT broker');
    return self;
  }

  get connected(): boolean {
    return this.#client.connected;
  }

  async close(): Promise<void> {
    await this.#client.endAsync(false);
  }
}
