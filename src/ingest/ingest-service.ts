import type { Clock } from '../core/clock.ts';
import { isVigilError, VigilError } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import { jsonTooDeep, maxJsonDepth } from '../core/json-depth.ts';
import type { Logger } from '../core/logger.ts';
import type { DeviceStatusReport, Reading, ReadingDraft, Transport } from '../core/reading.ts';
import type { BatchWriter, PendingDeadLetter } from './batch-writer.ts';
import type { ResolvedTemplate } from './vendor-templates.ts';

/** Finds the vendor template version a device's `template:<name>` payload goes through. */
export interface TemplateResolver {
  resolve(deviceId: string, name: string): Promise<ResolvedTemplate>;
}

export type { ReadingDraft };

export interface NormalizeInput {
  /** 'json' (native reading), 'gatt:<characteristic>', 'mdc', 'template:<name>', 'waveform-json' */
  format: string;
  /** Raw bytes for GATT; a parsed JSON value otherwise. */
  payload: unknown;
  deviceId: string;
  receivedAt: number;
  glucoseUnit: 'mg/dL' | 'mmol/L';
  /** For `template:<name>`: the stored version assigned to the device (compiled by normalize). */
  template?: ResolvedTemplate | undefined;
}

export interface NormalizeOutput {
  readings: ReadingDraft[];
  status?: DeviceStatusReport | undefined;
}

/** The normalize stage as ingest sees it: pure, throws a coded VigilError on bad input. */
export type Normalizer = (input: NormalizeInput) => NormalizeOutput;

export interface Attribution {
  patientAt(deviceId: string, effective: string): Promise<string | null>;
  /** The same answer without I/O when it is cached; undefined otherwise. */
  patientAtCached?(deviceId: string, effective: string): string | null | undefined;
}

export interface DuplicateLookup {
  idsByKey(keys: readonly string[]): Promise<Map<string, string>>;
}

export interface IngestEnvelope {
  transport: Transport;
  deviceId: string;
  format: string;
  payload: Buffer;
  topic?: string | undefined;
  contentType?: string | undefined;
  receivedAt: number;
  /**
   * The patient the readings belong to, fixed by the transport (a reading the signed-in patient
   * typed in): device attribution is not asked. Absent for devices: their assignment decides.
   */
  patientId?: string | undefined;
  /**
   * false: the caller only needs to know the readings are durable (an MQTT PUBACK), not the ids of
   * the stored originals its duplicates repeat — which would cost a query per redelivered message.
   */
  wantIds?: boolean | undefined;
}

export type ItemResult =
  | { status: 'accepted'; ids: string[] }
  | { status: 'duplicate'; ids: string[] }
  | { status: 'rejected'; reason: string; message: string; deadLetterId: string };

const maxItemsPerRequest = 5_000;

/** The refusal of a payload nested deeper than any device format (see core/json-depth.ts). */
export function tooDeep(): VigilError {
  return new VigilError('VIGIL_ERR_INGEST_TOO_DEEP', `JSON nested deeper than ${maxJsonDepth} levels`, 400);
}

/** The bytes of one item of a batch for its dead letter; the whole payload when it cannot be rendered. */
function itemBytes(item: unknown, whole: Buffer): Buffer {
  try {
    return Buffer.from(JSON.stringify(item) ?? '');
  } catch {
    return whole; // never lose the evidence: the request as it came
  }
}

/**
 * Ingest: an authenticated device's payload → normalized, attributed readings committed durably
 * (the returned promise resolves only after commit) → per-item results. What is refused is kept as a
 * dead letter with its reason; nothing is dropped silently.
 */
export class IngestService {
  readonly #normalize: Normalizer;
  readonly #attribution: Attribution;
  readonly #duplicates: DuplicateLookup;
  readonly #writer: BatchWriter;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #glucoseUnit: 'mg/dL' | 'mmol/L';
  readonly #templates: TemplateResolver | undefined;

