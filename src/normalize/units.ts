/**
 * UCUM units Vigil understands, their physical dimension, and exact conversions between units of
 * the same dimension. Conversions are linear (`base = value × factor + offset`) except where
 * noted. Glucose mass↔molar conversion is NOT a unit conversion (it needs the molar mass of the
 * analyte) and lives in its own function, `convertGlucose`.
 *
 * Why hand-written: the npm UCUM libraries (@lhncbc/ucum-lhc) are large, carry their own unit
 * database and still need the glucose special case; we need about twenty units whose factors are
 * definitions, each cited below.
 */

export const Dimension = {
  pressure: 'pressure',
  rate: 'rate',
  fraction: 'fraction',
  temperature: 'temperature',
  mass: 'mass',
  length: 'length',
  massConcentration: 'mass-concentration',
  substanceConcentration: 'substance-concentration',
  massPerArea: 'mass-per-area',
  count: 'count',
  score: 'score',
  duration: 'duration',
} as const;
export type Dimension = (typeof Dimension)[keyof typeof Dimension];

export interface UnitDef {
  /** UCUM code (case-sensitive, as it goes into Quantity.code). */
  ucum: string;
  /** Human display, also Quantity.unit. */
  display: string;
  dimension: Dimension;
  /** The dimension's base unit = value × factor + offset. */
  factor: number;
  offset?: number;
}

/** mmHg in pascal: the conventional millimetre of mercury (NIST SP 811, B.8: 133.322 387 415 Pa). */
const PA_PER_MMHG = 133.322387415;

const defs: UnitDef[] = [
  // pressure, base mm[Hg]
  { ucum: 'mm[Hg]', display: 'mmHg', dimension: 'pressure', factor: 1 },
  { ucum: 'kPa', display: 'kPa', dimension: 'pressure', factor: 1000 / PA_PER_MMHG },
  // rates, base /min
  { ucum: '/min', display: '/min', dimension: 'rate', factor: 1 },
  { ucum: '{beats}/min', display: 'beats/min', dimension: 'rate', factor: 1 },
  { ucum: '{breaths}/min', display: 'breaths/min', dimension: 'rate', factor: 1 },
  // fraction, base %
  { ucum: '%', display: '%', dimension: 'fraction', factor: 1 },
  // temperature, base Cel; °F = °C × 9/5 + 32 (definition of the Fahrenheit scale)
  { ucum: 'Cel', display: '°C', dimension: 'temperature', factor: 1 },
  { ucum: '[degF]', display: '°F', dimension: 'temperature', factor: 5 / 9, offset: (-32 * 5) / 9 },
  { ucum: 'K', display: 'K', dimension: 'temperature', factor: 1, offset: -273.15 },
  // mass, base kg; the avoirdupois pound is exactly 0.453 592 37 kg (international yard and pound, 1959)
  { ucum: 'kg', display: 'kg', dimension: 'mass', factor: 1 },
  { ucum: 'g', display: 'g', dimension: 'mass', factor: 0.001 },
  { ucum: '[lb_av]', display: 'lb', dimension: 'mass', factor: 0.45359237 },
  // length, base cm; the international inch is exactly 2.54 cm
  { ucum: 'cm', display: 'cm', dimension: 'length', factor: 1 },
  { ucum: 'm', display: 'm', dimension: 'length', factor: 100 },
  { ucum: 'mm', display: 'mm', dimension: 'length', factor: 0.1 },
  { ucum: '[in_i]', display: 'in', dimension: 'length', factor: 2.54 },
  { ucum: '[ft_i]', display: 'ft', dimension: 'length', factor: 30.48 },
  // mass concentration, base mg/dL; kg/L is what Bluetooth glucose meters send (×10^5, §5.2)
  { ucum: 'mg/dL', display: 'mg/dL', dimension: 'mass-concentration', factor: 1 },
  { ucum: 'g/L', display: 'g/L', dimension: 'mass-concentration', factor: 100 },
  { ucum: 'kg/L', display: 'kg/L', dimension: 'mass-concentration', factor: 1e5 },
  // substance concentration, base mmol/L; mol/L is the Bluetooth glucose "SI" unit
  { ucum: 'mmol/L', display: 'mmol/L', dimension: 'substance-concentration', factor: 1 },
  { ucum: 'mol/L', display: 'mol/L', dimension: 'substance-concentration', factor: 1000 },
  // others
  { ucum: 'kg/m2', display: 'kg/m2', dimension: 'mass-per-area', factor: 1 },
  { ucum: '{steps}', display: 'steps', dimension: 'count', factor: 1 },
  { ucum: '{score}', display: 'score', dimension: 'score', factor: 1 },
  // Counts of a device's events, each in its own unit so an actuation is never an opening.
  { ucum: '{actuation}', display: 'actuations', dimension: 'count', factor: 1 },
  { ucum: '{opening}', display: 'openings', dimension: 'count', factor: 1 },
  { ucum: 'ms', display: 'ms', dimension: 'duration', factor: 1 },
  { ucum: 's', display: 's', dimension: 'duration', factor: 1000 },
  { ucum: 'min', display: 'min', dimension: 'duration', factor: 60000 },
  { ucum: 'h', display: 'h', dimension: 'duration', factor: 3600000 },
];

