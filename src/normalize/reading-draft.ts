import { describeValue } from '../core/json-depth.ts';
/**
 * What a payload profile produces (ReadingDraft: a Reading before ingest gives it an id, a patient,
 * a transport, a receive time and an idempotency key) and the one place that turns a decoded value
 * into a draft: code lookup, unit check and conversion to the canonical unit, original kept,
 * plausibility. Every profile goes through these builders, so the rules hold for every format.
 */
import type {
  Coding,
  DeviceStatusReport,
  QualityFlag,
  ReadingComponent,
  ReadingDraft,
} from '../core/reading.ts';
import { type CodeDef, getCode, glucoseCodeForUnit } from './codes.ts';
import { IngestError, ingestError } from './errors.ts';
import { convert, convertGlucose, roundTo, toUcum, unitDimension } from './units.ts';

/** A Reading without the fields ingest sets (defined in core, shared by ingest and detect). */
export type { ReadingDraft };

export type GlucoseUnit = 'mg/dL' | 'mmol/L';

export interface ProfileContext {
  deviceId: string;
  /** Receive time, ms since the epoch: used when the payload has no usable device time. */
  receivedAt: number;
  /** The patient's program unit; glucose is stored in it (the device's value stays in `original`). */
  programGlucoseUnit?: GlucoseUnit;
  /**
   * Offset of the device's local clock from UTC in minutes, for formats whose timestamps carry no
   * zone (Bluetooth date_time). Default 0: the gateway is expected to send UTC or say otherwise.
   */
  utcOffsetMinutes?: number;
  /** CGM session start (0x2AAA), ms since the epoch, when the gateway knows it (ble-cgm.ts). */
  cgmSessionStart?: number;
}

export interface ProfileResult {
  readings: ReadingDraft[];
  /** Device state seen in the payload (battery, faults). patientId is null: ingest attributes it. */
  status?: DeviceStatusReport;
}

export type Profile<I = unknown> = (input: I, ctx: ProfileContext) => ProfileResult;

/** Flag set when the payload had no usable device time and the receive time was used instead. */
export const TIME_FROM_RECEIPT: QualityFlag = 'device-time-missing';

interface Common {
  effective: string;
  profile: string;
  flags?: readonly QualityFlag[];
  codings?: readonly Coding[];
  notes?: readonly string[];
  messageId?: string;
  /** Where the value came from, for error messages (`readings[2].value`, `byte 3`). */
  field?: string;
}

export interface QuantityInput extends Common {
  code: string;
  value: number | null;
  /** UCUM or a common spelling; the device's own unit. */
  unit: string | null;
  /** When value is null: the FHIR data-absent-reason (not-a-number, error, …). */
  dataAbsentReason?: string;
}

export interface PanelInput extends Common {
  code: string;
  components: readonly {
    code: string;
    value: number;
    unit: string;
    codings?: readonly Coding[];
    field?: string;
  }[];
}

export interface CodedInput extends Common {
  code: string;
  valueCode: string;
}

function requireCode(code: string, field: string | undefined): CodeDef {
  const def = getCode(code);
  if (!def) throw ingestError(IngestError.unknownCode, `unknown code ${code}`, { field, code });
  return def;
}

function base(def: CodeDef, input: Common): Omit<ReadingDraft, 'value' | 'unit' | 'components'> {
  const draft: Omit<ReadingDraft, 'value' | 'unit' | 'components'> = {
    deviceId: '',
    code: def.code,
    codings: dedupeCodings([...(def.extraCodings ?? []), ...(input.codings ?? [])], def),
    category: def.category,
    effective: input.effective,
    flags: [...new Set(input.flags ?? [])],
    profile: input.profile,
  };
  if (input.notes?.length) draft.notes = [...input.notes];
  if (input.messageId !== undefined) draft.messageId = input.messageId;
  return draft;
}

