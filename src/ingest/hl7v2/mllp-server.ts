/**
 * HL7 v2 over MLLP (IHE PCD-01 from bedside monitors and gateways): a TCP (or TLS) listener that
 * assembles MLLP frames, identifies the sending device, ingests each ORU^R01 message through the
 * normal ingest path (format `hl7v2`) and acknowledges it only after its readings are durable.
 *
 * Device authentication: MLLP has no credentials. The message names its equipment by EUI-64
 * (OBX-18, the measuring device) and its sender (MSH-3, a device or gateway); one of them must be a
 * registered, non-revoked Vigil device whose `identifier` is that EUI-64, else the message is
 * refused (AR) and kept as a dead letter. A source-address allow-list and TLS (the platform
 * certificate) restrict who can connect at all; see docs/hl7v2.md.
 *
 * Messages on one connection are processed strictly in order, one acknowledgement each.
 */

import { readFileSync } from 'node:fs';
import { BlockList, createServer as createNetServer, isIP, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import type { Clock } from '../../core/clock.ts';
import { isVigilError, VigilError } from '../../core/errors.ts';
import { newId } from '../../core/ids.ts';
import type { Logger } from '../../core/logger.ts';
import type { IngestEnvelope, ItemResult } from '../ingest-service.ts';
import { type AckError, type AckMode, type AckOutcome, type AckSubject, buildAck } from './ack.ts';
import { frame, MllpFramer } from './mllp-framer.ts';

/** What the listener needs to know about a message before ingesting it (from the PCD-01 profile). */
export interface Hl7v2Header extends AckSubject {
  messageType: string;
  senderEui64: string | undefined;
  equipmentEui64: string[];
  /** PID-3 of the message, for the wrong-patient check. */
  patientIdentifiers: ReadonlyArray<{ system: string | null; value: string }>;
}

/** Reads the MSH and equipment ids; throws a coded VigilError when the bytes are not HL7 v2. */
export type Hl7v2Inspector = (message: Buffer) => Hl7v2Header;

export interface DeviceDirectory {
  byIdentifiers(
    eui64s: readonly string[],
  ): Promise<Array<{ id: string; identifier: string; active: boolean }>>;
}

export interface MllpIngest {
  ingest(env: IngestEnvelope): Promise<ItemResult[]>;
  refuse(env: IngestEnvelope, error: VigilError): Promise<ItemResult>;
}

/**
 * PCD-04 alarms (`ORU^R40`): read and attributed before the message is ingested (`prepare`, throws
 * a coded VigilError to refuse it), then turned into alerts once its readings are stored (`apply`,
 * throws when the alerts could not be stored: the sender is answered AE and resends).
 */
export interface MllpAlarmSink<P = unknown> {
  prepare(deviceId: string, bytes: Buffer, receivedAt: number): Promise<P>;
  apply(prepared: P, readingIds: readonly string[]): Promise<void>;
}

/**
 * ADT (admission, discharge, transfer): applied before any device is looked up (the sender is an
 * ADT system, not a device). Throws a coded VigilError (status < 500) to refuse the message.
 */
export interface MllpAdtSink {
  apply(bytes: Buffer, receivedAt: number): Promise<unknown>;
}

/**
 * The wrong-patient check of PCD-01/04 messages: the coded reason to hold the message for review
 * when its PID identifiers disagree with the device's association, else undefined.
 */
export type MllpPatientCheck = (
  deviceId: string,
  identifiers: Hl7v2Header['patientIdentifiers'],
  receivedAt: number,
) => Promise<VigilError | undefined>;

export interface MllpServerOptions {
  ingest: MllpIngest;
  inspect: Hl7v2Inspector;
  devices: DeviceDirectory;
  clock: Clock;
  log: Logger;
  maxMessageBytes: number;
  ackMode?: AckMode;
  /** Source addresses or CIDR ranges allowed to connect; empty = any. */
  allow?: readonly string[];
  tls?: { certFile: string; keyFile: string } | undefined;
  /** Where PCD-04 alarms go; without one, ORU^R40 is refused (AR, unsupported message). */
  alarms?: MllpAlarmSink | undefined;
  /** Where ADT messages go; without one, ADT is refused (AR, unsupported message). */
  adt?: MllpAdtSink | undefined;
  patientCheck?: MllpPatientCheck | undefined;
}

/** Reasons the sender should not retry unchanged: answered AR/CR. Everything else refused is AE/CE. */
const REJECT_REASONS = new Set([
  'VIGIL_ERR_HL7V2_MALFORMED',
  'VIGIL_ERR_HL7V2_UNSUPPORTED_MESSAGE',
  'VIGIL_ERR_HL7V2_UNSUPPORTED_VERSION',
  'VIGIL_ERR_HL7V2_UNKNOWN_DEVICE',
  'VIGIL_ERR_HL7V2_AMBIGUOUS_DEVICE',
  'VIGIL_ERR_HL7V2_OVERSIZE',
  'VIGIL_ERR_HL7V2_ADT_SENDER_NOT_ALLOWED',
]);

/** Parses an allow-list of addresses and CIDR ranges (IPv4 and IPv6). Throws on a bad entry. */
export function parseAllowList(entries: readonly string[]): BlockList | undefined {
  if (entries.length === 0) return undefined;
  const list = new BlockList();
  for (const entry of entries) {
    const [addr = '', prefix] = entry.split('/');
    const family = isIP(addr);
    if (!family) throw new Error(`${entry} is not an IP address or CIDR range`);
    const type = family === 6 ? 'ipv6' : 'ipv4';
    if (prefix === undefined) list.addAddress(addr, type);
    else {
      const bits = Number(prefix);
      if (!/^\d+$/.test(prefix) || bits > (family === 6 ? 128 : 32)) throw new Error(`${entry}: bad prefix`);
      list.addSubnet(addr, bits, type);
    }
  }
  return list;
}

function allowed(list: BlockList | undefined, address: string | undefined): boolean {
  if (!list) return true;
  if (!address) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return isIP(v4) === 4 ? list.check(v4, 'ipv4') : list.check(address, 'ipv6');
}

export class MllpServer {
  readonly #opts: MllpServerOptions;
  readonly #server: Server;
  readonly #allow: BlockList | undefined;
  readonly #sockets = new Set<Socket>();
  readonly #inFlight = new Set<Promise<void>>();
  #closing = false;
  #alarms: MllpAlarmSink | undefined;

  constructor(opts: MllpServerOptions) {
    this.#opts = opts;
    this.#alarms = opts.alarms;
    this.#allow = parseAllowList(opts.allow ?? []);
    const onConnection = (socket: Socket) => this.#connection(socket);
    this.#server = opts.tls
      ? createTlsServer(
          { cert: readFileSync(opts.tls.certFile), key: readFileSync(opts.tls.keyFile) },
          onConnection,
        )
      : createNetServer(onConnection);
  }

  /** Sets where PCD-04 alarms go (the alerting stage is built after the listener). */
  setAlarmSink(sink: MllpAlarmSink): void {
    this.#alarms = sink;
  }

  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => {
        this.#server.off('error', reject);
        const addr = this.#server.address();
        resolve(typeof addr === 'object' && addr ? addr.port : port);
      });
    });
  }

  /** No new connections, and no new messages on open ones (unacknowledged = the sender resends). */
  stopAccepting(): void {
    this.#closing = true;
    if (this.#server.listening) this.#server.close();
  }

  /** Waits for messages being ingested to be acknowledged, then closes every connection. */
  async close(): Promise<void> {
    this.stopAccepting();
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
    for (const s of this.#sockets) s.end();
    for (const s of this.#sockets) s.destroy();
  }

  #connection(socket: Socket): void {
    const log = this.#opts.log;
    if (this.#closing || !allowed(this.#allow, socket.remoteAddress)) {
      log.warn({ event: 'mllp-connection-refused', remote: socket.remoteAddress }, 'MLLP connection refused');
      socket.destroy();
      return;
    }
    this.#sockets.add(socket);
    socket.setNoDelay(true);
    const framer = new MllpFramer(this.#opts.maxMessageBytes);
    let chain: Promise<void> = Promise.resolve();
    socket.on('data', (chunk: Buffer) => {
      if (this.#closing) return;
      for (const ev of framer.push(chunk)) {
        const receivedAt = this.#opts.clock.now();
        const work = chain.then(async () => {
          const ack =
            ev.kind === 'message'
              ? await this.#handle(ev.bytes, receivedAt)
              : await this.#oversize(ev.head, receivedAt);
          if (!socket.destroyed) socket.write(frame(ack));
        });
        chain = work.catch((err) => log.error({ err }, 'MLLP message handling failed'));
        const tracked = chain;
        this.#inFlight.add(tracked);
        void tracked.finally(() => this.#inFlight.delete(tracked));
      }
    });
    socket.on('error', (err) => log.debug({ err: err.message }, 'MLLP connection error'));
    socket.on('close', () => this.#sockets.delete(socket));
  }

  #ack(subject: AckSubject | undefined, outcome: AckOutcome, error?: AckError): string {
    return buildAck({
      subject,
      outcome,
      mode: this.#opts.ackMode ?? 'original',
      ackControlId: newId().replaceAll('-', ''),
      now: this.#opts.clock.now(),
      error,
    });
  }

  async #oversize(head: Buffer, receivedAt: number): Promise<string> {
    const err = new VigilError(
      'VIGIL_ERR_HL7V2_OVERSIZE',
      `message exceeds ${this.#opts.maxMessageBytes} bytes (its first 4 KiB are kept)`,
      413,
    );
    await this.#opts.ingest.refuse(this.#envelope('', head, receivedAt, 'mllp'), err);
    return this.#ack(undefined, 'reject', { code: err.code, message: err.message });
  }

  #envelope(deviceId: string, payload: Buffer, receivedAt: number, topic: string): IngestEnvelope {
    return {
      transport: 'hl7v2',
      deviceId,
      format: 'hl7v2',
      payload,
      topic,
      contentType: 'application/hl7-v2',
      receivedAt,
    };
  }

  async #handle(bytes: Buffer, receivedAt: number): Promise<string> {
    const log = this.#opts.log;
    let header: Hl7v2Header;
    try {
      header = this.#opts.inspect(bytes);
    } catch (e) {
      const err = isVigilError(e)
        ? e
        : new VigilError('VIGIL_ERR_HL7V2_MALFORMED', 'the message could not be read as HL7 v2', 422);
      await this.#opts.ingest.refuse(this.#envelope('', bytes, receivedAt, 'mllp'), err);
      log.info({ reason: err.code }, 'HL7 v2 message refused: unreadable');
      return this.#ack(undefined, 'reject', { code: err.code, message: err.message });
    }
    if (header.messageType.startsWith('ADT^')) return this.#handleAdt(header, bytes, receivedAt);
    const device = await resolveHl7v2Device(header, this.#opts.devices);
    if (device instanceof VigilError) {
      const topic = `mllp/${header.senderEui64 ?? header.equipmentEui64[0] ?? 'unknown'}`;
      await this.#opts.ingest.refuse(this.#envelope('', bytes, receivedAt, topic), device);
      log.warn(
        { event: 'mllp-device-unknown', sender: header.senderEui64, reason: device.code },
        'HL7 v2 message refused',
      );
      return this.#ack(header, 'reject', { code: device.code, message: device.message });
    }
    // Wrong-patient check: readings the device's association contradicts are held, stored for neither.
    const held = await this.#opts.patientCheck?.(device, header.patientIdentifiers, receivedAt);
    if (held) {
      await this.#opts.ingest.refuse(this.#envelope(device, bytes, receivedAt, 'mllp'), held);
      log.warn({ event: 'mllp-wrong-patient', deviceId: device, reason: held.code }, 'HL7 v2 message held');
      return this.#ack(header, 'error', { code: held.code, message: held.message, field: 'PID-3' });
    }
    // PCD-04: the alarms must be readable and routable before anything is stored.
    let alarms: { sink: MllpAlarmSink; prepared: unknown } | undefined;
    if (header.messageType === 'ORU^R40') {
      const sink = this.#alarms;
      try {
        if (!sink)
          throw new VigilError(
            'VIGIL_ERR_HL7V2_UNSUPPORTED_MESSAGE',
            'message type ORU^R40 (device alarms) is not read by this listener',
            422,
            { field: 'MSH-9' },
          );
        alarms = { sink, prepared: await sink.prepare(device, bytes, receivedAt) };
      } catch (e) {
        if (!isVigilError(e) || e.status >= 500) {
          log.error({ err: e, deviceId: device }, 'HL7 v2 alarm could not be read');
          return this.#ack(header, 'error', {
            code: 'VIGIL_ERR_INGEST_INTERNAL',
            message: 'the alarm could not be processed; retry later',
          });
        }
        await this.#opts.ingest.refuse(this.#envelope(device, bytes, receivedAt, 'mllp'), e);
        log.info({ deviceId: device, reason: e.code }, 'HL7 v2 alarm refused');
        const field = typeof e.details?.field === 'string' ? e.details.field : fieldOf(e.message);
        return this.#ack(header, REJECT_REASONS.has(e.code) ? 'reject' : 'error', {
          code: e.code,
          message: e.message,
          field,
        });
      }
    }
    let results: ItemResult[];
    try {
      results = await this.#opts.ingest.ingest(this.#envelope(device, bytes, receivedAt, 'mllp'));
    } catch (e) {
      // Not stored (the store failed): AE without a dead letter, so the sender retries.
      log.error({ err: e, deviceId: device }, 'HL7 v2 ingest failed');
      return this.#ack(header, 'error', {
        code: 'VIGIL_ERR_INGEST_INTERNAL',
        message: 'the message could not be stored; retry later',
      });
    }
    const r = results[0];
    if (!r || r.status === 'rejected') {
      const code = r?.reason ?? 'VIGIL_ERR_INGEST_INTERNAL';
      const message = r?.message ?? 'the message could not be processed';
      log.info({ deviceId: device, reason: code }, 'HL7 v2 message refused');
      return this.#ack(header, REJECT_REASONS.has(code) ? 'reject' : 'error', {
        code,
        message,
        field: fieldOf(message),
      });
    }
    if (alarms) {
      try {
        await alarms.sink.apply(alarms.prepared, r.ids);
      } catch (e) {
        // The readings are stored (a resend is a duplicate); the alert is not: AE, the sender resends.
        log.error({ err: e, deviceId: device }, 'HL7 v2 alarm could not be stored as an alert');
        return this.#ack(header, 'error', {
          code: 'VIGIL_ERR_INGEST_INTERNAL',
          message: 'the alarm could not be stored; retry later',
        });
      }
    }
    log.debug({ deviceId: device, status: r.status, readings: r.ids.length }, 'HL7 v2 message acknowledged');
    return this.#ack(header, 'accept');
  }

  async #handleAdt(header: Hl7v2Header, bytes: Buffer, receivedAt: number): Promise<string> {
    const log = this.#opts.log;
    const sink = this.#opts.adt;
    try {
      if (!sink)
        throw new VigilError(
          'VIGIL_ERR_HL7V2_UNSUPPORTED_MESSAGE',
          `message type ${header.messageType} (ADT) is not read by this listener`,
          422,
          { field: 'MSH-9' },
        );
      await sink.apply(bytes, receivedAt);
    } catch (e) {
      if (!isVigilError(e) || e.status >= 500) {
        log.error({ err: e }, 'HL7 v2 ADT could not be applied');
        return this.#ack(header, 'error', {
          code: 'VIGIL_ERR_INGEST_INTERNAL',
          message: 'the ADT message could not be applied; retry later',
        });
      }
      await this.#opts.ingest.refuse(this.#envelope('', bytes, receivedAt, 'mllp/adt'), e);
      log.info({ reason: e.code }, 'HL7 v2 ADT refused');
      const field = typeof e.details?.field === 'string' ? e.details.field : undefined;
      return this.#ack(header, REJECT_REASONS.has(e.code) ? 'reject' : 'error', {
        code: e.code,
        message: e.message,
        field,
      });
    }
    return this.#ack(header, 'accept');
  }
}

