/**
 * Waveform channel codes (MDC, partition 2 SCADA): which strips Vigil stores, with the units each
 * accepts. A waveform has no LOINC code in clinical-reference.md, so the MDC code is the primary
 * coding (§2.3 "ECG leads (waveform component codes) use MDC"; status letters as there).
 *
 * - 131329 / 131330 / 131389 ECG leads I, II, III: V (clinical-reference §2.3). MIT-BIH's "MLII"
 *   (modified lead II) is stored as lead II.
 * - 131328 MDC_ECG_ELEC_POTL (the ECG as a whole, the code of a multi-lead strip whose leads are
 *   components): U — derived from the code structure (§3.1: partition 2 << 16 + term 0x100, the
 *   term the lead codes count up from); confirm against RTMMS.
 * - 131335 MDC_ECG_ELEC_POTL_V5: U — by the same count (V1 = 131331 … V6 = 131336); confirm.
 * - 150452 MDC_PULS_OXIM_PLETH: S — the HL7 PHD IG's own rtsa example (test/corpora/fhir-phd-ig-examples).
 *
 * Category `procedure` (FHIR observation-category: "electrodiagnostics"), not `vital-signs`: a strip
 * is not one of the vital signs and claims no vital-signs profile.
 */
import type { CodeDef } from './codes.ts';

const MDC = 'urn:iso:std:iso:11073:10101';
/** UCUM units of electric potential a device may scale an ECG strip in. */
const ECG_UNITS = ['mV', 'uV', 'V'] as const;
/** A pleth is a relative amplitude: unitless (`1`, as in the PHD IG rtsa example) or percent. */
const PLETH_UNITS = ['1', '%'] as const;

function wave(code: string, display: string, units: readonly string[], status: CodeDef['status']): CodeDef {
  return { code, system: MDC, display, category: 'procedure', kind: 'waveform', units, status };
}

export const WAVEFORM_CODE_DEFS: readonly CodeDef[] = [
  wave('131328', 'MDC_ECG_ELEC_POTL', ECG_UNITS, 'U'),
  wave('131329', 'MDC_ECG_ELEC_POTL_I', ECG_UNITS, 'V'),
  wave('131330', 'MDC_ECG_ELEC_POTL_II', ECG_UNITS, 'V'),
  wave('131389', 'MDC_ECG_ELEC_POTL_III', ECG_UNITS, 'V'),
  wave('131335', 'MDC_ECG_ELEC_POTL_V5', ECG_UNITS, 'U'),
  wave('150452', 'MDC_PULS_OXIM_PLETH', PLETH_UNITS, 'S'),
];

/** The multi-lead ECG code, used as a strip's code when its channels are several ECG leads. */
export const ECG_STRIP_CODE = '131328';
export const PLETH_CODE = '150452';
const ECG_LEADS = new Set(['131329', '131330', '131389', '131335']);

export function isEcgLead(code: string): boolean {
  return ECG_LEADS.has(code);
}
