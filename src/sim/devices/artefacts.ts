/**
 * The artefacts real devices produce, as labelled episodes: what a device reads that is not the
 * patient. Two shapes:
 *
 * - **Episodes** on continuous monitors and CGMs (motion, probe off, talking, cold fingers, CGM
 *   compression lows): a Poisson process per kind within its hours of the day, each episode lasting
 *   a drawn time; every reading inside it is distorted (measure.ts).
 * - **Spot artefacts** on home devices (white-coat reading, a moving arm, clothes on the scale, a
 *   temperature taken after exercise, cold fingers on a spot oximeter): a per-reading chance.
 *
 * Every episode is kept (`ArtefactLog`) and written to the ground-truth file, so a bench can tell an
 * alert raised by an artefact from one raised by the patient. Whether the device flags it is drawn
 * per episode (as in life, some artefacts are flagged and some are not).
 *
 * Sources of the shapes: the issue-12 field observations (ECG muscle noise reading 145–175 during
 * motion while the oximeter flags motion; impedance respiration over 24 for ~30 s while talking; an
 * unflagged probe-off drops SpO2 10+ points in seconds while the pleth pulse disagrees with the ECG),
 * the PhysioNet false alarms in test/corpora/physio (a103l, v102s: muscle noise on the ECG during
 * motion), and clinical-reference §9 for compression lows ("a steep, sudden drop from an otherwise
 * steady trace, with fast recovery", at night). The RATES, durations and amplitudes are simulator
 * assumptions (no base rate for these artefacts is in the clinical reference or the corpora);
 * each is stated beside its value below.
 */

import type { Rng } from '../rng.ts';
import type { DeviceModelName } from '../scenario.ts';

export type ArtefactKind =
  | 'motion'
  | 'probe-off'
  | 'talking'
  | 'low-perfusion'
  | 'compression-low'
  | 'white-coat'
  | 'body-movement'
  | 'clothes-on-scale'
  | 'exercise-fever';

/** One labelled artefact: [fromMs, toMs] of true time (equal for a spot reading). */
export interface ArtefactEpisode {
  kind: ArtefactKind;
  fromMs: number;
  toMs: number;
  /** The device marked the affected readings (motion-artifact, sensor-contact-lost, low-perfusion, body-movement). */
  flagged: boolean;
  /** Shape parameters of the episode (amplitudes), drawn once per episode. */
  depth: number;
}

export interface EpisodeSpec {
  kind: ArtefactKind;
  /** Mean episodes per hour inside `hours`. */
  perHour: number;
  /** Hours of the day [from, to) (UTC = device-local in the simulator); wraps past midnight. */
  hours: [number, number];
  durationS: [number, number];
  /** Probability that the device flags the episode. */
  flaggedP: number;
  /** Range of the episode's depth (kind-specific: SpO2 points, glucose fraction, …). */
  depth: [number, number];
}

export interface SpotSpec {
  kind: ArtefactKind;
  /** Chance per reading. */
  p: number;
  flaggedP: number;
  depth: [number, number];
}

export interface ArtefactProfile {
  episodes: readonly EpisodeSpec[];
  spot: readonly SpotSpec[];
}

/**
 * Per device model. Rates are simulator ASSUMPTIONS chosen to give a plausible ward or home day
 * (about twenty motion episodes and two dozen conversations a day on a bedside monitor, a few probe-offs,
 * a compression low every week or so of nights, a few per cent of home spot readings disturbed).
 */
export const ARTEFACT_PROFILES: Readonly<Record<DeviceModelName, ArtefactProfile>> = {
  'bedside-monitor': {
    episodes: [
      // Awake: turning, eating, washing. Depth = SpO2 points the pleth loses. Flagged 60 % (assumption).
      { kind: 'motion', perHour: 1.2, hours: [7, 23], durationS: [10, 60], flaggedP: 0.6, depth: [4, 15] },
      { kind: 'motion', perHour: 0.2, hours: [23, 7], durationS: [10, 40], flaggedP: 0.6, depth: [4, 12] },
      // The probe slips or is taken off. Unflagged, SpO2 falls by `depth` within ~3 s.
      {
        kind: 'probe-off',
        perHour: 0.2,
        hours: [0, 24],
        durationS: [15, 180],
        flaggedP: 0.7,
        depth: [10, 30],
      },
      // Talking on impedance respiration: RR reads `depth` /min for ~30 s (issue 12 observation).
      { kind: 'talking', perHour: 2, hours: [8, 21], durationS: [20, 45], flaggedP: 0, depth: [26, 36] },
      // Cold fingers / vasoconstriction: SpO2 reads `depth` points low for minutes.
      {
        kind: 'low-perfusion',
        perHour: 0.05,
        hours: [0, 24],
        durationS: [300, 1200],
        flaggedP: 0.7,
        depth: [3, 7],
      },
    ],
    spot: [],
  },
  cgm: {
    episodes: [
      // Lying on the sensor at night (§9): ~1 in 7 nights over a 6-hour window (assumption). Depth =
      // the fraction of the true value read at the bottom (0.55–0.75 → a 120 reads 66–90).
      {
        kind: 'compression-low',
        perHour: 0.025,
        hours: [23, 5],
        durationS: [30 * 60, 75 * 60],
        flaggedP: 0,
        depth: [0.55, 0.75],
      },
    ],
    spot: [],
  },
  'bp-cuff': {
    episodes: [],
    spot: [
      // Arm moved during inflation: +8–20 mmHg systolic, flagged (2A35 status bit 0). 2 % (assumption).
      { kind: 'body-movement', p: 0.02, flaggedP: 1, depth: [8, 20] },
      // Not rested / white-coat effect at home: +15–35 mmHg systolic, unflagged. 4 % (assumption).
      { kind: 'white-coat', p: 0.04, flaggedP: 0, depth: [15, 35] },
    ],
  },
  scale: {
    episodes: [],
    // Clothes and shoes on: +0.8–2.0 kg, unflagged. 4 % of weighings (assumption).
    spot: [{ kind: 'clothes-on-scale', p: 0.04, flaggedP: 0, depth: [0.8, 2.0] }],
  },
  thermometer: {
    episodes: [],
    // Taken after exercise or a hot bath: +0.7–1.4 °C once. 2 % (assumption).
    spot: [{ kind: 'exercise-fever', p: 0.02, flaggedP: 0, depth: [0.7, 1.4] }],
  },
  'pulse-oximeter': {
    episodes: [],
    spot: [
      // Hand moving during a spot check: SpO2 4–15 low, pulse ±20–40; flagged 60 % (assumption).
      { kind: 'motion', p: 0.01, flaggedP: 0.6, depth: [4, 15] },
      // Cold fingers: SpO2 4–10 low (a 96 reads 86–92), flagged low-perfusion 40 % (assumption).
      { kind: 'low-perfusion', p: 0.04, flaggedP: 0.4, depth: [4, 10] },
    ],
  },
  'hr-wearable': { episodes: [], spot: [] },
};

