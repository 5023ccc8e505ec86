import type { FastifyInstance } from 'fastify';
import type { ServiceHealth } from '../../pipeline/service-health.ts';
import type { RoutePlugin } from '../app.ts';
import { requireRoles } from '../auth-hooks.ts';
import type { ApiContext } from '../context.ts';

/**
 * GET /api/v1/status — is monitoring working for the whole deployment (ok, delayed, stopped, since
 * when)? For staff; no patient data. The dashboard shows it on every screen and the live feed pushes
 * it (`{"type":"monitoring"}`), so a clinician sees "monitoring delayed since 10:42" where they look.
 */
export function serviceStatusRoutes(health: ServiceHealth): RoutePlugin {
  return async (app: FastifyInstance, ctx: ApiContext) => {
    const staff = requireRoles(ctx, ['admin', 'clinician', 'nurse']);
    app.get('/api/v1/status', { preValidation: staff }, async () => health.status());
  };
}
