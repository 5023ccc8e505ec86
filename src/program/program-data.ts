import { type AlertsByClass, alertClassSql, alertsByClass } from '../alerts/alert-metrics.ts';
import type { Database, Sql } from '../store/database.ts';
import {
  addDays,
  type Day,
  DEFAULT_TIME_ZONE,
  dayIn,
  firstDayOf,
  isTimeZone,
  lastDayOf,
  type Month,
} from './calendar-days.ts';
import { type Fleet, fleetOf } from './fleet.ts';
import {
  type BillingRules,
  billingFor,
  defaultBillingRules,
  type Episode,
  type PatientBilling,
  periodsEndingIn,
  type TimeEntry,
} from './rpm-billing.ts';

/** FHIR core extension carrying an IANA time zone code (hl7.org/fhir/extensions, "timezone"). */
export const TIMEZONE_EXTENSION = 'http://hl7.org/fhir/StructureDefinition/timezone';

export const careActivities = [
  'data-review',
  'patient-communication',
  'caregiver-communication',
  'care-plan',
  'care-coordination',
  'education',
  'other',
] as const;
export type CareActivity = (typeof careActivities)[number];

export interface CareTimeEntry {
  id: string;
  patientId: string;
  userId: string;
  username: string;
  role: string;
  practitionerId: string | null;
  start: string;
  minutes: number;
  activity: string;
  interactive: boolean;
  note: string | null;
  createdAt: string;
}

/**
 * A reading counts as transmitted data when a device sent it: rows computed by Vigil (transport
 * 'derived', e.g. NEWS2) and rows without a device (entered through the FHIR API) do not.
 */
const TRANSMITTED = `o.device_id is not null and coalesce(o.data->>'transport', '') <> 'derived'`;

const ms = (v: unknown): number | null => {
  if (v === null || v === undefined) return null;
  const t = v instanceof Date ? v.getTime() : Date.parse(String(v));
  return Number.isFinite(t) ? t : null;
};
const iso = (v: unknown): string => new Date(ms(v) ?? 0).toISOString();

function rowToEntry(r: Record<string, unknown>): CareTimeEntry {
  return {
    id: r['id'] as string,
    patientId: r['patient_id'] as string,
    userId: r['user_id'] as string,
    username: r['username'] as string,
    role: r['role'] as string,
    practitionerId: (r['practitioner_id'] as string | null) ?? null,
    start: iso(r['started_at']),
    minutes: Number(r['minutes']),
    activity: r['activity'] as string,
    interactive: r['interactive'] === true,
    note: (r['note'] as string | null) ?? null,
    createdAt: iso(r['created_at']),
  };
}

/** Merges a patient's device assignments into episodes of continuous coverage (local days). */
export function episodesOf(
  assignments: ReadonlyArray<{ start: number; end: number | null }>,
  timeZone: string,
): Episode[] {
  const sorted = [...assignments].sort((a, b) => a.start - b.start);
  const out: Episode[] = [];
  for (const a of sorted) {
    const start = dayIn(a.start, timeZone);
    // period_end is exclusive: the last covered day is the one of the instant before it.
    const end = a.end === null ? null : dayIn(a.end - 1, timeZone);
    const cur = out.at(-1);
    if (cur && (cur.end === null || start <= addDays(cur.end, 1))) {
      if (cur.end !== null && (end === null || end > cur.end)) cur.end = end;
      continue;
    }
    out.push({ start, end, first: out.length === 0 });
  }
  return out;
}

export interface ProgramMetrics {
  since: string;
  until: string;
  enrolledPatients: number;
  activeDevices: number;
  patientsWithData: number;
  adherentPatients: number;
  /** Share of enrolled patients with ≥16 days of transmitted data in the 30-day window. */
  adherence: number | null;
  /**
   * Clinical alerts raised in the window: technical alarms (signal quality, device health, data
   * gaps), suspected CGM compression lows, measurement requests and observation tasks are counted
   * apart, in `alertsByClass` (alerts/alert-metrics.ts `alertClassSql`).
   */
  alerts: number;
  patientDays: number;
  /** Clinical alerts per patient-day. */
  alertsPerPatientDay: number | null;
  /** Every alert raised, per class (`clinical` = `alerts`). */
  alertsByClass: AlertsByClass;
  /** Median time to the first acknowledgement of clinical alerts. */
  medianTimeToAcknowledgeSeconds: number | null;
  timeZoneDefault: string;
}

