/**
 * Terminology table: every observation code Vigil produces, with its display, FHIR category,
 * allowed UCUM units (one dimension per code, so compatibility is checkable), plausibility range and
 * the R4 vital-signs profile it conforms to; plus the IEEE 11073 MDC → LOINC and MDC unit → UCUM
 * maps. Facts come from docs clinical-reference.md (§2.2, §2.3, §3.2); the status letter on each
 * entry is the reference's own (V verified, S secondary sources, U unverified).
 *
 * Plausibility ranges are NOT clinical thresholds: they are deliberately generous bounds, wide enough
 * to keep any value a living patient can produce (however critical) and narrow enough to catch unit
 * and decoding errors (heart rate 900, SpO2 130 %, a weight of 0 or −3). Values outside are refused
 * (VIGIL_ERR_INGEST_IMPLAUSIBLE_VALUE), never clamped. They are engineering choices, reviewed by a
 * clinician before production use; change them here, in one place.
 */
import { VigilFhir } from '../core/fhir-namespace.ts';
import type { Coding } from '../core/reading.ts';
import type { Dimension } from './units.ts';
import { WAVEFORM_CODE_DEFS } from './waveform-codes.ts';

export const LOINC = 'http://loinc.org';
export const UCUM = 'http://unitsofmeasure.org';
export const MDC = 'urn:iso:std:iso:11073:10101';
/**
 * Vigil's local code system, for concepts clinical-reference.md gives no LOINC code for (ACVPU,
 * NEWS2). Codes here start with `vigil-` so they never collide with LOINC's `nnnnn-n` shape.
 */
export const VIGIL_LOCAL = VigilFhir.observation;
/** Local value system for ACVPU answers (A, C, V, P, U): no LOINC answer list in the reference. */
export const VIGIL_ACVPU = VigilFhir.acvpu;
export const OBSERVATION_CATEGORY = 'http://terminology.hl7.org/CodeSystem/observation-category';

export type Category =
  | 'vital-signs'
  | 'laboratory'
  | 'activity'
  | 'survey'
  | 'exam'
  | 'procedure'
  | 'therapy';

export interface PlausibleRange {
  /** Inclusive bounds in the code's canonical unit. */
  min: number;
  max: number;
  /** True when `min` itself is implausible (weight 0 means nobody stood on the scale). */
  minExclusive?: boolean;
  why: string;
}

export interface CodeDef {
  code: string;
  system: string;
  display: string;
  category: Category;
  /**
   * quantity: value + unit; panel: components only; coded: valueCode from `valueCodes`; waveform: a
   * SampledData strip (`Reading.waveform`, waveform-codes.ts).
   */
  kind: 'quantity' | 'panel' | 'coded' | 'waveform';
  dimension?: Dimension;
  /** Allowed UCUM units; the first is canonical (what Vigil stores). */
  units: readonly string[];
  /** Decimals kept after a unit conversion (device precision is in `original`). */
  decimals?: number;
  range?: PlausibleRange;
  /** R4 vital-signs profile id (http://hl7.org/fhir/StructureDefinition/<id>), when one applies. */
  vitalSignsProfile?: string;
  /** Panel members: LOINC codes of components, required ones marked. */
  components?: readonly { code: string; required: boolean }[];
  /** Codings always sent beside the primary one (59408-5 with 2708-6). */
  extraCodings?: readonly Coding[];
  valueCodes?: readonly { code: string; display: string }[];
  /** Code system of `valueCodes`. */
  valueSystem?: string;
  /** For glucose: the same concept in the other concentration dimension. */
  glucose?: { specimen: 'capillary' | 'interstitial' | 'blood' | 'plasma'; mass: string; molar: string };
  status: 'V' | 'S' | 'U';
}

const GLUCOSE_RANGE_MG_DL: PlausibleRange = {
  min: 10,
  max: 1500,
  why: 'meters read down to ~10-20 (LO) and up to ~600 (HI), CGMs clip at 40/400 (corpora/cgm/iglu); 1500 leaves room for lab-confirmed extreme hyperglycaemia while rejecting kg/L-as-mg/dL slips',
};
const GLUCOSE_RANGE_MMOL_L: PlausibleRange = {
  min: 0.5,
  max: 85,
  why: 'the mg/dL range above divided by 18',
};

