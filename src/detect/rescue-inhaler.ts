import type { Severity } from '../core/severity.ts';
import { noUnknownKeys, num, type Raw, severity, str } from './config-fields.ts';
import { BASE_KEYS, type RuleBase, type RuleKind, readBase } from './rule-kind.ts';

/**
 * Rising rescue (reliever) inhaler use — an early warning of a COPD or asthma exacerbation
 * (docs/adherence.md). Each stored rescue-inhaler event (code `vigil-inhaler-rescue`, one use
 * however many presses) counts once. The condition `rescue-use:<rule id>` holds when the uses in
 * the last `windowHours` are more than `usesAbove` AND at least `riseFactor` times the mean per
 * window over the `baselineDays` before it (with no baseline use, the first test alone decides).
 *
 * UNVERIFIED thresholds: clinical-reference.md gives no figure for reliever use. The defaults —
 * more than 2 uses in 24 h and at least double the 7-day baseline — are engineering choices for a
 * clinician to set per patient (every field is configurable).
 */
export interface RescueInhalerConfig extends RuleBase {
  kind: 'rescue-inhaler-use';
  code: string;
  windowHours: number;
  baselineDays: number;
  usesAbove: number;
  riseFactor: number;
  severity: Severity;
}

export interface RescueInhalerState {
  /** Use times (event time ms) and reading ids within the baseline + window, oldest first; bounded. */
  uses: Array<[number, string]>;
}

const KEYS = [
  ...BASE_KEYS,
  'code',
  'windowHours',
  'baselineDays',
  'usesAbove',
  'riseFactor',
  'severity',
] as const;
const MAX_USES = 2000;

function assess(cfg: RescueInhalerConfig, state: RescueInhalerState, now: number) {
  const w = cfg.windowHours * 3_600_000;
  const inWindow = state.uses.filter(([t]) => t > now - w && t <= now);
  const baseline = state.uses.filter(([t]) => t > now - w - cfg.baselineDays * 86_400_000 && t <= now - w);
  const windowsInBaseline = (cfg.baselineDays * 24) / cfg.windowHours;
  const mean = baseline.length / windowsInBaseline;
  const n = inWindow.length;
  const over = n > cfg.usesAbove;
  const risen = n >= cfg.riseFactor * mean;
  const m = Math.round(mean * 10) / 10;
  const summary =
    over && risen
      ? `Rescue inhaler used ${n} times in ${cfg.windowHours} h (more than ${cfg.usesAbove}; ${cfg.baselineDays}-day baseline ${m} per ${cfg.windowHours} h)`
      : over
        ? `Rescue inhaler used ${n} times in ${cfg.windowHours} h, less than ${cfg.riseFactor}× the ${cfg.baselineDays}-day baseline ${m}: not rising`
        : `Rescue inhaler used ${n} times in ${cfg.windowHours} h (at most ${cfg.usesAbove}): not rising`;
  return {
    active: over && risen,
    summary,
    evidence: inWindow.map(([, id]) => id),
    data: {
      uses: n,
      windowHours: cfg.windowHours,
      baselinePerWindow: m,
      usesAbove: cfg.usesAbove,
      riseFactor: cfg.riseFactor,
    },
  };
}

export const rescueInhaler: RuleKind<RescueInhalerConfig, RescueInhalerState> = {
  kind: 'rescue-inhaler-use',
  validate(raw: Raw, path: string): RescueInhalerConfig {
    noUnknownKeys(raw, path, KEYS);
    return {
      ...readBase(raw, path, { realertMinutes: 0 }),
      kind: 'rescue-inhaler-use',
      code: str(raw, 'code', path, 'vigil-inhaler-rescue'),
      windowHours: num(raw, 'windowHours', path, 24, { min: 1, max: 168 }),
      baselineDays: num(raw, 'baselineDays', path, 7, { min: 1, max: 60, integer: true }),
      usesAbove: num(raw, 'usesAbove', path, 2, { min: 0, integer: true }),
      riseFactor: num(raw, 'riseFactor', path, 2, { min: 1, max: 20 }),
      severity: severity(raw, 'severity', path, 'medium'),
    };
  },
  init: () => ({ uses: [] }),
  onReading(ctx, cfg, state, r) {
    if (r.code !== cfg.code || r.reading.value === null) return;
    if (state.uses.some(([, id]) => id === r.reading.id)) return;
    state.uses.push([r.t, r.reading.id]);
    state.uses.sort((a, b) => a[0] - b[0]);
    const keep = r.t - cfg.windowHours * 3_600_000 - cfg.baselineDays * 86_400_000;
    state.uses = state.uses.filter(([t]) => t > keep).slice(-MAX_USES);
    const a = assess(cfg, state, Math.max(r.t, state.uses.at(-1)?.[0] ?? r.t));
    ctx.assess(cfg, { key: `rescue-use:${cfg.id}`, severity: cfg.severity, atMs: r.t, ...a });
  },
  onTick(ctx, cfg, state, nowMs) {
    // Uses age out of the window with no new reading: an open condition clears on time.
    const key = `rescue-use:${cfg.id}`;
    if (!ctx.isOpen(key)) return;
    const a = assess(cfg, state, nowMs);
    if (!a.active) ctx.assess(cfg, { key, severity: cfg.severity, atMs: nowMs, ...a, evidence: [] });
  },
};
