/**
 * NEWS2 of a TRUE state, for ground truth only (clinical-reference.md §1.1, RCP Chart 1). The
 * simulator may import only core/, so this is its own small copy of the table; detect/ owns the
 * scoring Vigil alerts on. Scale 2 is for patients with a prescribed 88–92 % target (COPD).
 */
import type { Vitals } from './physiology.ts';

export function news2(v: Vitals, scale: 1 | 2 = 1): number {
  const rr = Math.round(v.respiratoryRate);
  const spo2 = Math.round(v.spo2);
  const sbp = Math.round(v.systolic);
  const hr = Math.round(v.heartRate);
  const temp = Math.round(v.temperature * 10) / 10;
  let s = 0;
  s += rr <= 8 ? 3 : rr <= 11 ? 1 : rr <= 20 ? 0 : rr <= 24 ? 2 : 3;
  if (scale === 1) s += spo2 <= 91 ? 3 : spo2 <= 93 ? 2 : spo2 <= 95 ? 1 : 0;
  else if (spo2 <= 83) s += 3;
  else if (spo2 <= 85) s += 2;
  else if (spo2 <= 87) s += 1;
  else if (spo2 >= 93 && v.onOxygen) s += spo2 <= 94 ? 1 : spo2 <= 96 ? 2 : 3;
  if (v.onOxygen) s += 2;
  s += sbp <= 90 ? 3 : sbp <= 100 ? 2 : sbp <= 110 ? 1 : sbp <= 219 ? 0 : 3;
  s += hr <= 40 ? 3 : hr <= 50 ? 1 : hr <= 90 ? 0 : hr <= 110 ? 1 : hr <= 130 ? 2 : 3;
  s += v.consciousness === 'A' ? 0 : 3;
  s += temp <= 35.0 ? 3 : temp <= 36.0 ? 1 : temp <= 38.0 ? 0 : temp <= 39.0 ? 1 : 2;
  return s;
}
