/**
 * The ground-truth sidecar (`FILE.truth.json` next to `--out FILE.ndjson`, or `--truth FILE` online):
 * per patient its scenario, program, devices, and the onset/critical instants computed from its
 * true trajectory (ground-truth.ts), plus device outages. Format documented in docs/simulator.md.
 */
import type { SimPatient } from './population.ts';

export interface TruthFile {
  format: 'vigil-sim-truth/1';
  seed: string;
  window: { start: string; end: string };
  patients: TruthPatient[];
}

export interface TruthPatient {
  key: string;
  patientId: string;
  scenario: string;
  program: string;
  deteriorating: boolean;
  scenarioStart: string;
  news2Scale: 1 | 2;
  processStart: string | null;
  onset: string | null;
  onsetCriterion: string | null;
  critical: string | null;
  criticalCriterion: string | null;
  crossings: Record<string, string | null>;
  devices: {
    id: string;
    model: string;
    kind: string;
    transport: string;
    outages: { from: string; to: string; cause: string }[];
    /** Clock error at the window start (device − true, s) and its drift (ppm). */
    clock: { skewSeconds: number; driftPpm: number };
    /** Labelled sensor artefacts (src/sim/devices/artefacts.ts): what the device read that was not the patient. */
    artefacts: { kind: string; from: string; to: string; flagged: boolean }[];
    stats: Record<string, number>;
  }[];
}

const iso = (ms: number) => new Date(ms).toISOString();

export function truthFile(
  seed: string,
  windowStartMs: number,
  windowEndMs: number,
  patients: readonly SimPatient[],
): TruthFile {
  return {
    format: 'vigil-sim-truth/1',
    seed,
    window: { start: iso(windowStartMs), end: iso(windowEndMs) },
    patients: patients.map((p) => {
      const at = (s: number | null) => (s === null ? null : iso(p.scenarioStartMs + s * 1000));
      return {
        key: p.key,
        patientId: p.id,
        scenario: p.scenario.name,
        program: p.program,
        deteriorating: p.scenario.deteriorating,
        scenarioStart: iso(p.scenarioStartMs),
        news2Scale: p.run.news2Scale,
        processStart: at(p.truth.processStartS),
        onset: at(p.truth.onsetS),
        onsetCriterion: p.truth.onsetCriterion,
        critical: at(p.truth.criticalS),
        criticalCriterion: p.truth.criticalCriterion,
        crossings: Object.fromEntries(Object.entries(p.truth.crossings).map(([k, v]) => [k, at(v)])),
        devices: p.devices.map((d) => ({
          id: d.id,
          model: d.model.name,
          kind: d.model.kind,
          transport: d.transport,
          outages: d.outages
            .filter((o) => o.fromMs < windowEndMs)
            .map((o) => ({ from: iso(o.fromMs), to: iso(o.toMs), cause: o.cause })),
          clock: {
            skewSeconds: Math.round(d.clockSkewMs / 100) / 10,
            driftPpm: Math.round(d.clockDriftPpm * 10) / 10,
          },
          artefacts: d.artefacts.log
            .filter((a) => a.fromMs < windowEndMs)
            .map((a) => ({ kind: a.kind, from: iso(a.fromMs), to: iso(a.toMs), flagged: a.flagged })),
          stats: { ...d.stats },
        })),
      };
    }),
  };
}