export const UNITS: ReadonlyMap<string, UnitDef> = new Map(defs.map((d) => [d.ucum, d]));

/**
 * Spellings devices and people actually send, mapped to UCUM. Lookup is exact first, then
 * case-insensitive on this table only: UCUM itself is case-sensitive (`mm` ≠ `Mm`), so free
 * case-folding of arbitrary input would be wrong.
 */
const ALIASES: Record<string, string> = {
  mmhg: 'mm[Hg]',
  'mm hg': 'mm[Hg]',
  'mm[hg]': 'mm[Hg]',
  kpa: 'kPa',
  bpm: '/min',
  'beats/min': '/min',
  'breaths/min': '/min',
  '1/min': '/min',
  'per min': '/min',
  '/min': '/min',
  '{beats}/min': '/min',
  '{breaths}/min': '/min',
  percent: '%',
  '%': '%',
  c: 'Cel',
  '°c': 'Cel',
  degc: 'Cel',
  cel: 'Cel',
  celsius: 'Cel',
  f: '[degF]',
  '°f': '[degF]',
  degf: '[degF]',
  '[degf]': '[degF]',
  fahrenheit: '[degF]',
  kg: 'kg',
  g: 'g',
  lb: '[lb_av]',
  lbs: '[lb_av]',
  pound: '[lb_av]',
  pounds: '[lb_av]',
  '[lb_av]': '[lb_av]',
  cm: 'cm',
  m: 'm',
  mm: 'mm',
  in: '[in_i]',
  inch: '[in_i]',
  inches: '[in_i]',
  '[in_i]': '[in_i]',
  ft: '[ft_i]',
  'mg/dl': 'mg/dL',
  'mmol/l': 'mmol/L',
  'kg/l': 'kg/L',
  'mol/l': 'mol/L',
  'g/l': 'g/L',
  'kg/m2': 'kg/m2',
  'kg/m^2': 'kg/m2',
  'kg/m²': 'kg/m2',
  steps: '{steps}',
  '{steps}': '{steps}',
  score: '{score}',
  '{score}': '{score}',
  actuation: '{actuation}',
  actuations: '{actuation}',
  puff: '{actuation}',
  puffs: '{actuation}',
  '{actuation}': '{actuation}',
  '{puff}': '{actuation}',
  opening: '{opening}',
  openings: '{opening}',
  '{opening}': '{opening}',
};

/** The UCUM code for a unit as sent (UCUM or a common spelling), or undefined if unknown. */
export function toUcum(unit: string): string | undefined {
  const trimmed = unit.trim();
  const exact = UNITS.get(trimmed);
  if (exact) return exact.dimension === 'rate' ? '/min' : exact.ucum;
  return ALIASES[trimmed.toLowerCase()];
}

export function unitDimension(ucum: string): Dimension | undefined {
  return UNITS.get(ucum)?.dimension;
}

/**
 * Converts between two UCUM units of the same dimension. Throws a plain Error if either unit is
 * unknown or the dimensions differ (callers turn it into a coded VigilError with context).
 */
export function convert(value: number, from: string, to: string): number {
  if (from === to) return value;
  const a = UNITS.get(from);
  const b = UNITS.get(to);
  if (!a || !b) throw new Error(`unknown unit ${!a ? from : to}`);
  if (a.dimension !== b.dimension)
    throw new Error(`cannot convert ${from} (${a.dimension}) to ${to} (${b.dimension})`);
  const base = value * a.factor + (a.offset ?? 0);
  return (base - (b.offset ?? 0)) / b.factor;
}

/**
 * mg/dL per mmol/L **for glucose only**: molar mass of glucose C6H12O6 ≈ 180.16 g/mol, so
 * 1 mmol/L = 180.16 mg/L = 18.016 mg/dL. Not in clinical-reference.md; it follows from the
 * standard atomic weights (6×12.011 + 12×1.008 + 6×15.999 = 180.156). Other analytes have other
 * factors (cholesterol ≈ 38.67), which is why this is not in the generic unit table.
 */
export const GLUCOSE_MG_DL_PER_MMOL_L = 18.016;

/** Converts a glucose concentration between any mass- or substance-concentration units we know. */
export function convertGlucose(value: number, from: string, to: string): number {
  const a = unitDimension(from);
  const b = unitDimension(to);
  const ok = (d: Dimension | undefined) => d === 'mass-concentration' || d === 'substance-concentration';
  if (!ok(a) || !ok(b)) throw new Error(`not a glucose concentration unit: ${!ok(a) ? from : to}`);
  if (a === b) return convert(value, from, to);
  if (a === 'mass-concentration') return convert(value, from, 'mg/dL') / GLUCOSE_MG_DL_PER_MMOL_L;
  return convert(convert(value, from, 'mmol/L') * GLUCOSE_MG_DL_PER_MMOL_L, 'mg/dL', to);
}

/**
 * Rounds a converted value to a sensible number of decimals so 37.6 °C does not become
 * 37.599999999999994 in FHIR. `decimals` comes from the code table (precision of the target unit).
 */
export function roundTo(value: number, decimals: number): number {
  const f = 10 ** decimals;
  return Math.round(value * f) / f;
}
