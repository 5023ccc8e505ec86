import type { Severity } from '../core/severity.ts';
import { Loinc } from './codes.ts';
import { noUnknownKeys, num, type Raw, severity, strList } from './config-fields.ts';
import {
  closeRequest,
  dueByMs,
  hhmm,
  openRequest,
  type RequestSpec,
  repeatVerdict,
} from './measurement-request.ts';
import { hasAnyFlag, readingValue } from './reading-values.ts';
import { BASE_KEYS, type RuleBase, type RuleContext, type RuleKind, readBase } from './rule-kind.ts';

/**
 * Hypertensive crisis: systolic > 180 and/or diastolic > 120 mmHg (clinical-reference §8, V —
 * 2017 ACC/AHA wording). The clear levels are program defaults (hysteresis), not guideline values.
 *
 * Confirm before alarming at home (`confirmRepeatMinutes` > 0; clinical-reference §9, S — consumer
 * guidance attributed to the AHA: a home reading ≥ 180/120, wait five minutes and measure again):
 * a first crisis reading that is not extreme opens a MEASUREMENT REQUEST instead of the alert —
 * condition `request:repeat-bp` (`info`, `data.class: 'measurement-request'`, `data.after`,
 * `data.dueBy`) for the patient channel. The crisis alert then fires when a repeat taken at least
 * `confirmRepeatMinutes` later confirms it, or when no repeat arrives within `confirmWithinMinutes`
 * (on the tick at that time); a repeat below crisis levels closes the request (`data.outcome`:
 * confirmed / not-confirmed / no-repeat). Readings above `extremeSystolic` / `extremeDiastolic`
 * alarm at once (the reference gives no such value: both are off — 0 — unless a program sets them).
 */
export interface HypertensiveCrisisConfig extends RuleBase {
  kind: 'hypertensive-crisis';
  systolicAbove: number;
  diastolicAbove: number;
  clearSystolic: number;
  clearDiastolic: number;
  severity: Severity;
  ignoreFlags: string[];
  confirmRepeatMinutes: number;
  confirmWithinMinutes: number;
  extremeSystolic: number;
  extremeDiastolic: number;
}

export interface HypertensiveCrisisState {
  /** A first crisis reading awaiting its repeat. */
  pending?: { t: number; id: string; sys: number | null; dia: number | null };
}

/** Threshold alerts (threshold.ts `thresholdKey`) the crisis supersedes by default. */
export const CRISIS_SUPERSEDES = [
  `threshold:${Loinc.systolic}:high`,
  `threshold:${Loinc.diastolic}:high`,
] as const;

const KEYS = [
  ...BASE_KEYS,
  'systolicAbove',
  'diastolicAbove',
  'clearSystolic',
  'clearDiastolic',
  'severity',
  'ignoreFlags',
  'confirmRepeatMinutes',
  'confirmWithinMinutes',
  'extremeSystolic',
  'extremeDiastolic',
] as const;

