/**
 * The few codes detection needs (clinical-reference §2.2, §2.3, §3.2). Kept here rather than in
 * normalize/codes.ts so the rules stay independent of the normalizer's tables.
 */
export const Loinc = {
  heartRate: '8867-4',
  /** Heart rate by pulse oximetry (clinical-reference §2.3, status S). */
  heartRatePulseOximetry: '8889-8',
  spo2: '2708-6',
  /** Second LOINC for pulse oximetry (US Core pairs it with 2708-6). */
  spo2PulseOximetry: '59408-5',
  respRate: '9279-1',
  bodyTemp: '8310-5',
  bpPanel: '85354-9',
  systolic: '8480-6',
  diastolic: '8462-4',
  bodyWeight: '29463-7',
  cgmMass: '99504-3',
  cgmMoles: '105272-9',
  smbgMass: '41653-7',
  smbgMoles: '14743-9',
} as const;

/** MDC 32-bit codes that tell which sensor a heart rate came from (clinical-reference §3.2). */
export const Mdc = {
  ecgHeartRate: '147842',
  oximeterPulseRate: '149530',
  cuffPulseRate: '149546',
} as const;

/**
 * NEWS2 inputs that have no code in clinical-reference: supplemental oxygen and ACVPU consciousness.
 * Vigil uses local codes; the LOINC aliases below are from memory and NOT verified (U) — they are
 * accepted on input but never emitted.
 */
export const LocalCode = {
  /** valueCode 'air' | 'oxygen', or a flow in L/min (value > 0 = oxygen). */
  oxygenSupplement: 'vigil-o2-supplement',
  /** valueCode 'A' | 'C' | 'V' | 'P' | 'U'. */
  consciousness: 'vigil-acvpu',
  /**
   * The NEWS2 score Vigil emits. clinical-reference has no LOINC for NEWS2, so the score is coded
   * locally; a LOINC code for it is unverified (U) and must be checked before mapping.
   */
  news2Score: 'vigil-news2',
} as const;

/** Unverified (U) LOINC aliases accepted for the local codes above. */
export const UnverifiedAlias: Record<string, string> = {
  '3151-8': LocalCode.oxygenSupplement, // inhaled oxygen flow rate (U)
  '3150-0': LocalCode.oxygenSupplement, // inhaled oxygen concentration (U)
  '80288-4': LocalCode.consciousness, // level of consciousness (U)
};

export const GLUCOSE_CODES: ReadonlySet<string> = new Set([
  Loinc.cgmMass,
  Loinc.cgmMoles,
  Loinc.smbgMass,
  Loinc.smbgMoles,
]);

/** mg/dL per mmol/L for glucose (molar mass 180.16 g/mol). */
export const MGDL_PER_MMOLL = 18.016;