const defs: CodeDef[] = [
  {
    code: '85354-9',
    system: LOINC,
    display: 'Blood pressure panel with all children optional',
    category: 'vital-signs',
    kind: 'panel',
    units: [],
    vitalSignsProfile: 'bp',
    components: [
      { code: '8480-6', required: true },
      { code: '8462-4', required: true },
      { code: '8478-0', required: false },
    ],
    status: 'V',
  },
  {
    code: '8480-6',
    system: LOINC,
    display: 'Systolic blood pressure',
    category: 'vital-signs',
    kind: 'quantity',
    dimension: 'pressure',
    units: ['mm[Hg]', 'kPa'],
    decimals: 0,
    range: { min: 20, max: 300, why: 'cuffs cannot measure below ~20; above 300 mmHg is beyond cuff ranges' },
    status: 'V',
  },
  {
    code: '8462-4',
    system: LOINC,
    display: 'Diastolic blood pressure',
    category: 'vital-signs',
    kind: 'quantity',
    dimension: 'pressure',
    units: ['mm[Hg]', 'kPa'],
    decimals: 0,
    range: { min: 10, max: 250, why: 'generous: catches kPa sent as mmHg (11 "mmHg") and byte garbage' },
    status: 'V',
  },
  {
    code: '8478-0',
    system: LOINC,
    display: 'Mean blood pressure',
    category: 'vital-signs',
    kind: 'quantity',
    dimension: 'pressure',
    units: ['mm[Hg]', 'kPa'],
    decimals: 0,
    range: { min: 15, max: 280, why: 'between the diastolic and systolic bounds' },
    // S: RIVO-Noord ConceptMap only (clinical-reference §2.2); not a vital-signs slice.
    status: 'S',
  },
  {
    code: '8867-4',
    system: LOINC,
    display: 'Heart rate',
    category: 'vital-signs',
    kind: 'quantity',
    dimension: 'rate',
    units: ['/min'],
    decimals: 0,
    range: {
      min: 15,
      max: 350,
      why: 'keeps extreme brady- and tachycardia; refuses 900 or 0 (no pulse found)',
    },
    vitalSignsProfile: 'heartrate',
    status: 'V',
  },
  {
    code: '9279-1',
    system: LOINC,
    display: 'Respiratory rate',
    category: 'vital-signs',
    kind: 'quantity',
    dimension: 'rate',
    units: ['/min'],
    decimals: 0,
    range: {
      min: 1,
      max: 150,
      why: 'neonatal/tachypnoea rates stay far below 150; 0 is apnoea, not a measured rate',
    },
    vitalSignsProfile: 'resprate',
    status: 'V',
  },
  {
    code: '2708-6',
    system: LOINC,
    display: 'Oxygen saturation in Arterial blood',
    category: 'vital-signs',
    kind: 'quantity',
    dimension: 'fraction',
    units: ['%'],
    decimals: 1,
    range: {
      min: 20,
      max: 100,
      why: 'a saturation cannot exceed 100 %; oximeters do not report meaningful values far below 50',
    },
    vitalSignsProfile: 'oxygensat',
    // R4 profile fixes 2708-6; US Core pulse-ox also wants 59408-5 (§2.2), MDC 150456 per the satO2 example.
    extraCodings: [
      { system: LOINC, code: '59408-5', display: 'Oxygen saturation in Arterial blood by Pulse oximetry' },
      { system: MDC, code: '150456', display: 'MDC_PULS_OXIM_SAT_O2' },
    ],
    status: 'V',
  },
  {
    code: '8310-5',
    system: LOINC,
    display: 'Body temperature',
    category: 'vital-signs',
    kind: 'quantity',
    dimension: 'temperature',
    units: ['Cel', '[degF]'],
    decimals: 2,
    range: {
      min: 20,
      max: 46,
      why: 'covers deep accidental hypothermia and extreme hyperthermia; catches °F sent as °C',
    },
    vitalSignsProfile: 'bodytemp',
    status: 'V',
  },
  {
    code: '29463-7',
    system: LOINC,
    display: 'Body weight',
    category: 'vital-signs',
    kind: 'quantity',
    dimension: 'mass',
    units: ['kg', 'g', '[lb_av]'],
    decimals: 3,
    range: {
      min: 0.2,
      max: 650,
      why: 'a live preterm newborn weighs a few hundred grams; 0 means an empty scale; 0xFFFF (327.675 kg) is refused separately by the BLE profile',
    },
    vitalSignsProfile: 'bodyweight',
    status: 'V',
  },
  {
    code: '8302-2',
    system: LOINC,
    display: 'Body height',
    category: 'vital-signs',
    kind: 'quantity',
    dimension: 'length',
    units: ['cm', '[in_i]'],
    decimals: 1,
    range: { min: 20, max: 275, why: 'preterm newborn to beyond the tallest recorded adults' },
    vitalSignsProfile: 'bodyheight',
    status: 'V',
  },
  {
    code: '39156-5',
    system: LOINC,
    display: 'Body mass index (BMI) [Ratio]',
    category: 'vital-signs',
    kind: 'quantity',
    dimension: 'mass-per-area',
    units: ['kg/m2'],
    decimals: 1,
    range: { min: 5, max: 150, why: 'extreme cachexia to extreme obesity' },
    vitalSignsProfile: 'bmi',
    status: 'V',
  },
  {
    code: '55423-8',
    system: LOINC,
    display: 'Number of steps in unspecified time Pedometer',
    category: 'activity',
    kind: 'quantity',
    dimension: 'count',
    units: ['{steps}'],
    decimals: 0,
    range: { min: 0, max: 200000, why: 'ultramarathon days stay well under 200k steps' },
    status: 'S',
  },
  // Glucose (§2.3). Category laboratory as in the HL7 CGM IG examples.
  glucose('41653-7', 'Glucose [Mass/volume] in Capillary blood by Glucometer', 'mg/dL', 'capillary', 'V'),
  glucose('14743-9', 'Glucose [Moles/volume] in Capillary blood by Glucometer', 'mmol/L', 'capillary', 'V'),
  glucose('99504-3', 'Glucose [Mass/volume] in Interstitial fluid', 'mg/dL', 'interstitial', 'V'),
  glucose('105272-9', 'Glucose [Moles/volume] in Interstitial fluid', 'mmol/L', 'interstitial', 'V'),
  glucose('2339-0', 'Glucose [Mass/volume] in Blood', 'mg/dL', 'blood', 'V'),
  // 15074-8: display S (OSS codebases only).
  glucose('15074-8', 'Glucose [Moles/volume] in Blood', 'mmol/L', 'blood', 'S'),
  glucose('2345-7', 'Glucose [Mass/volume] in Serum or Plasma', 'mg/dL', 'plasma', 'V'),
  // 14749-6: S (forum.loinc.org thread).
  glucose('14749-6', 'Glucose [Moles/volume] in Serum or Plasma', 'mmol/L', 'plasma', 'S'),
  {
    // UNVERIFIED: clinical-reference.md has no LOINC code for ACVPU consciousness, so this is a
    // local code. Replace with the LOINC code once a clinician/terminologist confirms one.
    code: 'vigil-acvpu',
    system: VIGIL_LOCAL,
    display: 'Level of consciousness (ACVPU)',
    category: 'survey',
    kind: 'coded',
    units: [],
    // The scale itself is V (NEWS2 Chart 1, clinical-reference §1.1).
    valueSystem: VIGIL_ACVPU,
    valueCodes: [
      { code: 'A', display: 'Alert' },
      { code: 'C', display: 'New confusion' },
      { code: 'V', display: 'Responds to voice' },
      { code: 'P', display: 'Responds to pain' },
      { code: 'U', display: 'Unresponsive' },
    ],
    status: 'U',
  },
  {
    // UNVERIFIED: no LOINC code for the NEWS2 total in clinical-reference.md; local code.
    code: 'vigil-news2',
    system: VIGIL_LOCAL,
    display: 'NEWS2 total score',
    category: 'survey',
    kind: 'quantity',
    dimension: 'score',
    units: ['{score}'],
    decimals: 0,
    range: { min: 0, max: 20, why: 'NEWS2 totals range 0-20 (clinical-reference §1.1)' },
    status: 'U',
  },
  // Medication adherence devices (docs/adherence.md). No LOINC code in clinical-reference.md for a
  // device-counted inhaler actuation or a pill-bottle opening: local codes, category therapy. Each
  // is also served as FHIR MedicationAdministration / MedicationStatement against the patient's
  // MedicationRequest. Which inhaler is rescue (reliever) or controller (preventer) is said by the
  // device (its configuration), not guessed.
  {
    code: 'vigil-inhaler-rescue',
    system: VIGIL_LOCAL,
    display: 'Rescue (reliever) inhaler actuations',
    category: 'therapy',
    kind: 'quantity',
    dimension: 'count',
    units: ['{actuation}'],
    decimals: 0,
    range: {
      min: 1,
      max: 20,
      why: 'one report per use (1 press, or the presses of one use); more than 20 is a counter dump, not a dose',
    },
    status: 'U',
  },
  {
    code: 'vigil-inhaler-controller',
    system: VIGIL_LOCAL,
    display: 'Controller (preventer) inhaler actuations',
    category: 'therapy',
    kind: 'quantity',
    dimension: 'count',
    units: ['{actuation}'],
    decimals: 0,
    range: { min: 1, max: 20, why: 'as for the rescue inhaler' },
    status: 'U',
  },
  {
    code: 'vigil-pill-bottle-opening',
    system: VIGIL_LOCAL,
    display: 'Pill bottle openings',
    category: 'therapy',
    kind: 'quantity',
    dimension: 'count',
    units: ['{opening}'],
    decimals: 0,
    range: {
      min: 1,
      max: 10,
      why: 'one report per opening; a smart cap that batches reports sends one per opening',
    },
    status: 'U',
  },
];

