/**
 * The normalize stage's entry point, the one function ingest calls: a raw envelope (format +
 * payload + device + receive time) → ReadingDrafts (+ a device status), or a coded VigilError.
 * Pure: no I/O, no clock (the receive time comes in the envelope), deterministic for replay.
 *
 * Checks applied here to every profile's output, so no profile can skip them:
 * - device time at most 5 minutes after the receive time (VIGIL_ERR_INGEST_TIME_IN_FUTURE);
 * - every number finite, every code known, every value inside its plausibility range.
 * A payload is accepted or refused as a whole: one bad reading refuses the message (it goes to
 * the dead letters intact, nothing is half-stored).
 */
import type { DeviceStatusReport } from '../core/reading.ts';
import { type CodeDef, getCode } from './codes.ts';
import { IngestError, ingestError } from './errors.ts';
import { hexToBytes } from './profiles/ble/gatt-reader.ts';
import { decodeBle, normalizeCharacteristic } from './profiles/ble/index.ts';
import { inspectPcd01, pcd01Profile } from './profiles/hl7v2-pcd01.ts';
import { pcd04Profile } from './profiles/hl7v2-pcd04.ts';
import { mdcProfile } from './profiles/mdc.ts';
import { nativeJsonProfile } from './profiles/native-json.ts';
import { nightscoutProfile } from './profiles/nightscout.ts';
import type { TemplateRegistry } from './profiles/template.ts';
import { waveformJsonProfile } from './profiles/waveform-json.ts';
import {
  checkPlausible,
  type GlucoseUnit,
  type ProfileContext,
  type ProfileResult,
  type ReadingDraft,
} from './reading-draft.ts';
import { checkNotInFuture } from './time.ts';

export interface NormalizeEnvelope {
  /**
   * Payload format: `native-json` (alias `json`), `gatt:<uuid>` (alias `ble:<uuid>`), `mdc`, `hl7v2`, `nightscout`,
   * `template:<name>`, `waveform-json`. Alternatively give `characteristic` alone for GATT.
   */
  format?: string;
  /** A GATT characteristic UUID (`2A35`, `0x2a35`, 128-bit): same as format `gatt:<uuid>`. */
  characteristic?: string;
  /** Bytes (GATT; a hex string is accepted too), JSON text/bytes or an already parsed value. */
  payload: Uint8Array | string | object;
  deviceId: string;
  /** Receive time, ms since the epoch. */
  receivedAt: number;
  programGlucoseUnit?: GlucoseUnit;
  /** Device local-time offset for zone-less timestamps (GATT date_time). */
  utcOffsetMinutes?: number;
  /** CGM session start (ms) for 0x2AA7 time offsets. */
  cgmSessionStart?: number;
}

export interface NormalizeOptions {
  /** Mapping templates loaded (and validated) at boot; needed for `template:<name>`. */
  templates?: TemplateRegistry;
}

export function normalize(env: NormalizeEnvelope, options: NormalizeOptions = {}): ProfileResult {
  const ctx: ProfileContext = { deviceId: env.deviceId, receivedAt: env.receivedAt };
  if (env.programGlucoseUnit) ctx.programGlucoseUnit = env.programGlucoseUnit;
  if (env.utcOffsetMinutes !== undefined) ctx.utcOffsetMinutes = env.utcOffsetMinutes;
  if (env.cgmSessionStart !== undefined) ctx.cgmSessionStart = env.cgmSessionStart;
  if (!Number.isFinite(env.receivedAt))
    throw new TypeError('normalize: receivedAt must be ms since the epoch');

  const result = dispatch(env, ctx, options);
  for (const [i, d] of result.readings.entries()) checkDraft(d, env, `readings[${i}]`);
  if (result.status) {
    checkNotInFuture(result.status.effective, env.receivedAt, 'status time');
    result.status = { ...result.status, deviceId: env.deviceId } satisfies DeviceStatusReport;
  }
  return result;
}

function dispatch(env: NormalizeEnvelope, ctx: ProfileContext, options: NormalizeOptions): ProfileResult {
  const format = env.format ?? (env.characteristic ? `gatt:${env.characteristic}` : undefined);
  if (!format) throw ingestError(IngestError.unsupportedFormat, 'envelope names no format or characteristic');
  const [kind, arg] = splitFormat(format);
  switch (kind) {
    case 'native-json':
    case 'json':
      return nativeJsonProfile(env.payload, ctx);
    case 'gatt':
    case 'ble': {
      if (!arg || !normalizeCharacteristic(arg)) {
        throw ingestError(IngestError.unsupportedFormat, `format ${format}: not a GATT characteristic`, {
          format,
        });
      }
      return decodeBle(arg, toBytes(env.payload), ctx);
    }
    case 'mdc':
      return mdcProfile(env.payload, ctx);
    case 'hl7v2':
      // IHE PCD-04 ORU^R40 alarms (their triggering values) or PCD-01 ORU^R01 (bytes or text)
      return inspectPcd01(env.payload).messageType === 'ORU^R40'
        ? pcd04Profile(env.payload, ctx)
        : pcd01Profile(env.payload, ctx);
    case 'waveform-json':
      return waveformJsonProfile(env.payload, ctx); // gateway strips with sample arrays (waveforms.md)
    case 'nightscout':
      return nightscoutProfile(env.payload, ctx); // one Nightscout API v1 entry
    case 'template': {
      const template = arg ? options.templates?.get(arg) : undefined;
      if (!template) throw ingestError(IngestError.unsupportedFormat, `no template named ${arg}`, { format });
      return template.apply(env.payload, ctx);
    }
    default:
      throw ingestError(IngestError.unsupportedFormat, `unknown payload format ${format}`, { format });
  }
}

function splitFormat(format: string): [string, string | undefined] {
  const i = format.indexOf(':');
  return i < 0
    ? [format.trim().toLowerCase(), undefined]
    : [format.slice(0, i).trim().toLowerCase(), format.slice(i + 1).trim()];
}

function toBytes(payload: NormalizeEnvelope['payload']): Uint8Array {
  if (payload instanceof Uint8Array) return payload;
  if (typeof payload === 'string') return hexToBytes(payload);
  throw ingestError(IngestError.malformedGatt, 'GATT payload must be bytes or a hex string');
}

/** The invariants every draft must satisfy, whatever profile produced it. */
function checkDraft(d: ReadingDraft, env: NormalizeEnvelope, field: string): void {
  d.deviceId = env.deviceId;
  checkNotInFuture(d.effective, env.receivedAt, `${field}.time`);
  const def = getCodeOrThrow(d.code, field);
  if (d.value !== null) {
    if (!Number.isFinite(d.value))
      throw ingestError(IngestError.notANumber, `${field}: value is not finite`, { field });
    checkPlausible(def, d.value, field);
  }
  for (const c of d.components) {
    if (!Number.isFinite(c.value))
      throw ingestError(IngestError.notANumber, `${field}: component ${c.code} not finite`, { field });
    checkPlausible(getCodeOrThrow(c.code, field), c.value, field);
  }
  const hasResult =
    d.value !== null ||
    d.components.length > 0 ||
    d.valueCode !== undefined ||
    d.dataAbsentReason !== undefined ||
    d.waveform !== undefined;
  if (!hasResult) throw ingestError(IngestError.invalidField, `${field}: reading without a value`, { field });
}

function getCodeOrThrow(code: string, field: string): CodeDef {
  const def = getCode(code);
  if (!def) throw ingestError(IngestError.unknownCode, `${field}: unknown code ${code}`, { field, code });
  return def;
}
