import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { Clock } from '../core/clock.ts';
import { errorMessage, VigilError } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import type { Logger } from '../core/logger.ts';
import type { Reading } from '../core/reading.ts';
import {
  type AlarmOverrides,
  applyAlarmSettings,
  compareReplays,
  episodesOf,
  mergeOverrides,
  type ReplayComparison,
  type ReplayEpisode,
  type SettingChange,
  settingsDiff,
  validateAlarmChanges,
} from '../detect/alarm-settings.ts';
import type { EngineConfig } from '../detect/engine.ts';
import type { PatientEnrolment, ProgramDefinition } from '../detect/program-config.ts';
import { type ReplayEvent, replay } from '../detect/replay.ts';
import type {
  AlarmSettingsProposal,
  AlarmSettingsRepository,
  AlarmSettingsVersion,
} from '../store/alarm-settings-repository.ts';
import type { MonitoringService } from './monitoring-service.ts';

const DAY = 86_400_000;

/** Bounds of one replay: what it reads and how long it holds the event loop at a time. */
export interface ReplayLimits {
  /** Readings replayed at most (oldest first); more and the result says `truncated`. */
  maxReadings: number;
  /** Patients of the program replayed at most. */
  maxPatients: number;
  /** Removed alerts listed (all are counted). */
  maxListed: number;
  /** Readings fed to the engines between two yields to the event loop. */
  sliceReadings: number;
}

export const defaultReplayLimits: ReplayLimits = {
  maxReadings: 200_000,
  maxPatients: 500,
  maxListed: 200,
  sliceReadings: 500,
};

/** A removed alert, with the stored alerts it corresponds to (acknowledged = judged actionable). */
export interface RemovedAlert extends ReplayEpisode {
  storedAlertIds: string[];
  acknowledged: boolean;
}

export interface AlarmReplayResult extends Omit<ReplayComparison, 'removed' | 'added'> {
  program: string;
  since: string;
  until: string;
  days: number;
  /** The version in force the proposal was replayed against. */
  baseVersion: number;
  patients: number;
  readings: number;
  /** Limits reached: readings or patients left out (the result covers the rest). */
  truncated: { readings: boolean; patients: boolean };
  removedCount: number;
  addedCount: number;
  removed: RemovedAlert[];
  /** Removed alerts that a person had acknowledged: the change would have silenced actionable alarms. */
  removedAcknowledged: number;
  warnings: string[];
  /** What the proposal changes, field by field (effective values). */
  diff: SettingChange[];
}

export type ReplayJob =
  | { status: 'running'; startedAt: string }
  | { status: 'failed'; startedAt: string; error: string };

const err = (code: string, message: string, status: number, details?: Record<string, unknown>) =>
  new VigilError(`VIGIL_ERR_ALARMSET_${code}`, message, status, details);

/**
 * Change control for a program's alarm settings (docs/alarm-settings.md): a change is proposed
 * (validated by the rule kinds' own validators), replayed over the program's stored readings in
 * event time under the settings in force and under the proposal (two engines, no alerts raised),
 * reviewed by a second clinician with that result — four eyes, enforced here — and, approved,
 * applied as a new version that detection picks up at once (a programs change).
 */
export class AlarmSettingsService {
  readonly repo: AlarmSettingsRepository;
  readonly #monitoring: MonitoringService;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #limits: ReplayLimits;
  readonly #jobs = new Map<string, ReplayJob>();
  /** One replay at a time per process: it is the heavy part. */
  #running: Promise<unknown> = Promise.resolve();

  constructor(o: {
    repo: AlarmSettingsRepository;
    monitoring: MonitoringService;
    clock: Clock;
    log: Logger;
    limits?: Partial<ReplayLimits>;
  }) {
    this.repo = o.repo;
    this.#monitoring = o.monitoring;
    this.#clock = o.clock;
    this.#log = o.log.child({ component: 'alarm-settings' });
    this.#limits = { ...defaultReplayLimits, ...o.limits };
  }

