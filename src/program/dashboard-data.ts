import { createHash } from 'node:crypto';
import type { AlertState } from '../alerts/alert.ts';
import { VigilFhir } from '../core/fhir-namespace.ts';
import type { News2Band } from '../detect/news2-score.ts';
import { type PatientEnrolment, resolvePatientRules } from '../detect/program-config.ts';
import { builtInProgram } from '../detect/programs/index.ts';
import type { RuleBase } from '../detect/rule-kind.ts';
import type { Database } from '../store/database.ts';
import {
  agpProfile,
  cgmMetrics,
  type ExcludedInterval,
  type GlucosePoint,
  inIntervals,
} from './cgm-metrics.ts';
import { CGM_CODES, MGDL_PER_MMOLL, MOLAR_GLUCOSE_CODES, type VitalKey, vitals } from './vitals.ts';
import {
  bandOfTotal,
  news2FromVitals,
  rankWorklist,
  type SeverityName,
  severityRank,
} from './worklist-rank.ts';

/** The program coding system the simulator and demo use on CareTeam.category (src/sim/online). */
export const PROGRAM_SYSTEM = VigilFhir.monitoringProgram;

const HOUR = 3_600_000;
/** Vitals older than this do not feed a computed NEWS2 (the inpatient program's NEWS2 freshness is 60–240 min). */
const NEWS2_FRESH_MS = 4 * HOUR;
/** Without a missing-data rule, a patient with no reading for a day has a data gap. */
const DEFAULT_GAP_MINUTES = 1440;
const TREND_CACHE_MS = 30_000;
/** A device not heard from for this long is shown offline. */
export const DEVICE_ONLINE_MS = 60 * 60_000;

const ms = (v: unknown): number | null => {
  if (v === null || v === undefined) return null;
  const t = v instanceof Date ? v.getTime() : Date.parse(String(v));
  return Number.isFinite(t) ? t : null;
};

export interface PatientContent {
  name?: Array<{ use?: string; family?: string; given?: string[]; text?: string }>;
  birthDate?: string;
  gender?: string;
  identifier?: Array<{ system?: string; value?: string; type?: { coding?: Array<{ code?: string }> } }>;
}

/**
 * The identifier a clinician tells patients apart by: the medical record number (identifier of type
 * MR), else the first identifier with a value, else Vigil's own id. Names are not unique.
 */
export function primaryIdentifier(c: PatientContent, id: string): { label: string; value: string } {
  const ids = (c.identifier ?? []).filter((i) => i.value);
  const mrn = ids.find((i) => i.type?.coding?.some((x) => x.code === 'MR'));
  if (mrn?.value) return { label: 'MRN', value: mrn.value };
  if (ids[0]?.value) return { label: 'ID', value: ids[0].value };
  return { label: 'Vigil ID', value: id };
}

export function displayName(c: PatientContent): string {
  const n = c.name?.find((x) => x.use === 'official') ?? c.name?.[0];
  if (!n) return 'Unnamed patient';
  if (n.text) return n.text;
  const family = n.family ?? '';
  const given = (n.given ?? []).join(' ');
  return family && given ? `${family.toUpperCase()}, ${given}` : family || given || 'Unnamed patient';
}

function ageOf(birthDate: string | undefined, now: number): number | null {
  if (!birthDate) return null;
  const b = Date.parse(birthDate);
  if (!Number.isFinite(b)) return null;
  return Math.floor((now - b) / (365.2425 * 86_400_000));
}

export interface DeviceState {
  id: string;
  kind: string;
  manufacturer: string | null;
  model: string | null;
  firmware: string | null;
  battery: number | null;
  lastSeen: string | null;
  online: boolean;
  revoked: boolean;
  patientId: string | null;
}

export interface LatestVital {
  value: number | null;
  /** For blood pressure: systolic / diastolic. */
  components?: Record<string, number>;
  unit: string;
  at: string;
}