export const hypertensiveCrisis: RuleKind<HypertensiveCrisisConfig, HypertensiveCrisisState> = {
  kind: 'hypertensive-crisis',
  validate(raw: Raw, path: string): HypertensiveCrisisConfig {
    noUnknownKeys(raw, path, KEYS);
    return {
      // A crisis reading also breaches the lower systolic/diastolic limits: one alert, not two.
      ...readBase(raw, path, { supersedes: [...CRISIS_SUPERSEDES] }),
      kind: 'hypertensive-crisis',
      systolicAbove: num(raw, 'systolicAbove', path, 180),
      diastolicAbove: num(raw, 'diastolicAbove', path, 120),
      clearSystolic: num(raw, 'clearSystolic', path, 170),
      clearDiastolic: num(raw, 'clearDiastolic', path, 110),
      severity: severity(raw, 'severity', path, 'high'),
      ignoreFlags: strList(raw, 'ignoreFlags', path, []),
      confirmRepeatMinutes: num(raw, 'confirmRepeatMinutes', path, 0, { min: 0 }),
      confirmWithinMinutes: num(raw, 'confirmWithinMinutes', path, 30, { min: 1 }),
      extremeSystolic: num(raw, 'extremeSystolic', path, 0, { min: 0 }),
      extremeDiastolic: num(raw, 'extremeDiastolic', path, 0, { min: 0 }),
    };
  },
  init: () => ({}),
  onTick(ctx, cfg, state, nowMs) {
    const p = state.pending;
    if (p === undefined || nowMs < dueByMs(spec(cfg), p)) return;
    expire(ctx, cfg, state, p);
  },
  onReading(ctx, cfg, state, r) {
    if (r.code !== Loinc.bpPanel || hasAnyFlag(r.reading, cfg.ignoreFlags)) return;
    const sys = readingValue(r.reading, Loinc.systolic);
    const dia = readingValue(r.reading, Loinc.diastolic);
    if (sys === null && dia === null) return;
    const key = 'hypertensive-crisis';
    const s = sys ?? 0;
    const d = dia ?? 0;
    const crisis = s > cfg.systolicAbove || d > cfg.diastolicAbove;
    const bp = `${sys ?? '?'}/${dia ?? '?'} mmHg`;
    const evidence = [r.reading.id];
    const data: Record<string, unknown> = { systolic: sys, diastolic: dia };
    const sp = spec(cfg);
    // A repeat that arrives after the window (no tick in between): the request expired first.
    if (state.pending !== undefined && repeatVerdict(sp, state.pending, r.t) === 'late')
      expire(ctx, cfg, state, state.pending);
    if (cfg.confirmRepeatMinutes > 0 && !ctx.isOpen(key)) {
      const p = state.pending;
      const extreme =
        (cfg.extremeSystolic > 0 && s > cfg.extremeSystolic) ||
        (cfg.extremeDiastolic > 0 && d > cfg.extremeDiastolic);
      if (p !== undefined) {
        const tooSoon = repeatVerdict(sp, p, r.t) === 'too-soon';
        // Too soon to be the repeat the protocol asks for: neither confirms nor refutes.
        if (tooSoon && !extreme) return;
        delete state.pending;
        evidence.unshift(p.id);
        if (tooSoon) {
          closeRequest(
            ctx,
            cfg,
            sp,
            p,
            r.t,
            'cancelled',
            `BP ${bp} is extreme: alert raised at once, repeat request cancelled`,
          );
          data.confirmation = 'extreme: at once';
        } else {
          closeRequest(
            ctx,
            cfg,
            sp,
            p,
            r.t,
            crisis ? 'confirmed' : 'not-confirmed',
            crisis
              ? `Repeat BP ${bp} still at crisis level: request fulfilled, crisis confirmed`
              : `Repeat BP ${bp} below crisis levels: request fulfilled, no crisis alert`,
            r.reading.id,
          );
          data.confirmation = crisis ? 'confirmed by a repeat' : 'not confirmed';
        }
      } else if (crisis && !extreme) {
        const first = { t: r.t, id: r.reading.id, sys, dia };
        state.pending = first;
        openRequest(
          ctx,
          cfg,
          sp,
          first,
          `Your blood pressure reading was very high. Sit and rest, then measure again in ${cfg.confirmRepeatMinutes} minutes (before ${hhmm(dueByMs(sp, first))}). If you have chest pain, shortness of breath, back pain, numbness or weakness, a change in vision or difficulty speaking, call emergency services now.`,
          `Home BP ${bp}: rest and measure again in ${cfg.confirmRepeatMinutes} min (before ${hhmm(dueByMs(sp, first))})`,
        );
        return;
      } else if (crisis) data.confirmation = 'extreme: at once';
    }
    const active = crisis || (ctx.isOpen(key) && (s > cfg.clearSystolic || d > cfg.clearDiastolic));
    ctx.assess(cfg, {
      key,
      active,
      severity: cfg.severity,
      atMs: r.t,
      summary: crisis
        ? `BP ${bp}: hypertensive crisis (${s > cfg.systolicAbove ? `systolic ${s} > ${cfg.systolicAbove}` : `diastolic ${d} > ${cfg.diastolicAbove}`})${data.confirmation === 'confirmed by a repeat' ? ', confirmed by a repeat' : ''}`
        : active
          ? `BP ${bp}: below crisis levels, not yet at or below the clear levels (${cfg.clearSystolic}/${cfg.clearDiastolic})`
          : `BP ${bp}: below crisis levels`,
      evidence,
      data,
      // Decided by the repeat protocol: the request was the persistence.
      ...(data.confirmation !== undefined ? { persistSeconds: 0, persistReadings: 1 } : {}),
    });
  },
};

function spec(cfg: HypertensiveCrisisConfig): RequestSpec {
  return {
    kind: 'repeat-bp',
    code: Loinc.bpPanel,
    afterMinutes: cfg.confirmRepeatMinutes,
    withinMinutes: cfg.confirmWithinMinutes,
  };
}

/** No repeat in time: the request expires and the crisis alert is raised on the first reading alone. */
function expire(
  ctx: RuleContext,
  cfg: HypertensiveCrisisConfig,
  state: HypertensiveCrisisState,
  p: NonNullable<HypertensiveCrisisState['pending']>,
): void {
  delete state.pending;
  const dueBy = dueByMs(spec(cfg), p);
  const bp = `${p.sys ?? '?'}/${p.dia ?? '?'} mmHg`;
  closeRequest(ctx, cfg, spec(cfg), p, dueBy, 'no-repeat', `No repeat BP by ${hhmm(dueBy)}: request expired`);
  ctx.assess(cfg, {
    key: 'hypertensive-crisis',
    active: true,
    severity: cfg.severity,
    atMs: dueBy,
    summary: `BP ${bp}: hypertensive crisis, no repeat reading within ${cfg.confirmWithinMinutes} min`,
    evidence: [p.id],
    data: { systolic: p.sys, diastolic: p.dia, confirmation: 'no-repeat' },
    persistSeconds: 0,
    persistReadings: 1,
  });
}
