import { type Clock, systemClock } from '../core/clock.ts';
import type { Detection } from '../core/detection.ts';
import type { DeviceStatusReport, Reading } from '../core/reading.ts';
import { severityRank } from '../core/severity.ts';
import { UnverifiedAlias } from './codes.ts';
import { type ConditionState, pushEvidence, trackCondition } from './condition-tracker.ts';
import { configError } from './config-error.ts';
import { cancelOnRemoval } from './measurement-request.ts';
import {
  type PatientEnrolment,
  type ProgramDefinition,
  type ResolvedRules,
  resolvePatientRules,
} from './program-config.ts';
import type { Assessment, ReadingDraft, ReadingView, RuleBase, RuleContext, RuleKind } from './rule-kind.ts';
import { ruleKinds } from './rule-kinds.ts';

export interface EngineConfig {
  programs: ProgramDefinition[];
  /** Enrolment per patient id. */
  patients: Record<string, PatientEnrolment>;
  /** Used for patients without an enrolment; absent = their readings are ignored. */
  defaultEnrolment?: PatientEnrolment;
}

export interface EngineOutput {
  detections: Detection[];
  /** Derived readings to store as Observations (the NEWS2 score). */
  derived: ReadingDraft[];
}

interface PatientState {
  /** Per rule id: the rule kind's own JSON state. */
  rules: Record<string, unknown>;
  conds: Record<string, ConditionState>;
}

export interface DayCount {
  firing: number;
  cleared: number;
}

export interface EngineStats {
  readings: number;
  /** Readings without patient, without enrolment, or unparseable time. */
  ignored: number;
  /** Detections emitted per patient per UTC day (last 31 days kept). */
  detectionsPerPatientDay: Record<string, Record<string, DayCount>>;
}

export interface EngineSnapshot {
  version: 1;
  patients: Record<string, PatientState>;
  stats: EngineStats;
}

export interface Engine {
  onReading(reading: Reading): EngineOutput;
  onStatus(report: DeviceStatusReport): EngineOutput;
  /** Time-based rules (data gaps); the server calls it on a timer, replay as event time advances. */
  tick(nowMs?: number): EngineOutput;
  /** Per-patient state as plain JSON, for a restart or a worker handover. */
  snapshot(): EngineSnapshot;
  /** The state of these patients only (a copy; patients without state are left out). */
  snapshotPatients(ids: Iterable<string>): Record<string, PatientState>;
  restore(state: EngineSnapshot): void;
  /**
   * Change a patient's enrolment; state of rules that still exist is kept. The open measurement
   * request of a rule that goes is cancelled (emitted with the next output) unless `handover` (the
   * patient's state moves to another worker, which decides the request).
   */
  setEnrolment(patientId: string, enrolment: PatientEnrolment, o?: { handover?: boolean }): void;
  stats(): EngineStats;
}

interface Runtime {
  id: string;
  state: PatientState;
  resolved: ResolvedRules;
  /** Rules that supersede others run first (stable order otherwise), see `supersede`. */
  kinds: Array<[RuleBase, RuleKind]>;
  ctx: RuleContext;
  /** Per superseded condition key: the active superseding assessment of the current input. */
  superseding: Map<string, Superseding>;
}

interface Superseding {
  a: Assessment;
  /** The detection that assessment emitted for this input, if any (gets `data.superseded`). */
  d: Detection | null;
}

const STATS_DAYS = 31;

