/**
 * What a device reads from the true state: measurement noise, quantization and the artifacts real
 * sensors produce (motion on an oximeter, a moving arm on a cuff, a compression low on a CGM).
 * Some artifacts are flagged by the device, some are not — as in life. Noise levels are simulator
 * assumptions (roughly device accuracy specifications: cuff ±5 mmHg, oximeter ±2 %, CGM ~10 % MARD).
 */
import type { Vitals } from '../physiology.ts';
import type { Rng } from '../rng.ts';
import type { Measure } from './catalog.ts';

export interface Measured {
  bp?: { systolic: number; diastolic: number; mean: number };
  heartRate?: number;
  spo2?: number;
  respiratoryRate?: number;
  temperature?: number;
  weight?: number;
  glucose?: number;
  flags: string[];
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
}

export function measure(measures: readonly Measure[], atMs: number, ctx: MeasureContext): Measured {
  const { rng } = ctx;
  const v = ctx.truthAt(atMs);
  const out: Measured = { flags: [] };
  const flag = (f: string) => {
    if (!out.flags.includes(f)) out.flags.push(f);
  };
  // One motion episode affects everything an oximeter/monitor reads at that moment.
  const motion = rng.chance(ctx.continuous ? 0.003 : 0.01);
  const motionFlagged = motion && rng.chance(0.6);
  if (motionFlagged) flag('motion-artifact');
  for (const m of measures) {
    switch (m) {
      case 'bp': {
        const moved = rng.chance(0.02);
        const systolic = Math.round(
          clamp(v.systolic + rng.normal(0, 5) + (moved ? rng.uniform(8, 20) : 0), 40, 290),
        );
        const diastolic = Math.round(clamp(v.diastolic + rng.normal(0, 4), 20, Math.min(240, systolic - 10)));
        out.bp = { systolic, diastolic, mean: Math.round(diastolic + (systolic - diastolic) / 3) };
        if (moved) {
          flag('body-movement');
          out.bpStatus = 0x01;
        }
        break;
      }
      case 'heart-rate':
        out.heartRate = Math.round(
          clamp(
            v.heartRate + rng.normal(0, 2) + (motion ? rng.pick([-1, 1]) * rng.uniform(20, 40) : 0),
            20,
            300,
          ),
        );
        break;
      case 'spo2':
        out.spo2 = Math.round(
          clamp(v.spo2 + rng.normal(0, 0.8) - (motion ? rng.uniform(4, 15) : 0), 50, 100),
        );
        break;
      case 'respiratory-rate':
        out.respiratoryRate = Math.round(clamp(v.respiratoryRate + rng.normal(0, 1), 2, 80));
        break;
      case 'temperature':
        out.temperature = Math.round(clamp(v.temperature + rng.normal(0, 0.1), 25, 45) * 10) / 10;
        break;
      case 'weight':
        out.weight = Math.round(clamp(v.weight + rng.normal(0, 0.15), 20, 400) * 10) / 10;
        break;
      case 'cgm-glucose': {
        const lagged = ctx.truthAt(atMs - 10 * 60_000).glucose;
        // A compression low (lying on the sensor) reads falsely low, unflagged.
        const compression = rng.chance(0.002) ? rng.uniform(0.55, 0.75) : 1;
        const g = lagged * (1 + ctx.bias + rng.normal(0, 0.05)) * compression;
        if (g < 40) flag('result-too-low');
        if (g > 400) flag('result-too-high');
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
