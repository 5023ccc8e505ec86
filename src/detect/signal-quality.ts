import type { Severity } from '../core/severity.ts';
import { Loinc } from './codes.ts';
import { noUnknownKeys, num, type Raw, severity, strList } from './config-fields.ts';
import { hasAnyFlag } from './reading-values.ts';
import { BASE_KEYS, type RuleBase, type RuleKind, readBase } from './rule-kind.ts';

/**
 * Technical alarms: the signal, not the patient. Their own class (`data.class: 'technical'`), low
 * priority by default (routed like every low alert: the nurse's tier, no paging ladder), never a
 * clinical alarm (benches and metrics count them apart).
 *
 * - `technical:<device>:probe-off` — every reading of `codes` from the device for `probeOffSeconds`
 *   carried a probe-off flag (`probeOffFlags`, default `sensor-contact-lost`); clears at the first
 *   reading without it.
 * - `technical:<device>:<code>:signal-poor` — over the last `poorMinutes` (default 10) at least
 *   `poorFraction` of the device's readings of that code carried a quality flag (`poorFlags`) and
 *   there were at least `minReadings`; clears when the fraction is back under half of it.
 *
 * The 10 min and the flags follow the wording of a "signal poor for 10 min" alarm; the
 * fraction is a program default (unverified: the reference (§9) gives counts of technical alarms,
 * 791,632 of 2.56 M at UCSF, but no criterion).
 */
export interface SignalQualityConfig extends RuleBase {
  kind: 'signal-quality';
  codes: string[];
  probeOffFlags: string[];
  probeOffSeconds: number;
  poorFlags: string[];
  poorMinutes: number;
  poorFraction: number;
  minReadings: number;
  severity: Severity;
}

export interface SignalQualityState {
  /** Per device × code: one-minute buckets [bucket start, readings, flagged] of the last poorMinutes. */
  w: Record<string, Array<[number, number, number]>>;
  /** Per device: probe off since (event time). */
  off: Record<string, number>;
}

const KEYS = [
  ...BASE_KEYS,
  'codes',
  'probeOffFlags',
  'probeOffSeconds',
  'poorFlags',
  'poorMinutes',
  'poorFraction',
  'minReadings',
  'severity',
] as const;

const BUCKET_MS = 60_000;

export const signalQuality: RuleKind<SignalQualityConfig, SignalQualityState> = {
  kind: 'signal-quality',
  validate(raw: Raw, path: string): SignalQualityConfig {
    noUnknownKeys(raw, path, KEYS);
    return {
      ...readBase(raw, path, { realertMinutes: 0 }),
      kind: 'signal-quality',
      codes: strList(raw, 'codes', path, [Loinc.spo2, Loinc.heartRate, Loinc.respRate]),
      probeOffFlags: strList(raw, 'probeOffFlags', path, ['sensor-contact-lost']),
      probeOffSeconds: num(raw, 'probeOffSeconds', path, 30, { min: 0 }),
      poorFlags: strList(raw, 'poorFlags', path, [
        'low-perfusion',
        'motion-artifact',
        'poor-signal',
        'noisy',
        'sensor-contact-lost',
      ]),
      poorMinutes: num(raw, 'poorMinutes', path, 10, { min: 1 }),
      poorFraction: num(raw, 'poorFraction', path, 0.5, { min: 0.01, max: 1 }),
      minReadings: num(raw, 'minReadings', path, 10, { min: 1, integer: true }),
      severity: severity(raw, 'severity', path, 'low'),
    };
  },
  init: () => ({ w: {}, off: {} }),
  onReading(ctx, cfg, state, r) {
    if (!cfg.codes.includes(r.code)) return;
    const dev = r.reading.deviceId;
    const base = { severity: cfg.severity, atMs: r.t, evidence: [r.reading.id], deviceId: dev };
    const offKey = `technical:${dev}:probe-off`;
    if (hasAnyFlag(r.reading, cfg.probeOffFlags)) state.off[dev] ??= r.t;
    else delete state.off[dev];
    const offSince = state.off[dev];
    ctx.assess(cfg, {
      ...base,
      key: offKey,
      active: offSince !== undefined,
      summary: offSince !== undefined ? 'Sensor off the patient (probe off)' : 'Sensor back on the patient',
      data: { class: 'technical' },
      persistSeconds: cfg.probeOffSeconds,
      persistReadings: 1,
      clearSeconds: 0,
    });

    const wk = `${dev}|${r.code}`;
    const from = r.t - cfg.poorMinutes * 60_000;
    const bucket = Math.floor(r.t / BUCKET_MS) * BUCKET_MS;
    const w = (state.w[wk] ?? []).filter(([t]) => t + BUCKET_MS > from && t <= bucket);
    let last = w[w.length - 1];
    if (last === undefined || last[0] !== bucket) {
      last = [bucket, 0, 0];
      w.push(last);
    }
    last[1]++;
    if (hasAnyFlag(r.reading, cfg.poorFlags)) last[2]++;
    state.w[wk] = w;
    let n = 0;
    let flagged = 0;
    for (const [, c, f] of w) {
      n += c;
      flagged += f;
    }
    const fraction = flagged / n;
    const key = `technical:${dev}:${r.code}:signal-poor`;
    // Judged once the window is (nearly) full: the oldest bucket starts poorMinutes back.
    const spanMs = r.t - (w[0] as [number, number, number])[0];
    const enough = n >= cfg.minReadings && spanMs >= (cfg.poorMinutes - 1) * 60_000;
    const active = ctx.isOpen(key)
      ? fraction >= cfg.poorFraction / 2
      : enough && fraction >= cfg.poorFraction;
    const pct = Math.round(fraction * 100);
    ctx.assess(cfg, {
      ...base,
      key,
      active,
      summary: active
        ? `Signal poor: ${pct} % of readings flagged over ${cfg.poorMinutes} min`
        : `Signal quality acceptable (${pct} % flagged over ${cfg.poorMinutes} min)`,
      data: { class: 'technical', code: r.code, flaggedFraction: Math.round(fraction * 100) / 100 },
      persistSeconds: 0,
      persistReadings: 1,
      clearSeconds: 0,
    });
  },
};
