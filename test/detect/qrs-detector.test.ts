import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { detectQrs, rateFromBeats } from '../../src/detect/waveform/qrs-detector.ts';
import { beatCodes, readAnnotations, readRecord212 } from '../support/wfdb.ts';

const wfdb = (f: string) => fileURLToPath(new URL(`../corpora/physio/wfdb/${f}`, import.meta.url));

/**
 * MIT-BIH Arrhythmia Database record 100 (30 min, 360 Hz, lead MLII) against its reference beat
 * annotations, scored as ANSI/AAMI EC57 does: a detection within 150 ms of a reference beat is a
 * true positive (each reference beat matched once). Goal: sensitivity and positive predictivity ≥ 99 %.
 */
describe('QRS detection on MIT-BIH record 100', () => {
  const rec = readRecord212(wfdb('100.hea'));
  const lead = rec.signals.find((s) => s.name === 'MLII');
  const beats = readAnnotations(wfdb('100.atr')).filter((a) => beatCodes.has(a.code));

  it('decodes the record and its annotations', () => {
    assert.equal(rec.fs, 360);
    assert.equal(lead?.samples.length, 650_000);
    assert.equal(beats.length, 2273); // the database's beat count for record 100
  });

  it('finds the annotated beats: sensitivity and positive predictivity ≥ 99 %', () => {
    const found = detectQrs(lead?.samples ?? [], rec.fs);
    const tol = Math.round(0.15 * rec.fs);
    let tp = 0;
    let j = 0;
    const used = new Set<number>();
    for (const b of beats) {
      while (j < found.length && (found[j] as number) < b.sample - tol) j++;
      let k = j;
      while (k < found.length && (found[k] as number) <= b.sample + tol) {
        if (!used.has(k)) {
          used.add(k);
          tp++;
          break;
        }
        k++;
      }
    }
    const sensitivity = tp / beats.length;
    const ppv = tp / found.length;
    assert.ok(sensitivity >= 0.99, `sensitivity ${(100 * sensitivity).toFixed(2)} % (${tp}/${beats.length})`);
    assert.ok(ppv >= 0.99, `positive predictivity ${(100 * ppv).toFixed(2)} % (${tp}/${found.length})`);
  });

  it('a rate from the beats: none from fewer than two beats, else beats per minute', () => {
    assert.equal(rateFromBeats([10], 10), undefined);
    assert.equal(rateFromBeats([7, 8, 9, 10], 10), 60);
    assert.equal(rateFromBeats([9, 9.5, 10], 10), 120);
  });

  it('a flat line gives no beats', () => {
    assert.deepEqual(detectQrs(new Float64Array(360 * 10), 360), []);
  });
});
