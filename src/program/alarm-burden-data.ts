import { alertClassSql } from '../alerts/alert-metrics.ts';
import type { Sql } from '../store/database.ts';
import {
  type BurdenAlert,
  type BurdenGroup,
  burdenOf,
  defaultFlood,
  type FloodSettings,
  floodIncidents,
  type Incident,
} from './alarm-burden.ts';

export type BurdenGrouping = 'unit' | 'care-team';

export interface AlarmBurden {
  since: string;
  until: string;
  groupBy: BurdenGrouping;
  flood: { windowMinutes: number; minPatients: number };
  overall: BurdenGroup;
  groups: BurdenGroup[];
  incidents: Incident[];
}

/** The unit enclosing each zone (a unit is its own), walked up the `partOf` chain. */
const unitOf = `with recursive up as (
    select id as start_id, id, kind, part_of from location
    union all
    select up.start_id, l.id, l.kind, l.part_of from up join location l on l.id = up.part_of
  ), unit_of as (select start_id as location_id, id as unit_id from up where kind = 'unit')`;

/**
 * A care team's key: its name. Vigil keeps one CareTeam resource per patient (its subject), so the
 * team a unit knows ("ICU team") is every CareTeam of that name; one without a name stands alone.
 */
const teamKey = (t: string) => `coalesce(nullif(${t}.content->>'name', ''), ${t}.id)`;

const teamsOf = (patient: string) =>
  `coalesce((select jsonb_agg(distinct ${teamKey('t')}) from fhir_resource t where t.resource_type = 'CareTeam'
     and not t.deleted and t.content->'subject'->>'reference' = 'Patient/' || ${patient}), '[]'::jsonb)`;

/**
 * Alarms (clinical and technical alerts — not measurement requests, tasks or suspected CGM
 * compression lows) raised in [since, until), with where they came from: the alert's device, its
 * kind, the gateway it is linked behind, the unit of its zone, the patient's care teams.
 */
export async function burdenAlerts(
  sql: Sql,
  since: string,
  until: string,
  o: { teams?: boolean } = {},
): Promise<BurdenAlert[]> {
  // Times travel as epoch milliseconds and the care teams only when asked: shipping the rows out of
  // the database is most of this query's cost (bench/alarm-burden.bench.ts).
  const epoch = (c: string) => `(extract(epoch from ${c}) * 1000)::float8`;
  const rows = await sql.query<Record<string, unknown>>(
    // The alarms are chosen first (materialized): with the class filter inline, the planner
    // misjudges its selectivity and nests the joins.
    `${unitOf}, a as materialized (
       select * from alert a
       where a.created_at >= $1 and a.created_at < $2 and ${alertClassSql('a')} in ('clinical', 'technical'))
     select a.id::text as id, a.patient_id, a.rule, a.severity, a.device_id, d.kind as device_kind, g.gateway_id,
       u.unit_id, ${epoch('a.created_at')} as created, ${epoch('a.first_acknowledged_at')} as acked,
       ${epoch('a.resolved_at')} as resolved, a.resolution${o.teams ? `, ${teamsOf('a.patient_id')} as teams` : ''}
     from a
     left join device d on d.id = a.device_id
     left join gateway_device g on g.device_id = a.device_id
     left join equipment e on e.device_id = a.device_id
     left join unit_of u on u.location_id = e.location_id`,
    [since, until],
  );
  const num = (v: unknown) => (v == null ? null : Number(v));
  return rows.map((r) => ({
    id: r['id'] as string,
    patientId: r['patient_id'] as string,
    rule: r['rule'] as string,
    severity: r['severity'] as string,
    deviceId: (r['device_id'] as string | null) ?? null,
    deviceKind: (r['device_kind'] as string | null) ?? null,
    gatewayId: (r['gateway_id'] as string | null) ?? null,
    unitId: (r['unit_id'] as string | null) ?? null,
    careTeamIds: o.teams
      ? ((typeof r['teams'] === 'string' ? JSON.parse(r['teams']) : r['teams']) as string[])
      : [],
    createdAt: Number(r['created']),
    firstAcknowledgedAt: num(r['acked']),
    resolvedAt: num(r['resolved']),
    resolution: (r['resolution'] as string | null) ?? null,
  }));
}

