/**
 * Declarative mapping templates for vendor JSON formats: a JSON document that says where the time,
 * the id and each value sit in the vendor's payload and which code/unit they are. No code needed
 * to onboard a vendor; see templates/ for examples and profiles/README.md for the schema.
 *
 * Templates are validated when loaded (`loadTemplate`), not when the first payload arrives: every
 * code must exist in codes.ts, every literal unit must fit its code's dimension, panel members
 * must belong to the panel, paths must parse. A template mapping diastolic pressure (mmHg, or as a
 * component of the BP panel) to the heart-rate code is refused there.
 *
 * Paths are a small JSONPath subset: `$`, `.name`, `['name']`, `[0]`, `[?(@.name==literal)]` (the
 * first element of an array whose member equals a number or a 'string': vendor arrays of typed
 * measures such as Withings' `measures`), and `[*]` only in `records`.
 * Hand-written because the subset is tiny and the general libraries evaluate expressions
 * (jsonpath-plus has had code-execution advisories); a vendor template is data, never code.
 */
import { describeValue } from '../../core/json-depth.ts';
import type { Coding } from '../../core/reading.ts';
import { BP_COMPONENT_NAMES, type CodeDef, FRIENDLY_NAMES, getCode } from '../codes.ts';
import { IngestError, ingestError } from '../errors.ts';
import {
  type ProfileContext,
  type ProfileResult,
  panelDraft,
  quantityDraft,
  type ReadingDraft,
} from '../reading-draft.ts';
import { parseDeviceTime } from '../time.ts';
import { toUcum, unitDimension } from '../units.ts';
import { codeRef, parseJsonPayload } from './native-json.ts';

export interface TemplateMeasurementSpec {
  /** Friendly name (`heart-rate`) … */
  type?: string;
  /** … or `{system, code}` (LOINC or MDC). */
  code?: { system: string; code: string };
  /** Path to the number (quantities). */
  value?: string;
  /** Literal unit (UCUM or common spelling) … */
  unit?: string;
  /** … or a path to the unit in the payload (checked per payload). */
  unitPath?: string;
  /**
   * Path to a power-of-ten exponent: the value is `value × 10^exponent` (vendors that send integers
   * with a scale, e.g. Withings `{value: 72450, unit: -3}` = 72.450).
   */
  exponent?: string;
  /** Panel members (blood pressure): type/code + value path (+ unit, default the panel's). */
  components?: { type?: string; code?: { system: string; code: string }; value: string; unit?: string }[];
  /** When true, a record without this value is fine; otherwise it is refused. */
  optional?: boolean;
}

export interface TemplateSpec {
  name: string;
  description?: string;
  /** True for the shipped examples: not a real vendor's format. */
  example?: boolean;
  /** Path to the list of records (`$.data[*]`); default: the payload is one record. */
  records?: string;
  /** Path to the time within a record, and how it is written. */
  time: string;
  timeFormat?: 'iso' | 'epoch-s' | 'epoch-ms';
  /** Path to a record id (becomes the messageId → idempotency). */
  messageId?: string;
  /** Path to a battery percentage (device status), from the payload ROOT (not per record). */
  battery?: string;
  measurements: TemplateMeasurementSpec[];
}

export interface MappingTemplate {
  readonly name: string;
  readonly spec: TemplateSpec;
  apply(payload: unknown, ctx: ProfileContext): ProfileResult;
}

export type TemplateRegistry = ReadonlyMap<string, MappingTemplate>;

type Segment = string | number | '*' | { key: string; equals: string | number };

function bad(template: string, where: string, message: string): never {
  throw ingestError(IngestError.invalidTemplate, `template ${template}: ${where}: ${message}`, {
    template,
    field: where,
  });
}

