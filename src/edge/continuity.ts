import type { Reading } from '../core/reading.ts';

export type QueueClass = 'keep' | 'continuous';

/**
 * Which readings are continuous data: a reading of a device and code whose previous one (event
 * time) is less than `windowSeconds` earlier belongs to a dense stream (a 1 Hz oximeter); the first
 * after a pause is a spot reading. When the store-and-forward queue is full, only continuous
 * readings may be summarised; spot readings, alerts and alert evidence are never dropped.
 */
export class ContinuityClassifier {
  readonly #windowMs: number;
  readonly #last = new Map<string, number>();

  constructor(windowSeconds: number) {
    this.#windowMs = windowSeconds * 1000;
  }

  classify(r: Pick<Reading, 'deviceId' | 'code' | 'effective'>): QueueClass {
    const key = `${r.deviceId}|${r.code}`;
    const t = Date.parse(r.effective);
    const prev = this.#last.get(key);
    if (this.#last.size >= 100_000 && prev === undefined) this.#last.clear(); // bounded
    if (prev === undefined || t > prev) this.#last.set(key, t);
    if (prev === undefined || !Number.isFinite(t)) return 'keep';
    return Math.abs(t - prev) < this.#windowMs ? 'continuous' : 'keep';
  }
}
