/**
 * Alerts with more than one source: Vigil's own detection rules and the alarms bedside devices
 * raise themselves (IHE PCD-04, rule `device-alarm`). The same condition for the same patient —
 * SpO2 low seen by Vigil's hypoxaemia rule and by the monitor's MDC_EVT_LO — is one alert (one
 * condition key), with both sources' evidence.
 *
 * Kept in the alert's `data`:
 * - `sources`: every source that has contributed (`vigil`, `device-alarm`), in order of arrival;
 * - `activeSources`: those whose condition still holds; the alert resolves automatically only
 *   when the last one clears (a monitor's `end` does not resolve what Vigil still sees, and the
 *   reverse);
 * - `sourceSeverity`: each active source's severity; the alert's is the highest of them;
 * - `deviceAlarm`: the device's latest report (priority, phase, event code, value, limits).
 * Vigil's rule figures (value, score …) stay at the top level of `data`, as for any alert.
 */
import type { Detection } from '../core/detection.ts';
import { maxSeverity, type Severity } from '../core/severity.ts';
import type { Alert } from './alert.ts';

export const DEVICE_ALARM_RULE = 'device-alarm';
export type AlertSource = 'vigil' | 'device-alarm';

export function sourceOf(d: Pick<Detection, 'rule'>): AlertSource {
  return d.rule === DEVICE_ALARM_RULE ? 'device-alarm' : 'vigil';
}

const isSource = (s: unknown): s is AlertSource => s === 'vigil' || s === 'device-alarm';

/** Sources whose condition holds; an alert stored before sources were tracked has its rule's. */
export function activeSources(a: Pick<Alert, 'data' | 'rule'>): AlertSource[] {
  const v = a.data.activeSources;
  if (Array.isArray(v)) return v.filter(isSource);
  return [sourceOf(a)];
}

function sourceSeverities(
  a: Pick<Alert, 'data' | 'rule' | 'severity'>,
): Partial<Record<AlertSource, Severity>> {
  const v = a.data.sourceSeverity;
  if (v && typeof v === 'object') return { ...(v as Partial<Record<AlertSource, Severity>>) };
  return { [sourceOf(a)]: a.severity };
}

function highest(
  sev: Partial<Record<AlertSource, Severity>>,
  active: readonly AlertSource[],
): Severity | undefined {
  let out: Severity | undefined;
  for (const s of active) {
    const v = sev[s];
    if (v) out = out ? maxSeverity(out, v) : v;
  }
  return out;
}

/** The data and severity of a new alert raised by `d`. */
export function initialSourceData(d: Detection): Record<string, unknown> {
  const src = sourceOf(d);
  return { ...(d.data ?? {}), sources: [src], activeSources: [src], sourceSeverity: { [src]: d.severity } };
}

/** Data and severity after a firing detection from one source joins (or updates) the alert. */
export function mergeFiring(
  alert: Alert,
  d: Detection,
): { data: Record<string, unknown>; severity: Severity } {
  const src = sourceOf(d);
  // One source only, as every alert before device alarms: its latest figures and severity, unchanged.
  if (!Array.isArray(alert.data.activeSources) && sourceOf(alert) === src)
    return { data: d.data ?? alert.data, severity: d.severity };
  const sources = [
    ...new Set([
      ...(Array.isArray(alert.data.sources) ? alert.data.sources.filter(isSource) : [sourceOf(alert)]),
      src,
    ]),
  ];
  const active = [...new Set([...activeSources(alert), src])];
  const sev = { ...sourceSeverities(alert), [src]: d.severity };
  // Vigil's rule figures replace Vigil's; a device report replaces only the device's part.
  const base =
    src === 'vigil'
      ? {
          ...(d.data ?? alert.data),
          ...(alert.data.deviceAlarm ? { deviceAlarm: alert.data.deviceAlarm } : {}),
        }
      : { ...alert.data, ...(d.data ?? {}) };
  return {
    data: { ...base, sources, activeSources: active, sourceSeverity: sev },
    severity: highest(sev, active) ?? d.severity,
  };
}

/**
 * A cleared detection from one source: `resolve` when it was the last active source; `ignore` when
 * that source was not holding the alert (a device's `end` for an alarm whose start never came);
 * otherwise the alert's data and severity once that source has let go.
 */
export function afterCleared(
  alert: Alert,
  d: Detection,
):
  | { kind: 'resolve'; data?: Record<string, unknown> }
  | { kind: 'ignore' }
  | { kind: 'update'; data: Record<string, unknown>; severity: Severity; remaining: AlertSource[] } {
  const src = sourceOf(d);
  const active = activeSources(alert);
  if (!active.includes(src)) return { kind: 'ignore' };
  const remaining = active.filter((s) => s !== src);
  if (remaining.length === 0) {
    // A device's `end` is kept with the resolved alert (its last phase and state).
    if (src === 'device-alarm' && d.data?.deviceAlarm)
      return { kind: 'resolve', data: { ...alert.data, activeSources: [], deviceAlarm: d.data.deviceAlarm } };
    // An alert whose readings may be left out of the metrics (a suspected CGM compression low) keeps
    // how it ended and when, in event time: the metrics leave its readings out only when the rule
    // judged it an artefact (program/dashboard-data.ts).
    if (d.data?.excludeFromMetrics === true)
      return {
        kind: 'resolve',
        data: { ...alert.data, clearedAt: d.at, clearOutcome: d.data.outcome ?? null },
      };
    return { kind: 'resolve' };
  }
  const sev = sourceSeverities(alert);
  delete sev[src];
  const data: Record<string, unknown> = { ...alert.data, activeSources: remaining, sourceSeverity: sev };
  if (src === 'device-alarm' && d.data?.deviceAlarm) data.deviceAlarm = d.data.deviceAlarm;
  return { kind: 'update', data, severity: highest(sev, remaining) ?? alert.severity, remaining };
}
