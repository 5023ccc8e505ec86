import type { Duplex } from 'node:stream';
import mqtt, { type IPublishPacket, type MqttClient } from 'mqtt';
import { VigilError } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import type { IngestService } from '../ingest-service.ts';
import { deviceSubscriptions, parseDeviceTopic } from './topics.ts';

export interface DeviceRegistryCheck {
  /** Registered and not revoked; answered from a cache (no query per message). */
  isActive(deviceId: string): Promise<boolean> | boolean;
}

export interface ExternalBrokerOptions {
  url: string;
  /** This worker's client id: unique among the workers, stable across its restarts. */
  clientId: string;
  /** Shared-subscription group: one per deployment (its workers split the stream). */
  shareGroup: string;
  /** shared: $share/<group>/… (workers split the stream); plain: this worker alone. */
  subscription: 'shared' | 'plain';
  ingest: IngestService;
  devices: DeviceRegistryCheck;
  log: Logger;
  maxPayloadBytes: number;
  /** QoS 1 messages the broker may have in flight to this worker (MQTT 5 Receive Maximum). */
  receiveMaximum: number;
  /** Delay between connection attempts, ms. */
  reconnectMs?: number;
  /** Hook for tests: a PUBACK was written for this message (after its commit). */
  onAcked?: (packet: IPublishPacket) => void;
}

/** mqtt.js internals used for out-of-order acknowledgement (read in node_modules/mqtt/build/lib). */
interface ClientInternals {
  stream: Duplex;
  _sendPacket(packet: { cmd: 'puback'; messageId: number; reasonCode: number }): void;
}

/**
 * Vigil as a client of an external broker (Mosquitto, EMQX).
 *
 * Many messages in flight: mqtt.js hands a QoS 1 message to `handleMessage` and reads the next one
 * only after its callback; the callback is answered at once *with an error*, which in mqtt.js
 * (handlers/publish.js) moves on to the next packet without a PUBACK. The message goes to ingest,
 * whose batch writer group-commits it with the others in flight, and the PUBACK is written only
 * after the commit, out of order (MQTT 5 §4.6 allows it for QoS 1), and only on the connection that
 * delivered it: after a reconnect the broker redelivers what was not acknowledged (persistent
 * session) and the idempotency key makes the second copy a no-op. A message that could not be
 * stored is not acknowledged; the connection keeps reading, and a reconnect shortly after asks the
 * broker for the redelivery. The broker's in-flight window (Receive Maximum) bounds what is held.
 *
 * The connection is retried for ever: at start (Vigil starts while the broker is down) and after
 * every drop. `ready` is false while not connected and subscribed.
 */
export class ExternalBrokerClient {
  readonly #client: MqttClient;
  readonly #opts: ExternalBrokerOptions;
  readonly #log: Logger;
  #subscribed = false;
  #accepting = true;
  #closed = false;
  #inflight = 0;
  /** mqtt.js's callback for the message that filled the window: called when a slot frees. */
  #paused: (() => void) | undefined;
  /** Messages not stored since the last log line about them (logged once per redelivery cycle). */
  #unlogged = 0;
  readonly #settled = new Set<() => void>();
  #redeliveryTimer: NodeJS.Timeout | undefined;
  #corked: Duplex | undefined;
  /** Messages committed and acknowledged, and ones not stored (kept by the broker). */
  acked = 0;
  failed = 0;

