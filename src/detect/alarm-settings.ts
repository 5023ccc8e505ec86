import { configError } from './config-error.ts';
import { isObject, type Raw } from './config-fields.ts';
import { type ProgramDefinition, validateRule } from './program-config.ts';
import type { ReplayEvent } from './replay.ts';

/**
 * A program's alarm settings: rule-field overrides over the program's definition
 * (`{ <rule id>: { <field>: value } }` — thresholds, persistence, severities, `enabled`), validated
 * with the rule kinds' own validators so a bad value is refused by its path exactly as in a program
 * file. Pure; storage, review and audit are the alarm-settings service's (docs/alarm-settings.md).
 */
export type AlarmOverrides = Record<string, Raw>;

/** Fields that name a rule rather than set it: never changed through alarm settings. */
const FIXED = new Set(['id', 'kind']);

/** Validates a proposed change against the program (each rule re-validated); returns it as given. */
export function validateAlarmChanges(
  program: ProgramDefinition,
  raw: unknown,
  path = 'changes',
): AlarmOverrides {
  if (!isObject(raw)) throw configError(path, 'expected an object of rule ids to fields');
  const ids = Object.keys(raw);
  if (ids.length === 0) throw configError(path, 'names no rule to change');
  for (const id of ids) {
    const patch = raw[id];
    if (!isObject(patch)) throw configError(`${path}.${id}`, 'expected an object of rule fields');
    if (Object.keys(patch).length === 0) throw configError(`${path}.${id}`, 'changes no field');
    for (const f of Object.keys(patch))
      if (FIXED.has(f)) throw configError(`${path}.${id}.${f}`, 'a rule’s id and kind cannot be changed');
  }
  applyAlarmSettings(program, raw as AlarmOverrides, path);
  return raw as AlarmOverrides;
}

/** The overrides in force after `changes`: field by field over the previous ones. */
export function mergeOverrides(prev: AlarmOverrides, changes: AlarmOverrides): AlarmOverrides {
  const out: AlarmOverrides = {};
  for (const [id, p] of Object.entries(prev)) out[id] = { ...p };
  for (const [id, p] of Object.entries(changes)) out[id] = { ...(out[id] ?? {}), ...p };
  return out;
}

/** The program with the overrides applied, every changed rule re-validated. */
export function applyAlarmSettings(
  program: ProgramDefinition,
  overrides: AlarmOverrides,
  path = `alarmSettings.${program.name}`,
): ProgramDefinition {
  const byId = new Map(program.rules.map((r) => [r.id, r]));
  for (const id of Object.keys(overrides))
    if (!byId.has(id))
      throw configError(
        `${path}.${id}`,
        `no rule '${id}' in program ${program.name} (rules: ${[...byId.keys()].join(', ')})`,
      );
  const rules = program.rules.map((r) => {
    const patch = overrides[r.id];
    if (patch === undefined) return r;
    return validateRule({ ...r, ...patch, id: r.id, kind: r.kind }, `${path}.${r.id}`);
  });
  return { ...program, rules };
}

export interface SettingChange {
  rule: string;
  field: string;
  before: unknown;
  after: unknown;
}

/** What differs between two validated definitions of one program, field by field (effective values). */
export function settingsDiff(before: ProgramDefinition, after: ProgramDefinition): SettingChange[] {
  const out: SettingChange[] = [];
  const b = new Map(before.rules.map((r) => [r.id, r as unknown as Raw]));
  for (const r of after.rules) {
    const old = b.get(r.id) ?? {};
    const now = r as unknown as Raw;
    for (const field of new Set([...Object.keys(old), ...Object.keys(now)])) {
      if (JSON.stringify(old[field]) !== JSON.stringify(now[field]))
        out.push({ rule: r.id, field, before: old[field] ?? null, after: now[field] ?? null });
    }
  }
  return out;
}

/** One alert a replay raised: from its opening to its clearing (or the end of the replay). */
export interface ReplayEpisode {
  patientId: string;
  conditionKey: string;
  /** The configured rule's id (`data.ruleId`; the kind when a detection does not carry it). */
  rule: string;
  /** The rule kind. */
  kind: string;
  /** The highest severity the episode reached. */
  severity: ReplayEvent['severity'];
  openedAt: string;
  clearedAt: string | null;
  summary: string;
}

