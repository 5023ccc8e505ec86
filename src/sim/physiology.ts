/**
 * Virtual-patient physiology: the TRUE state of a patient over time, before any device measures it.
 * Pure and seeded: a scenario builds a Trajectory (one sample per `stepS` of simulated time) from a
 * baseline, a circadian rhythm, slow random drift and the scenario's own disease process; devices
 * then measure it with their own noise and artifacts (devices/). Ground truth is computed from these
 * values (ground-truth.ts), never typed by hand.
 *
 * The couplings and amplitudes below are simulator assumptions chosen to look plausible, not
 * clinical facts from clinical-reference.md (which has none for them): fever raises heart rate by
 * ~10/min and respiration by ~2/min per °C; systolic pressure dips ~10 % at night; temperature
 * swings ±0.3 °C with a late-afternoon peak; heart rate swings ±5/min.
 */
import type { Rng } from './rng.ts';

export type Acvpu = 'A' | 'C' | 'V' | 'P' | 'U';

/** One instant of the patient's true physiology. */
export interface Vitals {
  /** /min */
  heartRate: number;
  /** /min */
  respiratoryRate: number;
  /** % */
  spo2: number;
  /** mmHg */
  systolic: number;
  /** mmHg */
  diastolic: number;
  /** °C */
  temperature: number;
  /** kg */
  weight: number;
  /** mg/dL (interstitial ≈ blood in this model; the CGM adds lag and noise) */
  glucose: number;
  consciousness: Acvpu;
  onOxygen: boolean;
}

export type NumericVital = Exclude<keyof Vitals, 'consciousness' | 'onOxygen'>;
export const NUMERIC_VITALS: readonly NumericVital[] = [
  'heartRate',
  'respiratoryRate',
  'spo2',
  'systolic',
  'diastolic',
  'temperature',
  'weight',
  'glucose',
];

/** Resting values of one patient (drawn per patient around a population profile). */
export type Baseline = Omit<Vitals, 'consciousness' | 'onOxygen'>;

export interface PopulationProfile {
  heartRate: [mean: number, sd: number];
  respiratoryRate: [number, number];
  spo2: [number, number];
  systolic: [number, number];
  diastolic: [number, number];
  temperature: [number, number];
  weight: [number, number];
  glucose: [number, number];
}

export const ADULT: PopulationProfile = {
  heartRate: [72, 7],
  respiratoryRate: [15, 1.5],
  spo2: [97.5, 0.8],
  systolic: [124, 8],
  diastolic: [78, 5],
  temperature: [36.7, 0.2],
  weight: [80, 14],
  glucose: [100, 8],
};

export function drawBaseline(rng: Rng, profile: PopulationProfile = ADULT): Baseline {
  const out = {} as Baseline;
  for (const k of NUMERIC_VITALS) {
    const [mean, sd] = profile[k];
    out[k] = rng.normal(mean, sd);
  }
  out.spo2 = Math.min(99.5, out.spo2);
  out.weight = Math.max(48, out.weight);
  out.diastolic = Math.min(out.diastolic, out.systolic - 25);
  return out;
}

/** Hour of day (0–24, fractional) of an epoch-ms instant in the patient's local zone. */
export function hourOfDay(ms: number, utcOffsetMinutes = 0): number {
  const local = ms + utcOffsetMinutes * 60_000;
  return (((local / 3_600_000) % 24) + 24) % 24;
}

/** Cosine wave over the day with its maximum at `peakHour`, in [-1, 1]. */
export function dayWave(hour: number, peakHour: number): number {
  return Math.cos(((hour - peakHour) / 24) * 2 * Math.PI);
}

/** The baseline moved by the time of day (see the file comment for the amplitudes). */
export function circadian(b: Baseline, hour: number): Baseline {
  const asleep = hour < 6 || hour >= 23;
  return {
    ...b,
    heartRate: b.heartRate + 5 * dayWave(hour, 15),
    respiratoryRate: b.respiratoryRate + 0.8 * dayWave(hour, 15),
    systolic: b.systolic * (asleep ? 0.9 : 1) + 3 * dayWave(hour, 10),
    diastolic: b.diastolic * (asleep ? 0.92 : 1) + 2 * dayWave(hour, 10),
    temperature: b.temperature + 0.3 * dayWave(hour, 18),
  };
}

/** Fever couples into heart rate and respiration (simulator assumption, see file comment). */
export function withFever(v: Vitals, feverC: number): Vitals {
  const d = Math.max(0, feverC);
  return {
    ...v,
    temperature: v.temperature + feverC,
    heartRate: v.heartRate + 10 * d,
    respiratoryRate: v.respiratoryRate + 2 * d,
  };
}

