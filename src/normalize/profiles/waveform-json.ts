/**
 * Waveform strips from a gateway or bedside monitor, MDC-coded JSON with the samples as integer
 * arrays (format `waveform-json`; MQTT `devices/{id}/waveforms`, HTTP `POST /ingest/v1/waveforms`;
 * documented in docs/reading-format.md and docs/waveforms.md). One strip per JSON object (ingest
 * splits an array into items, each accepted or refused on its own):
 *
 * ```json
 * {"messageId":"bed12-0001","time":"2026-03-01T08:00:00Z",
 *  "channels":[{"code":{"system":"urn:iso:std:iso:11073:10101","code":"131330"},"unit":"mV",
 *               "periodMs":4,"origin":0,"factor":0.005,"data":[12,15,19,…]}]}
 * ```
 *
 * Values are physical = origin + factor × count, FHIR SampledData's rule, so a strip is served
 * back as the device sent it. Unknown fields are refused, as in the native reading format.
 */
import { MDC } from '../codes.ts';
import { IngestError, ingestError } from '../errors.ts';
import type { ProfileContext, ProfileResult } from '../reading-draft.ts';
import { parseDeviceTime } from '../time.ts';
import { type ChannelInput, waveformDraft } from '../waveform-draft.ts';

const STRIP_FIELDS = new Set(['messageId', 'time', 'code', 'channels', 'flags']);
const CHANNEL_FIELDS = new Set([
  'code',
  'unit',
  'origin',
  'periodMs',
  'factor',
  'lowerLimit',
  'upperLimit',
  'dimensions',
  'data',
]);

function invalid(field: string, message: string): never {
  throw ingestError(IngestError.invalidField, `${field}: ${message}`, { field });
}

function object(v: unknown, field: string): Record<string, unknown> {
  if (!v || typeof v !== 'object' || Array.isArray(v)) invalid(field, 'must be an object');
  return v as Record<string, unknown>;
}

function onlyKnown(o: Record<string, unknown>, allowed: Set<string>, field: string): void {
  for (const k of Object.keys(o)) if (!allowed.has(k)) invalid(`${field}.${k}`, 'unknown field');
}

function mdcCode(v: unknown, field: string): string {
  const c = object(v, field);
  if (c['system'] !== MDC) invalid(`${field}.system`, `must be ${MDC}`);
  if (typeof c['code'] !== 'string' || !/^\d{1,10}$/.test(c['code']))
    invalid(`${field}.code`, 'an MDC code is a decimal string');
  return c['code'];
}

function optionalNumber(o: Record<string, unknown>, key: string, field: string): number | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'number') invalid(`${field}.${key}`, 'must be a number');
  return v;
}

export function waveformJsonProfile(payload: unknown, _ctx: ProfileContext): ProfileResult {
  const strip = object(payload, 'strip');
  onlyKnown(strip, STRIP_FIELDS, 'strip');
  const effective = parseDeviceTime(strip['time'], 'time');
  const messageId = strip['messageId'];
  if (messageId !== undefined && (typeof messageId !== 'string' || messageId.length > 128 || !messageId))
    invalid('messageId', 'a string of 1–128 characters');
  const flags = strip['flags'];
  if (flags !== undefined && (!Array.isArray(flags) || !flags.every((f) => typeof f === 'string')))
    invalid('flags', 'a list of strings');
  const list = strip['channels'];
  if (!Array.isArray(list) || list.length === 0) invalid('channels', 'a non-empty list of channels');
  const channels: ChannelInput[] = list.map((raw, i) => {
    const field = `channels[${i}]`;
    const ch = object(raw, field);
    onlyKnown(ch, CHANNEL_FIELDS, field);
    if (typeof ch['unit'] !== 'string') invalid(`${field}.unit`, 'a UCUM unit is required');
    const periodMs = optionalNumber(ch, 'periodMs', field);
    if (periodMs === undefined) invalid(`${field}.periodMs`, 'the sample period (ms) is required');
    const input: ChannelInput = {
      code: mdcCode(ch['code'], `${field}.code`),
      unit: ch['unit'],
      periodMs,
      data: Array.isArray(ch['data']) ? (ch['data'] as unknown[]) : invalid(`${field}.data`, 'an array'),
      field,
    };
    for (const k of ['origin', 'factor', 'lowerLimit', 'upperLimit', 'dimensions'] as const) {
      const n = optionalNumber(ch, k, field);
      if (n !== undefined) input[k] = n;
    }
    return input;
  });
  const draft = waveformDraft({
    effective,
    profile: 'waveform-json',
    channels,
    ...(strip['code'] !== undefined ? { code: mdcCode(strip['code'], 'code') } : {}),
    ...(typeof messageId === 'string' ? { messageId } : {}),
    ...(Array.isArray(flags) ? { flags: flags as string[] } : {}),
  });
  return { readings: [draft] };
}