  constructor(opts: ExternalBrokerOptions) {
    this.#opts = opts;
    this.#log = opts.log;
    this.#client = mqtt.connect(opts.url, {
      clientId: opts.clientId,
      clean: false,
      protocolVersion: 5,
      properties: { sessionExpiryInterval: 7 * 24 * 3600, receiveMaximum: opts.receiveMaximum },
      reconnectPeriod: opts.reconnectMs ?? 500,
      // subscribe on every connection ourselves: mqtt.js would skip topics it believes subscribed,
      // and Mosquitto (2.0.11) does not restore shared subscriptions from its persistence file
      resubscribe: false,
      connectTimeout: 5000,
      manualConnect: true,
    });
    this.#client.handleMessage = (packet, callback) => {
      this.#take(packet);
      // An error here tells mqtt.js to read on without a PUBACK; ours follows the commit.
      const readOn = () => callback(new Error('acknowledged after commit'));
      // Our own window, whatever the broker does with Receive Maximum (Mosquitto 2.0 kept sending
      // to a shared subscription far past it: 200,000 messages in flight, every query queued past
      // the store timeout). Until a commit frees a slot mqtt.js reads nothing more, the socket's
      // buffer fills, and TCP holds the rest at the broker.
      if (this.#inflight < opts.receiveMaximum) readOn();
      else this.#paused = readOn;
    };
    this.#client.on('connect', (connack) => {
      this.#log.info(
        { clientId: opts.clientId, sessionPresent: connack.sessionPresent },
        'connected to external MQTT broker',
      );
      void this.#subscribe();
    });
    this.#client.on('close', () => {
      // the held callback belongs to the connection that closed: let its pump finish (mqtt.js
      // drops what that connection still had queued; the broker redelivers it)
      this.#resume();
      if (this.#subscribed) this.#log.warn('external MQTT broker connection lost; reconnecting');
      this.#subscribed = false;
    });
    this.#client.on('disconnect', (packet) => {
      // 142: session taken over — another worker uses this client id
      if (packet.reasonCode === 142)
        this.#log.error(
          { clientId: opts.clientId },
          'another client took over this MQTT session: give each ingest worker its own VIGIL_MQTT_WORKER_ID',
        );
    });
    this.#client.on('error', (err) => {
      this.#log.warn({ err: err.message }, 'external MQTT broker error');
    });
    this.#client.connect();
  }

  /** Starts the client without waiting for the broker (it is retried until reachable). */
  static start(opts: ExternalBrokerOptions): ExternalBrokerClient {
    return new ExternalBrokerClient(opts);
  }

  async #subscribe(): Promise<void> {
    const shared = deviceSubscriptions.map((t) => `$share/${this.#opts.shareGroup}/${t}`);
    const topics = this.#opts.subscription === 'shared' ? shared : deviceSubscriptions;
    const other = this.#opts.subscription === 'shared' ? deviceSubscriptions : shared;
    try {
      // a session kept from the other mode would receive every message twice
      await this.#client.unsubscribeAsync(other).catch(() => {});
      const granted = await this.#client.subscribeAsync(topics, { qos: 1 });
      const refused = granted.filter((g) => g.qos > 2);
      if (refused.length > 0) {
        this.#log.error(
          { refused },
          'the external MQTT broker refused Vigil’s subscriptions (check its ACL)',
        );
        return;
      }
      this.#subscribed = true;
      this.#log.info({ topics }, 'subscribed to external MQTT broker');
    } catch (err) {
      // connection dropped while subscribing: the next 'connect' subscribes again
      this.#log.warn({ err: (err as Error).message }, 'subscription to external MQTT broker failed');
    }
  }

  #take(packet: IPublishPacket): void {
    if (!this.#accepting) return; // stopping: not acknowledged, redelivered to the next session
    const stream = (this.#client as unknown as ClientInternals).stream;
    this.#inflight++;
    this.#ingest(packet).then(
      () => {
        this.#settle();
        if (packet.qos > 0) this.#ack(packet, stream);
      },
      (err) => {
        this.#settle();
        this.failed++;
        // Not durable: no PUBACK. The broker keeps it in the persistent session and redelivers it
        // after a reconnect. One line per redelivery cycle: when the store is down every message in
        // the window fails alike, and a line (with its stack) per message would flood the log.
        if (!this.#closed) {
          if (this.#redeliveryTimer === undefined)
            this.#log.error({ err, topic: packet.topic }, 'reading from external broker not committed');
          else this.#unlogged++;
        }
        this.#scheduleRedelivery();
      },
    );
  }

  async #ingest(packet: IPublishPacket): Promise<unknown> {
    const topic = parseDeviceTopic(packet.topic);
    if (!topic) return; // not a device topic: nothing to store (acknowledged)
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
    const env = {
      transport: 'mqtt' as const,
      deviceId: topic.deviceId,
      format: topic.format,
      payload,
      topic: packet.topic,
      receivedAt: Date.now(),
      wantIds: false, // a PUBACK carries no ids
    };
    if (!(await this.#opts.devices.isActive(topic.deviceId))) {
      return this.#opts.ingest.refuse(
        { ...env, payload: payload.subarray(0, 4096) },
        new VigilError(
          'VIGIL_ERR_INGEST_UNKNOWN_DEVICE',
          'device is not registered or its credential is revoked',
          401,
        ),
      );
    }
    if (payload.length > this.#opts.maxPayloadBytes) {
      return this.#opts.ingest.refuse(
        { ...env, payload: payload.subarray(0, 4096) },
        new VigilError(
          'VIGIL_ERR_INGEST_OVERSIZE',
          `payload exceeds ${this.#opts.maxPayloadBytes} bytes (first 4 KiB kept)`,
        ),
      );
    }
    return this.#opts.ingest.ingest(env);
  }

  #ack(packet: IPublishPacket, stream: Duplex): void {
    const internals = this.#client as unknown as ClientInternals;
    // Only on the connection that delivered it: a packet id means nothing on the next one.
    if (internals.stream !== stream || !this.#client.connected || packet.messageId === undefined) return;
    // The PUBACKs of one group commit resolve in the same tick: written together (one syscall).
    if (this.#corked !== stream) {
      this.#corked = stream;
      stream.cork();
      process.nextTick(() => {
        this.#corked = undefined;
        stream.uncork();
      });
    }
    internals._sendPacket({ cmd: 'puback', messageId: packet.messageId, reasonCode: 0 });
    this.acked++;
    this.#opts.onAcked?.(packet);
  }

  #settle(): void {
    this.#inflight--;
    if (this.#paused && this.#inflight < this.#opts.receiveMaximum) this.#resume();
    if (this.#inflight === 0) for (const f of this.#settled) f();
  }

  #resume(): void {
    const readOn = this.#paused;
    this.#paused = undefined;
    readOn?.();
  }

  /** MQTT resends unacknowledged messages only on a new connection: reconnect soon after a failure. */
  #scheduleRedelivery(): void {
    if (this.#redeliveryTimer || this.#closed) return;
    this.#redeliveryTimer = setTimeout(() => {
      this.#redeliveryTimer = undefined;
      if (this.#unlogged > 0)
        this.#log.error(
          { count: this.#unlogged },
          'more readings from the external broker not committed (left for redelivery)',
        );
      this.#unlogged = 0;
      if (this.#closed || !this.#client.connected) return;
      this.#log.info('reconnecting to the external MQTT broker to have unstored messages redelivered');
      (this.#client as unknown as ClientInternals).stream.destroy();
    }, 2000);
    this.#redeliveryTimer.unref();
  }

  /** Connected and subscribed (for /ready). */
  get ready(): boolean {
    return this.#client.connected && this.#subscribed;
  }

  get connected(): boolean {
    return this.#client.connected;
  }

  /** Stops taking new messages (they stay with the broker); those in flight still commit and are acknowledged. */
  stopAccepting(): void {
    this.#accepting = false;
  }

  async close(): Promise<void> {
    this.#accepting = false;
    if (this.#inflight > 0) {
      await new Promise<void>((resolve) => {
        const done = () => {
          this.#settled.delete(done);
          resolve();
        };
        this.#settled.add(done);
      });
    }
    this.#closed = true;
    clearTimeout(this.#redeliveryTimer);
    await new Promise((r) => setImmediate(r)); // let corked PUBACKs flush
    await this.#client.endAsync(!this.#client.connected);
  }
}
