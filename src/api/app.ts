import helmet from '@fastify/helmet';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { VigilError } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import { jsonTooDeep, maxJsonDepth } from '../core/json-depth.ts';
import type { ApiContext } from './context.ts';
import { registerErrorHandler } from './errors.ts';
import { registerOpenApi } from './openapi.ts';
import { authRoutes } from './routes/auth.ts';
import { deviceRoutes } from './routes/devices.ts';
import { healthRoutes } from './routes/health.ts';
import { ingestRoutes } from './routes/ingest.ts';
import { readingRoutes } from './routes/readings.ts';
import { securityRoutes } from './routes/security.ts';
import { registerSecurity } from './security-plugin.ts';

/** Extra route plugins other modules contribute (FHIR, alerts, dashboard, …), wired by server.ts. */
export type RoutePlugin = (app: FastifyInstance, ctx: ApiContext) => Promise<void>;

export async function buildApp(
  ctx: ApiContext,
  extra: RoutePlugin[] = [],
  opts: {
    https?: { cert: Buffer; key: Buffer } | undefined;
    role?: 'all' | 'ingest' | 'detect' | 'api';
  } = {},
): Promise<FastifyInstance> {
  // Scaled out, each worker serves only its stage: ingest workers the device routes, api workers
  // the people- and EHR-facing API, detect workers only health, readiness and metrics.
  const role = opts.role ?? 'all';
  const serveApi = role === 'all' || role === 'api';
  const serveIngest = role === 'all' || role === 'ingest';
  const app = Fastify({
    ...(opts.https ? { https: opts.https } : {}),
    loggerInstance: ctx.log.child({ component: 'http' }) as FastifyBaseLogger,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && /^[\w.-]{1,64}$/.test(given) ? given : newId();
    },
    requestIdHeader: false,
    bodyLimit: ctx.maxPayloadBytes,
    trustProxy: false,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  });
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  // JSON bodies of the management API: depth judged on the text before anything recursive (schema
  // validation, serialization) touches them; then Fastify's own parser (prototype-poisoning checks).
  const jsonParser = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (jsonTooDeep(body as string))
      return done(
        new VigilError('VIGIL_ERR_API_TOO_DEEP', `JSON nested deeper than ${maxJsonDepth} levels`, 400),
        undefined,
      );
    return jsonParser(request, body as string, done);
  });
  app.addHook('onResponse', async (request, reply) => {
    ctx.metrics.httpRequests.inc({
      method: request.method,
      route: request.routeOptions.url ?? 'unmatched',
      status: String(reply.statusCode),
    });
  });
  await app.register(helmet, { contentSecurityPolicy: false, global: true });
  await registerSecurity(app, ctx); // route registry, CORS, rate limits, audit hook: before any route
  registerErrorHandler(app);
  if (serveApi) await registerOpenApi(app); // before the routes: it records them as they are added
  await app.register(async (a) => healthRoutes(a, ctx));
  if (serveIngest) await app.register(async (a) => ingestRoutes(a, ctx));
  if (serveApi) {
    await app.register(async (a) => authRoutes(a, ctx));
    await app.register(async (a) => deviceRoutes(a, ctx));
    await app.register(async (a) => readingRoutes(a, ctx));
    await app.register(async (a) => securityRoutes(a, ctx));
    for (const plugin of extra) await app.register(async (a) => plugin(a, ctx));
  }
  return app;
}