/** Compiles `$.a.b[0]['c d'][*]` into segments; throws on anything else. */
export function compilePath(path: string, allowWildcard = false): Segment[] {
  if (typeof path !== 'string' || !path.startsWith('$')) throw new Error(`path must start with $: ${path}`);
  const segs: Segment[] = [];
  const re =
    /\.([A-Za-z_][\w-]*)|\[(\d+)\]|\['([^']+)'\]|\[(\*)\]|\[\?\(@\.([A-Za-z_][\w-]*)==(-?\d+(?:\.\d+)?|'[^']*')\)\]/y;
  re.lastIndex = 1;
  while (re.lastIndex < path.length) {
    const m = re.exec(path);
    if (!m) throw new Error(`cannot parse path ${path} at ${re.lastIndex}`);
    if (m[1] !== undefined) segs.push(m[1]);
    else if (m[2] !== undefined) segs.push(Number(m[2]));
    else if (m[3] !== undefined) segs.push(m[3]);
    else if (m[5] !== undefined && m[6] !== undefined) {
      const lit = m[6];
      segs.push({ key: m[5], equals: lit.startsWith("'") ? lit.slice(1, -1) : Number(lit) });
    } else {
      if (!allowWildcard) throw new Error(`[*] is only allowed in "records": ${path}`);
      segs.push('*');
    }
  }
  return segs;
}

/** The first element of an array whose member `key` equals the literal. */
function select(cur: unknown, f: { key: string; equals: string | number }): unknown {
  if (!Array.isArray(cur)) return undefined;
  return cur.find(
    (el) => el !== null && typeof el === 'object' && (el as Record<string, unknown>)[f.key] === f.equals,
  );
}

function get(root: unknown, segs: Segment[]): unknown {
  let cur: unknown = root;
  for (const s of segs) {
    if (cur === null || typeof cur !== 'object') return undefined;
    if (typeof s === 'object') {
      cur = select(cur, s);
      continue;
    }
    if (s === '*') return undefined; // compilePath allows it only in records (getAll)
    cur = typeof s === 'number' ? (Array.isArray(cur) ? cur[s] : undefined) : own(cur, s);
  }
  return cur;
}

/** A member the payload itself holds (never an inherited one such as `constructor`). */
function own(cur: object, key: string): unknown {
  return Object.hasOwn(cur, key) ? (cur as Record<string, unknown>)[key] : undefined;
}

function getAll(root: unknown, segs: Segment[]): unknown[] {
  let items: unknown[] = [root];
  for (const s of segs) {
    const next: unknown[] = [];
    for (const cur of items) {
      if (cur === null || typeof cur !== 'object') continue;
      if (s === '*') {
        if (Array.isArray(cur)) next.push(...cur);
      } else if (typeof s === 'object') next.push(select(cur, s));
      else next.push(typeof s === 'number' ? (Array.isArray(cur) ? cur[s] : undefined) : own(cur, s));
    }
    items = next.filter((x) => x !== undefined);
  }
  return items;
}

interface CompiledMeasurement {
  def: CodeDef;
  codings: Coding[];
  value?: Segment[];
  unit?: string;
  unitPath?: Segment[];
  exponent?: Segment[];
  components?: { def: CodeDef; codings: Coding[]; value: Segment[]; unit?: string }[];
  optional: boolean;
  where: string;
}

function resolve(
  name: string,
  where: string,
  spec: { type?: string; code?: { system: string; code: string } },
  names: Readonly<Record<string, string>> = FRIENDLY_NAMES,
): { def: CodeDef; codings: Coding[] } {
  if ((spec.type === undefined) === (spec.code === undefined))
    bad(name, where, 'give exactly one of "type" or "code"');
  let code: string | undefined;
  let codings: Coding[] = [];
  if (spec.type !== undefined) code = names[spec.type] ?? FRIENDLY_NAMES[spec.type];
  else {
    try {
      ({ code, codings } = codeRef(spec.code, `${where}.code`));
    } catch (e) {
      bad(name, where, e instanceof Error ? e.message : String(e));
    }
  }
  const def = code ? getCode(code) : undefined;
  if (!def) bad(name, where, `unknown code ${describeValue(spec.type ?? spec.code?.code)}`);
  return { def, codings };
}

/** The unit must exist and fit the code (glucose: either concentration dimension). */
function checkUnit(name: string, where: string, def: CodeDef, unit: string): string {
  const ucum = toUcum(unit);
  if (!ucum) bad(name, where, `unknown unit ${describeValue(unit)}`);
  const dim = unitDimension(ucum);
  const fits = def.glucose
    ? dim === 'mass-concentration' || dim === 'substance-concentration'
    : dim === def.dimension;
  if (!fits)
    bad(name, where, `unit ${unit} (${dim}) does not fit ${def.code} ${def.display} (${def.dimension})`);
  return ucum;
}

