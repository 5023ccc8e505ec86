import { type Severity, severityRank } from '../core/severity.ts';
import { Loinc } from './codes.ts';
import { configError } from './config-error.ts';
import { list, noUnknownKeys, num, obj, type Raw, severity, strList } from './config-fields.ts';
import {
  closeRequest,
  dueByMs,
  hhmm,
  openRequest,
  type PendingRequest,
  type RequestSpec,
  repeatVerdict,
} from './measurement-request.ts';
import { hasAnyFlag, readingValue } from './reading-values.ts';
import { BASE_KEYS, type RuleBase, type RuleContext, type RuleKind, readBase } from './rule-kind.ts';
import { round } from './threshold.ts';

/**
 * Heart-failure weight gain: the latest weight against the lowest weight of each window (default
 * > 1 kg in 24 h, > 2.3 kg in 7 days — clinical-reference §8, status S: patient-education pages,
 * not guideline text; programs vary, so both are configurable). Clears (hysteresis) once every
 * window's gain is back under `clearFraction` of its limit.
 *
 * Re-weigh before alarming (`reweighWithinMinutes` > 0): a first weight over a limit — clothes or
 * shoes on the scale look exactly like this — opens a measurement request `request:reweigh`
 * (measurement-request.ts) instead of the alert. A re-weigh at least `reweighAfterMinutes` later
 * and within `reweighWithinMinutes` decides: still over the limit → the alert, with both readings;
 * within the limits → no alert, and the first weight is dropped from the rule's history. Without a
 * re-weigh in time the alert is raised on the first weight alone ("no re-weigh within …"). A gain
 * above `extremeGainKg` (0 = off) alarms at once.
 * UNVERIFIED: clinical-reference §8 gives the gain limits, not a re-weigh protocol. Off by default
 * and in the heart-failure program (opt-in per patient, e.g. `reweighWithinMinutes: 15`): the
 * simulator answers no request, so every request costs its whole window — on the tuning seeds 15 min
 * lowered the 10th-percentile lead of decompensations from 40 to 25 min and 60 min lost one episode
 * (bench quality-scenarios, quick size).
 */
export interface WeightGainConfig extends RuleBase {
  kind: 'weight-gain';
  windows: Array<{ hours: number; gainKg: number; severity: Severity }>;
  clearFraction: number;
  reweighAfterMinutes: number;
  reweighWithinMinutes: number;
  extremeGainKg: number;
  ignoreFlags: string[];
}

interface Breach {
  hours: number;
  gainKg: number;
  severity: Severity;
  gain: number;
  from: string;
}

export interface WeightGainState {
  /** [event time, kg, reading id], time-ordered, pruned to the longest window. */
  w: Array<[number, number, string]>;
  /** A first weight over a limit awaiting its re-weigh. */
  pending?: PendingRequest & { kg: number; breach: Breach };
}

const KEYS = [
  ...BASE_KEYS,
  'windows',
  'clearFraction',
  'reweighAfterMinutes',
  'reweighWithinMinutes',
  'extremeGainKg',
  'ignoreFlags',
] as const;
const MAX_POINTS = 200;

