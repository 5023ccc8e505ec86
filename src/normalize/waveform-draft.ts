/**
 * The one place a decoded waveform strip becomes a ReadingDraft (every waveform format goes through
 * it, as numerics go through reading-draft.ts): channel codes and units checked against
 * waveform-codes.ts, SampledData's fields checked so the strip can be served back exactly, the
 * counts packed (core/waveform.ts). Throws coded errors naming the field.
 */
import type { QualityFlag, ReadingDraft } from '../core/reading.ts';
import {
  isSampleCount,
  MAX_STRIP_SAMPLES,
  packSamples,
  parseSampleData,
  type SampledChannel,
} from '../core/waveform.ts';
import { getCode } from './codes.ts';
import { IngestError, ingestError } from './errors.ts';
import { ECG_STRIP_CODE, isEcgLead } from './waveform-codes.ts';

export interface ChannelInput {
  /** MDC code of the channel. */
  code: string;
  /** UCUM unit of origin / factor / limits. */
  unit: string;
  origin?: number;
  periodMs: number;
  factor?: number;
  lowerLimit?: number;
  upperLimit?: number;
  dimensions?: number;
  /** Integer counts: a FHIR data string (with `E`/`L`/`U` markers) or an array of integers. */
  data: string | readonly unknown[];
  /** Where the channel came from, for error messages (`channels[1]`, `OBX[12]`). */
  field: string;
}

export interface WaveformInput {
  effective: string;
  profile: string;
  /** Strip code; default: the channel's code, or MDC_ECG_ELEC_POTL for several ECG leads. */
  code?: string;
  channels: readonly ChannelInput[];
  flags?: readonly QualityFlag[];
  messageId?: string;
  field?: string;
}

function bad(field: string, message: string): never {
  throw ingestError(IngestError.invalidWaveform, `${field}: ${message}`, { field });
}

function finite(v: unknown, field: string, name: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) bad(field, `${name} must be a finite number`);
  return v;
}

function counts(data: ChannelInput['data'], field: string): number[] {
  if (typeof data === 'string') {
    const parsed = parseSampleData(data);
    if ('badAt' in parsed)
      bad(
        `${field}.data[${parsed.badAt}]`,
        `"${parsed.token.slice(0, 20)}" is not an integer count or E/L/U`,
      );
    return parsed.counts;
  }
  if (!Array.isArray(data)) bad(`${field}.data`, 'must be an array of integer counts or a data string');
  const out: number[] = new Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (typeof v !== 'number' || !isSampleCount(v)) bad(`${field}.data[${i}]`, 'not an integer count');
    out[i] = v;
  }
  return out;
}

export function channelOf(input: ChannelInput): SampledChannel {
  const f = input.field;
  const def = getCode(input.code);
  if (def?.kind !== 'waveform')
    throw ingestError(IngestError.unknownCode, `${f}: ${input.code} is not a waveform code Vigil stores`, {
      field: `${f}.code`,
      code: input.code,
    });
  if (!def.units.includes(input.unit))
    throw ingestError(
      IngestError.unitMismatch,
      `${f}: unit ${String(input.unit)} does not fit ${def.display} (${def.units.join(', ')})`,
      { field: `${f}.unit`, code: input.code, unit: input.unit },
    );
  const periodMs = finite(input.periodMs, f, 'periodMs');
  if (periodMs <= 0) bad(f, 'periodMs must be positive');
  const factor = finite(input.factor ?? 1, f, 'factor');
  if (factor === 0) bad(f, 'factor must not be 0');
  const dimensions = input.dimensions ?? 1;
  if (!Number.isInteger(dimensions) || dimensions < 1 || dimensions > 64)
    bad(f, 'dimensions must be an integer 1–64');
  const c = counts(input.data, f);
  if (c.length === 0) bad(`${f}.data`, 'no samples');
  if (c.length > MAX_STRIP_SAMPLES) bad(`${f}.data`, `more than ${MAX_STRIP_SAMPLES} samples`);
  if (c.length % dimensions !== 0) bad(`${f}.data`, `${c.length} values is not a multiple of ${dimensions}`);
  const ch: SampledChannel = {
    code: def.code,
    display: def.display,
    unit: input.unit,
    origin: finite(input.origin ?? 0, f, 'origin'),
    periodMs,
    factor,
    dimensions,
    ...packSamples(c),
    count: c.length,
  };
  if (input.lowerLimit !== undefined) ch.lowerLimit = finite(input.lowerLimit, f, 'lowerLimit');
  if (input.upperLimit !== undefined) ch.upperLimit = finite(input.upperLimit, f, 'upperLimit');
  if (ch.lowerLimit !== undefined && ch.upperLimit !== undefined && ch.lowerLimit > ch.upperLimit)
    bad(f, 'lowerLimit is above upperLimit');
  return ch;
}

export function waveformDraft(input: WaveformInput): ReadingDraft {
  const field = input.field ?? 'strip';
  if (input.channels.length === 0) bad(field, 'a strip needs at least one channel');
  const channels = input.channels.map(channelOf);
  const codes = channels.map((c) => c.code);
  if (new Set(codes).size !== codes.length) bad(field, 'a channel code appears twice');
  let code = input.code;
  if (code === undefined) {
    if (channels.length === 1) code = codes[0] as string;
    else if (codes.every(isEcgLead)) code = ECG_STRIP_CODE;
    else bad(field, 'a strip of several kinds of channel needs its own code');
  }
  const def = getCode(code);
  if (def?.kind !== 'waveform')
    throw ingestError(IngestError.unknownCode, `${field}: ${code} is not a waveform code`, {
      field: `${field}.code`,
      code,
    });
  if (channels.length === 1 && codes[0] !== def.code)
    bad(field, 'a one-channel strip has the code of its channel');
  const draft: ReadingDraft = {
    deviceId: '',
    code: def.code,
    // The primary coding is the MDC code itself (code table entry): no further codings.
    codings: [],
    category: def.category,
    value: null,
    unit: null,
    components: [],
    effective: input.effective,
    flags: [...new Set(input.flags ?? [])],
    profile: input.profile,
    waveform: { channels },
  };
  if (input.messageId !== undefined) draft.messageId = input.messageId;
  return draft;
}
