/**
 * A run's virtual patients: each gets a scenario, a seeded trajectory, its ground truth and its
 * devices. Pure and deterministic: same options → same patients, ids, readings and faults.
 *
 * Time: the run covers the simulated window [windowStartMs, windowStartMs + durationS]. A patient's
 * scenario clock may start before the window (align 'critical': a deteriorating patient's critical
 * time is placed ~80 % into the window, so a short run still shows the interesting part).
 */
import { VigilFhir } from '../core/fhir-namespace.ts';
import { DEVICE_MODELS, type DeviceModel, type Schedule } from './devices/catalog.ts';
import { type DeviceBehaviour, DeviceSim } from './devices/device.ts';
import { computeGroundTruth, type GroundTruth } from './ground-truth.ts';
import { Rng } from './rng.ts';
import type { Program, Scenario, ScenarioRun } from './scenario.ts';
import { getScenario, SCENARIOS } from './scenarios/index.ts';

export interface PopulationOptions {
  seed: string;
  patients: number;
  /** A scenario name, a comma-separated list, or 'mix' (all scenarios in turn). */
  scenario: string;
  windowStartMs: number;
  durationS: number;
  align: 'start' | 'critical';
  behaviour: DeviceBehaviour;
}

export interface SimPatient {
  index: number;
  /** Stable short key within the run: p001, p002, … */
  key: string;
  /** The patient's id as the run knows it (a seeded UUID offline; the server's id online). */
  id: string;
  /** Seeded business identifier (system SIM_IDENTIFIER_SYSTEM), to find the patient again on a rerun. */
  identifier: string;
  scenario: Scenario;
  program: Program;
  run: ScenarioRun;
  truth: GroundTruth;
  /** Epoch ms of scenario time 0 (≤ the window start). */
  scenarioStartMs: number;
  devices: DeviceSim[];
  /** Synthetic demographics (no real person). */
  name: { given: string; family: string };
  gender: 'female' | 'male';
  birthDate: string;
}

export const SIM_IDENTIFIER_SYSTEM = VigilFhir.simulatedPatient;

const GIVEN_F = [
  'Ada',
  'Grace',
  'Mary',
  'Rosa',
  'Lena',
  'Ines',
  'Maya',
  'Nora',
  'Ruth',
  'Sara',
  'Eva',
  'Iris',
];
const GIVEN_M = ['Alan', 'Omar', 'Liam', 'Hugo', 'Ivan', 'Jon', 'Karl', 'Leo', 'Noah', 'Raj', 'Tom', 'Yusuf'];
const FAMILY = [
  'Lovelace',
  'Hopper',
  'Turing',
  'Noether',
  'Curie',
  'Franklin',
  'Meitner',
  'Ramanujan',
  'Hodgkin',
  'Banneker',
  'Okafor',
  'Tanaka',
  'Silva',
  'Novak',
  'Haddad',
];

export function scenarioList(spec: string): Scenario[] {
  const names =
    spec === 'mix'
      ? Object.keys(SCENARIOS)
      : spec
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
  return names.map((n) => {
    const s = getScenario(n);
    if (!s) throw new Error(`unknown scenario "${n}" (known: ${Object.keys(SCENARIOS).join(', ')}, mix)`);
    return s;
  });
}

/** A device-id-safe tag of the seed: devices of different seeds never collide. */
export function seedTag(seed: string): string {
  const clean = seed.replace(/[^A-Za-z0-9]/g, '').slice(0, 16);
  return clean || 'seed';
}

/** The model with the program's cadence on its first channel (post-surgical vitals 08/14/20, …). */
function withCadence(model: DeviceModel, schedule: Schedule | undefined): DeviceModel {
  const [first, ...rest] = model.channels;
  if (schedule === undefined || first === undefined) return model;
  return { ...model, channels: [{ ...first, schedule }, ...rest] };
}

export function buildPopulation(o: PopulationOptions): SimPatient[] {
  const scenarios = scenarioList(o.scenario);
  const root = new Rng(o.seed);
  const out: SimPatient[] = [];
  for (let i = 0; i < o.patients; i++) {
    const scenario = scenarios[i % scenarios.length] as Scenario;
    out.push(buildPatient(root.fork(`patient-${i}`), i, scenario, o));
  }
  return out;
}

function buildPatient(rng: Rng, index: number, scenario: Scenario, o: PopulationOptions): SimPatient {
  const key = `p${String(index + 1).padStart(3, '0')}`;
  const windowS = o.durationS;
  const generate = (offsetS: number) => {
    const startMs = o.windowStartMs - offsetS * 1000;
    const run = scenario.generate(rng.fork('scenario'), {
      durationS: Math.max(scenario.durationS, offsetS + windowS),
      startMs,
    });
    return { run, truth: computeGroundTruth(run), startMs, offsetS };
  };
  let g = generate(0);
  if (o.align === 'critical') {
    // Shift the scenario so its critical time lands ~80 % into the window; re-generate (the hour of
    // day moves the rhythm) and keep the truth of what was actually generated.
    for (let k = 0; k < 3; k++) {
      const inWindow = g.truth.criticalS === null ? null : g.truth.criticalS - g.offsetS;
      if (inWindow === null || (inWindow >= 0.1 * windowS && inWindow <= 0.95 * windowS)) break;
      const offsetS = Math.max(0, Math.round(g.offsetS + inWindow - 0.8 * windowS));
      if (offsetS === g.offsetS) break;
      g = generate(offsetS);
    }
  }
  const who = rng.fork('demographics');
  const gender = who.chance(0.5) ? 'female' : 'male';
  const age = who.int(35, 88);
  const birth = new Date(o.windowStartMs - age * 365.25 * 86_400_000 - who.uniform(0, 364) * 86_400_000);
  const id = rng.fork('id').uuid();
  const tag = seedTag(o.seed);
  const extra = new Map(
    (g.run.extraMeasurements ?? []).map((e) => [e.model, e.atS.map((s) => g.startMs + s * 1000)]),
  );
  const trajectory = g.run.trajectory;
  const devices = scenario.devices.map(
    (modelName) =>
      new DeviceSim({
        id: `sim-${tag}-${key}-${modelName}`,
        model: withCadence(DEVICE_MODELS[modelName], scenario.cadence?.[modelName]),
        rng: rng.fork(`device-${modelName}`),
        truthAt: (ms) => trajectory.at((ms - g.startMs) / 1000),
        startMs: o.windowStartMs,
        behaviour: o.behaviour,
        extraAtMs: extra.get(modelName) ?? [],
      }),
  );
  return {
    index,
    key,
    id,
    identifier: `${tag}-${key}`,
    scenario,
    program: scenario.program,
    run: g.run,
    truth: g.truth,
    scenarioStartMs: g.startMs,
    devices,
    name: { given: who.pick(gender === 'female' ? GIVEN_F : GIVEN_M), family: who.pick(FAMILY) },
    gender,
    birthDate: birth.toISOString().slice(0, 10),
  };
}
