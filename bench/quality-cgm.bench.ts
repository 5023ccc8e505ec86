import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Reading } from '../src/core/reading.ts';
import { createEngine } from '../src/detect/engine.ts';
import { naiveForecast } from '../src/detect/glucose-predictor.ts';
import { validateProgramConfig } from '../src/detect/program-config.ts';
import diabetesCgm from '../src/detect/programs/diabetes-cgm.json' with { type: 'json' };
import { type BenchResult, fmt } from './harness.ts';

/**
 * Predicted-low quality on real CGM traces (iglu corpus, read in place from test/corpora).
 * Runs the real engine (glucose rule, program defaults) and a naive straight-line baseline over the
 * same traces and scores both with the same definitions (see `method` below).
 */
const MIN = 60_000;
const CORPUS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../test/corpora/cgm/iglu');
const FILES = [
  { file: 'Tsalikian2005_DirecNet_processed.csv', set: 'DirecNet (50 children, T1D)', tune: true },
  { file: 'Dubosson2018_D1NAMO_processed.csv', set: 'D1NAMO (9 adults, T1D)', tune: false },
  // example_data_1_subject_T2D_DexcomG4.csv repeats "Subject 1" of this file, so it is left out.
  { file: 'ExampleData5Subjects_T2D_DexcomG4.csv', set: 'Dexcom G4 (5 adults, T2D)', tune: false },
];

export interface Trace {
  id: string;
  tune: boolean;
  points: Array<[number, number]>;
}

export async function loadTraces(): Promise<Trace[]> {
  const traces: Trace[] = [];
  for (const f of FILES) {
    const text = await readFile(path.join(CORPUS, f.file), 'utf8');
    const byId = new Map<string, Array<[number, number]>>();
    for (const line of text.split('\n').slice(1)) {
      const [rawId, rawTime, rawGl] = line.split(',');
      if (rawId === undefined || rawTime === undefined || rawGl === undefined) continue;
      // Local time without zone: treated as UTC (only differences matter here).
      const t = Date.parse(`${rawTime.replaceAll('"', '').replace(' ', 'T')}Z`);
      const g = Number(rawGl);
      if (!Number.isFinite(t) || !Number.isFinite(g)) continue;
      const id = `${f.file}:${rawId.replaceAll('"', '')}`;
      const pts = byId.get(id) ?? [];
      if (pts.length === 0) byId.set(id, pts);
      pts.push([t, g]);
    }
    for (const [id, points] of byId) {
      points.sort((a, b) => a[0] - b[0]);
      traces.push({ id, tune: f.tune, points });
    }
  }
  return traces;
}

type Interval = [number, number];

/** The glucose rule as the diabetes-cgm program configures it. */
const GLUCOSE_RULE = diabetesCgm.rules[0] as Record<string, unknown>;

/** The engine's predicted-low warnings for one trace, as open intervals. */
export function engineWarnings(trace: Trace, overrides: Record<string, unknown> = {}): Interval[] {
  const program = validateProgramConfig({
    name: 'cgm-bench',
    rules: [{ ...GLUCOSE_RULE, ...overrides }],
  });
  const engine = createEngine({ programs: [program], patients: { p: { programs: ['cgm-bench'] } } });
  const out: Interval[] = [];
  let open: number | null = null;
  let i = 0;
  for (const [t, g] of trace.points) {
    const r: Reading = {
      id: `r${i++}`,
      deviceId: 'cgm',
      patientId: 'p',
      code: '99504-3',
      codings: [],
      category: 'laboratory',
      value: g,
      unit: 'mg/dL',
      components: [],
      effective: new Date(t).toISOString(),
      received: new Date(t).toISOString(),
      flags: [],
      idempotencyKey: `k${i}`,
      transport: 'replay',
      profile: 'iglu-csv',
    };
    // As replay does: advance event time first, so stale warnings close during silences.
    for (const d of [...engine.tick(t).detections, ...engine.onReading(r).detections]) {
      if (d.conditionKey !== 'glucose:predicted-low') continue;
      const at = Date.parse(d.at);
      if (d.state === 'firing' && open === null) open = at;
      if (d.state === 'cleared' && open !== null) {
        out.push([open, at]);
        open = null;
      }
    }
  }
  const last = trace.points[trace.points.length - 1];
  if (open !== null && last !== undefined) out.push([open, last[0]]);
  return out;
}

/** Naive baseline: straight line over the last 15 min, 20 min ahead, warn while it is < 55. */
function naiveWarnings(trace: Trace): Interval[] {
  const out: Interval[] = [];
  let open: number | null = null;
  const hist: Array<[number, number]> = [];
  for (const [t, g] of trace.points) {
    const prev = hist[hist.length - 1];
    if (prev !== undefined && t - prev[0] > 15 * MIN) {
      if (open !== null) out.push([open, prev[0]]);
      open = null;
      hist.length = 0;
    }
    hist.push([t, g]);
    if (hist.length > 8) hist.shift();
    const f = naiveForecast(hist, 20, 15);
    const warn = f !== null && g >= 54 && f < 55;
    if (warn && open === null) open = t;
    if (!warn && open !== null) {
      out.push([open, t]);
      open = null;
    }
  }
  const last = trace.points[trace.points.length - 1];
  if (open !== null && last !== undefined) out.push([open, last[0]]);
  return out;
}

