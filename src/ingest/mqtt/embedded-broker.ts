import { readFileSync } from 'node:fs';
import { createServer as createNetServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { Aedes, type AuthenticateError, type Client } from 'aedes';
import { devicePublishAllowed } from '../../auth/access-policy.ts';
import { VigilError } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import type { Metrics } from '../../core/metrics.ts';
import type { IngestService } from '../ingest-service.ts';
import { limitPacketSize, type OversizePacket, packetLimitFor } from './packet-limit.ts';
import { parseDeviceTopic } from './topics.ts';

export interface DeviceAuthenticator {
  authenticate(deviceId: string, secret: string): Promise<boolean>;
}

/** Security events of the broker, for the audit log (refused connections and publishes). */
export interface BrokerSecurityEvents {
  authFailed(deviceId: string | undefined, address: string | undefined): void;
  publishDenied(deviceId: string | undefined, address: string | undefined): void;
}

const deviceOf = new WeakMap<Client, string>();

function addressOf(client: Client | null | undefined): string | undefined {
  const conn = (client as unknown as { conn?: { remoteAddress?: string } } | null | undefined)?.conn;
  return conn?.remoteAddress;
}

function authError(message: string, returnCode: 4 | 5): AuthenticateError {
  return Object.assign(new Error(message), { returnCode }) as AuthenticateError;
}

/**
 * The embedded MQTT broker (Aedes). Devices connect with username = device id and password = its
 * secret; each may publish only under devices/{its id}/…. A QoS 1 PUBACK is sent only after the
 * reading is durably committed: Aedes asks `authorizePublish` before it acknowledges, so ingest
 * runs there and the callback fires after the commit.
 */
export class EmbeddedBroker {
  readonly #aedes: Aedes;
  readonly #server: Server;
  readonly #log: Logger;

  private constructor(aedes: Aedes, server: Server, log: Logger) {
    this.#aedes = aedes;
    this.#server = server;
    this.#log = log;
  }

  static async create(opts: {
    devices: DeviceAuthenticator;
    ingest: IngestService;
    log: Logger;
    metrics: Metrics;
    maxPayloadBytes: number;
    tls?: { certFile: string; keyFile: string } | undefined;
    security?: BrokerSecurityEvents | undefined;
  }): Promise<EmbeddedBroker> {
    const { devices, ingest, log, metrics, maxPayloadBytes } = opts;
    const aedes = await Aedes.createBroker({
      authenticate: (client, username, password, done) => {
        if (!username || !password) {
          opts.security?.authFailed(username || undefined, addressOf(client));
          done(authError('username (device id) and password (device secret) are required', 4), false);
          return;
        }
        devices.authenticate(username, password.toString('utf8')).then(
          (ok) => {
            if (ok) {
              deviceOf.set(client, username);
              done(null, true);
            } else {
              log.warn(
                { deviceId: username, event: 'mqtt-auth-failed' },
                'MQTT connect refused: bad credentials',
              );
              opts.security?.authFailed(username, addressOf(client));
              done(authError('bad device id or secret', 4), false);
            }
          },
          (err) => {
            log.error({ err }, 'MQTT authentication failed');
            done(authError('authentication unavailable', 4), false);
          },
        );
      },
      authorizeSubscribe: (client, sub, done) => {
        const deviceId = deviceOf.get(client);
        // Devices may listen only to their own command topic; nothing else is readable through the broker.
        if (deviceId && sub.topic.startsWith(`devices/${deviceId}/commands`)) done(null, sub);
        else done(new Error('subscription not allowed'), null);
      },
      authorizePublish: (client, packet, done) => {
        const deviceId = client ? deviceOf.get(client) : undefined;
        const topic = parseDeviceTopic(packet.topic);
        if (!client || !topic || !devicePublishAllowed(deviceId, topic.deviceId)) {
          log.warn({ deviceId, event: 'mqtt-topic-denied' }, 'MQTT publish refused: not this device’s topic');
          opts.security?.publishDenied(deviceId, addressOf(client));
          done(new Error('publishing to this topic is not allowed'));
          return;
        }
        const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
        const env = {
          transport: 'mqtt' as const,
          deviceId,
          format: topic.format,
          payload,
          topic: packet.topic,
          receivedAt: Date.now(),
          wantIds: false, // a PUBACK carries no ids
        };
        const work =
          payload.length > maxPayloadBytes
            ? ingest.refuse(
                { ...env, payload: payload.subarray(0, 4096) },
                new VigilError(
                  'VIGIL_ERR_INGEST_OVERSIZE',
                  `payload exceeds ${maxPayloadBytes} bytes (first 4 KiB kept)`,
                ),
              )
            : ingest.ingest(env);
        work.then(
          () => done(null),
          (err) => {
            // Not durable: no PUBACK. The device keeps the message and sends it again.
            log.error({ err, deviceId }, 'MQTT reading not committed; withholding PUBACK');
            done(new Error('not stored'));
          },
        );
      },
    });
    aedes.on('client', () => metrics.mqttClients.inc());
    aedes.on('clientDisconnect', () => metrics.mqttClients.dec());
    // The packet limit is enforced in the parser, when a fixed header announces its length: an
    // oversized packet closes the connection before its body is read, and is kept as a dead letter
    // of its header (never the body).
    const maxPacketBytes = packetLimitFor(maxPayloadBytes);
    const handle = (socket: Socket) => {
      const client = (aedes.handle as (s: unknown) => Client)(socket);
      try {
        limitPacketSize(client, maxPacketBytes, onOversize);
      } catch (err) {
        // never serve a connection without the limit (an Aedes upgrade changed its parser)
        log.error({ err }, 'MQTT packet limit unavailable: connection refused');
        socket.destroy();
      }
      function onOversize(p: OversizePacket): void {
        socket.destroy();
        const deviceId = deviceOf.get(client);
        const topic = p.topic ? parseDeviceTopic(p.topic) : undefined;
        log.warn(
          { deviceId, event: 'mqtt-packet-too-large', cmd: p.cmd, announced: p.announced },
          'MQTT packet over the size limit: connection closed before reading it',
        );
        ingest
          .refuse(
            {
              transport: 'mqtt',
              deviceId: deviceId ?? '',
              format: topic?.format ?? 'json',
              payload: p.head,
              topic: p.topic,
              receivedAt: Date.now(),
            },
            new VigilError(
              'VIGIL_ERR_INGEST_OVERSIZE',
              `MQTT ${p.cmd} announcing ${p.announced} bytes exceeds the ${maxPacketBytes}-byte packet limit ` +
                `(VIGIL_MAX_PAYLOAD_BYTES ${maxPayloadBytes}); connection closed unread, first ${p.head.length} bytes kept`,
            ),
          )
          .catch((err: unknown) => log.error({ err }, 'oversized MQTT packet not recorded'));
      }
    };
    const server = opts.tls
      ? createTlsServer(
          { cert: readFileSync(opts.tls.certFile), key: readFileSync(opts.tls.keyFile) },
          handle,
        )
      : createNetServer(handle);
    return new EmbeddedBroker(aedes, server, log);
  }

  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.#server.once('error', onError);
      this.#server.listen(port, host, () => {
        this.#server.off('error', onError);
        const addr = this.#server.address();
        resolve(typeof addr === 'object' && addr ? addr.port : port);
      });
    });
  }

  /** Ends the connections of a device (its credential was rotated or revoked: effective at once). */
  disconnectDevice(deviceId: string): void {
    const clients = (this.#aedes as unknown as { clients: Record<string, Client> }).clients;
    for (const c of Object.values(clients)) {
      if (deviceOf.get(c) === deviceId) c.close();
    }
  }

  get clients(): number {
    return this.#aedes.connectedClients;
  }

  /** Stops accepting connections; in-flight publishes finish before ingest closes. */
  stopAccepting(): void {
    this.#server.close();
  }

  async close(): Promise<void> {
    if (this.#server.listening) this.#server.close();
    await new Promise<void>((resolve) => this.#aedes.close(() => resolve()));
    this.#log.debug('embedded MQTT broker closed');
  }
}
