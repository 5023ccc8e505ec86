import type { Severity } from './severity.ts';

/**
 * What a detection rule says about one patient's condition after a reading (or a clock tick for
 * time-based rules such as missing data). The alert manager turns these into alerts: one open alert
 * per (patientId, conditionKey), updated with new evidence instead of repeated.
 */
export interface Detection {
  patientId: string;
  /** Stable key of the condition, unique per patient: e.g. 'threshold:2708-6:low', 'news2', 'gap:dev-1'. */
  conditionKey: string;
  /** Rule kind that produced it: threshold, news2, trend, weight-gain, hypertensive-crisis, glucose, … */
  rule: string;
  /** 'firing' raises or updates the alert; 'cleared' lets it auto-resolve. */
  state: 'firing' | 'cleared';
  severity: Severity;
  /** Event time of the evidence that produced this detection (UTC ISO). */
  at: string;
  /** Human summary for clinicians, no identifiers: 'SpO2 86 % below 88 % for 30 s'. */
  summary: string;
  /** Observation ids (readings or scores) that support it. */
  evidence: string[];
  /** Rule-specific figures (score, slope, predicted value…) kept with the alert. */
  data?: Record<string, unknown>;
  /** Device concerned, for device-scoped conditions (data gap, battery). */
  deviceId?: string;
}