/**
 * The Vigil device a message belongs to: the registered equipment of OBX-18 when exactly one is
 * registered; otherwise the sender (MSH-3), which speaks for all its equipment; otherwise none.
 * Used by the listener and by the replay of a dead letter (kept without a device when refused).
 */
export async function resolveHl7v2Device(
  h: Hl7v2Header,
  devices: DeviceDirectory,
): Promise<string | VigilError> {
  const candidates = [...new Set([...h.equipmentEui64, ...(h.senderEui64 ? [h.senderEui64] : [])])];
  const found = (await devices.byIdentifiers(candidates)).filter((d) => d.active);
  const equipment = [
    ...new Set(found.filter((d) => h.equipmentEui64.includes(d.identifier)).map((d) => d.id)),
  ];
  const sender = found.find((d) => d.identifier === h.senderEui64)?.id;
  if (equipment.length === 1) return equipment[0] as string;
  if (sender) return sender;
  if (equipment.length > 1) {
    return new VigilError(
      'VIGIL_ERR_HL7V2_AMBIGUOUS_DEVICE',
      'the message names several registered devices in OBX-18 and its sender (MSH-3) is not registered',
      422,
    );
  }
  return new VigilError(
    'VIGIL_ERR_HL7V2_UNKNOWN_DEVICE',
    'no registered device has the EUI-64 of MSH-3 or OBX-18 as its identifier',
    403,
  );
}

/** The `OBX[8]-2` a normalize message starts with, for ERR-2. */
function fieldOf(message: string): string | undefined {
  return /^([A-Z][A-Z0-9]{2}(?:\[\d+\])?-\d+)\b/.exec(message)?.[1];
}