function glucose(
  code: string,
  display: string,
  unit: 'mg/dL' | 'mmol/L',
  specimen: 'capillary' | 'interstitial' | 'blood' | 'plasma',
  status: 'V' | 'S',
): CodeDef {
  const pair: Record<typeof specimen, [string, string]> = {
    capillary: ['41653-7', '14743-9'],
    interstitial: ['99504-3', '105272-9'],
    blood: ['2339-0', '15074-8'],
    plasma: ['2345-7', '14749-6'],
  };
  const [mass, molar] = pair[specimen];
  const isMass = unit === 'mg/dL';
  return {
    code,
    system: LOINC,
    display,
    category: 'laboratory',
    kind: 'quantity',
    dimension: isMass ? 'mass-concentration' : 'substance-concentration',
    units: isMass ? ['mg/dL', 'g/L', 'kg/L'] : ['mmol/L', 'mol/L'],
    decimals: isMass ? 0 : 1,
    range: isMass ? GLUCOSE_RANGE_MG_DL : GLUCOSE_RANGE_MMOL_L,
    glucose: { specimen, mass, molar },
    status,
  };
}

export const CODES: ReadonlyMap<string, CodeDef> = new Map(
  [...defs, ...WAVEFORM_CODE_DEFS].map((d) => [d.code, d]),
);