function path(name: string, where: string, p: unknown, wildcard = false): Segment[] {
  try {
    return compilePath(p as string, wildcard);
  } catch (e) {
    bad(name, where, e instanceof Error ? e.message : String(e));
  }
}

/** Validates and compiles a template. Throws VIGIL_ERR_NORMALIZE_INVALID_TEMPLATE. */
export function loadTemplate(spec: TemplateSpec): MappingTemplate {
  const name = typeof spec?.name === 'string' && /^[a-z0-9][a-z0-9-]{0,63}$/.test(spec.name) ? spec.name : '';
  if (!name) bad(String(spec?.name), 'name', 'must be kebab-case (a-z, 0-9, -)');
  if (!Array.isArray(spec.measurements) || spec.measurements.length === 0)
    bad(name, 'measurements', 'at least one');
  const records = spec.records === undefined ? undefined : path(name, 'records', spec.records, true);
  const time = path(name, 'time', spec.time);
  const timeFormat = spec.timeFormat ?? 'iso';
  if (!['iso', 'epoch-s', 'epoch-ms'].includes(timeFormat))
    bad(name, 'timeFormat', 'iso, epoch-s or epoch-ms');
  const messageId = spec.messageId === undefined ? undefined : path(name, 'messageId', spec.messageId);
  const battery = spec.battery === undefined ? undefined : path(name, 'battery', spec.battery);

  const measurements: CompiledMeasurement[] = spec.measurements.map((m, i) => {
    const where = `measurements[${i}]`;
    const { def, codings } = resolve(name, where, m);
    const out: CompiledMeasurement = { def, codings, optional: m.optional === true, where };
    if (m.unit !== undefined && m.unitPath !== undefined)
      bad(name, where, 'give "unit" or "unitPath", not both');
    if (def.kind === 'panel') {
      if (m.value !== undefined) bad(name, `${where}.value`, `${def.display} is a panel: use "components"`);
      if (!Array.isArray(m.components) || m.components.length === 0)
        bad(name, `${where}.components`, 'required');
      const members = new Set(def.components?.map((c) => c.code));
      out.components = m.components.map((c, j) => {
        const cw = `${where}.components[${j}]`;
        const r = resolve(name, cw, c, BP_COMPONENT_NAMES);
        if (!members.has(r.def.code)) {
          bad(name, cw, `${r.def.code} ${r.def.display} is not a component of ${def.code} ${def.display}`);
        }
        const unit = c.unit ?? m.unit;
        if (unit === undefined) bad(name, cw, 'unit required (here or on the panel)');
        return {
          ...r,
          value: path(name, `${cw}.value`, c.value),
          unit: checkUnit(name, `${cw}.unit`, r.def, unit),
        };
      });
      for (const req of def.components ?? []) {
        if (req.required && !out.components.some((c) => c.def.code === req.code)) {
          bad(name, `${where}.components`, `${def.display} needs component ${req.code}`);
        }
      }
    } else if (def.kind === 'quantity') {
      if (m.components !== undefined) bad(name, `${where}.components`, `${def.display} is not a panel`);
      out.value = path(name, `${where}.value`, m.value);
      if (m.unit !== undefined) out.unit = checkUnit(name, `${where}.unit`, def, m.unit);
      else if (m.unitPath !== undefined) out.unitPath = path(name, `${where}.unitPath`, m.unitPath);
      else bad(name, where, 'needs "unit" or "unitPath"');
      if (m.exponent !== undefined) out.exponent = path(name, `${where}.exponent`, m.exponent);
    } else {
      bad(name, where, `${def.display} (coded) is not supported in templates yet`);
    }
    return out;
  });

  const apply = (payload: unknown, ctx: ProfileContext): ProfileResult => {
    const root = parseJsonPayload(payload);
    const recs = records ? getAll(root, records) : [root];
    if (recs.length === 0)
      throw ingestError(IngestError.empty, `template ${name}: no records at ${spec.records}`);
    const readings: ReadingDraft[] = [];
    let batteryPercent: number | undefined;
    let lastEffective = '';
    recs.forEach((rec, r) => {
      const rf = records ? `record[${r}]` : 'record';
      const effective = readTime(get(rec, time), timeFormat, `${rf} ${spec.time}`);
      lastEffective = effective;
      const idRaw = messageId ? get(rec, messageId) : undefined;
      const id = typeof idRaw === 'string' || typeof idRaw === 'number' ? String(idRaw) : undefined;
      for (const m of measurements) {
        const d = applyMeasurement(m, rec, rf, effective, name, ctx, id);
        if (d) readings.push(d);
      }
    });
    const b = battery ? get(root, battery) : undefined;
    if (typeof b === 'number' && b >= 0 && b <= 100) batteryPercent = b;
    if (batteryPercent === undefined) return { readings };
    const received = new Date(ctx.receivedAt).toISOString();
    return {
      readings,
      status: {
        deviceId: ctx.deviceId,
        patientId: null,
        effective: lastEffective || received,
        received,
        batteryPercent,
      },
    };
  };
  return { name, spec, apply };
}

