import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { Principal } from '../../auth/token-service.ts';
import { VigilError } from '../../core/errors.ts';
import { DashboardData, displayName, primaryIdentifier } from '../../program/dashboard-data.ts';
import { vitalOf, vitals } from '../../program/vitals.ts';
import { bandOfTotal, news2FromVitals } from '../../program/worklist-rank.ts';
import { requirePatientAccess, requireRoles } from '../auth-hooks.ts';
import type { ApiContext } from '../context.ts';

const Id = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
const staffRoles = ['admin', 'clinician', 'nurse'] as const;
const DAY = 86_400_000;

function validZone(tz: string | undefined): string {
  if (!tz) return 'UTC';
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return tz;
  } catch {
    throw new VigilError('VIGIL_ERR_API_VALIDATION', `tz=${tz} is not an IANA time zone`, 400);
  }
}

function timeParam(raw: string | undefined, fallback: number, name: string): number {
  if (raw === undefined) return fallback;
  const t = Date.parse(raw);
  if (!Number.isFinite(t))
    throw new VigilError('VIGIL_ERR_API_VALIDATION', `${name} must be a date-time`, 400);
  return t;
}

/**
 * Dashboard API: server-side aggregations for the clinician dashboard (docs/dashboard.md).
 * - GET /api/v1/dashboard/worklist?program=&careTeam= — every visible patient, ranked;
 * - GET /api/v1/dashboard/devices — the fleet with state and assigned patient (visible patients);
 * - GET /api/v1/dashboard/patients/:id — header, programs, devices, thresholds, CGM presence;
 * - GET /api/v1/dashboard/patients/:id/series?code=&from=&to= — chart series, bucketed when long;
 * - GET /api/v1/dashboard/patients/:id/agp?days=14&tz= — AGP and consensus CGM metrics.
 * Clinicians and nurses see the patients of their care teams only (the access policy).
 */
