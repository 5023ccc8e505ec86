import type { Clock } from '../core/clock.ts';
import { VigilError } from '../core/errors.ts';
import { type AlarmOverrides, applyAlarmSettings } from '../detect/alarm-settings.ts';
import { configError } from '../detect/config-error.ts';
import {
  type PatientEnrolment,
  type ProgramDefinition,
  resolvePatientRules,
  validateEnrolment,
  validateProgramConfig,
} from '../detect/program-config.ts';
import { builtInPrograms } from '../detect/programs/index.ts';
import type {
  MonitoringRepository,
  MonitoringVersion,
  ProgramVersion,
} from '../store/monitoring-repository.ts';

export interface ProgramInfo {
  name: string;
  title: string;
  builtIn: boolean;
  rules: ProgramDefinition['rules'];
  settings: ProgramDefinition['settings'];
  version?: number;
}

/** The alarm settings in force per program (rule-field overrides applied over its definition). */
export interface AlarmSettingsSource {
  inForce(): Promise<Array<{ program: string; version: number; overrides: AlarmOverrides }>>;
}

export type ChangeListener = (change: { patientId?: string; programs?: boolean; remote: boolean }) => void;

/**
 * Monitoring configuration: per-patient enrolments and custom programs, validated with the detect
 * module's validators before they are stored (a bad field is refused with
 * VIGIL_ERR_DETECT_CONFIG_INVALID and its path), versioned with who and when. Listeners (the
 * detection stage, the bus) hear of every change so caches are dropped at once.
 */
export class MonitoringService {
  readonly repo: MonitoringRepository;
  readonly #clock: Clock;
  readonly #listeners: ChangeListener[] = [];
  readonly #alarmSettings: AlarmSettingsSource | undefined;
  #custom: Promise<ProgramDefinition[]> | undefined;
  #settings: Promise<Map<string, { version: number; overrides: AlarmOverrides }>> | undefined;

  constructor(repo: MonitoringRepository, clock: Clock, alarmSettings?: AlarmSettingsSource) {
    this.repo = repo;
    this.#clock = clock;
    this.#alarmSettings = alarmSettings;
  }

  onChange(l: ChangeListener): void {
    this.#listeners.push(l);
  }

  /** Tell listeners of a change made elsewhere (another process, announced on the bus). */
  changed(change: { patientId?: string; programs?: boolean }, remote = false): void {
    if (change.programs) {
      this.#custom = undefined;
      this.#settings = undefined;
    }
    for (const l of this.#listeners) l({ ...change, remote });
  }

  /**
   * The programs in force: built-in and custom definitions with each program's applied alarm
   * settings (docs/alarm-settings.md) over them. What detection and enrolment validation use.
   */
  async programs(): Promise<ProgramDefinition[]> {
    const base = await this.basePrograms();
    const settings = await this.alarmSettingsInForce();
    return base.map((p) => {
      const s = settings.get(p.name);
      if (s === undefined) return p;
      try {
        return applyAlarmSettings(p, s.overrides, `alarmSettings.${p.name}`);
      } catch {
        // Settings applied to a custom program since redefined without the rule: its own definition
        // is used until the settings are changed again (the applied versions are still listed).
        return p;
      }
    });
  }

  /** Applied alarm settings per program (version and overrides), cached until a program change. */
  async alarmSettingsInForce(): Promise<Map<string, { version: number; overrides: AlarmOverrides }>> {
    if (this.#alarmSettings === undefined) return new Map();
    const src = this.#alarmSettings;
    this.#settings ??= src.inForce().then(
      (rows) => new Map(rows.map((r) => [r.program, { version: r.version, overrides: r.overrides }])),
      (e) => {
        this.#settings = undefined;
        throw e;
      },
    );
    return this.#settings;
  }

  /** Built-in programs followed by the custom ones (a custom one may not reuse a built-in name), without alarm settings. */
  async basePrograms(): Promise<ProgramDefinition[]> {
    this.#custom ??= this.repo.programs().then(
      (rows) => rows.map((r) => validateProgramConfig(r.definition, `programs.${r.name}`)),
      (e) => {
        this.#custom = undefined;
        throw e;
      },
    );
    return [...builtInPrograms, ...(await this.#custom)];
  }

  async programList(): Promise<ProgramInfo[]> {
    const custom = new Map((await this.repo.programs()).map((p) => [p.name, p]));
    return (await this.programs()).map((p) => ({
      name: p.name,
      title: p.title,
      builtIn: !custom.has(p.name),
      rules: p.rules,
      settings: p.settings,
      ...(custom.has(p.name) ? { version: custom.get(p.name)?.version } : {}),
    }));
  }

  /** Validates an enrolment against the programs in force: field paths start at `monitoring`. */
  async validate(raw: unknown): Promise<PatientEnrolment> {
    const e = validateEnrolment(raw, 'monitoring');
    const byName = new Map((await this.programs()).map((p) => [p.name, p]));
    if (e.programs.length === 0) throw configError('monitoring.programs', 'needs at least one program');
    const progs = e.programs.map((name, i) => {
      const p = byName.get(name);
      if (p === undefined)
        throw configError(
          `monitoring.programs[${i}]`,
          `unknown program '${name}' (known: ${[...byName.keys()].join(', ')})`,
        );
      return p;
    });
    // Overrides, disables and additions are re-validated field by field by the resolver.
    resolvePatientRules(progs, e);
    return e;
  }

  async get(patientId: string): Promise<MonitoringVersion | undefined> {
    return this.repo.current(patientId);
  }

  /** Stores a new version; `expectedVersion` refuses a change based on a stale read (409). */
  async put(
    patientId: string,
    raw: unknown,
    changedBy: string,
    opts: { reason?: string; expectedVersion?: number } = {},
  ): Promise<MonitoringVersion> {
    const e = raw === null ? null : await this.validate(raw);
    const r = await this.repo.append(
      patientId,
      e as Record<string, unknown> | null,
      changedBy,
      new Date(this.#clock.now()).toISOString(),
      opts.reason ?? null,
      opts.expectedVersion,
    );
    if ('conflict' in r)
      throw new VigilError(
        'VIGIL_ERR_DETECT_CONFIG_CONFLICT',
        `the monitoring configuration changed meanwhile (now version ${r.conflict}); reload and retry`,
        409,
        { version: r.conflict },
      );
    this.changed({ patientId });
    return r;
  }

  history(patientId: string, limit?: number): Promise<MonitoringVersion[]> {
    return this.repo.history(patientId, limit);
  }

  async putProgram(raw: unknown, changedBy: string): Promise<ProgramVersion> {
    const p = validateProgramConfig(raw, 'program');
    if (builtInPrograms.some((b) => b.name === p.name))
      throw configError('program.name', `'${p.name}' is a built-in program; choose another name`);
    const v = await this.repo.appendProgram(
      p.name,
      raw as Record<string, unknown>,
      changedBy,
      new Date(this.#clock.now()).toISOString(),
    );
    this.changed({ programs: true });
    return v;
  }
}
