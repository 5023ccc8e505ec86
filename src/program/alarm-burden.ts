/**
 * Alarm burden across patients and units (docs/alarm-burden.md): per unit or care team, alarms per
 * bed-day by rule and device, the top 10 % of patients and rules by alarms and their share, time to
 * acknowledge, the non-actionable rate, and flood grouping — a burst of one rule in one place with one
 * shared cause (a gateway, else the unit) across several patients counted as one incident. Pure;
 * the rows come from alarm-burden-data.ts.
 */

export interface BurdenAlert {
  id: string;
  patientId: string;
  rule: string;
  severity: string;
  deviceId: string | null;
  deviceKind: string | null;
  /** The gateway the alert's device is linked behind (edge gateway), if any. */
  gatewayId: string | null;
  /** The unit of the alert's device's zone (equipment tracking), if known. */
  unitId: string | null;
  careTeamIds: string[];
  /** ms since the epoch (UTC) */
  createdAt: number;
  firstAcknowledgedAt: number | null;
  resolvedAt: number | null;
  resolution: string | null;
}

export interface FloodSettings {
  /** A burst: alerts of one cause raised within this long of the burst's first, ms. */
  windowMs: number;
  /** …for at least this many different patients. */
  minPatients: number;
}

/**
 * Engineering defaults, not clinical facts: a gateway or network outage raises every patient's gap
 * alert within a few minutes of each other; three patients at once is not a coincidence worth three
 * separate calls.
 */
export const defaultFlood: FloodSettings = { windowMs: 5 * 60_000, minPatients: 3 };

export interface Incident {
  /** The shared cause: the rule, and the gateway or else the unit where the burst happened. */
  rule: string;
  gatewayId: string | null;
  unitId: string | null;
  start: string;
  end: string;
  alerts: number;
  patients: number;
  alertIds: string[];
}

/**
 * Bursts with one shared cause. Alerts are keyed by rule and gateway (else unit); within a key, in
 * time order, a burst opens at an alert and takes every later one within `windowMs` of its opening;
 * a burst over at least `minPatients` patients is an incident. Alerts with neither a gateway nor a
 * unit have no place to share and are never grouped.
 */
export function floodIncidents(alerts: readonly BurdenAlert[], s: FloodSettings = defaultFlood): Incident[] {
  const byCause = new Map<string, BurdenAlert[]>();
  for (const a of alerts) {
    if (!a.gatewayId && !a.unitId) continue;
    const key = `${a.rule}\u0000${a.gatewayId ? `g:${a.gatewayId}` : `u:${a.unitId}`}`;
    const list = byCause.get(key);
    if (list) list.push(a);
    else byCause.set(key, [a]);
  }
  const out: Incident[] = [];
  for (const list of byCause.values()) {
    list.sort((x, y) => x.createdAt - y.createdAt || x.id.localeCompare(y.id));
    let i = 0;
    while (i < list.length) {
      const first = list[i] as BurdenAlert;
      let j = i;
      while (j + 1 < list.length && (list[j + 1] as BurdenAlert).createdAt - first.createdAt <= s.windowMs)
        j++;
      const burst = list.slice(i, j + 1);
      const patients = new Set(burst.map((a) => a.patientId)).size;
      if (patients >= s.minPatients)
        out.push({
          rule: first.rule,
          gatewayId: first.gatewayId,
          unitId: first.gatewayId ? null : first.unitId,
          start: new Date(first.createdAt).toISOString(),
          end: new Date((burst.at(-1) as BurdenAlert).createdAt).toISOString(),
          alerts: burst.length,
          patients,
          alertIds: burst.map((a) => a.id),
        });
      i = j + 1;
    }
  }
  return out.sort((a, b) => a.start.localeCompare(b.start) || a.rule.localeCompare(b.rule));
}

export interface TopShare {
  /** How many members make up the top 10 % (at least 1 when there are any). */
  members: number;
  of: number;
  alerts: number;
  /** Their share of all alarms, 0–1. */
  share: number | null;
  top: Array<{ id: string; alerts: number }>;
}

/**
 * The top `fraction` of members (patients, rules) by alarms: ⌈fraction × members with an alarm⌉ of
 * them, ties broken by id so the answer is stable, and the share of all alarms they cause.
 */
