/**
 * Vigil's native JSON reading format (documented with examples in docs/reading-format.md).
 * Accepts one reading object, an array of them, or `{ "readings": [ … ] }`; validates strictly
 * (unknown fields are refused, so a typo like `"vaule"` never passes as "no value") and names the
 * offending field in every error (`readings[2].unit`).
 */
import { canonicalVigilUrl } from '../../core/fhir-namespace.ts';
import type { Coding, DeviceStatusReport, QualityFlag } from '../../core/reading.ts';
import {
  BP_COMPONENT_NAMES,
  FRIENDLY_NAMES,
  getCode,
  LOINC,
  MDC,
  MDC_TO_LOINC,
  mdcCoding,
  VIGIL_LOCAL,
} from '../codes.ts';
import { IngestError, ingestError } from '../errors.ts';
import {
  codedDraft,
  type ProfileContext,
  type ProfileResult,
  panelDraft,
  quantityDraft,
  type ReadingDraft,
} from '../reading-draft.ts';
import { parseDeviceTime } from '../time.ts';

const ALLOWED = new Set([
  'messageId',
  'time',
  'type',
  'code',
  'value',
  'valueCode',
  'unit',
  'components',
  'flags',
  'battery',
  'firmware',
  'notes',
  'dataAbsentReason',
]);

const DATA_ABSENT = new Set([
  'unknown',
  'asked-unknown',
  'temp-unknown',
  'not-asked',
  'asked-declined',
  'masked',
  'not-applicable',
  'unsupported',
  'as-text',
  'error',
  'not-a-number',
  'negative-infinity',
  'positive-infinity',
  'not-performed',
  'not-permitted',
]);

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function invalid(field: string, message: string): never {
  throw ingestError(IngestError.invalidField, `${field}: ${message}`, { field });
}

/** Text or bytes → JSON value; MALFORMED_JSON if it does not parse. */
export function parseJsonPayload(payload: unknown): unknown {
  if (typeof payload === 'string' || payload instanceof Uint8Array) {
    const text = typeof payload === 'string' ? payload : new TextDecoder().decode(payload);
    try {
      return JSON.parse(text);
    } catch (e) {
      throw ingestError(IngestError.malformedJson, `body is not JSON: ${e instanceof Error ? e.message : e}`);
    }
  }
  return payload;
}

/** The list of reading objects with their field path prefix. */
function items(input: unknown): [Json, string][] {
  if (Array.isArray(input)) return input.map((r, i) => [asObject(r, `[${i}]`), `[${i}]`]);
  if (isObject(input) && 'readings' in input && !('time' in input)) {
    const extra = Object.keys(input).filter((k) => k !== 'readings');
    if (extra.length) invalid(extra[0] as string, 'unknown field next to "readings"');
    if (!Array.isArray(input.readings)) invalid('readings', 'must be an array');
    return input.readings.map((r, i) => [asObject(r, `readings[${i}]`), `readings[${i}]`]);
  }
  if (isObject(input)) return [[input, '']];
  throw ingestError(IngestError.malformedJson, 'expected a reading object, an array, or {"readings": [...]}');
}

function asObject(v: unknown, field: string): Json {
  if (!isObject(v)) invalid(field, 'must be a reading object');
  return v;
}

export function nativeJsonProfile(payload: unknown, ctx: ProfileContext): ProfileResult {
  const list = items(parseJsonPayload(payload));
  if (list.length === 0) throw ingestError(IngestError.empty, 'no readings in the payload');
  const readings: ReadingDraft[] = [];
  let status: DeviceStatusReport | undefined;
  for (const [obj, path] of list) {
    const out = readingFrom(obj, path, ctx);
    if (out.reading) readings.push(out.reading);
    if (out.status) status = { ...(status ?? {}), ...out.status };
  }
  return status ? { readings, status } : { readings };
}

const at = (path: string, key: string) => (path ? `${path}.${key}` : key);