const HOUR_MS = 3_600_000;

function inHours(ms: number, [from, to]: [number, number]): boolean {
  const h = (((ms / HOUR_MS) % 24) + 24) % 24;
  return from <= to ? h >= from && h < to : h >= from || h < to;
}

/** Lazily generated episodes of one device, queried in non-decreasing time. */
export class ArtefactTrack {
  readonly log: ArtefactEpisode[] = [];
  readonly #rng: Rng;
  readonly #specs: readonly EpisodeSpec[];
  readonly #spots: readonly SpotSpec[];
  readonly #next: number[];
  #active: ArtefactEpisode[] = [];

  constructor(profile: ArtefactProfile, rng: Rng, startMs: number, enabled: boolean) {
    this.#rng = rng;
    this.#specs = enabled ? profile.episodes : [];
    this.#spots = enabled ? profile.spot : [];
    this.#next = this.#specs.map((s) => this.#draw(s, startMs));
  }

  /** Next candidate start: a Poisson process at `perHour`, thinned to the spec's hours. */
  #draw(s: EpisodeSpec, fromMs: number): number {
    let t = fromMs;
    const span = s.hours[0] <= s.hours[1] ? s.hours[1] - s.hours[0] : 24 - s.hours[0] + s.hours[1];
    // Rate over the whole day so that thinning to `hours` leaves `perHour` inside them.
    const meanMs = (HOUR_MS / s.perHour) * (span / 24);
    for (let k = 0; k < 10_000; k++) {
      t += this.#rng.exponential(meanMs);
      if (inHours(t, s.hours)) return t;
    }
    return Number.POSITIVE_INFINITY;
  }

  /** The episodes active at `t` (starting any that began by then). */
  at(t: number): readonly ArtefactEpisode[] {
    this.#specs.forEach((s, i) => {
      while ((this.#next[i] as number) <= t) {
        const from = this.#next[i] as number;
        const e: ArtefactEpisode = {
          kind: s.kind,
          fromMs: from,
          toMs: from + this.#rng.uniform(s.durationS[0], s.durationS[1]) * 1000,
          flagged: this.#rng.chance(s.flaggedP),
          depth: this.#rng.uniform(s.depth[0], s.depth[1]),
        };
        this.log.push(e);
        this.#active.push(e);
        this.#next[i] = this.#draw(s, e.toMs);
      }
    });
    this.#active = this.#active.filter((e) => e.toMs >= t);
    return this.#active.filter((e) => e.fromMs <= t);
  }

  /** Spot artefacts of one reading at `t` (at most one; recorded when drawn). */
  spot(t: number): ArtefactEpisode | null {
    for (const s of this.#spots) {
      if (!this.#rng.chance(s.p)) continue;
      const e: ArtefactEpisode = {
        kind: s.kind,
        fromMs: t,
        toMs: t,
        flagged: this.#rng.chance(s.flaggedP),
        depth: this.#rng.uniform(s.depth[0], s.depth[1]),
      };
      this.log.push(e);
      return e;
    }
    return null;
  }
}

/**
 * The CGM compression-low shape: the fraction of the true value read at `t` during an episode — a
 * fall over the first 20 % of it (10–15 min: faster than physiology), a plateau, and a recovery over
 * the last 15 % (pressure relieved).
 */
export function compressionFactor(e: ArtefactEpisode, t: number): number {
  const len = e.toMs - e.fromMs;
  if (len <= 0 || t < e.fromMs || t > e.toMs) return 1;
  const x = (t - e.fromMs) / len;
  const dip = 1 - e.depth;
  if (x < 0.2) return 1 - dip * (x / 0.2);
  if (x > 0.85) return 1 - dip * ((1 - x) / 0.15);
  return e.depth;
}
