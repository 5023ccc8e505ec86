import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../context.ts';

/** Liveness, readiness (store and broker reachable) and Prometheus metrics. */
export async function healthRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  app.get('/health', async () => ({ status: 'ok' }));

  // Every check is bounded: a database that accepts connections but never answers makes /ready
  // answer 503 after VIGIL_READY_TIMEOUT_MS instead of hanging (an orchestrator probe waits on it).
  const bounded = async (check: () => Promise<boolean> | boolean): Promise<'ok' | 'failing'> => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), ctx.readyTimeoutMs ?? 2000);
    });
    try {
      return (await Promise.race([Promise.resolve().then(check), late])) ? 'ok' : 'failing';
    } catch {
      return 'failing';
    } finally {
      clearTimeout(timer);
    }
  };
  app.get('/ready', async (_request, reply) => {
    const checks: Record<string, 'ok' | 'failing'> = {};
    const names = ['store', ...ctx.readiness.map((r) => r.name)];
    const results = await Promise.all([
      bounded(async () => {
        await ctx.db.ping();
        return true;
      }),
      ...ctx.readiness.map((r) => bounded(r.check)),
    ]);
    names.forEach((name, i) => {
      checks[name] = results[i] ?? 'failing';
    });
    const ready = Object.values(checks).every((v) => v === 'ok');
    return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not-ready', checks });
  });

  app.get('/metrics', async (_request, reply) => {
    reply.header('content-type', ctx.metrics.registry.contentType);
    return ctx.metrics.registry.metrics();
  });
}
