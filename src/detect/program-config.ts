import { configError } from './config-error.ts';
import { isObject, list, noUnknownKeys, obj, type Raw, str } from './config-fields.ts';
import type { PatientSettings, RuleBase } from './rule-kind.ts';
import { ruleKinds } from './rule-kinds.ts';

/**
 * Monitoring programs (hypertension, heart failure, …) bundle rule configs with defaults; a patient
 * is enrolled in programs and may override any rule field, disable rules or add rules. Everything
 * is plain JSON validated here; storage, versioning and audit of configs live elsewhere.
 */
export interface ProgramDefinition {
  name: string;
  title: string;
  rules: RuleBase[];
  /** Patient settings the program implies unless the patient's own say otherwise (COPD → scale 2). */
  settings: Partial<PatientSettings>;
}

export interface PatientEnrolment {
  programs: string[];
  spo2Scale?: 1 | 2;
  onOxygen?: boolean;
  /** Per rule id: fields replacing the program's (e.g. a COPD patient's SpO2 levels). */
  rules?: Record<string, Raw>;
  disable?: string[];
  add?: Raw[];
}

export interface ResolvedRules {
  settings: PatientSettings;
  rules: RuleBase[];
}

export function validateRule(raw: unknown, path: string): RuleBase {
  const o = obj(raw, path);
  const kind = str(o, 'kind', path);
  const rk = ruleKinds[kind];
  if (rk === undefined)
    throw configError(
      `${path}.kind`,
      `unknown rule kind '${kind}' (known: ${Object.keys(ruleKinds).join(', ')})`,
    );
  return rk.validate(o, path);
}

/** Validate one program definition; throws VIGIL_ERR_DETECT_CONFIG_INVALID naming the bad field. */
export function validateProgramConfig(raw: unknown, path = 'program'): ProgramDefinition {
  const o = obj(raw, path);
  noUnknownKeys(o, path, ['name', 'title', 'rules', 'settings', '$comment']);
  const rules = list(o, 'rules', path).map((r, i) => validateRule(r, `${path}.rules[${i}]`));
  const seen = new Set<string>();
  rules.forEach((r, i) => {
    if (seen.has(r.id)) throw configError(`${path}.rules[${i}].id`, `duplicate rule id '${r.id}'`);
    seen.add(r.id);
  });
  return {
    name: str(o, 'name', path),
    title: str(o, 'title', path, str(o, 'name', path)),
    rules,
    settings: o.settings === undefined ? {} : validateSettings(o.settings, `${path}.settings`),
  };
}

function validateSettings(raw: unknown, path: string): Partial<PatientSettings> {
  const o = obj(raw, path);
  noUnknownKeys(o, path, ['spo2Scale', 'onOxygen']);
  const s: Partial<PatientSettings> = {};
  if (o.spo2Scale !== undefined) {
    if (o.spo2Scale !== 1 && o.spo2Scale !== 2) throw configError(`${path}.spo2Scale`, 'must be 1 or 2');
    s.spo2Scale = o.spo2Scale;
  }
  if (o.onOxygen !== undefined) {
    if (typeof o.onOxygen !== 'boolean') throw configError(`${path}.onOxygen`, 'expected true or false');
    s.onOxygen = o.onOxygen;
  }
  return s;
}

export function validateEnrolment(raw: unknown, path = 'patient'): PatientEnrolment {
  const o = obj(raw, path);
  noUnknownKeys(o, path, ['programs', 'spo2Scale', 'onOxygen', 'rules', 'disable', 'add']);
  const programs = list(o, 'programs', path).map((p, i) => {
    if (typeof p !== 'string') throw configError(`${path}.programs[${i}]`, 'expected a program name');
    return p;
  });
  const e: PatientEnrolment = {
    programs,
    ...validateSettings({ spo2Scale: o.spo2Scale, onOxygen: o.onOxygen }, path),
  };
  if (o.rules !== undefined) {
    const r = obj(o.rules, `${path}.rules`);
    for (const [k, v] of Object.entries(r))
      if (!isObject(v)) throw configError(`${path}.rules.${k}`, 'expected an object of rule fields');
    e.rules = r as Record<string, Raw>;
  }
  if (o.disable !== undefined) e.disable = list(o, 'disable', path).map(String);
  if (o.add !== undefined) e.add = list(o, 'add', path).map((x, i) => obj(x, `${path}.add[${i}]`));
  return e;
}

/**
 * The effective rules of one patient: the union of the programs' rules by id (a later program in
 * the list replaces an earlier one's rule of the same id), then the patient's field overrides,
 * disables and additions — each override re-validated, so a bad override is refused by name.
 */
export function resolvePatientRules(
  programs: ProgramDefinition[],
  overrides: PatientEnrolment,
): ResolvedRules {
  const byId = new Map<string, RuleBase>();
  const settings: PatientSettings = { spo2Scale: 1, onOxygen: false };
  for (const p of programs) {
    for (const r of p.rules) byId.set(r.id, r);
    Object.assign(settings, p.settings);
  }
  if (overrides.spo2Scale !== undefined) settings.spo2Scale = overrides.spo2Scale;
  if (overrides.onOxygen !== undefined) settings.onOxygen = overrides.onOxygen;
  for (const [id, patch] of Object.entries(overrides.rules ?? {})) {
    const base = byId.get(id);
    if (base === undefined)
      throw configError(
        `patient.rules.${id}`,
        `no rule '${id}' in programs ${programs.map((p) => p.name).join(', ')}`,
      );
    if ('kind' in patch && patch.kind !== base.kind)
      throw configError(`patient.rules.${id}.kind`, 'an override cannot change the rule kind');
    byId.set(id, validateRule({ ...base, ...patch, id }, `patient.rules.${id}`));
  }
  for (const id of overrides.disable ?? []) byId.delete(id);
  (overrides.add ?? []).forEach((r, i) => {
    const v = validateRule(r, `patient.add[${i}]`);
    byId.set(v.id, v);
  });
  return { settings, rules: [...byId.values()].filter((r) => r.enabled) };
}
