import { toCsv } from '../core/csv.ts';
import type { Sql } from '../store/database.ts';

/** One row of response metrics: per severity and care team ('*' = all teams). Durations in seconds. */
export interface ResponseMetricsRow {
  severity: string;
  team: string;
  alerts: number;
  acknowledged: number;
  resolved: number;
  autoResolved: number;
  ackP50Seconds: number | null;
  ackP90Seconds: number | null;
  resolveP50Seconds: number | null;
  resolveP90Seconds: number | null;
  escalations: number;
  escalatedAlerts: number;
}

export interface AlertMetrics {
  since: string;
  until: string;
  rows: ResponseMetricsRow[];
  /**
   * Alarm burden: alerts raised per monitored patient-day (a patient-day = a patient with readings
   * that day), and notifications sent to people (raised, worsened, escalated, snooze ended,
   * reminders — not the acknowledged/resolved messages to pager gateways) per patient-day and per
   * alert raised.
   */
  burden: {
    alerts: number;
    patientDays: number;
    alertsPerPatientDay: number | null;
    notifications: number;
    notificationsPerPatientDay: number | null;
    notificationsPerAlert: number | null;
    /** The alerts raised, per class: clinical ones apart from technical alarms, compression lows, requests, tasks. */
    byClass: AlertsByClass;
    clinicalAlertsPerPatientDay: number | null;
  };
}

/**
 * The class of an alert for counting (an SQL expression over the `alert` table's columns): `clinical`, or one of
 * the classes counted apart — `technical` (signal-quality alarms such as probe off or signal poor,
 * device health, data gaps: about the equipment, not the patient), `compression-suspected` (a CGM
 * low judged a compression artefact, "check with a fingerstick": clinical-reference §9 says to
 * exclude them from aggregate metrics), `measurement-request` (a repeat reading asked of the
 * patient) and `task` (observations due). Set by detection in `data.class` (src/detect/README.md);
 * condition-key prefixes cover alerts raised before the class existed.
 */
export function alertClassSql(alias = ''): string {
  const a = alias ? `${alias}.` : '';
  return `case
    when ${a}data->>'class' = 'technical' or ${a}condition_key like 'technical:%'
      or ${a}condition_key like 'device:%' or ${a}condition_key like 'gap:%' then 'technical'
    when ${a}data->>'class' = 'compression-suspected' or ${a}data->>'excludeFromMetrics' = 'true'
      then 'compression-suspected'
    when ${a}data->>'class' = 'measurement-request' or ${a}condition_key like 'request:%'
      then 'measurement-request'
    when ${a}condition_key = 'news2:observations-due' then 'task'
    else 'clinical' end`;
}

export interface AlertsByClass {
  clinical: number;
  technical: number;
  compressionSuspected: number;
  measurementRequest: number;
  task: number;
}

/** Alerts raised in [since, until) per class (alertClassSql). */
export async function alertsByClass(sql: Sql, since: string, until: string): Promise<AlertsByClass> {
  const rows = await sql.query<{ cls: string; n: number }>(
    `select cls, count(*)::int as n from (select ${alertClassSql()} as cls from alert
       where created_at >= $1 and created_at < $2) a group by cls`,
    [since, until],
  );
  const n = (c: string) => rows.find((r) => r.cls === c)?.n ?? 0;
  return {
    clinical: n('clinical'),
    technical: n('technical'),
    compressionSuspected: n('compression-suspected'),
    measurementRequest: n('measurement-request'),
    task: n('task'),
  };
}

const num = (v: unknown): number | null =>
  v === null || v === undefined ? null : Math.round(Number(v) * 10) / 10;

/**
 * Time to acknowledge (first acknowledgement) and to resolve, p50/p90, per severity and care team,
 * escalation counts and alarm burden, for alerts raised in [since, until).
 */
