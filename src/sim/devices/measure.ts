/**
 * What a device reads from the true state: measurement noise, quantization and the artefacts real
 * sensors produce (artefacts.ts: motion on an oximeter and muscle noise on the ECG, probe off,
 * talking on impedance respiration, cold fingers, a moving arm or an unrested patient on a cuff,
 * clothes on the scale, a temperature after exercise, a compression low on a CGM). Some artefacts
 * are flagged by the device, some are not — as in life. Noise levels are simulator assumptions
 * (roughly device accuracy specifications: cuff ±5 mmHg, oximeter ±2 %, CGM ~10 % MARD).
 */
import type { Vitals } from '../physiology.ts';
import type { Rng } from '../rng.ts';
import { type ArtefactEpisode, type ArtefactKind, compressionFactor } from './artefacts.ts';
import type { Measure } from './catalog.ts';

export interface Measured {
  bp?: { systolic: number; diastolic: number; mean: number };
  heartRate?: number;
  /** ECG heart rate (bedside monitor; MDC_ECG_HEART_RATE). */
  ecgHeartRate?: number;
  /** Pulse rate from the pleth (bedside monitor; MDC_PULS_OXIM_PULS_RATE). */
  plethPulse?: number;
  spo2?: number;
  respiratoryRate?: number;
  temperature?: number;
  weight?: number;
  glucose?: number;
  /** Flags on every reading of the event. */
  flags: string[];
  /** Flags on the pleth-derived readings only (SpO2, pleth pulse) of a multi-sensor monitor. */
  plethFlags: string[];
  /** 2A35 measurement status bits matching the flags (b0 body movement). */
  bpStatus?: number;
}

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

export interface MeasureContext {
  rng: Rng;
  /** The true state at an instant (ms): CGMs read the past (interstitial lag). */
  truthAt(ms: number): Vitals;
  /** Fixed calibration bias of this sensor (fraction, CGM). */
  bias: number;
  continuous: boolean;
  /** Artefact episodes active at this instant (continuous devices, CGM). */
  episodes?: readonly ArtefactEpisode[];
  /** The spot artefact of this reading, if any (home devices). */
  spot?: ArtefactEpisode | null;
}

export function measure(measures: readonly Measure[], atMs: number, ctx: MeasureContext): Measured {
  const { rng } = ctx;
  const v = ctx.truthAt(atMs);
  const out: Measured = { flags: [], plethFlags: [] };
  const add = (list: string[], f: string) => {
    if (!list.includes(f)) list.push(f);
  };
  const episode = (k: ArtefactKind) => ctx.episodes?.find((e) => e.kind === k);
  const spot = (k: ArtefactKind) => (ctx.spot?.kind === k ? ctx.spot : undefined);
  // Continuous monitor episodes; the pleth ones flag only the pleth-derived readings.
  const motionEp = episode('motion');
  const probeOff = episode('probe-off');
  const talking = episode('talking');
  const perfusionEp = episode('low-perfusion');
  if (motionEp?.flagged) add(out.plethFlags, 'motion-artifact');
  if (probeOff?.flagged) add(out.plethFlags, 'sensor-contact-lost');
  if (perfusionEp?.flagged) add(out.plethFlags, 'low-perfusion');
  // A spot oximeter: one sensor, so its flags go on every reading of the check.
  const spotMotion = spot('motion');
  const coldFingers = spot('low-perfusion');
  if (spotMotion?.flagged) add(out.flags, 'motion-artifact');
  if (coldFingers?.flagged) add(out.flags, 'low-perfusion');
  const motion = motionEp ?? spotMotion;
  // SpO2 points lost to the artefacts of this instant.
  let spo2Loss = (motion?.depth ?? 0) + (perfusionEp?.depth ?? 0) + (coldFingers?.depth ?? 0);
  if (probeOff) {
    // Unflagged: the value slides down within ~3 s of the probe slipping; flagged: any value.
    const k = Math.min(1, (atMs - probeOff.fromMs) / 3000);
    spo2Loss += probeOff.depth * k;
  }
  for (const m of measures) {
    switch (m) {
      case 'bp': {
        const moved = spot('body-movement');
        const unrested = spot('white-coat');
        const rise = (moved?.depth ?? 0) + (unrested?.depth ?? 0);
        const systolic = Math.round(clamp(v.systolic + rng.normal(0, 5) + rise, 40, 290));
        const diastolic = Math.round(
          clamp(
            v.diastolic + rng.normal(0, 4) + (unrested ? unrested.depth * 0.4 : 0),
            20,
            Math.min(240, systolic - 10),
          ),
        );
        out.bp = { systolic, diastolic, mean: Math.round(diastolic + (systolic - diastolic) / 3) };
        if (moved) {
          add(out.flags, 'body-movement');
          out.bpStatus = 0x01;
        }
        break;
      }
      case 'heart-rate':
        out.heartRate = Math.round(
          clamp(
            v.heartRate + rng.normal(0, 2) + (spotMotion ? rng.pick([-1, 1]) * rng.uniform(20, 40) : 0),
            20,
            300,
          ),
        );
        break;
      case 'ecg-heart-rate':
        // Muscle noise during motion reads as a fast rate on the ECG (issue 12: 145–175 /min).
        out.ecgHeartRate = Math.round(
          motionEp && rng.chance(0.7)
            ? rng.uniform(145, 175)
            : clamp(v.heartRate + rng.normal(0, 1.5), 20, 300),
        );
        break;
      case 'pleth-pulse': {
        let p = v.heartRate + rng.normal(0, 2);
        if (motionEp) p += rng.pick([-1, 1]) * rng.uniform(20, 40);
        // A loose probe: the pleth counts noise, disagreeing with the ECG.
        if (probeOff) p = rng.uniform(25, 60);
        out.plethPulse = Math.round(clamp(p, 20, 300));
        break;
      }
      case 'spo2':
        out.spo2 = Math.round(clamp(v.spo2 + rng.normal(0, 0.8) - spo2Loss, 50, 100));
        break;
      case 'respiratory-rate':
        out.respiratoryRate = Math.round(
          clamp(talking ? talking.depth + rng.normal(0, 1.5) : v.respiratoryRate + rng.normal(0, 1), 2, 80),
        );
        break;
      case 'temperature': {
        const after = spot('exercise-fever')?.depth ?? 0;
        out.temperature = Math.round(clamp(v.temperature + after + rng.normal(0, 0.1), 25, 45) * 10) / 10;
        break;
      }
      case 'weight': {
        const clothes = spot('clothes-on-scale')?.depth ?? 0;
        out.weight = Math.round(clamp(v.weight + clothes + rng.normal(0, 0.15), 20, 400) * 10) / 10;
        break;
      }
      case 'cgm-glucose': {
        const lagged = ctx.truthAt(atMs - 10 * 60_000).glucose;
        // A compression low (lying on the sensor) reads falsely low, unflagged (artefacts.ts shape).
        const c = episode('compression-low');
        const compression = c ? compressionFactor(c, atMs) : 1;
        const g = lagged * (1 + ctx.bias + rng.normal(0, 0.05)) * compression;
        if (g < 40) add(out.flags, 'result-too-low');
        if (g > 400) add(out.flags, 'result-too-high');
        out.glucose = Math.round(clamp(g, 40, 400));
        break;
      }
      default: {
        const never: never = m;
        throw new Error(`unknown measure ${never}`);
      }
    }
  }
  return out;
}