function applyMeasurement(
  m: CompiledMeasurement,
  rec: unknown,
  rf: string,
  effective: string,
  name: string,
  ctx: ProfileContext,
  id: string | undefined,
): ReadingDraft | undefined {
  const common = {
    effective,
    profile: `template:${name}`,
    codings: m.codings,
    // one record can yield several readings: the code keeps their ids apart
    ...(id !== undefined ? { messageId: `${id}:${m.def.code}` } : {}),
  };
  if (m.components) {
    const comps = m.components.map((c) => ({ c, v: get(rec, c.value) }));
    if (comps.every(({ v }) => v === undefined || v === null) && m.optional) return undefined;
    return panelDraft(
      {
        ...common,
        code: m.def.code,
        components: comps.map(({ c, v }) => {
          const field = `${rf} ${m.where}`;
          if (typeof v !== 'number')
            throw ingestError(IngestError.notANumber, `${field}: ${c.def.display} is not a number`, {
              field,
            });
          return { code: c.def.code, value: v, unit: c.unit as string, codings: c.codings, field };
        }),
        field: `${rf} ${m.where}`,
      },
      ctx,
    );
  }
  const field = `${rf} ${m.where}.value`;
  const v = get(rec, m.value as Segment[]);
  if ((v === undefined || v === null) && m.optional) return undefined;
  if (typeof v !== 'number')
    throw ingestError(IngestError.notANumber, `${field}: ${m.def.display} is not a number`, { field });
  const unit = m.unit ?? get(rec, m.unitPath as Segment[]);
  if (typeof unit !== 'string')
    throw ingestError(IngestError.unitMismatch, `${field}: unit missing`, { field });
  let value = v;
  if (m.exponent) {
    const e = get(rec, m.exponent);
    if (typeof e !== 'number' || !Number.isInteger(e) || Math.abs(e) > 12)
      throw ingestError(IngestError.notANumber, `${field}: exponent is not an integer`, { field });
    // decimal scaling without binary noise: 72450 × 10^-3 → 72.45
    value = Number(`${v}e${e}`);
  }
  return quantityDraft({ ...common, code: m.def.code, value, unit, field }, ctx);
}

function readTime(v: unknown, format: 'iso' | 'epoch-s' | 'epoch-ms', field: string): string {
  if (format === 'iso') return parseDeviceTime(v, field);
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
    throw ingestError(IngestError.invalidTime, `${field}: expected ${format} as a number`, { field });
  }
  return new Date(format === 'epoch-s' ? v * 1000 : v).toISOString();
}

const compiled = new Map<string, MappingTemplate>();

/**
 * A stored template version, compiled once and kept (versions are immutable, so `name@version`
 * always means the same spec): the registry normalize needs for `template:<name>`.
 */
export function storedTemplateRegistry(t: {
  name: string;
  version: number;
  spec: unknown;
}): TemplateRegistry {
  const key = `${t.name}@${t.version}`;
  let m = compiled.get(key);
  if (!m) {
    m = loadTemplate(t.spec as TemplateSpec);
    if (m.name !== t.name) bad(t.name, 'name', `the stored spec is named ${m.name}`);
    if (compiled.size >= 1000) compiled.clear();
    compiled.set(key, m);
  }
  return new Map([[t.name, m]]);
}

/** Loads several templates into a registry; duplicate names are refused. */
export function loadTemplates(specs: readonly TemplateSpec[]): TemplateRegistry {
  const map = new Map<string, MappingTemplate>();
  for (const s of specs) {
    const t = loadTemplate(s);
    if (map.has(t.name)) bad(t.name, 'name', 'defined twice');
    map.set(t.name, t);
  }
  return map;
}