  #now(): string {
    return new Date(this.#clock.now()).toISOString();
  }

  /** The program's own definition (built-in or custom), without alarm settings. */
  async #base(program: string): Promise<ProgramDefinition> {
    const p = (await this.#monitoring.basePrograms()).find((x) => x.name === program);
    if (p === undefined) throw err('UNKNOWN_PROGRAM', `no program '${program}'`, 404);
    return p;
  }

  async #inForce(program: string): Promise<{ version: number; overrides: AlarmOverrides }> {
    const v = await this.repo.current(program);
    return v === undefined ? { version: 0, overrides: {} } : { version: v.version, overrides: v.overrides };
  }

  /** The settings in force: version, overrides, and the program's effective rules. */
  async current(program: string): Promise<{
    program: string;
    version: number;
    overrides: AlarmOverrides;
    rules: ProgramDefinition['rules'];
    applied: AlarmSettingsVersion | null;
  }> {
    const base = await this.#base(program);
    const v = await this.repo.current(program);
    const overrides = v?.overrides ?? {};
    return {
      program,
      version: v?.version ?? 0,
      overrides,
      rules: applyAlarmSettings(base, overrides).rules,
      applied: v ?? null,
    };
  }

  async versions(program: string, limit?: number): Promise<AlarmSettingsVersion[]> {
    await this.#base(program);
    return this.repo.versions(program, limit);
  }

  async propose(
    program: string,
    changes: unknown,
    reason: string,
    by: string,
  ): Promise<AlarmSettingsProposal> {
    const base = await this.#base(program);
    const cur = await this.#inForce(program);
    const valid = validateAlarmChanges(applyAlarmSettings(base, cur.overrides), changes);
    // The whole set as it would be in force must validate too (a field may depend on another).
    applyAlarmSettings(base, mergeOverrides(cur.overrides, valid), 'changes');
    return this.repo.insertProposal({
      id: newId(),
      program,
      baseVersion: cur.version,
      changes: valid,
      reason,
      status: 'proposed',
      proposedBy: by,
      proposedAt: this.#now(),
      replay: null,
      replayedAt: null,
      replayedBy: null,
      reviewedBy: null,
      reviewedAt: null,
      reviewNote: null,
      appliedVersion: null,
    });
  }

  proposals(program: string, status?: AlarmSettingsProposal['status']): Promise<AlarmSettingsProposal[]> {
    return this.#base(program).then(() => this.repo.proposals(program, status));
  }

  async proposal(program: string, id: string): Promise<AlarmSettingsProposal> {
    const p = await this.repo.proposal(program, id);
    if (p === undefined) throw err('NOT_FOUND', `no proposal ${id} for program ${program}`, 404);
    return p;
  }

  job(id: string): ReplayJob | undefined {
    return this.#jobs.get(id);
  }

  /**
   * Starts the replay of an open proposal as a background job (one at a time; a second request for
   * the same proposal while it runs is answered with the running job). Resolves when it is queued;
   * `done` resolves when its result is stored.
   */
  async startReplay(
    program: string,
    id: string,
    days: number,
    by: string,
  ): Promise<{ job: ReplayJob; done: Promise<void> }> {
    const p = await this.proposal(program, id);
    if (p.status !== 'proposed') throw err('NOT_OPEN', `proposal ${id} is ${p.status}`, 409);
    const running = this.#jobs.get(id);
    if (running?.status === 'running') return { job: running, done: Promise.resolve() };
    const job: ReplayJob = { status: 'running', startedAt: this.#now() };
    this.#jobs.set(id, job);
    const done = this.#running.then(async () => {
      try {
        const result = await this.replay(p, days);
        await this.repo.saveReplay(id, result, by, this.#now());
        this.#jobs.delete(id);
        this.#log.info(
          { program, proposal: id, readings: result.readings, patients: result.patients },
          'alarm settings replayed',
        );
      } catch (e) {
        this.#jobs.set(id, { status: 'failed', startedAt: job.startedAt, error: errorMessage(e) });
        this.#log.error({ program, proposal: id, err: errorMessage(e) }, 'alarm settings replay failed');
      }
    });
    this.#running = done;
    return { job, done };
  }

  /**
   * The proposal's effect on the last `days` of the program's stored readings: the same engine,
   * event time, once with the settings in force and once with the proposal; nothing is raised.
   */
  async replay(p: AlarmSettingsProposal, days: number): Promise<AlarmReplayResult> {
    const L = this.#limits;
    const untilMs = this.#clock.now();
    const sinceMs = untilMs - days * DAY;
    const since = new Date(sinceMs).toISOString();
    const until = new Date(untilMs).toISOString();
    const base = await this.#base(p.program);
    const cur = await this.#inForce(p.program);
    const current = applyAlarmSettings(base, cur.overrides);
    const proposed = applyAlarmSettings(base, mergeOverrides(cur.overrides, p.changes), 'changes');
    const programs = await this.#monitoring.programs();
    const others = (def: ProgramDefinition) => programs.map((x) => (x.name === p.program ? def : x));

    const enrolled = (await this.#monitoring.repo.allCurrent())
      .filter((v) => ((v.enrolment as { programs?: string[] } | null)?.programs ?? []).includes(p.program))
      .sort((a, b) => a.patientId.localeCompare(b.patientId));
    const chosen = enrolled.slice(0, L.maxPatients);
    const patients: Record<string, PatientEnrolment> = {};
    for (const v of chosen) patients[v.patientId] = v.enrolment as unknown as PatientEnrolment;
    const rows = await this.repo.readings(Object.keys(patients), since, until, L.maxReadings + 1);
    const readings = rows.slice(0, L.maxReadings);

    const run = async (cfg: EngineConfig): Promise<ReplayEvent[]> => {
      const events: ReplayEvent[] = [];
      const it = replay(sliced(readings, L.sliceReadings), cfg, {
        // Gaps are judged every 5 min of event time (live: every minute): the same in both runs, so
        // the comparison is unchanged, and a month of silence is 8 640 ticks, not 43 200.
        tickSeconds: 300,
        untilMs,
        // A stored reading the engine refuses (should not happen): left out, counted by the engine.
        onError: () => {},
      });
      for (;;) {
        const n = await it.next();
        if (n.done) break;
        events.push(n.value);
      }
      return events;
    };
    const before = episodesOf(await run({ programs: others(current), patients }));
    const after = episodesOf(await run({ programs: others(proposed), patients }));
    const cmp = compareReplays(before, after, untilMs);

    // The removed alerts against what was really raised: one acknowledged by a person was actionable.
    const slack = 10 * 60_000;
    const removed: RemovedAlert[] = [];
    let removedAcknowledged = 0;
    for (const e of cmp.removed) {
      const from = new Date(Date.parse(e.openedAt) - slack).toISOString();
      const to = new Date(
        (e.clearedAt ? Date.parse(e.clearedAt) : Date.parse(e.openedAt)) + slack,
      ).toISOString();
      const stored = await this.repo.alertsOf(e.patientId, e.conditionKey, from, to);
      const acknowledged = stored.some((s) => s.acknowledged);
      if (acknowledged) removedAcknowledged++;
      if (removed.length < L.maxListed || acknowledged)
        removed.push({ ...e, storedAlertIds: stored.map((s) => s.id), acknowledged });
    }
    removed.sort(
      (a, b) => Number(b.acknowledged) - Number(a.acknowledged) || a.openedAt.localeCompare(b.openedAt),
    );
    const warnings: string[] = [];
    if (removedAcknowledged > 0)
      warnings.push(
        `${removedAcknowledged} alert(s) the proposal would remove had been acknowledged by a clinician (actionable)`,
      );
    const truncated = { readings: rows.length > L.maxReadings, patients: enrolled.length > chosen.length };
    if (truncated.readings)
      warnings.push(
        `only the first ${L.maxReadings} readings were replayed (the window was cut at the limit)`,
      );
    if (truncated.patients)
      warnings.push(`only ${L.maxPatients} of ${enrolled.length} patients were replayed`);
    const { removed: _r, added, ...counts } = cmp;
    return {
      program: p.program,
      since,
      until,
      days,
      baseVersion: cur.version,
      patients: chosen.length,
      readings: readings.length,
      truncated,
      ...counts,
      removedCount: cmp.removed.length,
      addedCount: added.length,
      removed: removed.slice(0, Math.max(L.maxListed, removedAcknowledged)),
      removedAcknowledged,
      warnings,
      diff: settingsDiff(current, proposed),
    };
  }

  /**
   * A second clinician's decision. The proposer may not review their own proposal; approval needs
   * a replay against the version in force and applies the change as the next version.
   */
  async review(
    program: string,
    id: string,
    decision: 'approve' | 'reject',
    note: string,
    by: string,
  ): Promise<{ proposal: AlarmSettingsProposal; version?: AlarmSettingsVersion }> {
    const p = await this.proposal(program, id);
    if (p.status !== 'proposed') throw err('NOT_OPEN', `proposal ${id} is ${p.status}`, 409);
    if (p.proposedBy === by)
      throw err('SELF_REVIEW', 'a proposal is reviewed by a second clinician, not by its proposer', 403);
    const at = this.#now();
    if (decision === 'reject') {
      if (!(await this.repo.close(id, 'rejected', by, at, note)))
        throw err('NOT_OPEN', `proposal ${id} is no longer open`, 409);
      return { proposal: await this.proposal(program, id) };
    }
    const cur = await this.#inForce(program);
    if (cur.version !== p.baseVersion)
      throw err(
        'STALE',
        `the alarm settings changed since this proposal (now version ${cur.version}); propose again`,
        409,
        { version: cur.version },
      );
    const replayed = p.replay as { baseVersion?: number } | null;
    if (replayed === null)
      throw err('NO_REPLAY', 'replay the proposal before approving it (the reviewer sees its effect)', 409);
    if (replayed.baseVersion !== p.baseVersion)
      throw err('NO_REPLAY', 'the replay was made against other settings; replay again', 409);
    const base = await this.#base(program);
    const before = applyAlarmSettings(base, cur.overrides);
    const overrides = mergeOverrides(cur.overrides, p.changes);
    const after = applyAlarmSettings(base, overrides, 'changes');
    const r = await this.repo.approveAndApply(
      p,
      { overrides, diff: settingsDiff(before, after) },
      by,
      at,
      note,
    );
    if ('refused' in r) {
      if (r.refused === 'not-open') throw err('NOT_OPEN', `proposal ${id} is no longer open`, 409);
      throw err(
        'STALE',
        `the alarm settings changed since this proposal (now version ${r.version}); propose again`,
        409,
        { version: r.version },
      );
    }
    this.#monitoring.changed({ programs: true });
    this.#log.info({ program, proposal: id, version: r.version }, 'alarm settings applied');
    return { proposal: await this.proposal(program, id), version: r };
  }

  /** The proposer takes back an open proposal. */
  async withdraw(program: string, id: string, by: string): Promise<AlarmSettingsProposal> {
    const p = await this.proposal(program, id);
    if (p.status !== 'proposed') throw err('NOT_OPEN', `proposal ${id} is ${p.status}`, 409);
    if (p.proposedBy !== by) throw err('NOT_PROPOSER', 'only the proposer withdraws a proposal', 403);
    if (!(await this.repo.close(id, 'withdrawn', by, this.#now(), 'withdrawn')))
      throw err('NOT_OPEN', `proposal ${id} is no longer open`, 409);
    return this.proposal(program, id);
  }
}

/** The readings, yielding to the event loop every `n`: a month of a ward never holds it for long. */
async function* sliced(readings: readonly Reading[], n: number): AsyncGenerator<Reading> {
  for (let i = 0; i < readings.length; i++) {
    if (i > 0 && i % n === 0) await yieldToLoop();
    yield readings[i] as Reading;
  }
}