function readingFrom(
  obj: Json,
  path: string,
  ctx: ProfileContext,
): { reading?: ReadingDraft; status?: DeviceStatusReport } {
  for (const k of Object.keys(obj)) if (!ALLOWED.has(k)) invalid(at(path, k), 'unknown field');
  const effective = parseDeviceTime(obj.time, at(path, 'time'));
  const messageId = optString(obj, 'messageId', path);
  const flags = optStringList(obj, 'flags', path) as QualityFlag[] | undefined;
  const notes = optStringList(obj, 'notes', path);
  const status = statusFrom(obj, path, effective, ctx);

  const hasMeasurement = obj.type !== undefined || obj.code !== undefined;
  if (!hasMeasurement) {
    if (!status)
      invalid(path || 'reading', 'needs "type" or "code" (or only "battery"/"firmware" for a status)');
    for (const k of ['value', 'valueCode', 'unit', 'components', 'dataAbsentReason']) {
      if (obj[k] !== undefined) invalid(at(path, k), 'given without "type" or "code"');
    }
    return { status };
  }
  if (obj.type !== undefined && obj.code !== undefined)
    invalid(at(path, 'code'), 'give "type" or "code", not both');
  const { code, codings } = resolveCode(obj, path);
  const def = getCode(code);
  if (!def)
    throw ingestError(IngestError.unknownCode, `${at(path, 'code')}: ${code} is not supported`, {
      field: at(path, 'code'),
    });

  const common = {
    effective,
    profile: 'native-json',
    codings,
    ...(flags ? { flags } : {}),
    ...(notes ? { notes } : {}),
    ...(messageId !== undefined ? { messageId } : {}),
  };
  let reading: ReadingDraft;
  if (def.kind === 'panel') {
    for (const k of ['value', 'valueCode', 'dataAbsentReason']) {
      if (obj[k] !== undefined) invalid(at(path, k), `not allowed for ${def.display}; use "components"`);
    }
    reading = panelDraft(
      { ...common, code, components: componentsFrom(obj, path), field: at(path, 'components') },
      ctx,
    );
  } else if (def.kind === 'coded') {
    for (const k of ['value', 'unit', 'components']) {
      if (obj[k] !== undefined) invalid(at(path, k), `not allowed for ${def.display}; use "valueCode"`);
    }
    if (typeof obj.valueCode !== 'string') invalid(at(path, 'valueCode'), 'required string');
    reading = codedDraft({ ...common, code, valueCode: obj.valueCode, field: at(path, 'valueCode') }, ctx);
  } else {
    for (const k of ['valueCode', 'components']) {
      if (obj[k] !== undefined) invalid(at(path, k), `not allowed for ${def.display}`);
    }
    const absent = obj.dataAbsentReason;
    if (absent !== undefined) {
      if (typeof absent !== 'string' || !DATA_ABSENT.has(absent))
        invalid(at(path, 'dataAbsentReason'), 'not a FHIR data-absent-reason code');
      if (obj.value !== undefined) invalid(at(path, 'value'), 'not allowed with dataAbsentReason');
      reading = quantityDraft(
        { ...common, code, value: null, unit: null, dataAbsentReason: absent, field: at(path, 'value') },
        ctx,
      );
    } else {
      if (obj.value === undefined) invalid(at(path, 'value'), 'required');
      if (typeof obj.value !== 'number') {
        throw ingestError(IngestError.notANumber, `${at(path, 'value')}: must be a JSON number`, {
          field: at(path, 'value'),
        });
      }
      if (typeof obj.unit !== 'string') {
        throw ingestError(
          IngestError.unitMismatch,
          `${at(path, 'unit')}: required (UCUM or e.g. "bpm", "mmHg", "°F")`,
          {
            field: at(path, 'unit'),
          },
        );
      }
      reading = quantityDraft(
        { ...common, code, value: obj.value, unit: obj.unit, field: at(path, 'value') },
        ctx,
      );
    }
  }
  return status ? { reading, status } : { reading };
}

function resolveCode(obj: Json, path: string): { code: string; codings: Coding[] } {
  if (obj.type !== undefined) {
    if (typeof obj.type !== 'string') invalid(at(path, 'type'), 'must be a string');
    const code = FRIENDLY_NAMES[obj.type];
    if (!code) {
      throw ingestError(
        IngestError.unknownCode,
        `${at(path, 'type')}: unknown type ${JSON.stringify(obj.type)}`,
        {
          field: at(path, 'type'),
          known: Object.keys(FRIENDLY_NAMES),
        },
      );
    }
    return { code, codings: [] };
  }
  return codeRef(obj.code, at(path, 'code'));
}

/** `{system, code}` with LOINC, MDC or Vigil's local system → our code (+ the MDC coding kept). */
export function codeRef(ref: unknown, field: string): { code: string; codings: Coding[] } {
  if (!isObject(ref) || typeof ref.system !== 'string' || typeof ref.code !== 'string') {
    invalid(field, 'must be {"system": "...", "code": "..."}');
  }
  const extra = Object.keys(ref).filter((k) => k !== 'system' && k !== 'code' && k !== 'display');
  if (extra.length) invalid(`${field}.${extra[0]}`, 'unknown field');
  if (ref.system === LOINC || canonicalVigilUrl(ref.system) === VIGIL_LOCAL) {
    if (!getCode(ref.code)) {
      throw ingestError(IngestError.unknownCode, `${field}: ${ref.code} is not a supported code`, { field });
    }
    return { code: ref.code, codings: [] };
  }
  if (ref.system === MDC) {
    const m = MDC_TO_LOINC.get(ref.code);
    if (!m) throw ingestError(IngestError.unknownCode, `${field}: MDC ${ref.code} has no mapping`, { field });
    return { code: m.loinc, codings: [mdcCoding(ref.code)!] };
  }
  throw ingestError(IngestError.unknownCode, `${field}: system ${ref.system} is not LOINC or MDC`, { field });
}