export function createEngine(config: EngineConfig, clock: Clock = systemClock): Engine {
  const programsByName = new Map(config.programs.map((p) => [p.name, p]));
  const enrolments = new Map(Object.entries(config.patients));
  let patients: Record<string, PatientState> = {};
  let stats: EngineStats = { readings: 0, ignored: 0, detectionsPerPatientDay: {} };
  const runtimes = new Map<string, Runtime | null>();
  let out: EngineOutput = { detections: [], derived: [] };
  /** Off while a handover drops a patient's rules (setEnrolment `handover`). */
  let cancelRequests = true;

  function resolve(patientId: string): ResolvedRules | null {
    const e = enrolments.get(patientId) ?? config.defaultEnrolment;
    if (e === undefined) return null;
    const progs = e.programs.map((name) => {
      const p = programsByName.get(name);
      if (p === undefined) throw configError(`patients.${patientId}.programs`, `unknown program '${name}'`);
      return p;
    });
    return resolvePatientRules(progs, e);
  }

  function runtime(patientId: string): Runtime | null {
    const cached = runtimes.get(patientId);
    if (cached !== undefined) return cached;
    const resolved = resolve(patientId);
    if (resolved === null) {
      runtimes.set(patientId, null);
      return null;
    }
    const state = patients[patientId] ?? { rules: {}, conds: {} };
    patients[patientId] = state;
    const kinds: Array<[RuleBase, RuleKind]> = [];
    const live = new Set<string>();
    for (const r of resolved.rules) {
      const k = ruleKinds[r.kind];
      if (k === undefined) continue;
      kinds.push([r, k]);
      live.add(r.id);
      if (!(r.id in state.rules)) state.rules[r.id] = k.init(r);
    }
    for (const id of Object.keys(state.rules))
      if (!live.has(id)) {
        cancelRequest(patientId, state, id, state.rules[id]);
        delete state.rules[id];
      }
    // Superseding rules first, so their verdict on an input is known before the rules they supersede.
    kinds.sort(([a], [b]) => Number(b.supersedes.length > 0) - Number(a.supersedes.length > 0));
    const superseding = new Map<string, Superseding>();
    const ctx: RuleContext = {
      patientId,
      patient: resolved.settings,
      isOpen: (key) => state.conds[key]?.open === true,
      assess: (rule: RuleBase, a: Assessment) => {
        if (supersede(state, superseding, a)) return;
        const d = trackCondition(state.conds, patientId, rule, a);
        if (d !== null) {
          out.detections.push(d);
          count(d);
        }
        if (a.active)
          for (const key of rule.supersedes) {
            const prev = superseding.get(key);
            if (prev === undefined || severityRank(a.severity) > severityRank(prev.a.severity))
              superseding.set(key, { a, d });
          }
      },
      derive: (draft) => out.derived.push(draft),
    };
    const rt: Runtime = { id: patientId, state, resolved, kinds, ctx, superseding };
    runtimes.set(patientId, rt);
    return rt;
  }

  /**
   * `RuleBase.supersedes`: an assessment whose condition key an active assessment of the SAME input
   * supersedes with a higher severity is not tracked — its condition neither opens, updates,
   * re-alerts nor clears — and its evidence is merged into the superseding condition; the
   * superseding detection of this input lists the key in `data.superseded`. True = dropped.
   */
  function supersede(state: PatientState, superseding: Map<string, Superseding>, a: Assessment): boolean {
    const by = superseding.get(a.key);
    if (by === undefined || severityRank(a.severity) >= severityRank(by.a.severity)) return false;
    const cond = state.conds[by.a.key];
    if (cond !== undefined) pushEvidence(cond, a.evidence);
    if (by.d !== null) {
      for (const id of a.evidence ?? []) if (!by.d.evidence.includes(id)) by.d.evidence.push(id);
      const keys = (by.d.data?.superseded as string[] | undefined) ?? [];
      if (!keys.includes(a.key)) by.d.data = { ...by.d.data, superseded: [...keys, a.key] };
    }
    return true;
  }

  /**
   * A removed rule's open measurement request (measurement-request.ts) is closed as cancelled: its
   * condition would otherwise stay open with no rule left to decide it. Emitted with the next output.
   */
  function cancelRequest(patientId: string, state: PatientState, ruleId: string, ruleState: unknown): void {
    if (!cancelRequests) return;
    const a = cancelOnRemoval(ruleState, clock.now());
    const cond = a === null ? undefined : state.conds[a.key];
    if (a === null || cond === undefined) return;
    const rule: RuleBase = {
      id: ruleId,
      kind: cond.rule,
      enabled: true,
      persistSeconds: 0,
      persistReadings: 1,
      realertMinutes: 0,
      clearSeconds: 0,
      supersedes: [],
      upgradeDwellSeconds: 0,
      downgradeDwellSeconds: 0,
    };
    const d = trackCondition(state.conds, patientId, rule, a);
    if (d !== null) {
      out.detections.push(d);
      count(d);
    }
  }

  function count(d: Detection): void {
    const perDay = stats.detectionsPerPatientDay[d.patientId] ?? {};
    stats.detectionsPerPatientDay[d.patientId] = perDay;
    const day = d.at.slice(0, 10);
    const c = perDay[day] ?? { firing: 0, cleared: 0 };
    perDay[day] = c;
    c[d.state === 'firing' ? 'firing' : 'cleared']++;
    const days = Object.keys(perDay);
    if (days.length > STATS_DAYS) {
      days.sort();
      for (const old of days.slice(0, days.length - STATS_DAYS)) delete perDay[old];
    }
  }

  function take(): EngineOutput {
    const o = out;
    out = { detections: [], derived: [] };
    return o;
  }

  return {
    onReading(reading) {
      stats.readings++;
      const t = Date.parse(reading.effective);
      const rt = reading.patientId === null || Number.isNaN(t) ? null : runtime(reading.patientId);
      if (rt === null) {
        stats.ignored++;
        return take();
      }
      rt.superseding.clear();
      const view: ReadingView = {
        reading,
        patientId: rt.id,
        t,
        code: UnverifiedAlias[reading.code] ?? reading.code,
      };
      for (const [cfg, k] of rt.kinds) k.onReading?.(rt.ctx, cfg, rt.state.rules[cfg.id], view);
      return take();
    },
    onStatus(report) {
      const t = Date.parse(report.effective);
      const rt = report.patientId === null || Number.isNaN(t) ? null : runtime(report.patientId);
      if (rt === null) return take();
      rt.superseding.clear();
      for (const [cfg, k] of rt.kinds) k.onStatus?.(rt.ctx, cfg, rt.state.rules[cfg.id], report, t);
      return take();
    },
    tick(nowMs = clock.now()) {
      // Sorted ids keep tick output deterministic whatever order patients were first seen in.
      for (const id of Object.keys(patients).sort()) {
        const rt = runtime(id);
        if (rt === null) continue;
        rt.superseding.clear();
        for (const [cfg, k] of rt.kinds) k.onTick?.(rt.ctx, cfg, rt.state.rules[cfg.id], nowMs);
      }
      return take();
    },
    snapshot() {
      return structuredClone({ version: 1 as const, patients, stats });
    },
    snapshotPatients(ids) {
      const out: Record<string, PatientState> = {};
      for (const id of ids) {
        const st = patients[id];
        if (st !== undefined) out[id] = structuredClone(st);
      }
      return out;
    },
    restore(s) {
      if (s.version !== 1)
        throw configError('snapshot.version', `unsupported snapshot version ${String(s.version)}`);
      const copy = structuredClone(s);
      patients = copy.patients;
      stats = copy.stats;
      runtimes.clear();
    },
    setEnrolment(patientId, enrolment, o = {}) {
      const before = enrolments.get(patientId);
      const cached = runtimes.get(patientId);
      enrolments.set(patientId, enrolment);
      runtimes.delete(patientId);
      let rt: Runtime | null;
      cancelRequests = o.handover !== true;
      try {
        rt = runtime(patientId);
      } catch (e) {
        // Refused (unknown program, bad override): the patient keeps the enrolment it had.
        if (before === undefined) enrolments.delete(patientId);
        else enrolments.set(patientId, before);
        if (cached !== undefined) runtimes.set(patientId, cached);
        throw e;
      } finally {
        cancelRequests = true;
      }
      // Conditions of rules the patient no longer has cannot clear on their own: drop them.
      if (rt !== null) {
        const kinds = new Set(rt.kinds.map(([r]) => r.kind));
        for (const [key, c] of Object.entries(rt.state.conds))
          if (!kinds.has(c.rule)) delete rt.state.conds[key];
      }
    },
    stats: () => structuredClone(stats),
  };
}