const RANK: Record<string, number> = { info: 0, low: 1, medium: 2, high: 3, critical: 4 };

/** Replay events → the alerts they amount to (one episode per opening). */
export function episodesOf(events: Iterable<ReplayEvent>): ReplayEpisode[] {
  const open = new Map<string, ReplayEpisode>();
  const out: ReplayEpisode[] = [];
  for (const e of events) {
    const k = `${e.patientId}\u0000${e.conditionKey}`;
    const cur = open.get(k);
    if (e.event === 'cleared') {
      if (cur) cur.clearedAt = e.at;
      open.delete(k);
    } else if (e.event === 'opened' || cur === undefined) {
      const ep: ReplayEpisode = {
        patientId: e.patientId,
        conditionKey: e.conditionKey,
        rule: typeof e.data?.['ruleId'] === 'string' ? e.data['ruleId'] : e.rule,
        kind: e.rule,
        severity: e.severity,
        openedAt: e.at,
        clearedAt: null,
        summary: e.summary,
      };
      open.set(k, ep);
      out.push(ep);
    } else if ((RANK[e.severity] ?? 0) > (RANK[cur.severity] ?? 0)) cur.severity = e.severity;
  }
  return out;
}

export interface RuleSeverityCount {
  rule: string;
  severity: string;
  before: number;
  after: number;
}

export interface ReplayComparison {
  before: { alerts: number; patients: number };
  after: { alerts: number; patients: number };
  byRuleSeverity: RuleSeverityCount[];
  /** Patients whose alerts differ between the two runs. */
  patientsAffected: number;
  /** Alerts of the current settings with no overlapping alert of the same condition under the proposal. */
  removed: ReplayEpisode[];
  /** Alerts of the proposal with no overlapping alert of the same condition under the current settings. */
  added: ReplayEpisode[];
}

const endOf = (e: ReplayEpisode, endMs: number) => (e.clearedAt === null ? endMs : Date.parse(e.clearedAt));

/**
 * Before vs after. An alert "stays" when the other run has an alert of the same patient and
 * condition overlapping it in time (a later opening under a longer persistence is the same alarm,
 * delayed); otherwise it is removed (or added). `endMs`: the end of the replayed window.
 */
export function compareReplays(
  before: ReplayEpisode[],
  after: ReplayEpisode[],
  endMs: number,
): ReplayComparison {
  const key = (e: ReplayEpisode) => `${e.patientId}\u0000${e.conditionKey}`;
  const index = (eps: ReplayEpisode[]) => {
    const m = new Map<string, ReplayEpisode[]>();
    for (const e of eps) m.set(key(e), [...(m.get(key(e)) ?? []), e]);
    return m;
  };
  const overlaps = (a: ReplayEpisode, b: ReplayEpisode) =>
    Date.parse(a.openedAt) <= endOf(b, endMs) && Date.parse(b.openedAt) <= endOf(a, endMs);
  const unmatched = (eps: ReplayEpisode[], other: Map<string, ReplayEpisode[]>) =>
    eps.filter((e) => !(other.get(key(e)) ?? []).some((o) => overlaps(e, o)));
  const removed = unmatched(before, index(after));
  const added = unmatched(after, index(before));

  const counts = new Map<string, RuleSeverityCount>();
  const count = (eps: ReplayEpisode[], side: 'before' | 'after') => {
    for (const e of eps) {
      const k = `${e.rule}\u0000${e.severity}`;
      const c = counts.get(k) ?? { rule: e.rule, severity: e.severity, before: 0, after: 0 };
      c[side]++;
      counts.set(k, c);
    }
  };
  count(before, 'before');
  count(after, 'after');
  const patients = (eps: ReplayEpisode[]) => new Set(eps.map((e) => e.patientId)).size;
  return {
    before: { alerts: before.length, patients: patients(before) },
    after: { alerts: after.length, patients: patients(after) },
    byRuleSeverity: [...counts.values()].sort(
      (a, b) => a.rule.localeCompare(b.rule) || (RANK[b.severity] ?? 0) - (RANK[a.severity] ?? 0),
    ),
    patientsAffected: new Set([...removed, ...added].map((e) => e.patientId)).size,
    removed,
    added,
  };
}
