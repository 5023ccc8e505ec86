import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { alertMetrics } from '../../alerts/alert-metrics.ts';
import type { Principal } from '../../auth/token-service.ts';
import { VigilError } from '../../core/errors.ts';
import { newId } from '../../core/ids.ts';
import { billingCsv } from '../../program/billing-csv.ts';
import { DEFAULT_TIME_ZONE } from '../../program/calendar-days.ts';
import { type CareTimeEntry, careActivities, ProgramData } from '../../program/program-data.ts';
import { defaultBillingRules } from '../../program/rpm-billing.ts';
import { requirePatientAccess, requireRoles } from '../auth-hooks.ts';
import type { ApiContext } from '../context.ts';

const Id = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
const DAY = 86_400_000;

const CareTimeBody = Type.Object(
  {
    minutes: Type.Integer({ minimum: 1, maximum: 1440 }),
    activity: Type.Union(careActivities.map((a) => Type.Literal(a))),
    interactive: Type.Optional(Type.Boolean()),
    /** When the activity started; default: `minutes` before now. */
    start: Type.Optional(Type.String({ format: 'date-time' })),
    note: Type.Optional(Type.String({ maxLength: 2000 })),
  },
  { additionalProperties: false },
);

function programError(reason: string, message: string, status = 400): VigilError {
  return new VigilError(`VIGIL_ERR_PROGRAM_${reason}`, message, status);
}

/**
 * RPM program API (docs/program.md):
 * - POST/GET /api/v1/patients/:id/care-time — staff time on a patient's monitoring (care team);
 * - GET /api/v1/program/billing?month=YYYY-MM[&format=csv][&setupMinDays=16|2] — admin;
 * - GET /api/v1/program/metrics[?until=] — enrolment, adherence, alert burden (staff);
 * - GET /api/v1/program/fleet — device fleet health (staff).
 */