export function getCode(code: string): CodeDef | undefined {
  return CODES.get(code);
}

/** Friendly names accepted by the native JSON format and templates. */
export const FRIENDLY_NAMES: Readonly<Record<string, string>> = {
  'heart-rate': '8867-4',
  pulse: '8867-4',
  'respiratory-rate': '9279-1',
  spo2: '2708-6',
  'oxygen-saturation': '2708-6',
  'blood-pressure': '85354-9',
  systolic: '8480-6',
  diastolic: '8462-4',
  'mean-arterial-pressure': '8478-0',
  temperature: '8310-5',
  'body-temperature': '8310-5',
  weight: '29463-7',
  'body-weight': '29463-7',
  height: '8302-2',
  'body-height': '8302-2',
  bmi: '39156-5',
  steps: '55423-8',
  glucose: '41653-7',
  'blood-glucose': '41653-7',
  'cgm-glucose': '99504-3',
  'interstitial-glucose': '99504-3',
  consciousness: 'vigil-acvpu',
  acvpu: 'vigil-acvpu',
  news2: 'vigil-news2',
  'rescue-inhaler': 'vigil-inhaler-rescue',
  'reliever-inhaler': 'vigil-inhaler-rescue',
  'controller-inhaler': 'vigil-inhaler-controller',
  'preventer-inhaler': 'vigil-inhaler-controller',
  'pill-bottle-opening': 'vigil-pill-bottle-opening',
};

/** Names for BP panel components in payloads: `{systolic, diastolic, mean}`. */
export const BP_COMPONENT_NAMES: Readonly<Record<string, string>> = {
  systolic: '8480-6',
  diastolic: '8462-4',
  mean: '8478-0',
  map: '8478-0',
};

/**
 * For a glucose code, the code of the same specimen in the dimension of `unit` (41653-7 mg/dL ↔
 * 14743-9 mmol/L). Returns the code unchanged for non-glucose codes.
 */
export function glucoseCodeForUnit(code: string, unit: 'mg/dL' | 'mmol/L'): string {
  const g = CODES.get(code)?.glucose;
  if (!g) return code;
  return unit === 'mg/dL' ? g.mass : g.molar;
}

// ---------------------------------------------------------------------------------------------
// IEEE 11073-10101 (MDC) → LOINC, clinical-reference §3.2. 32-bit decimal codes.

export interface MdcDef {
  refId: string;
  /** LOINC code (for glucose: the mass code; the molar one is chosen by unit). */
  loinc: string;
  status: 'V' | 'S' | 'U';
}