export interface WorklistRow {
  patientId: string;
  name: string;
  /** Shown beside the name everywhere: names are not unique. */
  identifier: { label: string; value: string };
  age: number | null;
  gender: string | null;
  programs: string[];
  careTeams: Array<{ id: string; name: string }>;
  rank: number;
  acuity: number;
  unackedSeverity: SeverityName | null;
  ackedSeverity: SeverityName | null;
  openAlerts: number;
  topAlert: {
    id: string;
    severity: SeverityName;
    state: AlertState;
    summary: string;
    raisedAt: string;
  } | null;
  news2: { total: number; band: News2Band; source: 'stored' | 'computed'; at: string | null } | null;
  dataGap: boolean;
  gapMinutes: number;
  lastReading: number | null;
  lastReadingAt: string | null;
  latest: Partial<Record<VitalKey, LatestVital>>;
  /** Hourly means over the last 24 h: epoch seconds and values. */
  trends: Partial<Record<'hr' | 'spo2' | 'sbp' | 'glucose' | 'rr', Array<[number, number]>>>;
  devices: DeviceState[];
}

export interface Threshold {
  value: number;
  direction: 'above' | 'below';
  severity: string;
  label: string;
  /** For blood pressure: which component. */
  component?: string;
}

interface CareTeamRow {
  id: string;
  name: string;
  patientId: string;
  programs: string[];
}

/** Aggregations for the clinician dashboard, one query per concern (never one per patient). */
export class DashboardData {
  readonly #db: Database;
  #hasMonitoring: boolean | undefined;

  constructor(db: Database) {
    this.#db = db;
  }