export async function dashboardRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const data = new DashboardData(ctx.db);
  const staff = requireRoles(ctx, staffRoles);
  const patientAccess = requirePatientAccess(ctx, 'read', (r) => (r.params as { id: string }).id);
  const policy = ctx.security.policy;

  async function existing(request: FastifyRequest) {
    const { id } = request.params as { id: string };
    const p = await data.patient(id);
    if (!p) throw new VigilError('VIGIL_ERR_API_NOT_FOUND', `no patient ${id}`, 404);
    return p;
  }

  app.get(
    '/api/v1/dashboard/worklist',
    {
      preValidation: staff,
      config: { audit: { entity: 'Patient', subtype: 'search-type' } },
      schema: {
        querystring: Type.Object({
          program: Type.Optional(Type.String({ maxLength: 100 })),
          careTeam: Type.Optional(Type.String({ maxLength: 200 })),
        }),
      },
    },
    async (request) => {
      const q = request.query as { program?: string; careTeam?: string };
      const visible = await policy.readablePatients(request.principal as Principal, 'Patient');
      const now = ctx.clock.now();
      const w = await data.worklist(
        visible,
        { program: q.program || undefined, careTeam: q.careTeam || undefined },
        now,
      );
      return {
        generatedAt: new Date(now).toISOString(),
        total: w.rows.length,
        filters: { programs: w.programs, careTeams: w.careTeams },
        patients: w.rows,
      };
    },
  );

  app.get(
    '/api/v1/dashboard/devices',
    { preValidation: staff, config: { audit: { entity: 'Device', subtype: 'search-type' } } },
    async (request) => {
      const visible = await policy.readablePatients(request.principal as Principal, 'Device');
      const now = ctx.clock.now();
      const all = await data.devices(undefined, now);
      const names = new Map<string, string>();
      const patients = await ctx.db.query<{ id: string; content: Record<string, unknown> }>(
        `select id, content from fhir_resource where resource_type = 'Patient' and not deleted`,
      );
      for (const p of patients) {
        const i = primaryIdentifier(p.content, p.id);
        names.set(p.id, `${displayName(p.content)} (${i.label} ${i.value})`);
      }
      // Staff see every device (a registry), but the patient only when they may see that patient.
      const devices = all.map((d) => {
        const visiblePatient = d.patientId && (visible === 'all' || visible.has(d.patientId));
        return {
          ...d,
          patientId: visiblePatient ? d.patientId : null,
          patientName: visiblePatient && d.patientId ? (names.get(d.patientId) ?? null) : null,
          assigned: d.patientId !== null,
        };
      });
      return { generatedAt: new Date(now).toISOString(), devices };
    },
  );

  app.get(
    '/api/v1/dashboard/patients/:id',
    {
      preValidation: patientAccess,
      config: { audit: { entity: 'Patient', patientParam: 'id' } },
      schema: { params: Id },
    },
    async (request) => {
      const p = await existing(request);
      const now = ctx.clock.now();
      const teams = (await data.careTeams()).filter((t) => t.patientId === p.id);
      const enrolment = (await data.enrolments([p.id])).get(p.id);
      const programs = [
        ...new Set([...(enrolment?.programs ?? []), ...teams.flatMap((t) => t.programs)]),
      ].sort();
      const rules = data.rulesOf(enrolment, programs);
      // The same current NEWS2 and latest values as the patient's worklist row.
      const row = (await data.worklist(new Set([p.id]), {}, now)).rows[0];
      return {
        patient: {
          id: p.id,
          name: displayName(p.content),
          identifier: primaryIdentifier(p.content, p.id),
          birthDate: p.content.birthDate ?? null,
          gender: p.content.gender ?? null,
        },
        programs,
        careTeams: teams.map((t) => ({ id: t.id, name: t.name })),
        settings: { spo2Scale: enrolment?.spo2Scale ?? 1, onOxygen: enrolment?.onOxygen ?? false },
        devices: await data.devices([p.id], now),
        thresholds: data.thresholdsOf(rules),
        hasCgm: await data.hasCgm(p.id),
        current: {
          news2: row?.news2 ?? null,
          latest: row?.latest ?? {},
          lastReadingAt: row?.lastReadingAt ?? null,
          dataGap: row?.dataGap ?? true,
        },
        vitals: Object.values(vitals).map((v) => ({ key: v.key, label: v.label, unit: v.unit })),
      };
    },
  );

  app.get(
    '/api/v1/dashboard/patients/:id/series',
    {
      preValidation: patientAccess,
      config: { audit: { entity: 'Observation', patientParam: 'id' } },
      schema: {
        params: Id,
        querystring: Type.Object({
          code: Type.String({ minLength: 1, maxLength: 64 }),
          from: Type.Optional(Type.String({ maxLength: 40 })),
          to: Type.Optional(Type.String({ maxLength: 40 })),
          points: Type.Optional(Type.Integer({ minimum: 10, maximum: 5000 })),
        }),
      },
    },
    async (request) => {
      const p = await existing(request);
      const q = request.query as { code: string; from?: string; to?: string; points?: number };
      const key = vitalOf(q.code);
      if (!key)
        throw new VigilError('VIGIL_ERR_API_VALIDATION', `code=${q.code} is not a charted vital`, 400);
      const now = ctx.clock.now();
      const to = timeParam(q.to, now, 'to');
      const from = timeParam(q.from, to - DAY, 'from');
      if (from >= to) throw new VigilError('VIGIL_ERR_API_VALIDATION', 'from must be before to', 400);
      if (to - from > 400 * DAY)
        throw new VigilError('VIGIL_ERR_API_VALIDATION', 'at most 400 days per request', 400);
      const v = vitals[key];
      const s = await data.series(p.id, key, from, to, q.points ?? 720);
      let derived: string | undefined;
      if (key === 'news2' && (s.columns['t']?.length ?? 0) === 0) {
        // Detection has not stored NEWS2 scores: compute them from hourly means of the five vitals.
        const parts = await Promise.all(
          (['rr', 'spo2', 'bp', 'hr', 'temp'] as const).map((k) => data.series(p.id, k, from, to, 720, 3600)),
        );
        const hourly = new Map<number, Record<string, number>>();
        const names = ['respRate', 'spo2', 'systolic', 'pulse', 'temperature'];
        parts.forEach((part, i) => {
          const col = part.keys[0] === 'systolic' ? 'systolic' : 'value';
          const ts = part.columns['t'] ?? [];
          ts.forEach((t, j) => {
            const h = Math.floor((t as number) / 3600) * 3600;
            const val = part.columns[col]?.[j];
            if (val === null || val === undefined) return;
            const row = hourly.get(h) ?? {};
            row[names[i] as string] = val;
            hourly.set(h, row);
          });
        });
        const t: number[] = [];
        const value: number[] = [];
        for (const h of [...hourly.keys()].sort((a, b) => a - b)) {
          const r = news2FromVitals(hourly.get(h) as Record<string, number>);
          if (r) {
            t.push(h + 1800);
            value.push(r.total);
          }
        }
        s.columns = { t, value };
        s.bucketSeconds = 3600;
        derived = 'computed from hourly means of the five measured vitals (no stored NEWS2 scores)';
      }
      return {
        code: q.code,
        vital: key,
        label: v.label,
        unit: v.unit,
        from: new Date(from).toISOString(),
        to: new Date(to).toISOString(),
        bucketSeconds: s.bucketSeconds,
        keys: s.keys,
        columns: s.columns,
        ...(key === 'news2' ? { bands: [5, 7].map((x) => ({ value: x, band: bandOfTotal(x) })) } : {}),
        ...(derived ? { derived } : {}),
      };
    },
  );

  app.get(
    '/api/v1/dashboard/patients/:id/agp',
    {
      preValidation: patientAccess,
      config: { audit: { entity: 'Observation', patientParam: 'id' } },
      schema: {
        params: Id,
        querystring: Type.Object({
          days: Type.Optional(Type.Integer({ minimum: 1, maximum: 90 })),
          tz: Type.Optional(Type.String({ maxLength: 64 })),
        }),
      },
    },
    async (request) => {
      const p = await existing(request);
      const q = request.query as { days?: number; tz?: string };
      return data.agp(p.id, q.days ?? 14, ctx.clock.now(), validZone(q.tz));
    },
  );
}