export async function programRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const data = new ProgramData(ctx.db);
  ctx.security.patientData.erasureSteps.push(ProgramData.erase);
  const staff = requireRoles(ctx, ['admin', 'clinician', 'nurse']);
  const admin = requireRoles(ctx, ['admin']);
  const patientId = (r: { params: unknown }) => (r.params as { id: string }).id;
  const readAccess = requirePatientAccess(ctx, 'read', patientId);
  const writeAccess = requirePatientAccess(ctx, 'write', patientId);
  // Care time is clinical staff time: an administrator account does not log it.
  const clinicalStaff = requireRoles(ctx, ['clinician', 'nurse']);

  app.post(
    '/api/v1/patients/:id/care-time',
    {
      preValidation: async (request, reply) => {
        await clinicalStaff(request, reply);
        await writeAccess(request, reply);
      },
      config: { audit: { entity: 'Patient', patientParam: 'id' } },
      schema: { params: Id, body: CareTimeBody },
    },
    async (request, reply) => {
      const id = patientId(request);
      if (!(await data.patientExists(id))) throw programError('PATIENT_NOT_FOUND', `no patient ${id}`, 404);
      const b = request.body as {
        minutes: number;
        activity: string;
        interactive?: boolean;
        start?: string;
        note?: string;
      };
      const now = ctx.clock.now();
      const start = b.start ? Date.parse(b.start) : now - b.minutes * 60_000;
      if (start + b.minutes * 60_000 > now + 5 * 60_000)
        throw programError('FUTURE_TIME', 'care time cannot end in the future');
      const p = request.principal as Principal;
      const entry: CareTimeEntry = {
        id: newId(),
        patientId: id,
        userId: p.id,
        username: p.username ?? p.id,
        role: p.roles.includes('clinician') ? 'clinician' : 'nurse',
        practitionerId: p.practitionerId ?? null,
        start: new Date(start).toISOString(),
        minutes: b.minutes,
        activity: b.activity,
        interactive: b.interactive ?? false,
        note: b.note ?? null,
        createdAt: new Date(now).toISOString(),
      };
      await data.logCareTime(entry);
      request.auditEntityId = entry.id;
      request.log.info({ event: 'care-time-logged', minutes: entry.minutes }, 'care time logged');
      return reply.status(201).send(entry);
    },
  );

  app.get(
    '/api/v1/patients/:id/care-time',
    {
      preValidation: async (request, reply) => {
        await staff(request, reply);
        await readAccess(request, reply);
      },
      config: { audit: { entity: 'Patient', patientParam: 'id' } },
      schema: {
        params: Id,
        querystring: Type.Object({
          since: Type.Optional(Type.String({ format: 'date-time' })),
          until: Type.Optional(Type.String({ format: 'date-time' })),
        }),
      },
    },
    async (request) => {
      const id = patientId(request);
      if (!(await data.patientExists(id))) throw programError('PATIENT_NOT_FOUND', `no patient ${id}`, 404);
      const q = request.query as { since?: string; until?: string };
      const now = ctx.clock.now();
      const since = new Date(q.since ? Date.parse(q.since) : now - 31 * DAY).toISOString();
      const until = new Date(q.until ? Date.parse(q.until) : now + 60_000).toISOString();
      const entries = await data.careTime(id, since, until);
      return {
        patientId: id,
        since,
        until,
        minutes: entries.reduce((s, e) => s + e.minutes, 0),
        interactiveCommunications: entries.filter((e) => e.interactive).length,
        entries,
      };
    },
  );

  app.get(
    '/api/v1/program/billing',
    {
      preValidation: admin,
      config: { audit: { entity: 'Patient', subtype: 'search-type' } },
      schema: {
        querystring: Type.Object({
          month: Type.String({ pattern: '^\\d{4}-(0[1-9]|1[0-2])$' }),
          format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('csv')])),
          setupMinDays: Type.Optional(Type.Union([Type.Literal(16), Type.Literal(2)])),
        }),
      },
    },
    async (request, reply) => {
      const q = request.query as { month: string; format?: 'json' | 'csv'; setupMinDays?: 16 | 2 };
      const rules = {
        ...defaultBillingRules,
        setupMinDays: q.setupMinDays ?? defaultBillingRules.setupMinDays,
      };
      const now = ctx.clock.now();
      const patients = await data.billing(q.month, now, rules);
      request.auditPatientIds = patients.length ? patients.map((p) => p.patientId) : [null];
      if (q.format === 'csv') {
        return reply
          .header('content-type', 'text/csv; charset=utf-8')
          .header('content-disposition', `attachment; filename="vigil-rpm-billing-${q.month}.csv"`)
          .send(billingCsv(patients));
      }
      return {
        month: q.month,
        generatedAt: new Date(now).toISOString(),
        rules: {
          ...rules,
          setupRuleStatus:
            'unverified: 16 days historically, 2 days per one 2026 guide (clinical-reference §7, U)',
        },
        timeZoneDefault: DEFAULT_TIME_ZONE,
        disclaimer:
          'Eligibility computed from recorded data (secondary sources, CY 2026); not billing advice — see docs/program.md',
        patients,
      };
    },
  );

  app.get(
    '/api/v1/program/metrics',
    {
      preValidation: staff,
      schema: {
        querystring: Type.Object({ until: Type.Optional(Type.String({ format: 'date-time' })) }),
      },
    },
    async (request) => {
      const q = request.query as { until?: string };
      const until = q.until ? Date.parse(q.until) : ctx.clock.now();
      const m = await data.metrics(until);
      // Per-severity acknowledgement times of clinical alerts, from the alerts module's own metrics.
      const am = await alertMetrics(ctx.db, m.since, m.until, { clinicalOnly: true });
      return {
        ...m,
        acknowledgementBySeverity: am.rows
          .filter((r) => r.team === '*')
          .map((r) => ({
            severity: r.severity,
            alerts: r.alerts,
            acknowledged: r.acknowledged,
            ackP50Seconds: r.ackP50Seconds,
            ackP90Seconds: r.ackP90Seconds,
          })),
      };
    },
  );

  app.get('/api/v1/program/fleet', { preValidation: staff }, async () => {
    const now = ctx.clock.now();
    return { generatedAt: new Date(now).toISOString(), ...(await data.fleet(now)) };
  });
}
