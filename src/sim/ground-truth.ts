/**
 * Ground truth of a generated patient, computed by scanning its true trajectory against the
 * scenario's criteria: the onset time (first time the onset criterion holds), the critical time
 * (first time a critical criterion holds) and the first crossing of every criterion. Times are
 * seconds from the scenario start here; the runner writes them as ISO instants.
 */
import type { ScenarioRun } from './scenario.ts';

export interface GroundTruth {
  /** The drawn start of the disease process (s), null for a stable patient. */
  processStartS: number | null;
  /** First time the onset criterion holds (s), null if never. */
  onsetS: number | null;
  onsetCriterion: string | null;
  /** First time any critical criterion holds (s), null if never. */
  criticalS: number | null;
  criticalCriterion: string | null;
  /** First crossing of every criterion (s), null if never. */
  crossings: Record<string, number | null>;
}

export function computeGroundTruth(run: ScenarioRun): GroundTruth {
  const { trajectory, criteria } = run;
  const crossings: Record<string, number | null> = {};
  for (const c of criteria) crossings[c.name] = null;
  trajectory.samples.forEach((v, i) => {
    const tS = i * trajectory.stepS;
    for (const c of criteria)
      if (crossings[c.name] === null && c.test(v, tS, trajectory)) crossings[c.name] = tS;
  });
  const first = (role: 'onset' | 'critical') => {
    let best: { name: string; tS: number } | null = null;
    for (const c of criteria) {
      const tS = crossings[c.name];
      if (c.role === role && tS !== null && tS !== undefined && (best === null || tS < best.tS))
        best = { name: c.name, tS };
    }
    return best;
  };
  const onset = first('onset');
  const critical = first('critical');
  return {
    processStartS: run.processStartS,
    onsetS: onset?.tS ?? null,
    onsetCriterion: onset?.name ?? null,
    criticalS: critical?.tS ?? null,
    criticalCriterion: critical?.name ?? null,
    crossings,
  };
}