export const MDC_TO_LOINC: ReadonlyMap<string, MdcDef> = new Map<string, MdcDef>([
  ['150020', { refId: 'MDC_PRESS_BLD_NONINV', loinc: '85354-9', status: 'V' }],
  ['150021', { refId: 'MDC_PRESS_BLD_NONINV_SYS', loinc: '8480-6', status: 'V' }],
  ['150022', { refId: 'MDC_PRESS_BLD_NONINV_DIA', loinc: '8462-4', status: 'V' }],
  ['150023', { refId: 'MDC_PRESS_BLD_NONINV_MEAN', loinc: '8478-0', status: 'S' }],
  ['150301', { refId: 'MDC_PRESS_CUFF_SYS', loinc: '8480-6', status: 'V' }],
  ['150302', { refId: 'MDC_PRESS_CUFF_DIA', loinc: '8462-4', status: 'V' }],
  // The reference gives no LOINC for cuff mean; 8478-0 by analogy with 150023 — U.
  ['150303', { refId: 'MDC_PRESS_CUFF_MEAN', loinc: '8478-0', status: 'U' }],
  ['149546', { refId: 'MDC_PULS_RATE_NON_INV', loinc: '8867-4', status: 'V' }],
  ['149530', { refId: 'MDC_PULS_OXIM_PULS_RATE', loinc: '8867-4', status: 'V' }],
  ['147842', { refId: 'MDC_ECG_HEART_RATE', loinc: '8867-4', status: 'V' }],
  ['150456', { refId: 'MDC_PULS_OXIM_SAT_O2', loinc: '2708-6', status: 'V' }],
  ['151562', { refId: 'MDC_RESP_RATE', loinc: '9279-1', status: 'V' }],
  ['150364', { refId: 'MDC_TEMP_BODY', loinc: '8310-5', status: 'V' }],
  ['150344', { refId: 'MDC_TEMP', loinc: '8310-5', status: 'V' }],
  ['188736', { refId: 'MDC_MASS_BODY_ACTUAL', loinc: '29463-7', status: 'V' }],
  ['188740', { refId: 'MDC_LEN_BODY_ACTUAL', loinc: '8302-2', status: 'V' }],
  ['188752', { refId: 'MDC_RATIO_MASS_BODY_LEN_SQ', loinc: '39156-5', status: 'V' }],
  ['160184', { refId: 'MDC_CONC_GLU_CAPILLARY_WHOLEBLOOD', loinc: '41653-7', status: 'V' }],
  // Capillary plasma: the reference marks its LOINC U. Meters are plasma-calibrated and SMBG is
  // conventionally coded 41653-7/14743-9, so we map there — unverified, revisit with LOINC's IEEE map.
  ['160188', { refId: 'MDC_CONC_GLU_CAPILLARY_PLASMA', loinc: '41653-7', status: 'U' }],
  ['160212', { refId: 'MDC_CONC_GLU_ISF', loinc: '99504-3', status: 'V' }],
  // Not mapped on purpose (no LOINC in the reference): 150448 perfusion, 188748 body fat, 160220 HbA1c.
]);

export const MDC_UNIT_TO_UCUM: ReadonlyMap<string, string> = new Map([
  ['266016', 'mm[Hg]'], // MDC_DIM_MMHG
  ['265987', 'kPa'], // MDC_DIM_KILO_PASCAL
  ['264864', '/min'], // MDC_DIM_BEAT_PER_MIN
  ['264928', '/min'], // MDC_DIM_RESP_PER_MIN
  ['262688', '%'], // MDC_DIM_PERCENT
  ['268192', 'Cel'], // MDC_DIM_DEGC
  ['266560', '[degF]'], // MDC_DIM_FAHR
  ['263875', 'kg'], // MDC_DIM_KILO_G
  ['263904', '[lb_av]'], // MDC_DIM_LB
  ['263441', 'cm'], // MDC_DIM_CENTI_M
  ['263520', '[in_i]'], // MDC_DIM_INCH
  ['264096', 'kg/m2'], // MDC_DIM_KG_PER_M_SQ
  ['264274', 'mg/dL'], // MDC_DIM_MILLI_G_PER_DL
  ['266866', 'mmol/L'], // MDC_DIM_MILLI_MOLE_PER_L
]);

/** The MDC code Vigil attaches as an extra coding when it knows the measurement's MDC origin. */
export function mdcCoding(code: string): Coding | undefined {
  const def = MDC_TO_LOINC.get(code);
  return def ? { system: MDC, code, display: def.refId } : undefined;
}