/**
 * Bed-days per group: a patient with readings on a UTC day counts one bed-day there (in a unit: a
 * reading from a device whose zone is in the unit; in a care team: the patient is its subject).
 * `'*'` is the total.
 */
export async function bedDays(
  sql: Sql,
  since: string,
  until: string,
  groupBy: BurdenGrouping,
): Promise<Map<string, number>> {
  const day = `o.patient_id || '|' || ((o.effective at time zone 'UTC')::date)::text`;
  const rows =
    groupBy === 'unit'
      ? await sql.query<{ g: string; n: number }>(
          `${unitOf}
           select coalesce(u.unit_id, '(none)') as g, count(distinct ${day})::int as n
           from observation o left join equipment e on e.device_id = o.device_id
           left join unit_of u on u.location_id = e.location_id
           where o.patient_id is not null and o.effective >= $1 and o.effective < $2
           group by coalesce(u.unit_id, '(none)')`,
          [since, until],
        )
      : await sql.query<{ g: string; n: number }>(
          `select coalesce(${teamKey('t')}, '(none)') as g, count(distinct ${day})::int as n
           from observation o left join fhir_resource t on t.resource_type = 'CareTeam' and not t.deleted
             and t.content->'subject'->>'reference' = 'Patient/' || o.patient_id
           where o.patient_id is not null and o.effective >= $1 and o.effective < $2
           group by coalesce(${teamKey('t')}, '(none)')`,
          [since, until],
        );
  const [all] = await sql.query<{ n: number }>(
    `select count(distinct ${day})::int as n from observation o
     where o.patient_id is not null and o.effective >= $1 and o.effective < $2`,
    [since, until],
  );
  const out = new Map(rows.map((r) => [r.g, Number(r.n)]));
  out.set('*', Number(all?.n ?? 0));
  return out;
}

/** Unit names (a care team's key is its name already). */
async function groupNames(sql: Sql, groupBy: BurdenGrouping): Promise<Map<string, string>> {
  if (groupBy === 'care-team') return new Map();
  const rows = await sql.query<{ id: string; name: string }>(
    `select id, name from location where kind = 'unit'`,
  );
  return new Map(rows.map((r) => [r.id, r.name]));
}

/** The alarm burden of [since, until) per unit or care team, with the flood incidents. */
export async function alarmBurden(
  sql: Sql,
  since: string,
  until: string,
  groupBy: BurdenGrouping,
  flood: FloodSettings = defaultFlood,
): Promise<AlarmBurden> {
  const [alerts, days, names] = await Promise.all([
    burdenAlerts(sql, since, until, { teams: groupBy === 'care-team' }),
    bedDays(sql, since, until, groupBy),
    groupNames(sql, groupBy),
  ]);
  const incidents = floodIncidents(alerts, flood);
  const byGroup = new Map<string, BurdenAlert[]>();
  for (const a of alerts) {
    const keys =
      groupBy === 'unit' ? [a.unitId ?? '(none)'] : a.careTeamIds.length ? a.careTeamIds : ['(none)'];
    for (const k of keys) {
      const list = byGroup.get(k);
      if (list) list.push(a);
      else byGroup.set(k, [a]);
    }
  }
  for (const k of days.keys()) if (k !== '*' && !byGroup.has(k)) byGroup.set(k, []);
  const groups = [...byGroup]
    .map(([id, list]) =>
      burdenOf(
        id,
        groupBy === 'unit' ? (names.get(id) ?? null) : id === '(none)' ? null : id,
        list,
        days.get(id) ?? 0,
        incidents,
      ),
    )
    .sort((a, b) => b.alerts - a.alerts || a.id.localeCompare(b.id));
  return {
    since,
    until,
    groupBy,
    flood: { windowMinutes: flood.windowMs / 60_000, minPatients: flood.minPatients },
    overall: burdenOf('*', null, alerts, days.get('*') ?? 0, incidents),
    groups,
    incidents,
  };
}
