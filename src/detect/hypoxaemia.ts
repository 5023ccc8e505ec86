import type { Severity } from '../core/severity.ts';
import { Loinc } from './codes.ts';
import { bool, noUnknownKeys, num, type Raw, severity, strList } from './config-fields.ts';
import {
  closeRequest,
  dueByMs,
  hhmm,
  openRequest,
  type PendingRequest,
  type RequestSpec,
  repeatVerdict,
} from './measurement-request.ts';
import { hasAnyFlag, heartRateSource, isHeartRate, readingValue } from './reading-values.ts';
import { BASE_KEYS, type RuleBase, type RuleContext, type RuleKind, readBase } from './rule-kind.ts';

/**
 * Hypoxaemia on SpO2, with the floor set by the patient's SpO2 scale (clinical-reference §8, §1.1):
 * scale 1 fires below 92 % (NEWS2 scores ≤ 91 % as 3; BTS target 94–98 %) and clears at the target's
 * lower bound 94 %; scale 2 (prescribed 88–92 % target) fires below 88 % and clears at 89 % — the
 * clear levels are program defaults. Gated on signal quality; persistence 15 s by default (the
 * delay that cut low-SpO2 alarms by 60 % in the evidence of §9).
 *
 * Plausibility of the change (signal quality before the threshold): a fall of ≥ `maxFallPoints`
 * within `fallWithinSeconds` from the values before it is how a probe coming off or a moving hand
 * looks, not how blood desaturates. Such a fall opens an artefact window in which the low readings
 * do not count (neither start nor extend the condition) unless the oximeter's own pulse rate agrees
 * with the ECG heart rate (within `pulseAgreementPerMin`, both within 10 s): a pulse trace that
 * tracks the heart says the probe is reading blood. The window ends when SpO2 is back at or above
 * the floor, when the pulses agree, or after `artefactMaxSeconds` — a low that lasts longer counts
 * from then on, so a real low is delayed, never silenced. A gradual desaturation never opens the
 * window and alarms exactly as without this check. With `disagreementOpensWindow` (default on), a
 * reading below the floor while both pulses are fresh (10 s) and DISAGREE by more than
 * `pulseAgreementPerMin` opens the same window whatever the size of the fall: SpO2 is computed
 * from the same pleth whose pulse does not track the heart (a moving hand or a loose probe without
 * a flag, issue 12). Same ends, same maximum: delayed by at most `artefactMaxSeconds`, never silenced;
 * without a pleth pulse or an ECG (spot oximeters, cuffs) it never applies.
 * UNVERIFIED: the defaults (10 points in 10 s, 15 /min, 60 s) are program defaults. No real SpO2
 * trace with a desaturation is in the corpora (the PHD IG's continuous Nonin bundle, 47 readings,
 * stays at 99–100 %), so the bound is set above any fall a steady trace showed and is not derived
 * from a published source.
 *
 * Re-measure at rest before alarming (home spot checks, `confirmRepeatMinutes` > 0): a first SpO2
 * below the floor that is not extreme (below `extremeScale1Below` / `extremeScale2Below`; 0 = off)
 * opens a measurement request `request:spo2-at-rest` (measurement-request.ts) instead of the
 * alert: rest, warm the hand, measure again after `confirmRepeatMinutes`, within
 * `confirmWithinMinutes`. A repeat below the floor raises the alert with both readings; one at or
 * above it closes the request without an alert; none in time raises the alert on the first
 * reading ("no repeat at rest within …").
 * UNVERIFIED: clinical-reference §8 gives the targets (BTS) and "clinical assessment if SpO2 falls
 * below target", not a repeat protocol: the intervals (copd: 5 and 20 min) are program defaults;
 * copd's extreme value 84 on scale 2 is where NEWS2 scale 2 scores 3 (≤ 83 %, §1.1, V).
 */
export interface HypoxaemiaConfig extends RuleBase {
  kind: 'hypoxaemia';
  scale1Below: number;
  scale1ClearAt: number;
  scale2Below: number;
  scale2ClearAt: number;
  severity: Severity;
  ignoreFlags: string[];
  maxFallPoints: number;
  fallWithinSeconds: number;
  pulseAgreementPerMin: number;
  artefactMaxSeconds: number;
  /** A low reading while the pleth pulse disagrees with the ECG opens the artefact window too. */
  disagreementOpensWindow: boolean;
  confirmRepeatMinutes: number;
  confirmWithinMinutes: number;
  extremeScale1Below: number;
  extremeScale2Below: number;
}