function componentsFrom(
  obj: Json,
  path: string,
): { code: string; value: number; unit: string; field: string; codings?: Coding[] }[] {
  const field = at(path, 'components');
  const comps = obj.components;
  const sharedUnit = obj.unit;
  const out: { code: string; value: number; unit: string; field: string; codings?: Coding[] }[] = [];
  const push = (code: string, value: unknown, unit: unknown, f: string, codings: Coding[] = []) => {
    if (typeof value !== 'number')
      throw ingestError(IngestError.notANumber, `${f}: must be a JSON number`, { field: f });
    const u = unit ?? sharedUnit;
    if (typeof u !== 'string')
      throw ingestError(IngestError.unitMismatch, `${f}: unit required`, { field: f });
    out.push({ code, value, unit: u, field: f, ...(codings.length ? { codings } : {}) });
  };
  if (isObject(comps)) {
    // { systolic, diastolic, mean } with the reading's "unit"
    for (const [name, value] of Object.entries(comps)) {
      const code = BP_COMPONENT_NAMES[name];
      if (!code) invalid(`${field}.${name}`, 'unknown component (systolic, diastolic, mean)');
      push(code, value, undefined, `${field}.${name}`);
    }
  } else if (Array.isArray(comps)) {
    comps.forEach((c, i) => {
      const f = `${field}[${i}]`;
      if (!isObject(c)) invalid(f, 'must be an object');
      for (const k of Object.keys(c))
        if (!['type', 'code', 'value', 'unit'].includes(k)) invalid(`${f}.${k}`, 'unknown field');
      let code: string | undefined;
      let codings: Coding[] = [];
      if (typeof c.type === 'string') code = BP_COMPONENT_NAMES[c.type] ?? FRIENDLY_NAMES[c.type];
      else if (c.code !== undefined) ({ code, codings } = codeRef(c.code, `${f}.code`));
      if (!code)
        throw ingestError(IngestError.unknownCode, `${f}: needs a known "type" or "code"`, { field: f });
      push(code, c.value, c.unit, f, codings);
    });
  } else {
    invalid(field, 'required: {"systolic": …, "diastolic": …} or a list');
  }
  return out;
}

function statusFrom(
  obj: Json,
  path: string,
  effective: string,
  ctx: ProfileContext,
): DeviceStatusReport | undefined {
  const battery = obj.battery;
  const firmware = obj.firmware;
  if (battery === undefined && firmware === undefined) return undefined;
  const status: DeviceStatusReport = {
    deviceId: ctx.deviceId,
    patientId: null,
    effective,
    received: new Date(ctx.receivedAt).toISOString(),
  };
  if (battery !== undefined) {
    if (typeof battery !== 'number' || !Number.isFinite(battery) || battery < 0 || battery > 100) {
      invalid(at(path, 'battery'), 'must be a percentage 0–100');
    }
    status.batteryPercent = battery;
  }
  if (firmware !== undefined) {
    if (typeof firmware !== 'string' || firmware.length > 64)
      invalid(at(path, 'firmware'), 'must be a string (≤ 64)');
    status.firmware = firmware;
  }
  return status;
}

function optString(obj: Json, key: string, path: string): string | undefined {
  const v = obj[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v.length === 0 || v.length > 128)
    invalid(at(path, key), 'must be a non-empty string (≤ 128)');
  return v;
}

function optStringList(obj: Json, key: 'flags' | 'notes', path: string): string[] | undefined {
  const v = obj[key];
  if (v === undefined) return undefined;
  const ok =
    key === 'flags'
      ? (x: unknown) => typeof x === 'string' && /^[a-z0-9-]{1,64}$/.test(x)
      : (x: unknown) => typeof x === 'string' && x.length <= 500;
  if (!Array.isArray(v) || !v.every(ok)) {
    invalid(
      at(path, key),
      key === 'flags' ? 'must be a list of kebab-case flags' : 'must be a list of strings (≤ 500)',
    );
  }
  return v as string[];
}