/** Queries for the RPM program: care time, billing inputs, program metrics, device fleet. */
export class ProgramData {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  async patientExists(id: string): Promise<boolean> {
    const r = await this.#db.query(
      `select 1 from fhir_resource where resource_type = 'Patient' and id = $1 and not deleted`,
      [id],
    );
    return r.length > 0;
  }

  async logCareTime(e: CareTimeEntry): Promise<void> {
    await this.#db.query(
      `insert into care_time (id, patient_id, user_id, username, role, practitioner_id, started_at, minutes,
         activity, interactive, note, created_at)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
      [
        e.id,
        e.patientId,
        e.userId,
        e.username,
        e.role,
        e.practitionerId,
        e.start,
        e.minutes,
        e.activity,
        e.interactive,
        e.note,
        e.createdAt,
      ],
    );
  }

  async careTime(patientId: string, since: string, until: string): Promise<CareTimeEntry[]> {
    const rows = await this.#db.query<Record<string, unknown>>(
      `select * from care_time where patient_id = $1 and started_at >= $2 and started_at < $3
       order by started_at, id`,
      [patientId, since, until],
    );
    return rows.map(rowToEntry);
  }

  /** Each patient's time zone: the FHIR timezone extension on the Patient, else the UTC default. */
  async timeZones(): Promise<Map<string, { timeZone: string; known: boolean }>> {
    const rows = await this.#db.query<{ id: string; ext: unknown }>(
      `select id, content->'extension' as ext from fhir_resource where resource_type = 'Patient' and not deleted`,
    );
    const out = new Map<string, { timeZone: string; known: boolean }>();
    for (const r of rows) {
      const ext = (Array.isArray(r.ext) ? r.ext : []) as Array<{ url?: string; valueCode?: string }>;
      const code = ext.find((e) => e.url === TIMEZONE_EXTENSION)?.valueCode;
      out.set(
        r.id,
        code && isTimeZone(code)
          ? { timeZone: code, known: true }
          : { timeZone: DEFAULT_TIME_ZONE, known: false },
      );
    }
    return out;
  }

  /** Local days with transmitted data per patient, between two instants. */
  async #dataDays(
    zones: Map<string, { timeZone: string }>,
    since: string,
    until: string,
    sql: Sql = this.#db,
  ): Promise<Map<string, Set<Day>>> {
    const tz = JSON.stringify([...zones].map(([id, z]) => ({ id, tz: z.timeZone })));
    const rows = await sql.query<{ patient_id: string; day: string }>(
      `select o.patient_id, to_char(o.effective at time zone p.tz, 'YYYY-MM-DD') as day
       from observation o join jsonb_to_recordset($1::jsonb) as p(id text, tz text) on p.id = o.patient_id
       where o.effective >= $2 and o.effective < $3 and ${TRANSMITTED}
       group by 1, 2`,
      [tz, since, until],
    );
    const out = new Map<string, Set<Day>>();
    for (const r of rows) {
      const s = out.get(r.patient_id) ?? new Set<Day>();
      s.add(r.day);
      out.set(r.patient_id, s);
    }
    return out;
  }

  /** Billing eligibility of every patient with a device period ending in `month` or care time in it. */
  async billing(
    month: Month,
    now: number,
    rules: BillingRules = defaultBillingRules,
  ): Promise<Array<PatientBilling & { timeZoneKnown: boolean }>> {
    const zones = await this.timeZones();
    // Instants wide enough for every zone (±14 h) around the month and the periods ending in it.
    const since = `${addDays(firstDayOf(month), -rules.periodDays - 2)}T00:00:00Z`;
    const until = `${addDays(lastDayOf(month), 2)}T00:00:00Z`;
    const assignments = await this.#db.query<{
      patient_id: string;
      period_start: unknown;
      period_end: unknown;
    }>(
      `select patient_id, period_start, period_end from device_assignment order by patient_id, period_start`,
    );
    const byPatient = new Map<string, Array<{ start: number; end: number | null }>>();
    for (const a of assignments) {
      const list = byPatient.get(a.patient_id) ?? [];
      list.push({ start: ms(a.period_start) ?? 0, end: ms(a.period_end) });
      byPatient.set(a.patient_id, list);
    }
    const entries = await this.#db.query<{
      patient_id: string;
      started_at: unknown;
      minutes: number;
      interactive: boolean;
    }>(
      `select patient_id, started_at, minutes, interactive from care_time where started_at >= $1 and started_at < $2`,
      [since, until],
    );
    const timeOf = new Map<string, TimeEntry[]>();
    const days = await this.#dataDays(zones, since, until);
    const out: Array<PatientBilling & { timeZoneKnown: boolean }> = [];
    for (const e of entries) {
      const z = zones.get(e.patient_id);
      if (!z) continue;
      const list = timeOf.get(e.patient_id) ?? [];
      list.push({
        day: dayIn(ms(e.started_at) ?? 0, z.timeZone),
        minutes: Number(e.minutes),
        interactive: e.interactive,
      });
      timeOf.set(e.patient_id, list);
    }
    for (const [patientId, z] of [...zones].sort(([a], [b]) => a.localeCompare(b))) {
      const episodes = episodesOf(byPatient.get(patientId) ?? [], z.timeZone);
      const time = timeOf.get(patientId) ?? [];
      const hasPeriod = episodes.some((ep) => periodsEndingIn(ep, month, rules).length > 0);
      const hasTime = time.some((t) => t.day.startsWith(month));
      if (!hasPeriod && !hasTime) continue;
      const b = billingFor(
        {
          patientId,
          timeZone: z.timeZone,
          episodes,
          dataDays: days.get(patientId) ?? new Set(),
          timeEntries: time,
        },
        month,
        dayIn(now, z.timeZone),
        rules,
      );
      out.push({ ...b, timeZoneKnown: z.known });
    }
    return out;
  }

  /** Program metrics over the 30 days before `until`. */
  async metrics(until: number): Promise<ProgramMetrics> {
    const windowDays = 30;
    const since = until - windowDays * 86_400_000;
    const s = new Date(since).toISOString();
    const u = new Date(until).toISOString();
    const zones = await this.timeZones();
    const [enrolled] = await this.#db.query<{ n: number }>(
      `select count(distinct patient_id)::int as n from device_assignment
       where period_start < $2 and (period_end is null or period_end > $1)`,
      [s, u],
    );
    const [active] = await this.#db.query<{ n: number }>(
      `select count(distinct o.device_id)::int as n from observation o
       where o.effective >= $1 and o.effective < $2 and ${TRANSMITTED}`,
      [s, u],
    );
    const days = await this.#dataDays(zones, s, u);
    let patientDays = 0;
    let adherent = 0;
    for (const set of days.values()) {
      patientDays += set.size;
      if (set.size >= defaultBillingRules.supplyFullMinDays) adherent++;
    }
    const [a] = await this.#db.query<{ n: number; p50: unknown }>(
      `select count(*)::int as n,
         percentile_cont(0.5) within group (order by extract(epoch from first_acknowledged_at - created_at)) as p50
       from alert where created_at >= $1 and created_at < $2 and ${alertClassSql()} = 'clinical'`,
      [s, u],
    );
    const byClass = await alertsByClass(this.#db, s, u);
    const enrolledPatients = enrolled?.n ?? 0;
    const alerts = a?.n ?? 0;
    const p50 = a?.p50 === null || a?.p50 === undefined ? null : Math.round(Number(a.p50) * 10) / 10;
    return {
      since: s,
      until: u,
      enrolledPatients,
      activeDevices: active?.n ?? 0,
      patientsWithData: days.size,
      adherentPatients: adherent,
      adherence: enrolledPatients > 0 ? Math.round((adherent / enrolledPatients) * 1000) / 1000 : null,
      alerts,
      patientDays,
      alertsPerPatientDay: patientDays > 0 ? Math.round((alerts / patientDays) * 1000) / 1000 : null,
      alertsByClass: byClass,
      medianTimeToAcknowledgeSeconds: p50,
      timeZoneDefault: DEFAULT_TIME_ZONE,
    };
  }

  async fleet(now: number): Promise<Fleet> {
    const rows = await this.#db.query<Record<string, unknown>>(
      `select d.id, d.kind, d.manufacturer, d.model, d.firmware, d.battery_percent, d.last_seen, d.revoked_at,
         exists (select 1 from device_assignment a where a.device_id = d.id and a.period_start <= $1
                 and (a.period_end is null or a.period_end > $1)) as assigned
       from device d order by d.id`,
      [new Date(now).toISOString()],
    );
    return fleetOf(
      rows.map((r) => ({
        id: r['id'] as string,
        kind: r['kind'] as string,
        manufacturer: (r['manufacturer'] as string | null) ?? null,
        model: (r['model'] as string | null) ?? null,
        firmware: (r['firmware'] as string | null) ?? null,
        battery:
          r['battery_percent'] === null || r['battery_percent'] === undefined
            ? null
            : Number(r['battery_percent']),
        lastSeen: ms(r['last_seen']),
        revoked: r['revoked_at'] !== null && r['revoked_at'] !== undefined,
        assigned: r['assigned'] === true,
      })),
      now,
    );
  }

  /** Erasure step: a patient's care time goes with the rest of their data. */
  static async erase(tx: Sql, patientId: string): Promise<Record<string, number>> {
    const r = await tx.query<{ n: number }>(
      `with d as (delete from care_time where patient_id = $1 returning 1) select count(*)::int as n from d`,
      [patientId],
    );
    return { careTime: r[0]?.n ?? 0 };
  }
}