/** Ornstein–Uhlenbeck drift: slow wandering around 0 with a given sd and time constant. */
export class Drift {
  readonly #rng: Rng;
  readonly #sd: number;
  readonly #tauS: number;
  value: number;
  constructor(rng: Rng, sd: number, tauS: number) {
    this.#rng = rng;
    this.#sd = sd;
    this.#tauS = tauS;
    this.value = rng.normal(0, sd);
  }
  step(dtS: number): number {
    const a = Math.exp(-dtS / this.#tauS);
    this.value = a * this.value + this.#sd * Math.sqrt(1 - a * a) * this.#rng.normal();
    return this.value;
  }
}

/** Smooth 0→1 ramp between `fromS` and `toS` (smoothstep); 0 before, 1 after. */
export function ramp(tS: number, fromS: number, toS: number): number {
  if (tS <= fromS) return 0;
  if (tS >= toS) return 1;
  const x = (tS - fromS) / (toS - fromS);
  return x * x * (3 - 2 * x);
}

/** Gamma-shaped response (0 at τ=0, peak 1 at τ=peakS, decaying after). */
export function pulse(tauS: number, peakS: number): number {
  if (tauS <= 0) return 0;
  const x = tauS / peakS;
  return x * Math.exp(1 - x);
}

export interface Meal {
  /** Seconds from the scenario start. */
  atS: number;
  /** Peak glucose rise it causes in mg/dL without insulin. */
  riseMgDl: number;
}

export interface InsulinDose {
  atS: number;
  /** Peak glucose fall it causes in mg/dL. */
  dropMgDl: number;
  /** Time to its peak effect (rapid ~75 min; a mistaken large dose may act longer). */
  peakS: number;
}

/**
 * Meals on a daily pattern (breakfast, lunch, dinner with jitter) and the matching insulin boluses
 * with a per-patient mismatch: glucose = baseline + Σ meal responses − Σ insulin effects + drift.
 */
export function dailyMeals(
  rng: Rng,
  durationS: number,
  startHour: number,
  bolusRatio: number,
): { meals: Meal[]; insulin: InsulinDose[] } {
  const meals: Meal[] = [];
  const insulin: InsulinDose[] = [];
  const days = Math.ceil(durationS / 86_400) + 1;
  for (let d = -1; d < days; d++) {
    for (const [hour, size] of [
      [7.5, 60],
      [12.5, 70],
      [19, 80],
    ] as const) {
      const atS = (d * 24 + hour - startHour) * 3600 + rng.normal(0, 1800);
      const rise = Math.max(15, rng.normal(size, size * 0.3));
      meals.push({ atS, riseMgDl: rise });
      if (bolusRatio > 0)
        insulin.push({ atS: atS - 600, dropMgDl: rise * bolusRatio * rng.uniform(0.8, 1.2), peakS: 75 * 60 });
    }
  }
  return { meals, insulin };
}

export function glucoseAt(
  tS: number,
  base: number,
  meals: readonly Meal[],
  insulin: readonly InsulinDose[],
): number {
  let g = base;
  for (const m of meals) g += m.riseMgDl * pulse(tS - m.atS, 45 * 60);
  for (const i of insulin) g -= i.dropMgDl * pulse(tS - i.atS, i.peakS);
  return g;
}

/** The true state sampled every `stepS` seconds from the scenario start. */
export class Trajectory {
  readonly stepS: number;
  readonly samples: Vitals[];
  constructor(stepS: number, samples: Vitals[]) {
    this.stepS = stepS;
    this.samples = samples;
  }

  get durationS(): number {
    return (this.samples.length - 1) * this.stepS;
  }

  /** The state at `tS` seconds (linear interpolation of numbers, the earlier sample's codes). */
  at(tS: number): Vitals {
    const x = Math.max(0, Math.min(this.samples.length - 1, tS / this.stepS));
    const i = Math.floor(x);
    const a = this.samples[i] as Vitals;
    const b = this.samples[Math.min(i + 1, this.samples.length - 1)] as Vitals;
    const f = x - i;
    if (f === 0) return a;
    const out = { ...a };
    for (const k of NUMERIC_VITALS) out[k] = a[k] + (b[k] - a[k]) * f;
    return out;
  }
}

/** Runs `state(tS, dtS)` from 0 to durationS every stepS and keeps the samples. */
export function sampleTrajectory(
  durationS: number,
  stepS: number,
  state: (tS: number, dtS: number) => Vitals,
): Trajectory {
  const samples: Vitals[] = [];
  const n = Math.ceil(durationS / stepS);
  for (let i = 0; i <= n; i++) samples.push(clampVitals(state(i * stepS, stepS)));
  return new Trajectory(stepS, samples);
}

/** Keeps a true state physically possible (saturation ≤ 100 %, diastolic below systolic). */
export function clampVitals(v: Vitals): Vitals {
  return {
    ...v,
    heartRate: Math.max(25, v.heartRate),
    respiratoryRate: Math.max(4, v.respiratoryRate),
    spo2: Math.min(100, Math.max(50, v.spo2)),
    systolic: Math.max(50, v.systolic),
    diastolic: Math.max(25, Math.min(v.diastolic, v.systolic - 15)),
    glucose: Math.max(20, v.glucose),
    weight: Math.max(30, v.weight),
  };
}
