/**
 * NEWS2 Chart 1 scoring, coded from clinical-reference §1.1 (V). Upper bounds are closed as the
 * chart is written (e.g. temperature ≤35.0 → 3, ≤36.0 → 1), so a fractional value falls into the
 * band whose upper bound it does not exceed.
 */
export type Acvpu = 'A' | 'C' | 'V' | 'P' | 'U';
export const ACVPU: readonly Acvpu[] = ['A', 'C', 'V', 'P', 'U'];

export function scoreRespRate(rr: number): number {
  if (rr <= 8) return 3;
  if (rr <= 11) return 1;
  if (rr <= 20) return 0;
  if (rr <= 24) return 2;
  return 3;
}

export function scoreSpo2Scale1(spo2: number): number {
  if (spo2 <= 91) return 3;
  if (spo2 <= 93) return 2;
  if (spo2 <= 95) return 1;
  return 0;
}

/** Scale 2 (prescribed 88–92 % target): ≥93 % scores 0 on air but rises on oxygen. */
export function scoreSpo2Scale2(spo2: number, onOxygen: boolean): number {
  if (spo2 <= 83) return 3;
  if (spo2 <= 85) return 2;
  if (spo2 <= 87) return 1;
  if (spo2 <= 92 || !onOxygen) return 0;
  if (spo2 <= 94) return 1;
  if (spo2 <= 96) return 2;
  return 3;
}

export function scoreOxygen(onOxygen: boolean): number {
  return onOxygen ? 2 : 0;
}

export function scoreSystolic(sbp: number): number {
  if (sbp <= 90) return 3;
  if (sbp <= 100) return 2;
  if (sbp <= 110) return 1;
  if (sbp <= 219) return 0;
  return 3;
}

export function scorePulse(hr: number): number {
  if (hr <= 40) return 3;
  if (hr <= 50) return 1;
  if (hr <= 90) return 0;
  if (hr <= 110) return 1;
  if (hr <= 130) return 2;
  return 3;
}

export function scoreConsciousness(c: Acvpu): number {
  return c === 'A' ? 0 : 3;
}

export function scoreTemperature(celsius: number): number {
  if (celsius <= 35.0) return 3;
  if (celsius <= 36.0) return 1;
  if (celsius <= 38.0) return 0;
  if (celsius <= 39.0) return 1;
  return 2;
}

export interface News2Inputs {
  respRate: number;
  spo2: number;
  spo2Scale: 1 | 2;
  onOxygen: boolean;
  systolic: number;
  pulse: number;
  consciousness: Acvpu;
  temperature: number;
}

export interface News2Result {
  total: number;
  parts: {
    respRate: number;
    spo2: number;
    oxygen: number;
    systolic: number;
    pulse: number;
    consciousness: number;
    temperature: number;
  };
  /** True when any single parameter scores 3 (RCP Chart 4 'low–medium' trigger). */
  anyThree: boolean;
}

export function news2(i: News2Inputs): News2Result {
  const parts = {
    respRate: scoreRespRate(i.respRate),
    spo2: i.spo2Scale === 2 ? scoreSpo2Scale2(i.spo2, i.onOxygen) : scoreSpo2Scale1(i.spo2),
    oxygen: scoreOxygen(i.onOxygen),
    systolic: scoreSystolic(i.systolic),
    pulse: scorePulse(i.pulse),
    consciousness: scoreConsciousness(i.consciousness),
    temperature: scoreTemperature(i.temperature),
  };
  const total =
    parts.respRate +
    parts.spo2 +
    parts.oxygen +
    parts.systolic +
    parts.pulse +
    parts.consciousness +
    parts.temperature;
  const anyThree = Object.values(parts).some((p) => p === 3);
  return { total, parts, anyThree };
}

/**
 * Clinical response band (RCP Chart 4, clinical-reference §1.2). 'low-medium' needs total < 5:
 * an aggregate of 5 or more already outranks a single 3.
 */
export type News2Band = 'none' | 'low' | 'low-medium' | 'medium' | 'high';

export function news2Band(r: Pick<News2Result, 'total' | 'anyThree'>): News2Band {
  if (r.total >= 7) return 'high';
  if (r.total >= 5) return 'medium';
  if (r.anyThree) return 'low-medium';
  if (r.total >= 1) return 'low';
  return 'none';
}
