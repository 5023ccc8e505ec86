/**
 * A waveform strip (ECG lead, plethysmogram, …): the canonical form of FHIR SampledData, kept beside
 * a Reading (`Reading.waveform`) in one row per strip. The samples are the device's integer counts,
 * packed little-endian (16-bit when every count fits, else 32-bit) and base64-encoded, so a 10 s
 * lead at 500 Hz is ~13 KB in the row instead of 5 000 rows (ADR 0018).
 *
 * Physical value of value i = origin + factor × data[i] (FHIR R4 SampledData). With `dimensions`
 * d the values interleave d points per time point: value i belongs to time point ⌊i / d⌋, taken at
 * `effective + ⌊i / d⌋ × periodMs`.
 * FHIR's data markers `E` (error), `L` (below lowerLimit), `U` (above upperLimit) are kept as three
 * reserved 32-bit values, so a strip with markers reads back as sent.
 */

/** One channel of a strip: SampledData's fields with explicit units. */
export interface SampledChannel {
  /** MDC code of the channel (131330 MDC_ECG_ELEC_POTL_II, 150452 MDC_PULS_OXIM_PLETH, …). */
  code: string;
  display: string;
  /** UCUM unit of origin, factor and limits (`mV`, `uV`, `1` for a unitless pleth). */
  unit: string;
  origin: number;
  /** Time between sample points, milliseconds. */
  periodMs: number;
  factor: number;
  lowerLimit?: number;
  upperLimit?: number;
  dimensions: number;
  /** Packed counts; see `packSamples`. */
  encoding: 'i16le' | 'i32le';
  samples: string;
  /** Number of data values (all dimensions). */
  count: number;
}

export interface WaveformStrip {
  /** Channels in order; one channel → valueSampledData, several → one component each. */
  channels: SampledChannel[];
}

/** Reserved 32-bit counts for FHIR's markers (never valid device counts: below −2^31 + 3). */
export const SAMPLE_MARKERS = { E: -2147483648, L: -2147483647, U: -2147483646 } as const;
type Marker = keyof typeof SAMPLE_MARKERS;
const MARKER_OF = new Map<number, Marker>(Object.entries(SAMPLE_MARKERS).map(([k, v]) => [v, k as Marker]));

/** Largest strip accepted (data values): 10 min of 12 leads at 500 Hz fits, a runaway array does not. */
export const MAX_STRIP_SAMPLES = 3_600_000;

export function isSampleCount(v: number): boolean {
  return Number.isInteger(v) && v > SAMPLE_MARKERS.U && v <= 2147483647;
}

/** Packs counts (integers, or marker values) into base64; 16-bit when all fit. */
export function packSamples(counts: ArrayLike<number>): { encoding: 'i16le' | 'i32le'; samples: string } {
  let small = true;
  for (let i = 0; i < counts.length; i++) {
    const v = counts[i] as number;
    if (v < -32768 || v > 32767) {
      small = false;
      break;
    }
  }
  const buf = Buffer.alloc(counts.length * (small ? 2 : 4));
  for (let i = 0; i < counts.length; i++) {
    if (small) buf.writeInt16LE(counts[i] as number, i * 2);
    else buf.writeInt32LE(counts[i] as number, i * 4);
  }
  return { encoding: small ? 'i16le' : 'i32le', samples: buf.toString('base64') };
}

export function unpackSamples(ch: Pick<SampledChannel, 'encoding' | 'samples'>): Int32Array {
  const buf = Buffer.from(ch.samples, 'base64');
  const width = ch.encoding === 'i16le' ? 2 : 4;
  const out = new Int32Array(Math.floor(buf.length / width));
  for (let i = 0; i < out.length; i++) out[i] = width === 2 ? buf.readInt16LE(i * 2) : buf.readInt32LE(i * 4);
  return out;
}

/** FHIR SampledData.data: space-separated decimals and markers. */
export function formatSampleData(counts: ArrayLike<number>): string {
  const parts: string[] = new Array(counts.length);
  for (let i = 0; i < counts.length; i++) {
    const v = counts[i] as number;
    parts[i] = MARKER_OF.get(v) ?? String(v);
  }
  return parts.join(' ');
}

/**
 * Parses SampledData.data into counts. Only integer counts and the markers are accepted: devices
 * send ADC counts and scale them with `factor`; a decimal data value could not be packed exactly.
 * Returns the 0-based position of the first bad token instead of throwing (callers code the error).
 */
export function parseSampleData(data: string): { counts: number[] } | { badAt: number; token: string } {
  const tokens = data.trim() === '' ? [] : data.trim().split(/\s+/);
  const counts: number[] = new Array(tokens.length);
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] as string;
    const marker = SAMPLE_MARKERS[t as Marker];
    if (marker !== undefined) {
      counts[i] = marker;
      continue;
    }
    if (!/^[+-]?\d{1,10}$/.test(t) || !isSampleCount(Number(t))) return { badAt: i, token: t };
    counts[i] = Number(t);
  }
  return { counts };
}

/** Physical values (origin + factor × count) of one channel; markers become NaN. */
export function physicalSamples(ch: SampledChannel): Float64Array {
  const counts = unpackSamples(ch);
  const out = new Float64Array(counts.length);
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i] as number;
    out[i] = MARKER_OF.has(c) ? Number.NaN : ch.origin + ch.factor * c;
  }
  return out;
}

/** Sampling frequency (Hz) of one dimension of the channel. */
export function samplingHz(ch: Pick<SampledChannel, 'periodMs'>): number {
  return 1000 / ch.periodMs;
}
