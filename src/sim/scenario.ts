/**
 * What a scenario is: a kind of patient (program, devices) and a generator of that patient's true
 * trajectory plus the criteria its ground truth is computed from (ground-truth.ts). One file per
 * scenario under scenarios/, listed in scenarios/index.ts.
 */
import type { Schedule } from './devices/catalog.ts';
import type { Trajectory, Vitals } from './physiology.ts';
import type { Rng } from './rng.ts';

/** Monitoring programs (their rule sets live in detect/programs/<name>.json). */
export type Program =
  | 'hypertension'
  | 'heart-failure'
  | 'diabetes-cgm'
  | 'copd'
  | 'post-surgical'
  | 'inpatient-continuous';

/** Device models the simulator knows (devices/catalog.ts). */
export type DeviceModelName =
  | 'bp-cuff'
  | 'scale'
  | 'cgm'
  | 'pulse-oximeter'
  | 'thermometer'
  | 'bedside-monitor'
  | 'hr-wearable';

export interface Criterion {
  /** Stable name used in the ground-truth file, e.g. `news2>=7`, `glucose<54`. */
  name: string;
  role: 'onset' | 'critical' | 'info';
  test(v: Vitals, tS: number, trajectory: Trajectory): boolean;
}

export interface ScenarioRun {
  trajectory: Trajectory;
  /** When the disease process begins (s from the scenario start; a drawn parameter), null if none. */
  processStartS: number | null;
  criteria: Criterion[];
  /** NEWS2 SpO2 scale the patient is prescribed (2 = hypercapnic risk, target 88–92 %). */
  news2Scale: 1 | 2;
  /** Extra measurements a patient takes on top of the device schedule (feeling unwell). */
  extraMeasurements?: { model: DeviceModelName; atS: number[] }[];
}

export interface ScenarioOptions {
  /** Simulated length in seconds. */
  durationS: number;
  /** Epoch ms of the scenario start (its hour of day drives the circadian rhythm and meals). */
  startMs: number;
}

export interface Scenario {
  name: string;
  title: string;
  program: Program;
  /** True when the patient is meant to deteriorate (a detector should alert); false = negative control. */
  deteriorating: boolean;
  /** Default simulated length in seconds. */
  durationS: number;
  devices: readonly DeviceModelName[];
  /** The program's cadence for a device's first channel, when it differs from the model's default. */
  cadence?: Partial<Record<DeviceModelName, Schedule>>;
  generate(rng: Rng, opts: ScenarioOptions): ScenarioRun;
}
