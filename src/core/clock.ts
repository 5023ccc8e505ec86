/** Clock port: wall-clock time is a side effect, so it is injected (tests use a fake clock). */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

export class FakeClock implements Clock {
  #t: number;
  constructor(start: number | string = '2026-01-01T00:00:00Z') {
    this.#t = typeof start === 'number' ? start : Date.parse(start);
  }
  now(): number {
    return this.#t;
  }
  advance(ms: number): void {
    this.#t += ms;
  }
  set(t: number | string): void {
    this.#t = typeof t === 'number' ? t : Date.parse(t);
  }
}

export function toIso(ms: number): string {
  return new Date(ms).toISOString();
}
