import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { detectPulses } from '../../src/detect/waveform/pulse-detector.ts';
import { rateFromBeats } from '../../src/detect/waveform/qrs-detector.ts';
import { readRecordCounts, type WfdbCounts } from '../support/wfdb.ts';

const wfdb = (f: string) => fileURLToPath(new URL(`../corpora/physio/wfdb/${f}`, import.meta.url));

/**
 * Pleth pulse detection (slope sum function) on the PhysioNet/CinC 2015 records, whose pleth shows
 * a regular pulse through the false alarms (their ECG does not): the pulse rate each second of
 * the last 20 s before the alarm stays within a plausible sinus range, and the pulse count matches
 * the rate. Synthetic controls: a flat line has no pulses; a 1.25 Hz pulse wave reads 75 /min.
 */
function plethRates(name: string): number[] {
  const rec = readRecordCounts(wfdb(`${name}.hea`));
  const s = rec.signals.find((x) => x.name === 'PLETH') as WfdbCounts;
  const from = 270 * rec.fs;
  const x = Float64Array.from(s.counts.subarray(from, 300 * rec.fs), (c) => (c - s.baseline) / s.gain);
  const beats = detectPulses(x, rec.fs).map((i) => i / rec.fs);
  const out: number[] = [];
  for (let t = 10; t <= 30; t++) out.push(rateFromBeats(beats, t) ?? 0);
  return out;
}

describe('pleth pulse detection', () => {
  for (const [name, lo, hi] of [
    ['a103l', 85, 135],
    ['v102s', 70, 140],
  ] as const) {
    it(`${name}: a pulse rate every second, within ${lo}–${hi} /min`, () => {
      const rates = plethRates(name);
      assert.ok(
        rates.every((r) => r >= lo && r <= hi),
        rates.map(Math.round).join(' '),
      );
    });
  }

  it('a flat line has no pulses; a 1.25 Hz pulse wave reads 75 /min', () => {
    assert.deepEqual(detectPulses(new Float64Array(250 * 10), 250), []);
    const fs = 125;
    const wave = Float64Array.from({ length: fs * 20 }, (_, i) => {
      const phase = ((i / fs) * 1.25) % 1; // a fast upstroke, slow decay
      return phase < 0.15 ? phase / 0.15 : Math.exp(-(phase - 0.15) * 4);
    });
    const beats = detectPulses(wave, fs).map((i) => i / fs);
    assert.equal(Math.round(rateFromBeats(beats, 20) ?? 0), 75);
  });
});