export interface Score {
  traces: number;
  spanDays: number;
  monitoredDays: number;
  onsets: number;
  warned: number;
  firstOnsets: number;
  firstWarned: number;
  warnings: number;
  falseWarnings: number;
  leads: number[];
  warnMs: number;
}

export function emptyScore(): Score {
  return {
    traces: 0,
    spanDays: 0,
    monitoredDays: 0,
    onsets: 0,
    warned: 0,
    firstOnsets: 0,
    firstWarned: 0,
    warnings: 0,
    falseWarnings: 0,
    leads: [],
    warnMs: 0,
  };
}

export function score(s: Score, trace: Trace, warnings: Interval[]): void {
  const p = trace.points;
  const first = p[0];
  const last = p[p.length - 1];
  if (first === undefined || last === undefined) return;
  s.traces++;
  s.spanDays += (last[0] - first[0]) / 86_400_000;
  for (let i = 1; i < p.length; i++) {
    const d = (p[i] as [number, number])[0] - (p[i - 1] as [number, number])[0];
    if (d <= 30 * MIN) s.monitoredDays += d / 86_400_000;
  }
  for (const [a, b] of warnings) {
    s.warnings++;
    s.warnMs += b - a;
    if (!p.some(([t, g]) => t >= a && t - a <= 40 * MIN && g < 54)) s.falseWarnings++;
  }
  for (let i = 1; i < p.length; i++) {
    const [t, g] = p[i] as [number, number];
    if (!(g < 54 && (p[i - 1] as [number, number])[1] >= 54)) continue;
    // "First" onset: every reading of the 15 min before it was ≥ 54 (and there was one 15 min back).
    let j = i - 1;
    while (j >= 0 && (p[j] as [number, number])[1] >= 54 && t - (p[j] as [number, number])[0] < 15 * MIN) j--;
    const isFirst = j >= 0 && (p[j] as [number, number])[1] >= 54;
    s.onsets++;
    if (isFirst) s.firstOnsets++;
    const w = warnings.find(([a, b]) => a <= t - 10 * MIN && b > t - 40 * MIN);
    if (w !== undefined) {
      s.warned++;
      if (isFirst) s.firstWarned++;
      s.leads.push((t - w[0]) / MIN);
    }
  }
}

function pct(a: number, b: number): string {
  return b === 0 ? 'n/a' : `${fmt((100 * a) / b)} %`;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : (s[s.length >> 1] as number);
}

