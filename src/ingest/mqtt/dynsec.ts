import { randomUUID } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import { VigilError } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';

const controlTopic = '$CONTROL/dynamic-security/v1';
const responseTopic = '$CONTROL/dynamic-security/v1/response';
/** Marks the broker clients Vigil manages: it never changes or deletes any other account. */
export const managedMarker = 'vigil-device';

export interface BrokerDeviceCredentials {
  /** The device's plaintext secret is known only here (register, rotate): set it in the broker. */
  issued(deviceId: string, secret: string): Promise<void>;
  revoked(deviceId: string): Promise<void>;
}

interface DynsecResponse {
  command: string;
  error?: string;
  correlationData?: string;
  data?: unknown;
}

export function deviceRole(deviceId: string): string {
  return `vigil-device-${deviceId}`;
}

/**
 * Device credentials enforced by Mosquitto's dynamic-security plugin. Vigil connects as the admin
 * client named in its configuration and sends JSON commands to `$CONTROL/dynamic-security/v1`:
 * one broker client per device (username = device id, password = its secret) with one role that
 * allows publishing only under `devices/{id}/` and reading only `devices/{id}/commands/…`.
 * Vigil keeps device secrets only as SHA-256, so the broker gets the password when Vigil knows it
 * (registration, rotation); reconciliation at start deletes the clients of revoked or unknown
 * devices and reports active devices that have none (they need a rotation).
 */
export class DynsecProvisioner implements BrokerDeviceCredentials {
  readonly #client: MqttClient;
  readonly #log: Logger;
  readonly #waiting = new Map<string, (r: DynsecResponse) => void>();
  readonly #timeoutMs: number;
  #subscribed = false;
  #closed = false;
  readonly #onReady: Array<() => void> = [];

  private constructor(client: MqttClient, log: Logger, timeoutMs: number) {
    this.#client = client;
    this.#log = log;
    this.#timeoutMs = timeoutMs;
    client.on('message', (topic, payload) => {
      if (topic !== responseTopic) return;
      try {
        const { responses } = JSON.parse(payload.toString('utf8')) as { responses?: DynsecResponse[] };
        for (const r of responses ?? []) {
          const done = r.correlationData ? this.#waiting.get(r.correlationData) : undefined;
          if (done) done(r);
        }
      } catch (err) {
        log.warn({ err }, 'unreadable dynamic-security response');
      }
    });
    client.on('error', (err) => log.warn({ err: err.message }, 'dynamic-security admin connection error'));
  }

  /** Connects as the admin client (retried in the background when the broker is down). */
  static start(opts: {
    url: string;
    username: string;
    password: string;
    clientId: string;
    log: Logger;
    timeoutMs?: number;
  }): DynsecProvisioner {
    // the admin account, not the ingest account a VIGIL_MQTT_URL may carry
    const url = new URL(opts.url);
    url.username = '';
    url.password = '';
    const client = mqtt.connect(url.toString(), {
      clientId: opts.clientId,
      username: opts.username,
      password: opts.password,
      clean: true,
      protocolVersion: 5,
      reconnectPeriod: 1000,
      connectTimeout: 5000,
    });
    const p = new DynsecProvisioner(client, opts.log, opts.timeoutMs ?? 10_000);
    client.on('connect', () => {
      client.subscribeAsync(responseTopic, { qos: 1 }).then(
        (granted) => {
          if (granted.some((g) => g.qos > 2)) {
            opts.log.error(
              'the dynamic-security admin client may not read the plugin’s answers (check its role)',
            );
            return;
          }
          p.#subscribed = true;
          for (const f of p.#onReady.splice(0)) f();
        },
        (err) => opts.log.warn({ err: err.message }, 'dynamic-security response topic not subscribed'),
      );
    });
    client.on('close', () => {
      p.#subscribed = false;
    });
    return p;
  }

  /** Connected and listening for the plugin's answers. */
  get connected(): boolean {
    return this.#client.connected && this.#subscribed;
  }

  /** Waits (bounded) for the admin connection. */
  async whenConnected(timeoutMs = this.#timeoutMs): Promise<boolean> {
    if (this.connected || this.#closed) return this.connected;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#onReady.push(done);
    });
    return this.connected;
  }