export interface HypoxaemiaState {
  /** Recent SpO2 [t, value] (last fallWithinSeconds). */
  recent: Array<[number, number]>;
  /** An implausibly fast fall was seen at this event time (artefact window open). */
  artefactSince?: number;
  /** The last window ended by `artefactMaxSeconds`: a still-disagreeing low may not reopen it until SpO2 recovers. */
  artefactSpent?: boolean;
  /** The first reading held back in the window [t, SpO2, reading id]: counted if the pulses agree. */
  held?: [number, number, string];
  pulse: { ecg?: [number, number]; pleth?: [number, number] };
  /** A first low spot reading awaiting its repeat at rest. */
  pending?: PendingRequest & { v: number };
}

const KEYS = [
  ...BASE_KEYS,
  'scale1Below',
  'scale1ClearAt',
  'scale2Below',
  'scale2ClearAt',
  'severity',
  'ignoreFlags',
  'maxFallPoints',
  'fallWithinSeconds',
  'pulseAgreementPerMin',
  'artefactMaxSeconds',
  'disagreementOpensWindow',
  'confirmRepeatMinutes',
  'confirmWithinMinutes',
  'extremeScale1Below',
  'extremeScale2Below',
] as const;

const PULSE_FRESH_MS = 10_000;

export const hypoxaemia: RuleKind<HypoxaemiaConfig, HypoxaemiaState> = {
  kind: 'hypoxaemia',
  validate(raw: Raw, path: string): HypoxaemiaConfig {
    noUnknownKeys(raw, path, KEYS);
    return {
      ...readBase(raw, path, { persistSeconds: 15 }),
      kind: 'hypoxaemia',
      scale1Below: num(raw, 'scale1Below', path, 92, { min: 50, max: 100 }),
      scale1ClearAt: num(raw, 'scale1ClearAt', path, 94, { min: 50, max: 100 }),
      scale2Below: num(raw, 'scale2Below', path, 88, { min: 50, max: 100 }),
      scale2ClearAt: num(raw, 'scale2ClearAt', path, 89, { min: 50, max: 100 }),
      severity: severity(raw, 'severity', path, 'high'),
      ignoreFlags: strList(raw, 'ignoreFlags', path, [
        'low-perfusion',
        'motion-artifact',
        'poor-signal',
        'sensor-contact-lost',
      ]),
      maxFallPoints: num(raw, 'maxFallPoints', path, 10, { min: 1 }),
      fallWithinSeconds: num(raw, 'fallWithinSeconds', path, 10, { min: 0 }),
      pulseAgreementPerMin: num(raw, 'pulseAgreementPerMin', path, 15, { min: 0 }),
      artefactMaxSeconds: num(raw, 'artefactMaxSeconds', path, 60, { min: 0 }),
      disagreementOpensWindow: bool(raw, 'disagreementOpensWindow', path, true),
      confirmRepeatMinutes: num(raw, 'confirmRepeatMinutes', path, 0, { min: 0 }),
      confirmWithinMinutes: num(raw, 'confirmWithinMinutes', path, 20, { min: 1 }),
      extremeScale1Below: num(raw, 'extremeScale1Below', path, 0, { min: 0, max: 100 }),
      extremeScale2Below: num(raw, 'extremeScale2Below', path, 0, { min: 0, max: 100 }),
    };
  },
  init: () => ({ recent: [], pulse: {} }),
  onTick(ctx, cfg, state, nowMs) {
    const p = state.pending;
    if (p !== undefined && nowMs >= dueByMs(spec(cfg), p)) expire(ctx, cfg, state, p);
  },
  onReading(ctx, cfg, state, r) {
    state.recent ??= [];
    state.pulse ??= {};
    if (isHeartRate(r.code)) {
      const hr = readingValue(r.reading);
      const src = heartRateSource(r.reading);
      if (hr !== null && (src === 'ecg' || src === 'pleth') && !hasAnyFlag(r.reading, cfg.ignoreFlags))
        state.pulse[src] = [r.t, hr];
      return;
    }
    if (r.code !== Loinc.spo2 && r.code !== Loinc.spo2PulseOximetry) return;
    if (hasAnyFlag(r.reading, cfg.ignoreFlags)) return;
    const v = readingValue(r.reading);
    if (v === null) return;
    const below = ctx.patient.spo2Scale === 2 ? cfg.scale2Below : cfg.scale1Below;
    const verdict = artefact(cfg, state, r.t, v, below);
    if (verdict === 'held') {
      state.held ??= [r.t, v, r.reading.id];
      return;
    }
    // Pulses agree: the held-back readings were blood after all — count from the first of them,
    // so a real fast desaturation alarms with the same delay as without the check.
    const first = state.held;
    delete state.held;
    if (verdict === 'confirmed' && first !== undefined) assessSpo2(ctx, cfg, first[0], first[1], first[2]);
    if (cfg.confirmRepeatMinutes > 0 && confirmAtRest(ctx, cfg, state, r.t, v, r.reading.id)) return;
    assessSpo2(ctx, cfg, r.t, v, r.reading.id);
  },
};

