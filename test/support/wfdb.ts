import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * A small reader for the PhysioNet WFDB records in test/corpora/physio (format 212 signal files and
 * MIT-format annotation files), for tests that need whole records rather than CSV excerpts.
 * Checks every signal against the header's 16-bit checksum, so a wrong decode fails loudly.
 */
export interface WfdbSignal {
  name: string;
  gain: number;
  baseline: number;
  /** Physical units (mV for ECG). */
  samples: Float64Array;
}

export function readRecord212(heaPath: string): { fs: number; signals: WfdbSignal[] } {
  const lines = readFileSync(heaPath, 'utf8')
    .split(/\r?\n/)
    .filter((l) => l.trim() && !l.startsWith('#'));
  const [, nsigText, fsText, nText] = (lines[0] as string).trim().split(/\s+/);
  const nsig = Number(nsigText);
  const fs = Number.parseFloat(fsText as string);
  const specs = lines.slice(1, 1 + nsig).map((l) => {
    const p = l.trim().split(/\s+/);
    if (p[1] !== '212') throw new Error(`format ${p[1]} is not 212`);
    return {
      file: p[0] as string,
      gain: Number.parseFloat(p[2] as string),
      baseline: Number(p[4]),
      checksum: Number(p[6]),
      name: p.slice(8).join(' '),
    };
  });
  const buf = readFileSync(join(dirname(heaPath), (specs[0] as { file: string }).file));
  const n = Number(nText);
  const raw = specs.map(() => new Int16Array(n));
  // Format 212: two 12-bit samples in three bytes, signals interleaved.
  let k = 0;
  for (let i = 0; i + 2 < buf.length && k < n * nsig; i += 3) {
    const b0 = buf[i] as number;
    const b1 = buf[i + 1] as number;
    const b2 = buf[i + 2] as number;
    for (const v of [((b1 & 0x0f) << 8) | b0, ((b1 & 0xf0) << 4) | b2]) {
      if (k >= n * nsig) break;
      (raw[k % nsig] as Int16Array)[Math.floor(k / nsig)] = v > 2047 ? v - 4096 : v;
      k++;
    }
  }
  return {
    fs,
    signals: specs.map((s, j) => {
      const r = raw[j] as Int16Array;
      let sum = 0;
      for (const v of r) sum = (sum + v) & 0xffff;
      const expected = s.checksum & 0xffff;
      if (sum !== expected) throw new Error(`${s.name}: checksum ${sum} ≠ ${expected}`);
      return {
        name: s.name,
        gain: s.gain,
        baseline: s.baseline,
        samples: Float64Array.from(r, (v) => (v - s.baseline) / s.gain),
      };
    }),
  };
}

/** MIT-format annotations: (sample, code) for each annotation; aux strings and sub-types skipped. */
export function readAnnotations(atrPath: string): { sample: number; code: number }[] {
  const b = readFileSync(atrPath);
  const out: { sample: number; code: number }[] = [];
  let t = 0;
  for (let i = 0; i + 1 < b.length; ) {
    const word = (b[i] as number) | ((b[i + 1] as number) << 8);
    i += 2;
    const code = word >> 10;
    const interval = word & 0x3ff;
    if (code === 0 && interval === 0) break;
    if (code === 59) {
      // SKIP: the interval is the next 32-bit value (PDP-11 order: high word first).
      const hi = (b[i] as number) | ((b[i + 1] as number) << 8);
      const lo = (b[i + 2] as number) | ((b[i + 3] as number) << 8);
      t += ((hi << 16) | lo) >> 0;
      i += 4;
    } else if (code === 63) {
      i += interval + (interval % 2); // AUX string, padded to an even length
    } else if (code === 60 || code === 61 || code === 62) {
      // NUM, SUB, CHN: modifiers of the previous annotation
    } else {
      t += interval;
      out.push({ sample: t, code });
    }
  }
  return out;
}

/** The beat annotation codes of ANSI/AAMI EC57 (N L R e j A a J S V E F / f Q and others that mark a beat). */
export const beatCodes = new Set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 25, 30, 34, 35, 38, 41]);

export interface WfdbCounts {
  name: string;
  gain: number;
  baseline: number;
  units: string;
  /** The ADC counts as stored in the record. */
  counts: Int32Array;
}

/**
 * Any of the corpus records (format 212, or 16 with a byte offset such as a103l's `16+24`) as raw
 * ADC counts, each signal checked against the header's 16-bit checksum.
 */
export function readRecordCounts(heaPath: string): { fs: number; signals: WfdbCounts[] } {
  const lines = readFileSync(heaPath, 'utf8')
    .split(/\r?\n/)
    .filter((l) => l.trim() && !l.startsWith('#'));
  const [, nsigText, fsText, nText] = (lines[0] as string).trim().split(/\s+/);
  const nsig = Number(nsigText);
  const n = Number(nText);
  const specs = lines.slice(1, 1 + nsig).map((l) => {
    const p = l.trim().split(/\s+/);
    const [fmt, offset] = (p[1] as string).split('+');
    const g = /^([0-9.eE+-]+)(?:\(([-0-9]+)\))?(?:\/(\S+))?/.exec(p[2] as string);
    return {
      file: p[0] as string,
      fmt: fmt as string,
      offset: Number(offset ?? 0),
      gain: Number.parseFloat(g?.[1] ?? '200') || 200,
      baseline: g?.[2] !== undefined ? Number(g[2]) : Number(p[4]),
      units: g?.[3] ?? 'mV',
      checksum: Number(p[6]),
      name: p.slice(8).join(' '),
    };
  });
  const first = specs[0] as (typeof specs)[number];
  const buf = readFileSync(join(dirname(heaPath), first.file)).subarray(first.offset);
  const raw = specs.map(() => new Int32Array(n));
  if (first.fmt === '16') {
    for (let k = 0; k < n * nsig; k++)
      (raw[k % nsig] as Int32Array)[Math.floor(k / nsig)] = buf.readInt16LE(k * 2);
  } else if (first.fmt === '212') {
    let k = 0;
    for (let i = 0; i + 2 < buf.length && k < n * nsig; i += 3) {
      const b0 = buf[i] as number;
      const b1 = buf[i + 1] as number;
      const b2 = buf[i + 2] as number;
      for (const v of [((b1 & 0x0f) << 8) | b0, ((b1 & 0xf0) << 4) | b2]) {
        if (k >= n * nsig) break;
        (raw[k % nsig] as Int32Array)[Math.floor(k / nsig)] = v > 2047 ? v - 4096 : v;
        k++;
      }
    }
  } else throw new Error(`format ${first.fmt} not supported`);
  return {
    fs: Number.parseFloat(fsText as string),
    signals: specs.map((s, j) => {
      const r = raw[j] as Int32Array;
      let sum = 0;
      for (const v of r) sum = (sum + v) & 0xffff;
      if (sum !== (s.checksum & 0xffff))
        throw new Error(`${s.name}: checksum ${sum} ≠ ${s.checksum & 0xffff}`);
      return { name: s.name, gain: s.gain, baseline: s.baseline, units: s.units, counts: r };
    }),
  };
}