export default async function run(opts: { quick: boolean; large: boolean }): Promise<BenchResult> {
  let traces = await loadTraces();
  if (opts.quick) traces = traces.filter((_, i) => i % 4 === 0);
  const splits: Record<string, { engine: Score; naive: Score }> = {
    all: { engine: emptyScore(), naive: emptyScore() },
    'tuning (DirecNet)': { engine: emptyScore(), naive: emptyScore() },
    'held-out (D1NAMO + Dexcom G4)': { engine: emptyScore(), naive: emptyScore() },
  };
  for (const tr of traces) {
    const e = engineWarnings(tr);
    const n = naiveWarnings(tr);
    for (const name of ['all', tr.tune ? 'tuning (DirecNet)' : 'held-out (D1NAMO + Dexcom G4)']) {
      const sp = splits[name];
      if (sp === undefined) continue;
      score(sp.engine, tr, e);
      score(sp.naive, tr, n);
    }
  }
  const figures: BenchResult['figures'] = [];
  const all = splits.all as { engine: Score; naive: Score };
  figures.push({
    metric: 'traces / patient-days (first to last reading) / monitored days',
    value: `${all.engine.traces} / ${fmt(all.engine.spanDays)} / ${fmt(all.engine.monitoredDays)}`,
  });
  figures.push({
    metric: 'level-2 low onsets (first onsets)',
    value: `${all.engine.onsets} (${all.engine.firstOnsets})`,
  });
  for (const [name, sp] of Object.entries(splits)) {
    for (const [who, s] of [
      ['Vigil predictor', sp.engine],
      ['naive straight line', sp.naive],
    ] as const) {
      const sens = s.onsets === 0 ? 0 : s.warned / s.onsets;
      const fpd = s.spanDays === 0 ? 0 : s.falseWarnings / s.spanDays;
      const isEngine = who === 'Vigil predictor';
      figures.push({
        metric: `${name} — ${who}: onsets warned ≥ 10 min ahead`,
        value: `${pct(s.warned, s.onsets)} (${s.warned}/${s.onsets}; first onsets ${pct(s.firstWarned, s.firstOnsets)})`,
        ...(isEngine ? { goal: '≥ 90 %', met: sens >= 0.9 } : {}),
      });
      figures.push({
        metric: `${name} — ${who}: false warnings per patient-day`,
        value: `${fmt(fpd, 2)} (${s.falseWarnings} of ${s.warnings}; ${fmt(s.falseWarnings / Math.max(s.monitoredDays, 1e-9), 2)} per monitored day)`,
        ...(isEngine ? { goal: '≤ 0.3', met: fpd <= 0.3 } : {}),
      });
      figures.push({
        metric: `${name} — ${who}: median lead / share of monitored time under warning`,
        value: `${fmt(median(s.leads))} min / ${pct(s.warnMs, s.monitoredDays * 86_400_000)}`,
      });
    }
  }
  return {
    title: 'Predicted-low quality on real CGM traces',
    method: [
      `Data: the iglu CGM traces in \`test/corpora/cgm/iglu\` read in place (DirecNet, D1NAMO, Dexcom G4 5-subject file; the 1-subject Dexcom file duplicates Subject 1 and is left out). Times are local without zone and treated as UTC; values in mg/dL (sensor clip at 40/400 kept as is). ${opts.quick ? 'Quick mode: every 4th trace only.' : ''}`,
      '',
      'Each trace is replayed through `createEngine` with one `glucose` rule at its program defaults; the `glucose:predicted-low` condition gives warning intervals (opened by a `firing`, closed by `cleared`, or by the end of the trace).',
      'The naive baseline extrapolates the straight line between the current reading and the one 15 ± 2.5 min earlier 20 min ahead and warns while that forecast is < 55 mg/dL (and the reading is ≥ 54); a gap > 15 min closes its warning.',
      '',
      '- **Onset**: a reading < 54 mg/dL whose previous reading in the trace was ≥ 54 (any gap). This reproduces the 121 onsets stated for these traces; a stricter **first onset** needs every reading of the preceding 15 min ≥ 54 (101 onsets) and is reported alongside.',
      '- **Warned ≥ 10 min ahead**: a warning interval was open at some moment between 40 and 10 min before the onset (it opened ≥ 10 min before the onset and had not closed more than 40 min before it). Lead = onset time − opening of that warning.',
      '- **False warning**: a warning interval with no reading < 54 mg/dL within 40 min of its opening.',
      '- **Patient-days**: first to last reading of each trace (846 for all 64 traces, gaps included, the denominator of the stated goal); per monitored day counts only inter-reading intervals ≤ 30 min (≈ 160 days), which is 5× harsher.',
      '',
      "Each trace is replayed with the `diabetes-cgm` program's glucose rule as configured (predictor: least-squares line over the last 15 min extrapolated 15 min ahead, warn when < 55 mg/dL, or when below 70 mg/dL and falling ≥ 0.5 mg/dL/min; the warning clears at ≥ 70 mg/dL with a forecast ≥ 70).",
      '',
      'Tuning: a grid of 240 settings (Kalman filter vs least-squares line; regression window 15/20/30 min; horizon 15–30 min; zone term off / < 65 / < 70 with rate ≤ 0 or ≤ −0.5; clear levels 70/70, 75/80, 80/90) was scored on the **DirecNet** traces only. The selection rule, fixed before looking at the held-out traces: among settings reaching ≥ 94 % warned and ≤ 0.25 false warnings per patient-day on DirecNet (many tie within one onset), take the one with the least time under warning — a warning that stays open less is less alarm burden and leans less on long hysteresis, which is what failed to generalise before. The held-out traces (D1NAMO + Dexcom G4) were then scored once. The previous setting (Kalman q = 0.002, r = 16, 25 min ahead, zone < 70 not rising, clear ≥ 80 with forecast ≥ 90) reached 95.2 % / 0.20 on DirecNet but 81.3 % / 0.47 held out, below the naive line. Note the onset definitions were chosen to reproduce the stated count, on all traces.',
    ].join('\n'),
    figures,
    notes: [
      'A forecast alone (no zone term, no hysteresis) did not reach 90 % on DirecNet: many onsets are re-entries after a bounce just above 54, or slow drifts through 55–65 with a flat trend that no extrapolation catches 10 min ahead. The zone term (below 70 and not rising) and keeping the warning open until recovery (≥ 80 and forecast ≥ 90) catch those and merge each episode into one warning — which is also the alarm-fatigue behaviour we want — at the cost of warnings that stay open for long (see time under warning).',
      'Held-out result, stated plainly: on D1NAMO + Dexcom G4 (16 onsets, 15 of them D1NAMO) the regression predictor warns of 15 of 16 onsets at ≈ 0.26 false warnings per patient-day, against 13/16 at 0.47 for the earlier Kalman setting and 14/16 at 0.34 for the naive line. Sixteen onsets are far too few to call the goal met with confidence (one onset is 6 points); more held-out traces are needed. The price of the change: a shorter median lead (≈ 40 vs 55 min on all traces) and less time under warning (≈ 7 % vs 11 %).',
      'Warnings while glucose is already < 54 are not counted as new warnings (the low alarm covers them).',
    ].join('\n\n'),
  };
}