export async function alertMetrics(
  sql: Sql,
  since: string,
  until: string,
  o: { clinicalOnly?: boolean } = {},
): Promise<AlertMetrics> {
  // Per-severity rows of clinical alerts only, when asked (program metrics).
  const only = o.clinicalOnly ? `and ${alertClassSql('a')} = 'clinical'` : '';
  const onlyPlain = o.clinicalOnly ? `and ${alertClassSql()} = 'clinical'` : '';
  const rows = await sql.query<Record<string, unknown>>(
    `with a as (
       select a.*, coalesce(t.id, '(none)') as team
       from alert a
       left join fhir_resource t on t.resource_type = 'CareTeam' and not t.deleted
         and t.content->'subject'->>'reference' = 'Patient/' || a.patient_id
       where a.created_at >= $1 and a.created_at < $2 ${only}
     )
     select severity, coalesce(team, '*') as team, grouping(team) as all_teams,
       count(distinct id)::int as alerts,
       count(distinct id) filter (where first_acknowledged_at is not null)::int as acknowledged,
       count(distinct id) filter (where resolved_at is not null)::int as resolved,
       count(distinct id) filter (where resolution = 'automatic')::int as auto_resolved,
       percentile_cont(0.5) within group (order by extract(epoch from first_acknowledged_at - created_at)) as ack_p50,
       percentile_cont(0.9) within group (order by extract(epoch from first_acknowledged_at - created_at)) as ack_p90,
       percentile_cont(0.5) within group (order by extract(epoch from resolved_at - created_at)) as res_p50,
       percentile_cont(0.9) within group (order by extract(epoch from resolved_at - created_at)) as res_p90,
       sum(escalation_count)::int as escalations,
       count(distinct id) filter (where escalation_count > 0)::int as escalated
     from a group by grouping sets ((severity, team), (severity))
     order by severity, grouping(team) desc, team`,
    [since, until],
  );
  // Grouping over all teams may count an alert once per team for percentiles; recompute those rows without the join.
  const overall = await sql.query<Record<string, unknown>>(
    `select severity,
       percentile_cont(0.5) within group (order by extract(epoch from first_acknowledged_at - created_at)) as ack_p50,
       percentile_cont(0.9) within group (order by extract(epoch from first_acknowledged_at - created_at)) as ack_p90,
       percentile_cont(0.5) within group (order by extract(epoch from resolved_at - created_at)) as res_p50,
       percentile_cont(0.9) within group (order by extract(epoch from resolved_at - created_at)) as res_p90,
       sum(escalation_count)::int as escalations
     from alert where created_at >= $1 and created_at < $2 ${onlyPlain} group by severity`,
    [since, until],
  );
  const out: ResponseMetricsRow[] = rows.map((r) => {
    const all = Number(r['all_teams']) === 1;
    const o = all ? overall.find((x) => x['severity'] === r['severity']) : undefined;
    const src = o ?? r;
    return {
      severity: r['severity'] as string,
      team: all ? '*' : (r['team'] as string),
      alerts: Number(r['alerts']),
      acknowledged: Number(r['acknowledged']),
      resolved: Number(r['resolved']),
      autoResolved: Number(r['auto_resolved']),
      ackP50Seconds: num(src['ack_p50']),
      ackP90Seconds: num(src['ack_p90']),
      resolveP50Seconds: num(src['res_p50']),
      resolveP90Seconds: num(src['res_p90']),
      escalations: Number(src['escalations'] ?? 0),
      escalatedAlerts: Number(r['escalated']),
    };
  });
  const [b] = await sql.query<{ alerts: number; patient_days: number; notifications: number }>(
    `select (select count(*)::int from alert where created_at >= $1 and created_at < $2) as alerts,
       (select count(*)::int from alert_notification where created_at >= $1 and created_at < $2
          and reason not in ('acknowledged', 'resolved')) as notifications,
       (select count(*)::int from (select distinct patient_id, (effective at time zone 'UTC')::date from observation
          where patient_id is not null and effective >= $1 and effective < $2) d) as patient_days`,
    [since, until],
  );
  const alerts = b?.alerts ?? 0;
  const patientDays = b?.patient_days ?? 0;
  const notifications = b?.notifications ?? 0;
  const ratio = (n: number, d: number) => (d > 0 ? Math.round((n / d) * 1000) / 1000 : null);
  const byClass = await alertsByClass(sql, since, until);
  return {
    since,
    until,
    rows: out,
    burden: {
      alerts,
      patientDays,
      alertsPerPatientDay: ratio(alerts, patientDays),
      notifications,
      notificationsPerPatientDay: ratio(notifications, patientDays),
      notificationsPerAlert: ratio(notifications, alerts),
      byClass,
      clinicalAlertsPerPatientDay: ratio(byClass.clinical, patientDays),
    },
  };
}

const csvColumns: Array<keyof ResponseMetricsRow> = [
  'severity',
  'team',
  'alerts',
  'acknowledged',
  'resolved',
  'autoResolved',
  'ackP50Seconds',
  'ackP90Seconds',
  'resolveP50Seconds',
  'resolveP90Seconds',
  'escalations',
  'escalatedAlerts',
];

/**
 * RFC 4180 CSV (formula cells neutralised, `toCsv`): one row per severity × team, then a burden
 * line as its own small table.
 */
export function metricsCsv(m: AlertMetrics): string {
  const b = m.burden;
  return (
    toCsv(
      csvColumns,
      m.rows.map((r) => csvColumns.map((c) => r[c])),
    ) +
    '\r\n' +
    toCsv(
      [
        'since',
        'until',
        'alerts',
        'patientDays',
        'alertsPerPatientDay',
        'notifications',
        'notificationsPerPatientDay',
        'notificationsPerAlert',
      ],
      [
        [
          m.since,
          m.until,
          b.alerts,
          b.patientDays,
          b.alertsPerPatientDay,
          b.notifications,
          b.notificationsPerPatientDay,
          b.notificationsPerAlert,
        ],
      ],
    )
  );
}