export const weightGain: RuleKind<WeightGainConfig, WeightGainState> = {
  kind: 'weight-gain',
  validate(raw: Raw, path: string): WeightGainConfig {
    noUnknownKeys(raw, path, KEYS);
    const windows = (
      raw.windows === undefined
        ? [
            { hours: 24, gainKg: 1 },
            { hours: 168, gainKg: 2.3 },
          ]
        : list(raw, 'windows', path)
    ).map((w, i) => {
      const o = obj(w, `${path}.windows[${i}]`);
      const p = `${path}.windows[${i}]`;
      return {
        hours: num(o, 'hours', p, undefined, { min: 1 }),
        gainKg: num(o, 'gainKg', p, undefined, { min: 0.1 }),
        severity: severity(o, 'severity', p, 'medium'),
      };
    });
    if (windows.length === 0) throw configError(`${path}.windows`, 'needs at least one window');
    return {
      ...readBase(raw, path),
      kind: 'weight-gain',
      windows,
      clearFraction: num(raw, 'clearFraction', path, 0.75, { min: 0, max: 1 }),
      reweighAfterMinutes: num(raw, 'reweighAfterMinutes', path, 0, { min: 0 }),
      reweighWithinMinutes: num(raw, 'reweighWithinMinutes', path, 0, { min: 0 }),
      extremeGainKg: num(raw, 'extremeGainKg', path, 0, { min: 0 }),
      ignoreFlags: strList(raw, 'ignoreFlags', path, []),
    };
  },
  init: () => ({ w: [] }),
  onTick(ctx, cfg, state, nowMs) {
    const p = state.pending;
    if (p !== undefined && nowMs >= dueByMs(spec(cfg), p)) expire(ctx, cfg, state, p);
  },
  onReading(ctx, cfg, state, r) {
    if (r.code !== Loinc.bodyWeight || hasAnyFlag(r.reading, cfg.ignoreFlags)) return;
    const kg = readingValue(r.reading);
    if (kg === null) return;
    const sp = spec(cfg);
    if (state.pending !== undefined && repeatVerdict(sp, state.pending, r.t) === 'late')
      expire(ctx, cfg, state, state.pending);
    const p = state.pending;
    if (p !== undefined && repeatVerdict(sp, p, r.t) === 'too-soon') return;
    if (p !== undefined) {
      // The re-weigh is judged against the history without the weight it re-checks.
      delete state.pending;
      state.w = state.w.filter((x) => x[2] !== p.id);
    }
    const maxMs = Math.max(...cfg.windows.map((w) => w.hours)) * 3_600_000;
    const w = state.w;
    let i = w.length;
    while (i > 0 && (w[i - 1] as [number, number, string])[0] > r.t) i--;
    w.splice(i, 0, [r.t, kg, r.reading.id]);
    while (w.length > MAX_POINTS || (w.length > 0 && (w[0] as [number, number, string])[0] < r.t - maxMs))
      w.shift();

    const key = 'weight-gain';
    const open = ctx.isOpen(key);
    let worst: Breach | undefined;
    let holding = false;
    for (const win of cfg.windows) {
      let min: [number, number, string] | undefined;
      for (const p of w)
        if (p[0] >= r.t - win.hours * 3_600_000 && p[0] < r.t && (min === undefined || p[1] < min[1]))
          min = p;
      if (min === undefined) continue;
      // To 10 g: a scale's resolution, and no floating-point residue (71.4 − 70 = 1.4000000000000057).
      const gain = Math.round((kg - min[1]) * 100) / 100;
      if (
        gain > win.gainKg &&
        (worst === undefined || severityRank(win.severity) > severityRank(worst.severity))
      ) {
        worst = { ...win, gain, from: min[2] };
      }
      if (open && gain > win.gainKg * cfg.clearFraction) holding = true;
    }
    const active = worst !== undefined || holding;
    const evidence = worst ? [worst.from, r.reading.id] : [r.reading.id];
    const data: Record<string, unknown> = worst
      ? { weightKg: kg, gainKg: round(worst.gain), windowHours: worst.hours }
      : { weightKg: kg };
    let confirmed = '';
    if (p !== undefined) {
      closeRequest(
        ctx,
        cfg,
        sp,
        p,
        r.t,
        worst ? 'confirmed' : 'not-confirmed',
        worst
          ? `Re-weigh ${round(kg)} kg still over the limit: request fulfilled, gain confirmed`
          : `Re-weigh ${round(kg)} kg within the limits: request fulfilled, no weight-gain alert`,
        r.reading.id,
      );
      if (worst) {
        evidence.unshift(p.id);
        data.confirmation = 'confirmed by a re-weigh';
        confirmed = ', confirmed by a re-weigh';
      } else data.confirmation = 'not confirmed';
    } else if (worst && cfg.reweighWithinMinutes > 0 && !open) {
      if (cfg.extremeGainKg > 0 && worst.gain > cfg.extremeGainKg) data.confirmation = 'extreme: at once';
      else {
        const first = { t: r.t, id: r.reading.id, kg, breach: worst };
        state.pending = first;
        const by = hhmm(dueByMs(sp, first));
        openRequest(
          ctx,
          cfg,
          sp,
          first,
          `Your weight is up ${worst.gain} kg. Please weigh yourself again without shoes and in light clothing${cfg.reweighAfterMinutes > 0 ? ` after ${cfg.reweighAfterMinutes} minutes` : ''}, before ${by}.`,
          `Weight ${round(kg)} kg (+${worst.gain} kg within ${worst.hours} h): re-weigh requested before ${by}`,
        );
        return;
      }
    }
    ctx.assess(cfg, {
      key,
      active,
      severity: worst?.severity ?? cfg.windows[0]?.severity ?? 'medium',
      atMs: r.t,
      summary: worst
        ? `Weight ${round(kg)} kg: +${worst.gain} kg > ${worst.gainKg} kg within ${worst.hours} h${confirmed}`
        : active
          ? `Weight ${round(kg)} kg: gain easing but not yet resolved`
          : `Weight ${round(kg)} kg: no significant gain`,
      evidence,
      data,
      // Decided by the re-weigh protocol: the request was the persistence.
      ...(data.confirmation !== undefined ? { persistSeconds: 0, persistReadings: 1 } : {}),
    });
  },
};

function spec(cfg: WeightGainConfig): RequestSpec {
  return {
    kind: 'reweigh',
    code: Loinc.bodyWeight,
    afterMinutes: cfg.reweighAfterMinutes,
    withinMinutes: cfg.reweighWithinMinutes,
  };
}

/** No re-weigh in time: the request expires and the alert is raised on the first weight alone. */
function expire(
  ctx: RuleContext,
  cfg: WeightGainConfig,
  state: WeightGainState,
  p: NonNullable<WeightGainState['pending']>,
): void {
  delete state.pending;
  const dueBy = dueByMs(spec(cfg), p);
  const b = p.breach;
  closeRequest(ctx, cfg, spec(cfg), p, dueBy, 'no-repeat', `No re-weigh by ${hhmm(dueBy)}: request expired`);
  ctx.assess(cfg, {
    key: 'weight-gain',
    active: true,
    severity: b.severity,
    atMs: dueBy,
    summary: `Weight ${round(p.kg)} kg: +${b.gain} kg > ${b.gainKg} kg within ${b.hours} h, no re-weigh within ${cfg.reweighWithinMinutes} min`,
    evidence: [b.from, p.id],
    data: {
      weightKg: p.kg,
      gainKg: round(b.gain),
      windowHours: b.hours,
      confirmation: 'no-repeat',
    },
    persistSeconds: 0,
    persistReadings: 1,
  });
}
