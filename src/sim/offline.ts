/**
 * Offline generation: run every device of a population over the window and write the readings as
 * NDJSON in `vigil replay`'s format (wire/replay-ndjson.ts), in arrival order, with the ground truth
 * beside it. No server involved. Malformed messages are a wire behaviour and are left out (counted
 * in the truth file's device stats).
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import type { SimPatient } from './population.ts';
import { truthFile } from './truth-file.ts';
import { type ReplayLine, replayLines } from './wire/replay-ndjson.ts';

export interface OfflineResult {
  lines: number;
  truthPath: string;
}

/** `readings.ndjson` → `readings.truth.json`. */
export function truthPathFor(out: string): string {
  return out.replace(/(\.ndjson|\.jsonl|\.json)?$/, '.truth.json');
}

/** Every record of the window, in arrival order; `stepMs` bounds memory per step. */
export function* offlineLines(
  patients: readonly SimPatient[],
  windowStartMs: number,
  windowEndMs: number,
  stepMs = 6 * 3_600_000,
): Generator<ReplayLine> {
  for (let t = windowStartMs; t < windowEndMs; ) {
    const to = Math.min(windowEndMs, t + stepMs);
    const batch: { at: number; line: ReplayLine }[] = [];
    for (const p of patients) {
      for (const d of p.devices) {
        // The last step also collects what is still queued (late duplicates) up to the window end.
        for (const e of d.advance(to))
          for (const line of replayLines(e, p.id)) batch.push({ at: e.sendAt, line });
      }
    }
    batch.sort((a, b) => a.at - b.at || a.line.device.localeCompare(b.line.device));
    for (const b of batch) yield b.line;
    t = to;
  }
}

export async function writeOffline(
  out: string,
  seed: string,
  patients: readonly SimPatient[],
  windowStartMs: number,
  windowEndMs: number,
  onProgress?: (simMs: number, lines: number) => void,
): Promise<OfflineResult> {
  const stream = createWriteStream(out);
  let lines = 0;
  let chunk: string[] = [];
  for (const line of offlineLines(patients, windowStartMs, windowEndMs)) {
    chunk.push(JSON.stringify(line));
    lines++;
    if (chunk.length >= 2000) {
      if (!stream.write(`${chunk.join('\n')}\n`)) await once(stream, 'drain');
      chunk = [];
      onProgress?.(Date.parse(line.received), lines);
    }
  }
  if (chunk.length) stream.write(`${chunk.join('\n')}\n`);
  stream.end();
  await once(stream, 'finish');
  const truthPath = truthPathFor(out);
  await writeFile(
    truthPath,
    `${JSON.stringify(truthFile(seed, windowStartMs, windowEndMs, patients), null, 2)}\n`,
  );
  return { lines, truthPath };
}
