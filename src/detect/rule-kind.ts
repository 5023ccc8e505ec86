import type { DeviceStatusReport, Reading } from '../core/reading.ts';
import type { Severity } from '../core/severity.ts';
import { bool, num, type Raw, str, strList } from './config-fields.ts';

/** Fields every rule config has: identity and the alarm-fatigue controls (see condition-tracker.ts). */
export interface RuleBase {
  id: string;
  kind: string;
  enabled: boolean;
  /** The condition must hold this long (event time) before it fires. */
  persistSeconds: number;
  /** …and for at least this many consecutive qualifying readings. */
  persistReadings: number;
  /** While open with unchanged severity, re-emit 'firing' after this long; 0 = never. */
  realertMinutes: number;
  /**
   * An open condition clears only after the rule has not held for this long (event time); if it
   * holds again sooner the condition simply stays open — one alert, not an open/resolve pair per
   * wobble across the limit. 0 = clear at once (the default).
   */
  clearSeconds: number;
  /**
   * Condition keys this rule supersedes: while this rule's assessment of an input is active, an
   * assessment of one of these keys from the same input with a LOWER severity is not tracked — it
   * neither opens, updates, re-alerts nor clears that condition — and its evidence is merged into
   * this rule's condition (`data.superseded` lists the keys). E.g. the hypertensive crisis
   * supersedes the systolic/diastolic threshold alerts of the same BP reading. Engine-level; see
   * `engine.ts` (`settle`).
   */
  supersedes: string[];
  /**
   * Severity hysteresis of an open condition (condition-tracker.ts): a higher severity notifies
   * ('firing') only once it has held for this long (event time; 0 = at once); a shorter excursion
   * is recorded in the condition's evidence and `data.severityChanges`, silently. Default: the
   * rule's `persistSeconds` — a level needs the same evidence to be reached as to open at.
   */
  upgradeDwellSeconds: number;
  /**
   * A lower severity is taken (silently: it updates the alert, it never notifies) only once it has
   * held for this long; until then the alert keeps its severity, so a value flapping across a
   * level boundary neither notifies nor changes the alert. Default: the rule's `clearSeconds`.
   */
  downgradeDwellSeconds: number;
}

export const BASE_KEYS = [
  'id',
  'kind',
  'enabled',
  'persistSeconds',
  'persistReadings',
  'realertMinutes',
  'clearSeconds',
  'supersedes',
  'upgradeDwellSeconds',
  'downgradeDwellSeconds',
] as const;

export function readBase(raw: Raw, path: string, d: Partial<RuleBase> = {}): RuleBase {
  const clearSeconds = num(raw, 'clearSeconds', path, d.clearSeconds ?? 0, { min: 0 });
  const persistSeconds = num(raw, 'persistSeconds', path, d.persistSeconds ?? 0, { min: 0 });
  return {
    id: str(raw, 'id', path),
    kind: str(raw, 'kind', path),
    enabled: bool(raw, 'enabled', path, d.enabled ?? true),
    persistSeconds,
    persistReadings: num(raw, 'persistReadings', path, d.persistReadings ?? 1, { min: 1, integer: true }),
    realertMinutes: num(raw, 'realertMinutes', path, d.realertMinutes ?? 30, { min: 0 }),
    clearSeconds,
    supersedes: strList(raw, 'supersedes', path, d.supersedes ?? []),
    upgradeDwellSeconds: num(raw, 'upgradeDwellSeconds', path, d.upgradeDwellSeconds ?? persistSeconds, {
      min: 0,
    }),
    downgradeDwellSeconds: num(raw, 'downgradeDwellSeconds', path, d.downgradeDwellSeconds ?? clearSeconds, {
      min: 0,
    }),
  };
}

/** A rule's verdict on one condition after an input; the tracker decides what, if anything, to emit. */
export interface Assessment {
  key: string;
  active: boolean;
  severity: Severity;
  atMs: number;
  summary: string;
  evidence?: string[];
  data?: Record<string, unknown>;
  deviceId?: string;
  /** Persistence overrides for this assessment (default: the rule's). */
  persistSeconds?: number;
  persistReadings?: number;
  /** Clear persistence override (default: the rule's `clearSeconds`); 0 for facts that end at once (data stale). */
  clearSeconds?: number;
}

/** Patient-level settings a clinician sets (not rule parameters). */
export interface PatientSettings {
  /** NEWS2 SpO2 scale; 2 only when a clinician prescribed an 88–92 % target. */
  spo2Scale: 1 | 2;
  /** Standing supplemental oxygen when no oxygen observation is fresh. */
  onOxygen: boolean;
}

/** A derived observation (e.g. the NEWS2 score) for the store; ids are assigned when stored. */
export type ReadingDraft = Omit<Reading, 'id' | 'received'>;

/** A reading as rules see it: parsed once by the engine. */
export interface ReadingView {
  reading: Reading;
  patientId: string;
  /** Event time in ms. */
  t: number;
  /** The code after mapping unverified aliases to local codes. */
  code: string;
}

export interface RuleContext {
  readonly patientId: string;
  readonly patient: PatientSettings;
  isOpen(key: string): boolean;
  assess(rule: RuleBase, a: Assessment): void;
  derive(draft: ReadingDraft): void;
}

/**
 * A rule kind: pure functions over its config and its own JSON state for one patient. The state
 * object is created by `init` and must stay plain JSON (snapshot/restore) and bounded in size.
 */
export interface RuleKind<C extends RuleBase = RuleBase, S = unknown> {
  kind: string;
  validate(raw: Raw, path: string): C;
  init(cfg: C): S;
  onReading?(ctx: RuleContext, cfg: C, state: S, r: ReadingView): void;
  onTick?(ctx: RuleContext, cfg: C, state: S, nowMs: number): void;
  onStatus?(ctx: RuleContext, cfg: C, state: S, report: DeviceStatusReport, atMs: number): void;
}
