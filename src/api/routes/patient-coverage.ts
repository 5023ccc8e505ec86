import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { Alerting } from '../../alerts/alerting.ts';
import { isWorkingHours } from '../../alerts/escalation-policy.ts';
import type { RoutePlugin } from '../app.ts';
import { requirePatientAccess } from '../auth-hooks.ts';
import type { ApiContext } from '../context.ts';

/**
 * GET /api/v1/patients/:id/coverage — when the care team watches readings, for the patient app's
 * "is anyone watching" statement (docs/patient-app.md). Taken from the escalation policy of
 * critical alerts (stored, else the default; docs/alerts.md): its working hours and time zone, and
 * whether after those hours a critical alert still notifies someone (its after-hours tiers). The
 * statement is only as true as that policy: the policy is what Vigil acts on. The patient (own
 * record) and their care team; audited.
 */
export function patientCoverageRoutes(alerting: Alerting): RoutePlugin {
  return async (app: FastifyInstance, ctx: ApiContext) => {
    const patientOf = (r: { params: unknown }) => (r.params as { id: string }).id;
    app.get(
      '/api/v1/patients/:id/coverage',
      {
        preValidation: requirePatientAccess(ctx, 'read', patientOf, 'CareTeam'),
        config: { audit: { entity: 'CareTeam', subtype: 'read', patientParam: 'id' } },
        schema: {
          params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) }),
          response: {
            200: Type.Object({
              timeZone: Type.String({ description: 'IANA time zone of the hours' }),
              days: Type.Array(Type.Integer({ minimum: 1, maximum: 7 }), { description: '1 = Monday' }),
              start: Type.String({ description: 'HH:MM' }),
              end: Type.String({ description: 'HH:MM (before start: the hours span midnight)' }),
              workingHoursNow: Type.Boolean(),
              afterHoursAlerts: Type.Boolean({
                description: 'outside the hours, a critical alert still notifies someone',
              }),
            }),
          },
        },
      },
      async () => {
        const p = await alerting.manager.policy('critical');
        return {
          timeZone: p.timeZone,
          days: [...p.workingHours.days].sort((a, b) => a - b),
          start: p.workingHours.start,
          end: p.workingHours.end,
          workingHoursNow: isWorkingHours(p, ctx.clock.now()),
          afterHoursAlerts: p.afterHoursTiers.some(
            (t) => t.roles.length > 0 || (t.practitioners?.length ?? 0) > 0,
          ),
        };
      },
    );
  };
}