  constructor(opts: {
    normalize: Normalizer;
    attribution: Attribution;
    duplicates: DuplicateLookup;
    writer: BatchWriter;
    clock: Clock;
    log: Logger;
    glucoseUnit: 'mg/dL' | 'mmol/L';
    templates?: TemplateResolver;
  }) {
    this.#templates = opts.templates;
    this.#normalize = opts.normalize;
    this.#attribution = opts.attribution;
    this.#duplicates = opts.duplicates;
    this.#writer = opts.writer;
    this.#clock = opts.clock;
    this.#log = opts.log;
    this.#glucoseUnit = opts.glucoseUnit;
  }

  async ingest(env: IngestEnvelope): Promise<ItemResult[]> {
    const received = new Date(env.receivedAt).toISOString();
    const deadLetters: PendingDeadLetter[] = [];
    const reject = (e: unknown, payload: Buffer): ItemResult => {
      const err = isVigilError(e)
        ? e
        : new VigilError('VIGIL_ERR_INGEST_INTERNAL', 'the payload could not be processed', 500);
      if (!isVigilError(e))
        this.#log.error({ err: e, deviceId: env.deviceId }, 'normalizer failed unexpectedly');
      const id = newId();
      deadLetters.push({
        id,
        received,
        transport: env.transport,
        deviceId: env.deviceId,
        topic: env.topic ?? null,
        reasonCode: err.code,
        reason: err.message,
        contentType: env.contentType ?? null,
        format: env.format,
        payload,
      });
      return { status: 'rejected', reason: err.code, message: err.message, deadLetterId: id };
    };

    // Split the payload into items: each JSON reading is judged on its own.
    // raw bytes of an item are needed only if it is refused (dead letter): made then, not per item
    const items: Array<{ payload: unknown; raw: Buffer | undefined }> = [];
    const results: Array<ItemResult | undefined> = [];
    const jsonFormat =
      env.format === 'json' ||
      env.format.startsWith('template:') ||
      env.format === 'mdc' ||
      env.format === 'waveform-json';
    let template: ResolvedTemplate | undefined;
    let templateError: unknown;
    if (env.format.startsWith('template:')) {
      const name = env.format.slice('template:'.length);
      try {
        if (!this.#templates)
          throw new VigilError(
            'VIGIL_ERR_INGEST_UNKNOWN_TEMPLATE',
            'vendor templates are not available here',
            404,
          );
        template = await this.#templates.resolve(env.deviceId, name);
      } catch (e) {
        if (!isVigilError(e) || e.status === 503) throw e; // the store is down: not a refusal
        templateError = e;
      }
    }
    if (templateError) {
      results.push(reject(templateError, env.payload));
    } else if ((jsonFormat || env.format === 'nightscout') && jsonTooDeep(env.payload)) {
      // judged on the bytes, before anything recursive (parse, normalize, stringify) sees them
      results.push(reject(tooDeep(), env.payload));
    } else if (jsonFormat) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(env.payload.toString('utf8'));
      } catch {
        results.push(
          reject(new VigilError('VIGIL_ERR_INGEST_MALFORMED_JSON', 'payload is not valid JSON'), env.payload),
        );
        parsed = undefined;
      }
      if (parsed !== undefined) {
        const list = Array.isArray(parsed)
          ? parsed
          : parsed && typeof parsed === 'object' && Array.isArray((parsed as { readings?: unknown }).readings)
            ? (parsed as { readings: unknown[] }).readings
            : [parsed];
        if (list.length === 0) {
          results.push(
            reject(new VigilError('VIGIL_ERR_INGEST_EMPTY', 'payload holds no reading'), env.payload),
          );
        } else if (list.length > maxItemsPerRequest) {
          results.push(
            reject(
              new VigilError(
                'VIGIL_ERR_INGEST_TOO_MANY',
                `at most ${maxItemsPerRequest} readings per request`,
              ),
              env.payload.subarray(0, 64 * 1024),
            ),
          );
        } else {
          const single = list.length === 1 && list[0] === parsed;
          for (const item of list) items.push({ payload: item, raw: single ? env.payload : undefined });
        }
      }
    } else {
      items.push({ payload: env.payload, raw: env.payload });
    }