export function topShare(counts: ReadonlyMap<string, number>, fraction = 0.1): TopShare {
  const sorted = [...counts].sort(([a, x], [b, y]) => y - x || a.localeCompare(b));
  const total = sorted.reduce((s, [, n]) => s + n, 0);
  const members = sorted.length === 0 ? 0 : Math.max(1, Math.ceil(sorted.length * fraction - 1e-9));
  const top = sorted.slice(0, members).map(([id, alerts]) => ({ id, alerts }));
  const alerts = top.reduce((s, t) => s + t.alerts, 0);
  return { members, of: sorted.length, alerts, share: total > 0 ? round3(alerts / total) : null, top };
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;
const round1 = (x: number) => Math.round(x * 10) / 10;

/** Nearest-rank percentile of seconds (null for none). */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  return round1(s[Math.max(0, Math.ceil(p * s.length) - 1)] as number);
}

/**
 * Resolved without action: the condition cleared by itself (resolution `automatic`) before anyone
 * acknowledged the alert.
 */
export const nonActionable = (a: BurdenAlert) =>
  a.resolvedAt !== null && a.resolution === 'automatic' && a.firstAcknowledgedAt === null;

export interface BurdenGroup {
  /** The unit or care team id; '(none)' for alerts outside any; '*' for all. */
  id: string;
  name: string | null;
  bedDays: number;
  alerts: number;
  alertsPerBedDay: number | null;
  /** Alerts once each incident counts as one. */
  afterFloodGrouping: number;
  incidents: number;
  byRule: Array<{ rule: string; alerts: number; perBedDay: number | null }>;
  byDevice: Array<{ deviceId: string; kind: string | null; alerts: number; perBedDay: number | null }>;
  topPatients: TopShare;
  topRules: TopShare;
  acknowledged: number;
  ackP50Seconds: number | null;
  ackP90Seconds: number | null;
  resolved: number;
  nonActionable: number;
  /** non-actionable / resolved, 0–1 */
  nonActionableRate: number | null;
}

/** One group's figures (the alerts already chosen for it). */
export function burdenOf(
  id: string,
  name: string | null,
  alerts: readonly BurdenAlert[],
  bedDays: number,
  incidents: readonly Incident[],
): BurdenGroup {
  const per = (n: number) => (bedDays > 0 ? round3(n / bedDays) : null);
  const count = <K>(key: (a: BurdenAlert) => K | null) => {
    const m = new Map<K, number>();
    for (const a of alerts) {
      const k = key(a);
      if (k !== null) m.set(k, (m.get(k) ?? 0) + 1);
    }
    return m;
  };
  const ids = new Set(alerts.map((a) => a.id));
  // an incident belongs to this group with the alerts of it that are here
  const inGroup = incidents.map((i) => i.alertIds.filter((x) => ids.has(x)).length).filter((n) => n > 0);
  const grouped = inGroup.reduce((s, n) => s + n, 0);
  const kinds = new Map(alerts.map((a) => [a.deviceId, a.deviceKind] as const));
  const acks = alerts
    .filter((a) => a.firstAcknowledgedAt !== null)
    .map((a) => ((a.firstAcknowledgedAt as number) - a.createdAt) / 1000);
  const resolved = alerts.filter((a) => a.resolvedAt !== null).length;
  const na = alerts.filter(nonActionable).length;
  return {
    id,
    name,
    bedDays,
    alerts: alerts.length,
    alertsPerBedDay: per(alerts.length),
    afterFloodGrouping: alerts.length - grouped + inGroup.length,
    incidents: inGroup.length,
    byRule: [...count((a) => a.rule)]
      .sort(([a, x], [b, y]) => y - x || a.localeCompare(b))
      .map(([rule, n]) => ({ rule, alerts: n, perBedDay: per(n) })),
    byDevice: [...count((a) => a.deviceId)]
      .sort(([a, x], [b, y]) => y - x || a.localeCompare(b))
      .slice(0, 20)
      .map(([deviceId, n]) => ({
        deviceId,
        kind: kinds.get(deviceId) ?? null,
        alerts: n,
        perBedDay: per(n),
      })),
    topPatients: topShare(count((a) => a.patientId)),
    topRules: topShare(count((a) => a.rule)),
    acknowledged: acks.length,
    ackP50Seconds: percentile(acks, 0.5),
    ackP90Seconds: percentile(acks, 0.9),
    resolved,
    nonActionable: na,
    nonActionableRate: resolved > 0 ? round3(na / resolved) : null,
  };
}
