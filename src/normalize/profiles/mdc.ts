/**
 * IEEE 11073 MDC-coded readings as gateways forward them: the measurement type and unit as 32-bit
 * MDC codes (decimal, as in FHIR and PCD-01 OBX-3/OBX-6; clinical-reference §3.1), mapped to
 * LOINC/UCUM through codes.ts (§3.2). The MDC code is kept as an extra coding, as the PHD IG asks.
 *
 *   { "time": "2025-01-15T08:30:00+01:00", "type": 150456, "value": 97, "unit": 262688 }
 *   { "time": "…", "type": 150020, "components": [
 *       { "type": 150021, "value": 128, "unit": 266016 }, { "type": 150022, "value": 82, "unit": 266016 } ] }
 *
 * Codes may be numbers, decimal strings or `{ "system": "urn:iso:std:iso:11073:10101", "code": … }`.
 * A unit that is not an MDC code is tried as UCUM (the IG allows either direction of fallback).
 * Special FLOAT values travel as `"value": null, "special": "NaN" | "NRes" | "+INF" | "-INF"`.
 * Input: one object, an array, or `{ "measurements": [ … ] }`.
 */
import type { Coding } from '../../core/reading.ts';
import { MDC, MDC_TO_LOINC, MDC_UNIT_TO_UCUM, mdcCoding } from '../codes.ts';
import { IngestError, ingestError } from '../errors.ts';
import {
  type ProfileContext,
  type ProfileResult,
  panelDraft,
  quantityDraft,
  type ReadingDraft,
} from '../reading-draft.ts';
import { parseDeviceTime } from '../time.ts';
import { parseJsonPayload } from './native-json.ts';

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

const SPECIAL: Record<string, string> = {
  NaN: 'not-a-number',
  NRes: 'error',
  RFU: 'error',
  '+INF': 'positive-infinity',
  '-INF': 'negative-infinity',
};

function invalid(field: string, message: string): never {
  throw ingestError(IngestError.invalidField, `${field}: ${message}`, { field });
}

/** A code as number, digit string or {system, code} → decimal string. */
function mdcCode(v: unknown, field: string): string {
  if (isObject(v)) {
    if (v.system !== MDC) invalid(`${field}.system`, `must be ${MDC}`);
    return mdcCode(v.code, `${field}.code`);
  }
  const s = typeof v === 'number' && Number.isInteger(v) ? String(v) : typeof v === 'string' ? v.trim() : '';
  if (!/^\d{1,10}$/.test(s)) invalid(field, 'must be a 32-bit MDC code (decimal)');
  return s;
}

function loincFor(code: string, field: string): { loinc: string; coding: Coding } {
  const m = MDC_TO_LOINC.get(code);
  if (!m)
    throw ingestError(IngestError.unknownCode, `${field}: MDC ${code} has no LOINC mapping`, { field, code });
  return { loinc: m.loinc, coding: mdcCoding(code)! };
}

function ucumFor(unit: unknown, field: string): string {
  if (typeof unit === 'number' || (typeof unit === 'string' && /^\d+$/.test(unit)) || isObject(unit)) {
    const code = mdcCode(unit, field);
    const ucum = MDC_UNIT_TO_UCUM.get(code);
    if (!ucum)
      throw ingestError(IngestError.unitMismatch, `${field}: MDC unit ${code} is not mapped to UCUM`, {
        field,
      });
    return ucum;
  }
  if (typeof unit === 'string') return unit; // UCUM, checked against the code by the draft builder
  throw ingestError(IngestError.unitMismatch, `${field}: unit required`, { field });
}

export function mdcProfile(payload: unknown, ctx: ProfileContext): ProfileResult {
  const input = parseJsonPayload(payload);
  let list: [unknown, string][];
  if (Array.isArray(input)) list = input.map((m, i) => [m, `[${i}]`]);
  else if (isObject(input) && Array.isArray(input.measurements))
    list = input.measurements.map((m, i) => [m, `measurements[${i}]`]);
  else if (isObject(input)) list = [[input, '']];
  else
    throw ingestError(
      IngestError.malformedJson,
      'expected an MDC measurement object, an array or {"measurements": [...]}',
    );
  if (list.length === 0) throw ingestError(IngestError.empty, 'no measurements');
  return { readings: list.map(([m, path]) => measurement(m, path, ctx)) };
}

const at = (path: string, key: string) => (path ? `${path}.${key}` : key);
const ALLOWED = new Set(['messageId', 'time', 'type', 'value', 'unit', 'special', 'components']);

function measurement(m: unknown, path: string, ctx: ProfileContext): ReadingDraft {
  if (!isObject(m)) invalid(path || 'measurement', 'must be an object');
  for (const k of Object.keys(m)) if (!ALLOWED.has(k)) invalid(at(path, k), 'unknown field');
  const effective = parseDeviceTime(m.time, at(path, 'time'));
  const type = mdcCode(m.type, at(path, 'type'));
  const { loinc, coding } = loincFor(type, at(path, 'type'));
  const messageId = typeof m.messageId === 'string' ? m.messageId : undefined;
  const common = { effective, profile: 'mdc', codings: [coding], ...(messageId ? { messageId } : {}) };
  if (m.components !== undefined) {
    if (!Array.isArray(m.components)) invalid(at(path, 'components'), 'must be a list');
    const components = m.components.map((c, i) => {
      const f = `${at(path, 'components')}[${i}]`;
      if (!isObject(c)) invalid(f, 'must be an object');
      const ct = mdcCode(c.type, `${f}.type`);
      const mapped = loincFor(ct, `${f}.type`);
      if (typeof c.value !== 'number')
        throw ingestError(IngestError.notANumber, `${f}.value: must be a number`, { field: f });
      return {
        code: mapped.loinc,
        value: c.value,
        unit: ucumFor(c.unit, `${f}.unit`),
        codings: [mapped.coding],
        field: f,
      };
    });
    return panelDraft({ ...common, code: loinc, components, field: at(path, 'components') }, ctx);
  }
  if (m.value === null || m.special !== undefined) {
    const reason = typeof m.special === 'string' ? SPECIAL[m.special] : undefined;
    if (!reason || (m.value !== null && m.value !== undefined)) {
      invalid(
        at(path, 'special'),
        'a special value needs "value": null and one of NaN, NRes, RFU, +INF, -INF',
      );
    }
    return quantityDraft(
      {
        ...common,
        code: loinc,
        value: null,
        unit: null,
        dataAbsentReason: reason,
        notes: [`device sent ${m.special}`],
      },
      ctx,
    );
  }
  if (typeof m.value !== 'number') {
    throw ingestError(IngestError.notANumber, `${at(path, 'value')}: must be a number`, {
      field: at(path, 'value'),
    });
  }
  return quantityDraft(
    {
      ...common,
      code: loinc,
      value: m.value,
      unit: ucumFor(m.unit, at(path, 'unit')),
      field: at(path, 'value'),
    },
    ctx,
  );
}
