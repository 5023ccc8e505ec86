/**
 * Vigil's native JSON reading format as the simulator writes it (the format is specified by
 * normalize/profiles/native-json.ts and docs/reading-format.md). Also the deliberate corruptions the
 * simulator sends at its malformed rate, each of which Vigil must refuse into a dead letter.
 */
import type { Rng } from '../rng.ts';

export interface SimReading {
  messageId?: string;
  /** Device time, ISO 8601 with offset. */
  time: string;
  type?: string;
  /** A coded type instead of a friendly one (MDC: the ECG heart rate vs the pleth pulse). */
  code?: { system: string; code: string };
  value?: number;
  unit?: string;
  components?: { systolic: number; diastolic: number; mean?: number };
  flags?: string[];
  battery?: number;
}

/** The JSON body of one message: a single reading, or `{readings:[…]}` for several. */
export function jsonBody(readings: readonly SimReading[]): string {
  return JSON.stringify(readings.length === 1 ? readings[0] : { readings });
}

export type MalformKind = 'truncated-json' | 'string-value' | 'unknown-type' | 'no-time' | 'truncated-gatt';

/** A broken version of a JSON message body, and which kind of breakage. */
export function malformJson(rng: Rng, readings: readonly SimReading[]): { kind: MalformKind; text: string } {
  const kind = rng.pick(['truncated-json', 'string-value', 'unknown-type', 'no-time'] as const);
  const first = readings[0] ?? { time: new Date(0).toISOString() };
  switch (kind) {
    case 'truncated-json': {
      const text = jsonBody(readings);
      return { kind, text: text.slice(0, Math.max(1, Math.floor(text.length * rng.uniform(0.2, 0.8)))) };
    }
    case 'string-value':
      return {
        kind,
        text: JSON.stringify({
          ...first,
          value: 'NaN',
          components: undefined,
          type: first.type === 'blood-pressure' ? 'heart-rate' : first.type,
          unit: first.unit ?? '/min',
        }),
      };
    case 'unknown-type':
      return { kind, text: JSON.stringify({ ...first, type: 'vital-sign' }) };
    case 'no-time': {
      const { time: _time, ...rest } = first;
      return { kind, text: JSON.stringify(rest) };
    }
  }
}

/** A GATT value cut short: the decoder must refuse it (truncated). */
export function malformGatt(rng: Rng, bytes: Uint8Array): Uint8Array {
  return bytes.slice(0, rng.int(1, Math.max(1, bytes.length - 2)));
}
