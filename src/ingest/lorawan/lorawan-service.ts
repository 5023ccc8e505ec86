/**
 * A LoRaWAN uplink → Vigil readings: find the device by its DevEUI, decode the frame with the
 * device model's codec (or take what the network server's codec produced), turn the decoded data
 * into native-format readings, and ingest them through the one ingest path (committed before the
 * answer; refused input kept as a dead letter with the exact uplink bytes).
 *
 * De-duplication across gateways, network-server retries and several network servers: each reading
 * carries a message id made of the DevEUI, the session (TTS session key id, else the device
 * address), the frame counter, a hash of the frame payload and the reading's index in the frame, so
 * a frame heard twice is one reading, and a frame counter that restarts after a re-join (new
 * session) or a reboot (new payload) is not mistaken for a repeat.
 */
import { createHash } from 'node:crypto';
import type { Clock } from '../../core/clock.ts';
import { isVigilError, VigilError } from '../../core/errors.ts';
import type { LorawanRepository } from '../../store/lorawan-repository.ts';
import type { IngestEnvelope, ItemResult } from '../ingest-service.ts';
import { type CodecLimits, defaultCodecLimits, runDecodeUplink } from './codec-sandbox.ts';
import { type LorawanNetwork, parseUplink, type Uplink } from './uplink.ts';

export interface LorawanIngest {
  ingest(env: IngestEnvelope): Promise<ItemResult[]>;
  refuse(env: IngestEnvelope, error: VigilError): Promise<ItemResult>;
}

export type UplinkResult =
  | { status: 'ignored'; event: string }
  | { status: 'rejected'; httpStatus: number; reason: string; message: string; deadLetterId: string }
  | { status: 'stored'; deviceId: string; results: ItemResult[]; warnings: string[] };

export class LorawanService {
  readonly #repo: LorawanRepository;
  readonly #ingest: LorawanIngest;
  readonly #clock: Clock;
  readonly #limits: CodecLimits;

  constructor(opts: { repo: LorawanRepository; ingest: LorawanIngest; clock: Clock; limits?: CodecLimits }) {
    this.#repo = opts.repo;
    this.#ingest = opts.ingest;
    this.#clock = opts.clock;
    this.#limits = opts.limits ?? defaultCodecLimits;
  }

  async handle(network: LorawanNetwork, body: Buffer, event?: string): Promise<UplinkResult> {
    const receivedAt = this.#clock.now();
    const raw = (deviceId: string | null): IngestEnvelope => ({
      transport: 'lorawan',
      deviceId: deviceId as string,
      format: `lorawan:${network}`,
      payload: body,
      topic: `lorawan/${network}/${event ?? 'up'}`,
      contentType: 'application/json',
      receivedAt,
    });
    let deviceId: string | null = null;
    try {
      let parsed: unknown;
      try {
        parsed = JSON.parse(body.toString('utf8'));
      } catch {
        throw new VigilError('VIGIL_ERR_INGEST_MALFORMED_JSON', 'the uplink is not JSON', 400);
      }
      const p = parseUplink(network, parsed, event);
      if (p.kind === 'other-event') return { status: 'ignored', event: p.event };
      const up = p.uplink;
      const devices = (await this.#repo.devicesByEui(up.devEui)).filter((d) => d.active);
      if (devices.length !== 1)
        throw new VigilError(
          devices.length === 0 ? 'VIGIL_ERR_LORAWAN_UNKNOWN_DEVICE' : 'VIGIL_ERR_LORAWAN_AMBIGUOUS_DEVICE',
          devices.length === 0
            ? `no active device is registered with identifier ${up.devEui} (its DevEUI)`
            : `${devices.length} active devices share identifier ${up.devEui}`,
          devices.length === 0 ? 404 : 409,
        );
      const device = devices[0] as { id: string; model: string | null };
      deviceId = device.id;
      const { data, template, warnings } = await this.#decode(up, device.model, receivedAt);
      const env: IngestEnvelope = template
        ? { ...raw(device.id), format: `template:${template}`, payload: Buffer.from(JSON.stringify(data)) }
        : {
            ...raw(device.id),
            format: 'native-json',
            payload: Buffer.from(JSON.stringify(toNative(data, up))),
          };
      const results = await this.#ingest.ingest(env);
      return { status: 'stored', deviceId: device.id, results, warnings };
    } catch (e) {
      if (!isVigilError(e) || e.status >= 500) throw e;
      const r = await this.#ingest.refuse(raw(deviceId), e);
      if (r.status !== 'rejected') throw e;
      return {
        status: 'rejected',
        httpStatus: e.status,
        reason: e.code,
        message: e.message,
        deadLetterId: r.deadLetterId,
      };
    }
  }

  async #decode(
    up: Uplink,
    model: string | null,
    receivedAt: number,
  ): Promise<{ data: unknown; template: string | null; warnings: string[] }> {
    const codec = model ? await this.#repo.codec(model) : undefined;
    if (codec) {
      const out = await runDecodeUplink(
        codec.source,
        { bytes: up.bytes, fPort: up.fPort, recvTime: up.receivedAt ?? receivedAt },
        this.#limits,
      );
      return { data: out.data, template: codec.template, warnings: out.warnings };
    }
    if (up.decoded) return { data: up.decoded, template: null, warnings: ['decoded by the network server'] };
    throw new VigilError(
      'VIGIL_ERR_LORAWAN_NO_CODEC',
      `no payload codec for device model ${model ?? '(none)'} and the network server sent no decoded payload`,
      422,
    );
  }
}

/**
 * Decoded data in Vigil's native reading format (one reading, an array, or `{ readings: [...] }`),
 * each reading given its frame-derived message id and, when it has no time of its own, the time the
 * network server received the frame (LoRaWAN sensors rarely keep a clock).
 */
function toNative(data: unknown, up: Uplink): { readings: Record<string, unknown>[] } {
  const list = Array.isArray(data)
    ? data
    : data && typeof data === 'object' && Array.isArray((data as { readings?: unknown }).readings)
      ? (data as { readings: unknown[] }).readings
      : data && typeof data === 'object' && ('code' in data || 'type' in data)
        ? [data]
        : undefined;
  if (!list || list.length === 0)
    throw new VigilError(
      'VIGIL_ERR_LORAWAN_UNMAPPED',
      'the decoded payload is not in Vigil readings format ({readings:[{type|code, value, unit}]}) and the codec names no mapping template',
      422,
    );
  const frame = createHash('sha256').update(up.bytes).digest('hex').slice(0, 12);
  return {
    readings: list.map((r, i) => {
      if (!r || typeof r !== 'object' || Array.isArray(r))
        throw new VigilError('VIGIL_ERR_LORAWAN_UNMAPPED', `decoded reading ${i} is not an object`, 422);
      const reading = { ...(r as Record<string, unknown>) };
      reading.messageId ??= `lorawan:${up.devEui}:${up.session}:${up.fCnt}:${frame}:${i}`;
      if (reading.time === undefined && up.receivedAt !== undefined) {
        reading.time = new Date(up.receivedAt).toISOString();
        const notes = Array.isArray(reading.notes) ? reading.notes : [];
        reading.notes = [...notes, 'time: when the LoRaWAN network server received the frame'];
      }
      return reading;
    }),
  };
}