  async #run(command: Record<string, unknown>): Promise<DynsecResponse> {
    if (!(await this.whenConnected())) throw unavailable('not connected to the broker');
    const correlationData = randomUUID();
    const answer = new Promise<DynsecResponse>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(correlationData);
        reject(unavailable('no answer from the dynamic-security plugin'));
      }, this.#timeoutMs);
      this.#waiting.set(correlationData, (r) => {
        clearTimeout(timer);
        this.#waiting.delete(correlationData);
        resolve(r);
      });
    });
    await this.#client.publishAsync(
      controlTopic,
      JSON.stringify({ commands: [{ ...command, correlationData }] }),
      {
        qos: 1,
      },
    );
    return answer;
  }

  async #ok(command: Record<string, unknown>, tolerate: RegExp = /$^/): Promise<DynsecResponse> {
    const r = await this.#run(command);
    if (r.error && !tolerate.test(r.error)) throw unavailable(`${String(command['command'])}: ${r.error}`);
    return r;
  }

  /** The managed broker client of a device; undefined when there is none; throws on a foreign account. */
  async #managedClient(deviceId: string): Promise<boolean> {
    const r = await this.#run({ command: 'getClient', username: deviceId });
    if (r.error) {
      if (/not found/i.test(r.error)) return false;
      throw unavailable(`getClient: ${r.error}`);
    }
    const desc = (r.data as { client?: { textdescription?: string } } | undefined)?.client?.textdescription;
    if (desc !== managedMarker) {
      throw new VigilError(
        'VIGIL_ERR_DEVICE_BROKER_CONFLICT',
        `the broker already has an account named ${deviceId} that Vigil does not manage`,
        409,
      );
    }
    return true;
  }

  async issued(deviceId: string, secret: string): Promise<void> {
    const rolename = deviceRole(deviceId);
    await this.#ok(
      {
        command: 'createRole',
        rolename,
        textdescription: managedMarker,
        acls: [
          { acltype: 'publishClientSend', topic: `devices/${deviceId}/#`, priority: 0, allow: true },
          { acltype: 'subscribePattern', topic: `devices/${deviceId}/commands/#`, priority: 0, allow: true },
          {
            acltype: 'publishClientReceive',
            topic: `devices/${deviceId}/commands/#`,
            priority: 0,
            allow: true,
          },
        ],
      },
      /already exists/i,
    );
    if (await this.#managedClient(deviceId)) {
      // a new password ends the device's current connections (the plugin disconnects it)
      await this.#ok({ command: 'setClientPassword', username: deviceId, password: secret });
      await this.#ok({ command: 'enableClient', username: deviceId });
    } else {
      await this.#ok({
        command: 'createClient',
        username: deviceId,
        password: secret,
        textdescription: managedMarker,
        roles: [{ rolename, priority: 0 }],
      });
    }
    this.#log.info({ deviceId, event: 'broker-credential-set' }, 'device credential set in the broker');
  }

  async revoked(deviceId: string): Promise<void> {
    if (await this.#managedClient(deviceId)) {
      await this.#ok({ command: 'deleteClient', username: deviceId }, /not found/i);
    }
    await this.#ok({ command: 'deleteRole', rolename: deviceRole(deviceId) }, /not found/i);
    this.#log.info(
      { deviceId, event: 'broker-credential-deleted' },
      'device credential deleted in the broker',
    );
  }

  /**
   * Start-up reconciliation: the broker's managed clients against the registry. Clients of revoked
   * or unknown devices are deleted; active devices without a client are returned (a password cannot
   * be recreated from its hash: rotate those devices).
   */
  async reconcile(
    devices: Array<{ id: string; revoked: boolean }>,
  ): Promise<{ deleted: string[]; missing: string[] }> {
    const r = await this.#ok({ command: 'listClients', verbose: true });
    const clients =
      (r.data as { clients?: Array<{ username: string; textdescription?: string }> } | undefined)?.clients ??
      [];
    const managed = new Set(
      clients.filter((c) => c.textdescription === managedMarker).map((c) => c.username),
    );
    const active = new Set(devices.filter((d) => !d.revoked).map((d) => d.id));
    const deleted: string[] = [];
    for (const username of managed) {
      if (active.has(username)) continue;
      await this.revoked(username);
      deleted.push(username);
    }
    const missing = [...active].filter((id) => !managed.has(id));
    if (missing.length > 0)
      this.#log.warn(
        { devices: missing.length, event: 'broker-credential-missing' },
        'active devices without a broker account: rotate their credentials (vigil device rotate <id>)',
      );
    return { deleted, missing };
  }

  get closed(): boolean {
    return this.#closed;
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const f of this.#onReady.splice(0)) f();
    await this.#client.endAsync(!this.#client.connected);
  }
}

function unavailable(why: string): VigilError {
  return new VigilError(
    'VIGIL_ERR_DEVICE_BROKER_UNAVAILABLE',
    `the broker's device accounts could not be updated (${why}); rotate the device's credential once the broker is reachable`,
    503,
  );
}
