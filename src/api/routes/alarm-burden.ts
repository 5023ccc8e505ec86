import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { Principal } from '../../auth/token-service.ts';
import { VigilError } from '../../core/errors.ts';
import type { BurdenGroup } from '../../program/alarm-burden.ts';
import { alarmBurden, type BurdenGrouping } from '../../program/alarm-burden-data.ts';
import { requireRoles } from '../auth-hooks.ts';
import type { ApiContext } from '../context.ts';

const DAY = 86_400_000;

const instant = (name: string, v: string | undefined, fallback: number): number => {
  if (v === undefined) return fallback;
  const t = Date.parse(v);
  if (!/(Z|[+-]\d{2}:\d{2})$/.test(v) || Number.isNaN(t))
    throw new VigilError(
      'VIGIL_ERR_PROGRAM_INVALID_RANGE',
      `${name} must be an ISO 8601 time with Z or an offset`,
      400,
    );
  return t;
};

/**
 * Alarm burden across patients and units (docs/alarm-burden.md): GET /api/v1/program/alarm-burden
 * — per unit (the zone of the alert's device) or care team: alarms per bed-day by rule and device,
 * the top 10 % of patients and rules, time to acknowledge, non-actionable rate, flood incidents.
 * Staff; the top patients are named only where the caller may read them (the rest are counted), and
 * every named patient is audited.
 */
export async function alarmBurdenRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const staff = requireRoles(ctx, ['admin', 'clinician', 'nurse']);
  app.get(
    '/api/v1/program/alarm-burden',
    {
      preValidation: staff,
      config: { audit: { entity: 'Flag', subtype: 'alarm-burden' } },
      schema: {
        querystring: Type.Object({
          since: Type.Optional(Type.String({ maxLength: 40, description: 'default: 30 days before until' })),
          until: Type.Optional(Type.String({ maxLength: 40, description: 'default: now' })),
          groupBy: Type.Optional(Type.Union([Type.Literal('unit'), Type.Literal('care-team')])),
          windowMinutes: Type.Optional(
            Type.Integer({ minimum: 1, maximum: 120, description: 'flood burst window (default 5)' }),
          ),
          minPatients: Type.Optional(
            Type.Integer({
              minimum: 2,
              maximum: 1000,
              description: 'patients in a burst for an incident (default 3)',
            }),
          ),
        }),
      },
    },
    async (request) => {
      const q = request.query as {
        since?: string;
        until?: string;
        groupBy?: BurdenGrouping;
        windowMinutes?: number;
        minPatients?: number;
      };
      const until = instant('until', q.until, ctx.clock.now());
      const since = instant('since', q.since, until - 30 * DAY);
      if (since >= until || until - since > 366 * DAY)
        throw new VigilError(
          'VIGIL_ERR_PROGRAM_INVALID_RANGE',
          'since must be before until, at most 366 days apart',
          400,
        );
      const r = await alarmBurden(
        ctx.db,
        new Date(since).toISOString(),
        new Date(until).toISOString(),
        q.groupBy ?? 'unit',
        { windowMs: (q.windowMinutes ?? 5) * 60_000, minPatients: q.minPatients ?? 3 },
      );
      const readable = await ctx.security.policy.readablePatients(request.principal as Principal, 'Flag');
      const named = new Set<string>();
      const redact = (g: BurdenGroup) => {
        const top = g.topPatients.top.filter((t) => readable === 'all' || readable.has(t.id));
        for (const t of top) named.add(t.id);
        return {
          ...g,
          topPatients: { ...g.topPatients, top, notShown: g.topPatients.top.length - top.length },
        };
      };
      const out = { ...r, overall: redact(r.overall), groups: r.groups.map(redact) };
      request.auditPatientIds = [...named];
      return out;
    },
  );
}