    const readings: Reading[] = [];
    const statuses: DeviceStatusReport[] = [];
    // `repeats`: readings of this item already carried by an earlier item of the same request
    const perItem: Array<{ index: number; readings: Reading[]; repeats: Set<Reading> }> = [];
    const seenKeys = new Map<string, Reading>();
    for (const item of items) {
      const index = results.length;
      results.push(undefined);
      let out: NormalizeOutput;
      try {
        out = this.#normalize({
          format: env.format,
          payload: item.payload,
          deviceId: env.deviceId,
          receivedAt: env.receivedAt,
          glucoseUnit: this.#glucoseUnit,
          template,
        });
        if (out.readings.length === 0 && !out.status) {
          throw new VigilError('VIGIL_ERR_INGEST_EMPTY', 'payload holds no reading');
        }
      } catch (e) {
        results[index] = reject(e, item.raw ?? itemBytes(item.payload, env.payload));
        continue;
      }
      if (out.status) statuses.push({ ...out.status, deviceId: env.deviceId, received });
      const mine: Reading[] = [];
      const repeats = new Set<Reading>();
      for (const draft of out.readings) {
        const { messageId, ...rest } = draft;
        const key = `${env.deviceId}|${messageId ? `m:${messageId}` : `t:${draft.effective}`}|${draft.code}`;
        const prior = seenKeys.get(key);
        if (prior) {
          // the same reading twice in one request is stored once: the later copy is a duplicate
          if (!mine.includes(prior)) repeats.add(prior);
          mine.push(prior);
          continue;
        }
        const cached = env.patientId ?? this.#attribution.patientAtCached?.(env.deviceId, draft.effective);
        const reading: Reading = {
          ...rest,
          id: newId(),
          deviceId: env.deviceId,
          patientId:
            cached !== undefined ? cached : await this.#attribution.patientAt(env.deviceId, draft.effective),
          transport: env.transport,
          received,
          idempotencyKey: key,
        };
        seenKeys.set(key, reading);
        readings.push(reading);
        mine.push(reading);
      }
      perItem.push({ index, readings: mine, repeats });
    }
    if (statuses.length === 0 && readings.length > 0) {
      statuses.push({ deviceId: env.deviceId, patientId: null, effective: received, received });
    }

    const { inserted } = await this.#writer.write({ readings, deadLetters, statuses });
    const dupKeys = readings.filter((r) => !inserted.has(r.id)).map((r) => r.idempotencyKey);
    const originals =
      dupKeys.length > 0 && env.wantIds !== false
        ? await this.#duplicates.idsByKey(dupKeys)
        : new Map<string, string>();
    for (const { index, readings: rs, repeats } of perItem) {
      if (rs.length === 0) {
        results[index] = { status: 'accepted', ids: [] };
        continue;
      }
      // accepted only when this item brought at least one reading stored now for the first time
      const fresh = rs.filter((r) => inserted.has(r.id) && !repeats.has(r));
      results[index] =
        fresh.length > 0
          ? {
              status: 'accepted',
              ids: rs.map((r) => (inserted.has(r.id) ? r.id : (originals.get(r.idempotencyKey) ?? r.id))),
            }
          : { status: 'duplicate', ids: rs.map((r) => originals.get(r.idempotencyKey) ?? r.id) };
    }
    return results as ItemResult[];
  }

  /**
   * Readings already normalized and keyed elsewhere (an edge gateway forwarding what its devices
   * sent): committed through the same group commit, idempotent on their keys. Returns the ids
   * stored now (a key stored before is a duplicate).
   */
  async writeNormalized(readings: Reading[], statuses: DeviceStatusReport[] = []): Promise<Set<string>> {
    const { inserted } = await this.#writer.write({ readings, deadLetters: [], statuses });
    return inserted;
  }

  /** Payload refused before it could be read (oversize, unknown topic): kept as a dead letter. */
  async refuse(env: IngestEnvelope, error: VigilError): Promise<ItemResult> {
    const id = newId();
    await this.#writer.write({
      readings: [],
      statuses: [],
      deadLetters: [
        {
          id,
          received: new Date(env.receivedAt || this.#clock.now()).toISOString(),
          transport: env.transport,
          deviceId: env.deviceId,
          topic: env.topic ?? null,
          reasonCode: error.code,
          reason: error.message,
          contentType: env.contentType ?? null,
          format: env.format,
          payload: env.payload,
        },
      ],
    });
    return { status: 'rejected', reason: error.code, message: error.message, deadLetterId: id };
  }
}
