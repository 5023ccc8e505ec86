import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../context.ts';

/** Liveness, readiness (store and broker reachable) and Prometheus metrics. */
export async function healthRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  app.get('/health', async () => ({ status: 'ok' }));

  app.get('/ready', async (_request, reply) => {
    const checks: Record<string, 'ok' | 'failing'> = {};
    try {
      await ctx.db.ping();
      checks['store'] = 'ok';
    } catch {
      checks['store'] = 'failing';
    }
    for (const r of ctx.readiness) {
      try {
        checks[r.name] = (await r.check()) ? 'ok' : 'failing';
      } catch {
        checks[r.name] = 'failing';
      }
    }
    const ready = Object.values(checks).every((v) => v === 'ok');
    return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not-ready', checks });
  });

  app.get('/metrics', async (_request, reply) => {
    reply.header('content-type', ctx.metrics.registry.contentType);
    return ctx.metrics.registry.metrics();
  });
}