function dedupeCodings(codings: Coding[], def: CodeDef): Coding[] {
  const seen = new Set([`${def.system}|${def.code}`]);
  return codings.filter((c) => {
    const k = `${c.system}|${c.code}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

export interface Canonical {
  code: string;
  value: number;
  unit: string;
  original?: { value: number; unit: string };
}

/**
 * Converts a value to the canonical unit of its code (for glucose: to the program unit, switching
 * between the mass and molar LOINC code), then checks plausibility. Throws coded errors.
 */
export function canonicalize(
  code: string,
  value: number,
  unit: string | null,
  ctx: Pick<ProfileContext, 'programGlucoseUnit'>,
  field?: string,
): Canonical {
  let def = requireCode(code, field);
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw ingestError(IngestError.notANumber, `${def.display}: value is not a finite number`, {
      field,
      code,
    });
  }
  const ucum = unit == null ? undefined : toUcum(unit);
  if (!ucum) {
    throw ingestError(IngestError.unitMismatch, `${def.display}: unknown unit ${describeValue(unit)}`, {
      field,
      code,
      unit,
    });
  }
  let target: string;
  let converted: number;
  try {
    if (def.glucose) {
      const dim = unitDimension(ucum);
      const sentUnit: GlucoseUnit = dim === 'substance-concentration' ? 'mmol/L' : 'mg/dL';
      target = ctx.programGlucoseUnit ?? sentUnit;
      def = requireCode(glucoseCodeForUnit(def.code, target as GlucoseUnit), field);
      converted = convertGlucose(value, ucum, target);
    } else {
      if (unitDimension(ucum) !== def.dimension) throw new Error(`not a ${def.dimension} unit`);
      // Counts of different things share a dimension: steps are never actuations or openings.
      if (def.dimension === 'count' && !def.units.includes(ucum)) throw new Error(`not counted in ${ucum}`);
      target = def.units[0] ?? ucum;
      converted = convert(value, ucum, target);
    }
  } catch (e) {
    throw ingestError(
      IngestError.unitMismatch,
      `${def.display}: unit ${unit} does not fit (${e instanceof Error ? e.message : e})`,
      { field, code, unit },
    );
  }
  const changed = target !== ucum;
  if (changed && def.decimals !== undefined) converted = roundTo(converted, def.decimals);
  checkPlausible(def, converted, field);
  const out: Canonical = { code: def.code, value: converted, unit: target };
  if (changed) out.original = { value, unit: ucum };
  return out;
}

export function checkPlausible(def: CodeDef, value: number, field?: string): void {
  const r = def.range;
  if (!r) return;
  const low = r.minExclusive ? value <= r.min : value < r.min;
  if (low || value > r.max) {
    throw ingestError(
      IngestError.implausibleValue,
      `${def.display} ${value} ${def.units[0] ?? ''} is outside the plausible range ${r.min}–${r.max}`,
      { field, code: def.code, value, min: r.min, max: r.max },
    );
  }
}

export function quantityDraft(input: QuantityInput, ctx: ProfileContext): ReadingDraft {
  const def = requireCode(input.code, input.field);
  if (def.kind !== 'quantity') {
    throw ingestError(IngestError.invalidField, `${def.display} is not a single quantity`, {
      field: input.field,
    });
  }
  if (input.value === null) {
    // Device said "no valid value" (NaN, NRes, 0xFFFF…): keep it, with the reason and no number.
    const draft: ReadingDraft = {
      ...base(def, input),
      deviceId: ctx.deviceId,
      value: null,
      unit: null,
      components: [],
    };
    draft.dataAbsentReason = input.dataAbsentReason ?? 'unknown';
    return draft;
  }
  const c = canonicalize(input.code, input.value, input.unit, ctx, input.field);
  const cdef = requireCode(c.code, input.field);
  const draft: ReadingDraft = {
    ...base(cdef, input),
    deviceId: ctx.deviceId,
    value: c.value,
    unit: c.unit,
    components: [],
  };
  if (c.original) draft.original = c.original;
  return draft;
}

export function panelDraft(input: PanelInput, ctx: ProfileContext): ReadingDraft {
  const def = requireCode(input.code, input.field);
  if (def.kind !== 'panel') {
    throw ingestError(IngestError.invalidField, `${def.display} is not a panel`, { field: input.field });
  }
  const allowed = new Map((def.components ?? []).map((c) => [c.code, c]));
  const components: ReadingComponent[] = [];
  for (const comp of input.components) {
    if (!allowed.has(comp.code)) {
      throw ingestError(IngestError.unknownCode, `${comp.code} is not a component of ${def.display}`, {
        field: comp.field,
      });
    }
    if (components.some((c) => c.code === comp.code)) {
      throw ingestError(IngestError.invalidField, `component ${comp.code} given twice`, {
        field: comp.field,
      });
    }
    const c = canonicalize(comp.code, comp.value, comp.unit, ctx, comp.field);
    const out: ReadingComponent = { code: c.code, value: c.value, unit: c.unit };
    if (comp.codings?.length) out.codings = [...comp.codings];
    if (c.original) out.original = c.original;
    components.push(out);
  }
  for (const req of def.components ?? []) {
    if (req.required && !components.some((c) => c.code === req.code)) {
      throw ingestError(IngestError.incompletePanel, `${def.display} needs component ${req.code}`, {
        field: input.field,
        missing: req.code,
      });
    }
  }
  checkBloodPressureOrder(components, input.field);
  return { ...base(def, input), deviceId: ctx.deviceId, value: null, unit: null, components };
}

/** Systolic below diastolic is a swapped or corrupt reading, whatever the numbers. */
function checkBloodPressureOrder(components: ReadingComponent[], field?: string): void {
  const sys = components.find((c) => c.code === '8480-6')?.value;
  const dia = components.find((c) => c.code === '8462-4')?.value;
  if (sys !== undefined && dia !== undefined && sys <= dia) {
    throw ingestError(IngestError.implausibleValue, `systolic ${sys} is not above diastolic ${dia}`, {
      field,
    });
  }
}

export function codedDraft(input: CodedInput, ctx: ProfileContext): ReadingDraft {
  const def = requireCode(input.code, input.field);
  const allowed = def.valueCodes?.map((v) => v.code);
  if (def.kind !== 'coded' || !allowed) {
    throw ingestError(IngestError.invalidField, `${def.display} takes a number, not a code`, {
      field: input.field,
    });
  }
  const valueCode = input.valueCode.trim().toUpperCase();
  if (!allowed.includes(valueCode)) {
    throw ingestError(
      IngestError.invalidField,
      `${def.display}: ${input.valueCode} is not one of ${allowed.join(', ')}`,
      {
        field: input.field,
      },
    );
  }
  return { ...base(def, input), deviceId: ctx.deviceId, value: null, unit: null, components: [], valueCode };
}

/** UTC ISO string of the receive time, for drafts whose payload has no usable device time. */
export function receiptTime(ctx: ProfileContext): string {
  return new Date(ctx.receivedAt).toISOString();
}