function spec(cfg: HypoxaemiaConfig): RequestSpec {
  return {
    kind: 'spo2-at-rest',
    code: Loinc.spo2,
    afterMinutes: cfg.confirmRepeatMinutes,
    withinMinutes: cfg.confirmWithinMinutes,
  };
}

/**
 * The repeat-at-rest protocol for one spot reading (see the header). True = handled here (a
 * request opened, or a reading too soon to be the repeat); false = assess the reading as usual
 * (with `extra` evidence and wording when it was the repeat).
 */
function confirmAtRest(
  ctx: RuleContext,
  cfg: HypoxaemiaConfig,
  state: HypoxaemiaState,
  t: number,
  v: number,
  id: string,
): boolean {
  const sp = spec(cfg);
  if (state.pending !== undefined && repeatVerdict(sp, state.pending, t) === 'late')
    expire(ctx, cfg, state, state.pending);
  if (ctx.isOpen('hypoxaemia')) return false;
  const scale2 = ctx.patient.spo2Scale === 2;
  const below = scale2 ? cfg.scale2Below : cfg.scale1Below;
  const extremeBelow = scale2 ? cfg.extremeScale2Below : cfg.extremeScale1Below;
  const extreme = v < extremeBelow;
  const p = state.pending;
  if (p !== undefined) {
    const tooSoon = repeatVerdict(sp, p, t) === 'too-soon';
    if (tooSoon && !extreme) return true;
    delete state.pending;
    if (tooSoon) {
      closeRequest(
        ctx,
        cfg,
        sp,
        p,
        t,
        'cancelled',
        `SpO2 ${v} % < ${extremeBelow} %: alert raised at once, repeat request cancelled`,
      );
      assessSpo2(ctx, cfg, t, v, id, { evidence: [p.id], note: '', decided: true });
      return true;
    }
    const low = v < below;
    closeRequest(
      ctx,
      cfg,
      sp,
      p,
      t,
      low ? 'confirmed' : 'not-confirmed',
      low
        ? `Repeat SpO2 at rest ${v} % < ${below} %: request fulfilled, low confirmed`
        : `Repeat SpO2 at rest ${v} % ≥ ${below} %: request fulfilled, no hypoxaemia alert`,
      id,
    );
    if (low)
      assessSpo2(ctx, cfg, t, v, id, {
        evidence: [p.id],
        note: ', confirmed by a repeat at rest',
        decided: true,
      });
    else assessSpo2(ctx, cfg, t, v, id);
    return true;
  }
  if (v >= below || extreme) return false;
  const first = { t, id, v };
  state.pending = first;
  const by = hhmm(dueByMs(sp, first));
  openRequest(
    ctx,
    cfg,
    sp,
    first,
    `Your oxygen reading was low. Sit and rest, keep your hand warm and still, and measure again in ${cfg.confirmRepeatMinutes} minutes (before ${by}). If you are more breathless than usual, call your care team now.`,
    `SpO2 ${v} % < ${below} % (scale ${scale2 ? 2 : 1}): repeat at rest requested before ${by}`,
  );
  return true;
}