  async #monitoringTable(): Promise<boolean> {
    if (this.#hasMonitoring) return true;
    const r = await this.#db.query<{ t: string | null }>(
      `select to_regclass('monitoring_config')::text as t`,
    );
    this.#hasMonitoring = !!r[0]?.t;
    return this.#hasMonitoring;
  }

  async careTeams(): Promise<CareTeamRow[]> {
    const rows = await this.#db.query<{ id: string; content: Record<string, unknown> }>(
      `select id, content from fhir_resource where resource_type = 'CareTeam' and not deleted`,
    );
    const out: CareTeamRow[] = [];
    for (const { id, content } of rows) {
      const c = content as {
        status?: string;
        name?: string;
        subject?: { reference?: string };
        category?: Array<{ coding?: Array<{ system?: string; code?: string }> }>;
      };
      if (c.status && c.status !== 'active') continue;
      const ref = c.subject?.reference;
      if (!ref?.startsWith('Patient/')) continue;
      const programs = (c.category ?? [])
        .flatMap((cat) => cat.coding ?? [])
        .filter((x) => x.system === PROGRAM_SYSTEM && x.code)
        .map((x) => x.code as string);
      out.push({ id, name: c.name ?? `Care team ${id.slice(0, 8)}`, patientId: ref.slice(8), programs });
    }
    return out;
  }

  /** Latest monitoring enrolment per patient (the pipeline's monitoring_config), when that table exists. */
  async enrolments(patientIds?: string[]): Promise<Map<string, PatientEnrolment>> {
    const out = new Map<string, PatientEnrolment>();
    if (!(await this.#monitoringTable())) return out;
    const rows = await this.#db.query<{ patient_id: string; enrolment: PatientEnrolment | null }>(
      `select distinct on (patient_id) patient_id, enrolment from monitoring_config
       ${patientIds ? 'where patient_id in (select jsonb_array_elements_text($1::jsonb))' : ''}
       order by patient_id, version desc`,
      patientIds ? [JSON.stringify(patientIds)] : [],
    );
    for (const r of rows) if (r.enrolment) out.set(r.patient_id, r.enrolment);
    return out;
  }

  rulesOf(enrolment: PatientEnrolment | undefined, programs: string[]): RuleBase[] {
    const names = enrolment?.programs?.length ? enrolment.programs : programs;
    const defs = names.map((n) => builtInProgram(n)).filter((d) => d !== undefined);
    try {
      return resolvePatientRules(defs, enrolment ?? { programs: names }).rules;
    } catch {
      return defs.flatMap((d) => d.rules);
    }
  }

  async devices(patientIds?: string[], now = Date.now()): Promise<DeviceState[]> {
    const rows = await this.#db.query<Record<string, unknown>>(
      `select d.id, d.kind, d.manufacturer, d.model, d.firmware, d.battery_percent, d.last_seen, d.revoked_at,
              a.patient_id
       from device d
       left join lateral (
         select patient_id from device_assignment a
         where a.device_id = d.id and a.period_start <= $1 and (a.period_end is null or a.period_end > $1)
         order by a.period_start desc limit 1
       ) a on true
       ${patientIds ? 'where a.patient_id in (select jsonb_array_elements_text($2::jsonb))' : ''}
       order by d.id`,
      patientIds ? [new Date(now).toISOString(), JSON.stringify(patientIds)] : [new Date(now).toISOString()],
    );
    return rows.map((r) => {
      const seen = ms(r['last_seen']);
      return {
        id: r['id'] as string,
        kind: r['kind'] as string,
        manufacturer: (r['manufacturer'] as string | null) ?? null,
        model: (r['model'] as string | null) ?? null,
        firmware: (r['firmware'] as string | null) ?? null,
        battery: (r['battery_percent'] as number | null) ?? null,
        lastSeen: seen === null ? null : new Date(seen).toISOString(),
        online: seen !== null && now - seen <= DEVICE_ONLINE_MS && !r['revoked_at'],
        revoked: !!r['revoked_at'],
        patientId: (r['patient_id'] as string | null) ?? null,
      };
    });
  }

  /**
   * The worklist: every visible patient with its rank. `visible` = 'all' or the patient ids the
   * caller may read (the access policy's answer).
   */
  async worklist(
    visible: 'all' | Set<string>,
    filter: { program?: string; careTeam?: string },
    now: number,
  ): Promise<{ rows: WorklistRow[]; programs: string[]; careTeams: string[] }> {
    const patients = await this.#db.query<{ id: string; content: PatientContent }>(
      `select id, content from fhir_resource where resource_type = 'Patient' and not deleted`,
    );
    const teams = await this.careTeams();
    let candidates = patients.filter((p) => visible === 'all' || visible.has(p.id));
    const candidateIds = candidates.map((p) => p.id);
    const enrolments = await this.enrolments(candidateIds);
    const teamsOf = new Map<string, CareTeamRow[]>();
    for (const t of teams) teamsOf.set(t.patientId, [...(teamsOf.get(t.patientId) ?? []), t]);
    const programsOf = (id: string) => {
      const set = new Set<string>(enrolments.get(id)?.programs ?? []);
      for (const t of teamsOf.get(id) ?? []) for (const p of t.programs) set.add(p);
      return [...set].sort();
    };
    // Filter choices reflect what the caller can see, before filtering.
    const allPrograms = new Set<string>();
    const allTeams = new Set<string>();
    for (const p of candidates) {
      for (const x of programsOf(p.id)) allPrograms.add(x);
      for (const t of teamsOf.get(p.id) ?? []) allTeams.add(t.name);
    }
    if (filter.program)
      candidates = candidates.filter((p) => programsOf(p.id).includes(filter.program as string));
    if (filter.careTeam) {
      const ct = filter.careTeam;
      candidates = candidates.filter((p) =>
        (teamsOf.get(p.id) ?? []).some((t) => t.name === ct || t.id === ct),
      );
    }
    const ids = candidates.map((p) => p.id);
    if (ids.length === 0)
      return { rows: [], programs: [...allPrograms].sort(), careTeams: [...allTeams].sort() };
    const idsJson = JSON.stringify(ids);

    const latestCodes = [
      ...Object.values(vitals).flatMap((v) => v.codes),
      'vigil-acvpu',
      'vigil-o2-supplement',
    ];
    const [latestRows, alertRows, deviceRows, trendRows] = await Promise.all([
      this.#db.query<Record<string, unknown>>(
        `select p.id as patient_id, c.code, o.value, o.unit, o.effective, o.components, o.value_code
         from jsonb_array_elements_text($1::jsonb) as p(id)
         cross join jsonb_array_elements_text($2::jsonb) as c(code)
         cross join lateral (
           select x.value, x.unit, x.effective, x.data -> 'components' as components, x.data ->> 'valueCode' as value_code
           from observation x where x.patient_id = p.id and x.code = c.code
           order by x.effective desc limit 1
         ) o`,
        [idsJson, JSON.stringify(latestCodes)],
      ),
      this.#db.query<Record<string, unknown>>(
        `select id, patient_id, severity, state, summary, raised_at from alert
         where state <> 'resolved' and patient_id in (select jsonb_array_elements_text($1::jsonb))`,
        [idsJson],
      ),
      this.devices(ids, now),
      this.trendsCached(ids, now),
    ]);

    const latestBy = new Map<string, Map<string, Record<string, unknown>>>();
    for (const r of latestRows) {
      const pid = r['patient_id'] as string;
      let m = latestBy.get(pid);
      if (!m) {
        m = new Map();
        latestBy.set(pid, m);
      }
      m.set(r['code'] as string, r);
    }
    const alertsBy = new Map<string, Record<string, unknown>[]>();
    for (const a of alertRows) {
      const pid = a['patient_id'] as string;
      alertsBy.set(pid, [...(alertsBy.get(pid) ?? []), a]);
    }
    const devicesBy = new Map<string, DeviceState[]>();
    for (const d of deviceRows)
      if (d.patientId) devicesBy.set(d.patientId, [...(devicesBy.get(d.patientId) ?? []), d]);

    const unranked = candidates.map((p) => {
      const codes = latestBy.get(p.id) ?? new Map<string, Record<string, unknown>>();
      const latest: Partial<Record<VitalKey, LatestVital>> = {};
      let lastReading: number | null = null;
      for (const v of Object.values(vitals)) {
        let best: Record<string, unknown> | undefined;
        for (const c of v.codes) {
          const r = codes.get(c);
          if (r && (!best || (ms(r['effective']) ?? 0) > (ms(best['effective']) ?? 0))) best = r;
        }
        if (!best) continue;
        const at = ms(best['effective']) ?? 0;
        if (v.key !== 'news2') lastReading = Math.max(lastReading ?? 0, at);
        const unit = (best['unit'] as string | null) ?? v.unit;
        const raw = best['value'] as number | null;
        const lv: LatestVital = {
          value: raw === null ? null : v.key === 'glucose' && /mmol/i.test(unit) ? raw * MGDL_PER_MMOLL : raw,
          unit: v.key === 'glucose' ? 'mg/dL' : v.unit,
          at: new Date(at).toISOString(),
        };
        if (v.components) {
          const comps = (best['components'] as Array<{ code: string; value: number }> | null) ?? [];
          lv.components = {};
          for (const c of v.components) {
            const f = comps.find((x) => x.code === c.code);
            if (f) lv.components[c.name] = f.value;
          }
        }
        latest[v.key] = lv;
      }
      const fresh = (k: VitalKey) => {
        const l = latest[k];
        if (!l || now - Date.parse(l.at) > NEWS2_FRESH_MS) return undefined;
        return k === 'bp' ? l.components?.['systolic'] : (l.value ?? undefined);
      };
      const enrol = enrolments.get(p.id);
      const programs = programsOf(p.id);
      let news2: WorklistRow['news2'] = null;
      const stored = latest.news2;
      if (stored?.value !== null && stored && now - Date.parse(stored.at) <= NEWS2_FRESH_MS) {
        news2 = {
          total: stored.value as number,
          band: bandOfTotal(stored.value as number),
          source: 'stored',
          at: stored.at,
        };
      } else {
        const o2 = codes.get('vigil-o2-supplement');
        const computed = news2FromVitals(
          {
            respRate: fresh('rr'),
            spo2: fresh('spo2'),
            systolic: fresh('bp'),
            pulse: fresh('hr'),
            temperature: fresh('temp'),
            consciousness: (codes.get('vigil-acvpu')?.['value_code'] as string | undefined) ?? undefined,
            onOxygen: o2
              ? o2['value_code'] === 'oxygen' || ((o2['value'] as number | null) ?? 0) > 0
              : (enrol?.onOxygen ?? programs.includes('copd')),
          },
          enrol?.spo2Scale ?? 1,
        );
        if (computed) news2 = { ...computed, source: 'computed', at: null };
      }
      const rules = this.rulesOf(enrol, programs);
      const gaps = rules
        .filter((r) => r.kind === 'missing-data')
        .map((r) => (r as RuleBase & { gapMinutes: number }).gapMinutes)
        .filter((g) => Number.isFinite(g));
      const gapMinutes = gaps.length ? Math.min(...gaps) : DEFAULT_GAP_MINUTES;
      const dataGap = lastReading === null || now - lastReading > gapMinutes * 60_000;
      const alerts = alertsBy.get(p.id) ?? [];
      const maxOf = (states: string[]) => {
        let best: SeverityName | null = null;
        for (const a of alerts) {
          const s = a['severity'] as SeverityName;
          if (states.includes(a['state'] as string) && (!best || severityRank[s] > severityRank[best]))
            best = s;
        }
        return best;
      };
      const sortedAlerts = [...alerts].sort(
        (a, b) =>
          Number(['open', 'escalated'].includes(b['state'] as string)) -
            Number(['open', 'escalated'].includes(a['state'] as string)) ||
          severityRank[b['severity'] as SeverityName] - severityRank[a['severity'] as SeverityName] ||
          (ms(b['raised_at']) ?? 0) - (ms(a['raised_at']) ?? 0),
      );
      const top = sortedAlerts[0];
      const trends = trendRows.get(p.id) ?? {};
      return {
        patientId: p.id,
        name: displayName(p.content),
        identifier: primaryIdentifier(p.content, p.id),
        age: ageOf(p.content.birthDate, now),
        gender: p.content.gender ?? null,
        programs,
        careTeams: (teamsOf.get(p.id) ?? []).map((t) => ({ id: t.id, name: t.name })),
        unackedSeverity: maxOf(['open', 'escalated']),
        ackedSeverity: maxOf(['acknowledged', 'snoozed']),
        openAlerts: alerts.length,
        topAlert: top
          ? {
              id: top['id'] as string,
              severity: top['severity'] as SeverityName,
              state: top['state'] as AlertState,
              summary: top['summary'] as string,
              raisedAt: new Date(ms(top['raised_at']) ?? 0).toISOString(),
            }
          : null,
        news2,
        dataGap,
        gapMinutes,
        lastReading,
        lastReadingAt: lastReading === null ? null : new Date(lastReading).toISOString(),
        latest,
        trends,
        devices: devicesBy.get(p.id) ?? [],
      };
    });
    return {
      rows: rankWorklist(unranked) as WorklistRow[],
      programs: [...allPrograms].sort(),
      careTeams: [...allTeams].sort(),
    };
  }

  readonly #trendCache = new Map<string, { at: number; value: Map<string, WorklistRow['trends']> }>();

  /**
   * Trend lines (hourly means) are kept for 30 s per patient set and newest stored reading: a ward
   * of clinicians polling the same worklist shares one trend query until a reading arrives.
   */
  async trendsCached(ids: string[], now: number): Promise<Map<string, WorklistRow['trends']>> {
    // Keyed by the newest stored reading too: a new or late reading is in the very next trend line.
    const newest = await this.#db.query<{ t: unknown }>(`select max(last_updated) as t from observation`);
    const key = createHash('sha256')
      .update(`${String(ms(newest[0]?.t))}|${ids.join(',')}`)
      .digest('hex');
    const hit = this.#trendCache.get(key);
    if (hit && now - hit.at < TREND_CACHE_MS && now >= hit.at) return hit.value;
    const value = await this.trends(ids, now - 24 * HOUR, now);
    if (this.#trendCache.size > 200) this.#trendCache.clear();
    this.#trendCache.set(key, { at: now, value });
    return value;
  }

  /** Hourly means of the trend-line vitals for many patients in one grouped query. */
  async trends(patientIds: string[], from: number, to: number): Promise<Map<string, WorklistRow['trends']>> {
    const keyOf: Record<string, 'hr' | 'spo2' | 'sbp' | 'glucose' | 'rr'> = {};
    for (const c of vitals.hr.codes) keyOf[c] = 'hr';
    for (const c of vitals.spo2.codes) keyOf[c] = 'spo2';
    for (const c of vitals.bp.codes) keyOf[c] = 'sbp';
    for (const c of vitals.glucose.codes) keyOf[c] = 'glucose';
    const molar = MOLAR_GLUCOSE_CODES.map((c) => `'${c}'`).join(', ');
    const rows = await this.#db.query<{ patient_id: string; code: string; h: number; v: number | null }>(
      `select patient_id, code, floor(extract(epoch from effective) / 3600)::int as h,
              avg(case
                when value is null then (jsonb_path_query_first(data, '$.components[*] ? (@.code == "8480-6").value'))::float8
                when code in (${molar}) then value * ${MGDL_PER_MMOLL}
                else value
              end) as v
       from observation
       where patient_id = any(array(select jsonb_array_elements_text($1::jsonb)))
         and code = any(array(select jsonb_array_elements_text($2::jsonb)))
         and effective >= $3 and effective <= $4
       group by 1, 2, 3`,
      [
        JSON.stringify(patientIds),
        JSON.stringify(Object.keys(keyOf)),
        new Date(from).toISOString(),
        new Date(to).toISOString(),
      ],
    );
    const out = new Map<string, WorklistRow['trends']>();
    for (const r of rows) {
      const key = keyOf[r.code];
      if (!key || r.v === null) continue;
      let t = out.get(r.patient_id);
      if (!t) {
        t = {};
        out.set(r.patient_id, t);
      }
      const list = t[key] ?? [];
      t[key] = list;
      list.push([Number(r.h) * 3600, Math.round(Number(r.v) * 10) / 10]);
    }
    for (const t of out.values()) for (const s of Object.values(t)) s.sort((a, b) => a[0] - b[0]);
    return out;
  }

  async patient(id: string): Promise<{ id: string; content: PatientContent } | undefined> {
    const rows = await this.#db.query<{ id: string; content: PatientContent }>(
      `select id, content from fhir_resource where resource_type = 'Patient' and id = $1 and not deleted`,
      [id],
    );
    return rows[0];
  }

  /** The patient's monitoring thresholds per vital, from the resolved rules of their programs. */
  thresholdsOf(rules: RuleBase[]): Partial<Record<VitalKey, Threshold[]>> {
    const out: Partial<Record<VitalKey, Threshold[]>> = {};
    const add = (k: VitalKey, t: Threshold) => {
      const list = out[k] ?? [];
      out[k] = list;
      list.push(t);
    };
    for (const r of rules) {
      const x = r as RuleBase & Record<string, unknown>;
      if (r.kind === 'threshold') {
        const code = x['code'] as string;
        const comp = x['component'] as string | undefined;
        const key =
          code === '85354-9' || code === '8480-6' || code === '8462-4'
            ? 'bp'
            : (Object.values(vitals).find((v) => v.codes.includes(code))?.key ?? null);
        if (!key) continue;
        for (const l of (x['levels'] as Array<{ value: number; severity: string }>) ?? []) {
          const component =
            key === 'bp' ? (comp === '8462-4' || code === '8462-4' ? 'diastolic' : 'systolic') : undefined;
          add(key, {
            value: l.value,
            direction: x['direction'] as 'above' | 'below',
            severity: l.severity,
            label: `${x['direction'] === 'above' ? '>' : '<'} ${l.value}`,
            ...(component ? { component } : {}),
          });
        }
      } else if (r.kind === 'hypertensive-crisis') {
        add('bp', {
          value: x['systolicAbove'] as number,
          direction: 'above',
          severity: 'critical',
          label: `Crisis SBP > ${x['systolicAbove']}`,
          component: 'systolic',
        });
        add('bp', {
          value: x['diastolicAbove'] as number,
          direction: 'above',
          severity: 'critical',
          label: `Crisis DBP > ${x['diastolicAbove']}`,
          component: 'diastolic',
        });
      } else if (r.kind === 'glucose') {
        const g = (name: string) => x[name] as number | undefined;
        if (g('low2') !== undefined)
          add('glucose', {
            value: g('low2') as number,
            direction: 'below',
            severity: 'critical',
            label: `Urgent low < ${g('low2')}`,
          });
        if (g('low1') !== undefined)
          add('glucose', {
            value: g('low1') as number,
            direction: 'below',
            severity: 'high',
            label: `Low < ${g('low1')}`,
          });
        if (g('high1') !== undefined)
          add('glucose', {
            value: g('high1') as number,
            direction: 'above',
            severity: 'medium',
            label: `High > ${g('high1')}`,
          });
        if (g('high2') !== undefined)
          add('glucose', {
            value: g('high2') as number,
            direction: 'above',
            severity: 'high',
            label: `Very high > ${g('high2')}`,
          });
      } else if (r.kind === 'hypoxaemia') {
        const lv = (x['levels'] as Array<{ value: number; severity: string }> | undefined) ?? [];
        for (const l of lv)
          add('spo2', { value: l.value, direction: 'below', severity: l.severity, label: `< ${l.value}` });
      }
    }
    return out;
  }

  /**
   * A time series for a chart: raw points when there are few, otherwise means (with min and max)
   * per bucket so that at most ~`maxPoints` points travel. Columnar, as uPlot wants it.
   */
  async series(
    patientId: string,
    key: VitalKey,
    from: number,
    to: number,
    maxPoints = 720,
    fixedBucketSeconds?: number,
  ): Promise<{ bucketSeconds: number; columns: Record<string, Array<number | null>>; keys: string[] }> {
    const v = vitals[key];
    const exprs: Array<[string, string]> = v.components
      ? v.components.map((c) => [
          c.name,
          `(jsonb_path_query_first(data, '$.components[*] ? (@.code == "${c.code}").value'))::float8`,
        ])
      : [
          [
            'value',
            key === 'glucose'
              ? `case when unit ilike '%mmol%' then value * ${MGDL_PER_MMOLL} else value end`
              : 'value',
          ],
        ];
    const params = [
      patientId,
      JSON.stringify(v.codes),
      new Date(from).toISOString(),
      new Date(to).toISOString(),
    ];
    const where = `patient_id = $1 and code in (select jsonb_array_elements_text($2::jsonb)) and effective >= $3 and effective <= $4`;
    const count = await this.#db.query<{ n: number }>(
      `select count(*)::int as n from observation where ${where}`,
      params,
    );
    const n = fixedBucketSeconds ? Number.MAX_SAFE_INTEGER : (count[0]?.n ?? 0);
    const columns: Record<string, Array<number | null>> = { t: [] };
    for (const [name] of exprs) {
      columns[name] = [];
      if (n > maxPoints) {
        columns[`${name}Min`] = [];
        columns[`${name}Max`] = [];
      }
    }
    if (n === 0) return { bucketSeconds: 0, columns, keys: exprs.map(([k]) => k) };
    if (n <= maxPoints) {
      const rows = await this.#db.query<Record<string, unknown>>(
        `select extract(epoch from effective)::float8 as t, ${exprs.map(([k, e]) => `${e} as "${k}"`).join(', ')}
         from observation where ${where} order by effective`,
        params,
      );
      for (const r of rows) {
        (columns['t'] as Array<number | null>).push(Number(r['t']));
        for (const [k] of exprs)
          (columns[k] as Array<number | null>).push(r[k] === null ? null : Number(r[k]));
      }
      return { bucketSeconds: 0, columns, keys: exprs.map(([k]) => k) };
    }
    const nice = [60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];
    const want = (to - from) / 1000 / maxPoints;
    const bucket = fixedBucketSeconds ?? nice.find((b) => b >= want) ?? 86400;
    const rows = await this.#db.query<Record<string, unknown>>(
      `select floor(extract(epoch from effective) / ${bucket})::bigint * ${bucket} as t,
              ${exprs.map(([k, e]) => `avg(${e}) as "${k}", min(${e}) as "${k}Min", max(${e}) as "${k}Max"`).join(', ')}
       from observation where ${where} group by 1 order by 1`,
      params,
    );
    for (const r of rows) {
      (columns['t'] as Array<number | null>).push(Number(r['t']) + bucket / 2);
      for (const [k] of exprs) {
        for (const suffix of ['', 'Min', 'Max']) {
          const val = r[`${k}${suffix}`];
          (columns[`${k}${suffix}`] as Array<number | null>).push(
            val === null || val === undefined ? null : Math.round(Number(val) * 10) / 10,
          );
        }
      }
    }
    return { bucketSeconds: bucket, columns, keys: exprs.map(([k]) => k) };
  }

  async glucose(patientId: string, from: number, to: number, cgmOnly: boolean): Promise<GlucosePoint[]> {
    const codes = cgmOnly ? CGM_CODES : vitals.glucose.codes;
    const rows = await this.#db.query<{ t: number; v: number; code: string; unit: string | null }>(
      `select extract(epoch from effective)::float8 * 1000 as t, value as v, code, unit from observation
       where patient_id = $1 and code in (select jsonb_array_elements_text($2::jsonb))
         and effective >= $3 and effective <= $4 and value is not null
       order by effective`,
      [patientId, JSON.stringify(codes), new Date(from).toISOString(), new Date(to).toISOString()],
    );
    return rows.map((r) => ({
      t: Number(r.t),
      mgdl:
        MOLAR_GLUCOSE_CODES.includes(r.code) || /mmol/i.test(r.unit ?? '')
          ? Number(r.v) * MGDL_PER_MMOLL
          : Number(r.v),
    }));
  }

  async hasCgm(patientId: string): Promise<boolean> {
    const r = await this.#db.query<{ x: number }>(
      `select 1 as x from observation where patient_id = $1 and code in (select jsonb_array_elements_text($2::jsonb)) limit 1`,
      [patientId, JSON.stringify(CGM_CODES)],
    );
    return r.length > 0;
  }

  /**
   * Suspected CGM compression lows (detect/glucose.ts) in [from, to] that the rule judged artefacts:
   * the trace recovered (`recovered`) or a fingerstick did not confirm the low (`not confirmed`).
   * From the first suspect reading to the one that ended it (event time). One that is still open, or
   * that turned out a real low (`persisting`, `confirmed low`), is not an artefact and stays in.
   */
  async compressionArtefacts(patientId: string, from: number, to: number): Promise<ExcludedInterval[]> {
    const rows = await this.#db.query<{ f: number; c: string }>(
      `select extract(epoch from raised_at)::float8 * 1000 as f, data->>'clearedAt' as c from alert
       where patient_id = $1 and state = 'resolved' and data->>'class' = 'compression-suspected'
         and data->>'clearOutcome' in ('recovered', 'not confirmed') and raised_at <= $3
         and data->>'clearedAt' is not null and (data->>'clearedAt')::timestamptz >= $2`,
      [patientId, new Date(from).toISOString(), new Date(to).toISOString()],
    );
    return rows
      .map((r) => ({ from: Number(r.f), to: Date.parse(r.c) }))
      .filter((i) => Number.isFinite(i.to) && i.to > i.from);
  }

  async agp(patientId: string, days: number, now: number, timeZone: string) {
    const from = now - days * 86_400_000;
    const points = await this.glucose(patientId, from, now, true);
    const cadence = inferCadenceMinutes(points);
    const exclude = await this.compressionArtefacts(patientId, from, now);
    return {
      days,
      from: new Date(from).toISOString(),
      to: new Date(now).toISOString(),
      timeZone,
      unit: 'mg/dL',
      cadenceMinutes: cadence,
      // The profile and the glucose figures leave out readings of compression lows judged artefacts.
      excluded: exclude.map((i) => ({
        from: new Date(i.from).toISOString(),
        to: new Date(i.to).toISOString(),
        reason: 'compression-low',
      })),
      profile: agpProfile(
        exclude.length === 0 ? points : points.filter((p) => !inIntervals(p.t, exclude)),
        timeZone,
      ),
      metrics: cgmMetrics(points, { from, to: now, cadenceMinutes: cadence, timeZone, exclude }),
    };
  }
}

/** The sensor's cadence from the median gap between readings, snapped to 1, 5 or 15 minutes. */
export function inferCadenceMinutes(points: readonly GlucosePoint[]): number {
  if (points.length < 3) return 5;
  const gaps: number[] = [];
  for (let i = 1; i < points.length; i++) {
    const g = ((points[i] as GlucosePoint).t - (points[i - 1] as GlucosePoint).t) / 60000;
    if (g > 0) gaps.push(g);
  }
  gaps.sort((a, b) => a - b);
  const median = gaps[Math.floor(gaps.length / 2)] ?? 5;
  return [1, 5, 15].reduce((best, c) => (Math.abs(c - median) < Math.abs(best - median) ? c : best), 5);
}
