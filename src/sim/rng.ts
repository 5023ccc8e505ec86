/**
 * Seeded pseudo-random numbers for the simulator: the same seed gives the same patients, readings
 * and device faults on every machine. sfc32 (a small, fast, well-tested generator; not for
 * cryptography) seeded through a string hash, with named sub-streams so that adding a draw in one
 * place (a device's dropout) does not shift every other draw (a patient's physiology).
 */

/** 32-bit FNV-1a of a string, mixed: turns `seed/patient-3/cgm` into a stream seed. */
function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h >>> 0;
}

export class Rng {
  readonly label: string;
  #a: number;
  #b: number;
  #c: number;
  #d: number;
  #spare: number | undefined;

  constructor(seed: string | number) {
    this.label = String(seed);
    this.#a = hash32(`${this.label}#a`);
    this.#b = hash32(`${this.label}#b`);
    this.#c = hash32(`${this.label}#c`);
    this.#d = 1;
    for (let i = 0; i < 12; i++) this.next();
  }

  /** An independent stream named after this one: `rng.fork('patient-3')`. */
  fork(name: string | number): Rng {
    return new Rng(`${this.label}/${name}`);
  }

  /** Uniform in [0, 1). */
  next(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return (t >>> 0) / 4294967296;
  }

  uniform(min: number, max: number): number {
    return min + (max - min) * this.next();
  }

  /** Integer in [min, max] inclusive. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[Math.floor(this.next() * items.length)] as T;
  }

  /** Standard normal (Box–Muller, caching the second value). */
  normal(mean = 0, sd = 1): number {
    if (this.#spare !== undefined) {
      const s = this.#spare;
      this.#spare = undefined;
      return mean + sd * s;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.#spare = r * Math.sin(2 * Math.PI * v);
    return mean + sd * r * Math.cos(2 * Math.PI * v);
  }

  /** Exponentially distributed waiting time with the given mean. */
  exponential(mean: number): number {
    return -mean * Math.log(1 - this.next());
  }

  /** A random UUID-shaped id (version 4 layout) from this stream: repeatable ids for a seed. */
  uuid(): string {
    const hex: string[] = [];
    for (let i = 0; i < 16; i++)
      hex.push(
        Math.floor(this.next() * 256)
          .toString(16)
          .padStart(2, '0'),
      );
    hex[6] = `4${(hex[6] as string)[1]}`;
    hex[8] = ((Number.parseInt(hex[8] as string, 16) & 0x3f) | 0x80).toString(16);
    const h = hex.join('');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }
}