/** No repeat at rest in time: the request expires and the alert is raised on the first reading. */
function expire(
  ctx: RuleContext,
  cfg: HypoxaemiaConfig,
  state: HypoxaemiaState,
  p: NonNullable<HypoxaemiaState['pending']>,
): void {
  delete state.pending;
  const dueBy = dueByMs(spec(cfg), p);
  closeRequest(
    ctx,
    cfg,
    spec(cfg),
    p,
    dueBy,
    'no-repeat',
    `No repeat SpO2 by ${hhmm(dueBy)}: request expired`,
  );
  assessSpo2(ctx, cfg, dueBy, p.v, p.id, {
    evidence: [],
    note: `, no repeat at rest within ${cfg.confirmWithinMinutes} min`,
    decided: true,
  });
}

function assessSpo2(
  ctx: RuleContext,
  cfg: HypoxaemiaConfig,
  t: number,
  v: number,
  id: string,
  extra: { evidence: string[]; note: string; decided?: boolean } = { evidence: [], note: '' },
): void {
  const scale2 = ctx.patient.spo2Scale === 2;
  const below = scale2 ? cfg.scale2Below : cfg.scale1Below;
  const clearAt = scale2 ? cfg.scale2ClearAt : cfg.scale1ClearAt;
  const key = 'hypoxaemia';
  const active = v < below || (ctx.isOpen(key) && v < clearAt);
  ctx.assess(cfg, {
    key,
    active,
    severity: cfg.severity,
    atMs: t,
    // Every comparison a text states is true of the value (summary-texts.test.ts walks them): an
    // open alert kept by hysteresis says it is below the clear level, not below the floor.
    summary: active
      ? v < below
        ? `SpO2 ${v} % < ${below} % (scale ${scale2 ? 2 : 1})${extra.note}`
        : `SpO2 ${v} % < ${clearAt} %: not yet recovered (alert floor ${below} %, scale ${scale2 ? 2 : 1})`
      : v >= clearAt
        ? `SpO2 ${v} % ≥ ${clearAt} %: recovered`
        : `SpO2 ${v} % ≥ ${below} %: at or above the alert floor`,
    evidence: [...extra.evidence, id],
    data: { spo2: v, floor: below, clearAt, spo2Scale: scale2 ? 2 : 1 },
    // Decided by the repeat protocol (confirmed, cancelled by an extreme value, or expired): the
    // request was the persistence; the alert opens on this assessment.
    ...(extra.decided ? { persistSeconds: 0, persistReadings: 1 } : {}),
  });
}

/**
 * Plausibility of an SpO2 change (see the header): 'held' = held back as artefact; 'confirmed' = a
 * window just ended because the pulses agree; 'ok' = counts.
 */
function artefact(
  cfg: HypoxaemiaConfig,
  st: HypoxaemiaState,
  t: number,
  v: number,
  floor: number,
): 'held' | 'confirmed' | 'ok' {
  const from = t - cfg.fallWithinSeconds * 1000;
  let before = Number.NEGATIVE_INFINITY;
  for (const [pt, pv] of st.recent) if (pt >= from && pt < t && pv > before) before = pv;
  st.recent = st.recent.filter(([pt]) => pt >= from && pt <= t);
  st.recent.push([t, v]);
  const { ecg, pleth } = st.pulse;
  if (v >= floor) delete st.artefactSpent;
  if (st.artefactSince === undefined && before - v >= cfg.maxFallPoints) st.artefactSince = t;
  if (
    st.artefactSince === undefined &&
    cfg.disagreementOpensWindow &&
    st.artefactSpent !== true &&
    v < floor &&
    ecg !== undefined &&
    pleth !== undefined &&
    t - ecg[0] <= PULSE_FRESH_MS &&
    t - pleth[0] <= PULSE_FRESH_MS &&
    Math.abs(ecg[1] - pleth[1]) > cfg.pulseAgreementPerMin
  )
    st.artefactSince = t;
  const since = st.artefactSince;
  if (since === undefined) return 'ok';
  // Only pulses measured since the fall began: a pulse from before it says nothing about it.
  const pulseFrom = Math.max(since, t - PULSE_FRESH_MS);
  const agree =
    ecg !== undefined &&
    pleth !== undefined &&
    ecg[0] >= pulseFrom &&
    pleth[0] >= pulseFrom &&
    Math.abs(ecg[1] - pleth[1]) <= cfg.pulseAgreementPerMin;
  if (agree) {
    delete st.artefactSince;
    return 'confirmed';
  }
  if (v >= floor || t - since >= cfg.artefactMaxSeconds * 1000) {
    delete st.artefactSince;
    if (v < floor) st.artefactSpent = true;
    return 'ok';
  }
  return 'held';
}
