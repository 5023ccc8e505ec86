import { createHash } from 'node:crypto';
import cors from '@fastify/cors';
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type AuditAction, type AuditOutcome, agentOf } from '../audit/audit-event.ts';
import { VigilError } from '../core/errors.ts';
import type { ApiContext } from './context.ts';

/**
 * Per-route declarations, in the route's `config`:
 * - `audit: { entity: 'Observation' }` — the route touches patient data: every request writes an
 *   AuditEvent (who, what, when, from where, outcome) after the response. The patient is taken
 *   from `request.auditPatientId` (set by requirePatientAccess or the handler) or the route param
 *   named by `patientParam`.
 * - `auditSelf: true` — the route writes its own audit records (403s and refused tokens are still
 *   recorded here); `'all'` — refused credentials too (sign-in and token routes). A 403 is always
 *   recorded here unless the handler set `request.auditRecorded`.
 * - `rateLimit: { max, timeWindow }` — a tighter limit than the API's default (@fastify/rate-limit).
 */
export interface AuditRouteConfig {
  entity: string;
  action?: AuditAction;
  subtype?: string;
  patientParam?: string;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    audit?: AuditRouteConfig;
    /** true: the route audits its own successes; 'all': also its refusals (sign-in, token routes). */
    auditSelf?: boolean | 'all';
  }
  interface FastifyInstance {
    /** Every route registered (method and URL), for the access-matrix test and docs. */
    vigilRoutes: Array<{ method: string; url: string }>;
  }
}

/** Default API limit per client per minute; sign-in and ingest set their own. */
export const apiRateLimit = { max: 1200, timeWindow: '1 minute' };
/**
 * Sign-in and token routes, per client address: bounds password spraying across many usernames
 * (each username is also locked after 5 failures, in the database, on every worker).
 */
export const signInRateLimit = {
  max: 300,
  timeWindow: '1 minute',
  keyGenerator: (request: FastifyRequest) => request.ip,
};
export const ingestRateLimit = { max: 12_000, timeWindow: '1 minute' };

const methodAction: Record<string, AuditAction> = {
  GET: 'R',
  HEAD: 'R',
  POST: 'C',
  PUT: 'U',
  PATCH: 'U',
  DELETE: 'D',
};

function restSubtype(method: string, hasId: boolean): string {
  if (method === 'GET' || method === 'HEAD') return hasId ? 'read' : 'search-type';
  return { POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' }[method] ?? 'operation';
}

function outcomeOf(status: number): AuditOutcome {
  if (status < 400) return 'success';
  if (status < 500) return 'minor';
  return 'serious';
}

/** Rate-limit key: the caller's address and credential (a token's hash), never the token itself. */
function clientKey(request: FastifyRequest): string {
  const auth = request.headers.authorization;
  const who = auth ? createHash('sha256').update(auth).digest('base64url').slice(0, 16) : '-';
  return `${request.ip}|${who}`;
}

/**
 * Cross-cutting HTTP security, registered before every route: route registry, CORS (allowed origins
 * only; none by default), rate limits, `Cache-Control: no-store` on patient data and tokens, and
 * the audit hook (declared routes, every 403, every refused token).
 */
export async function registerSecurity(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const routes: Array<{ method: string; url: string }> = [];
  app.decorate('vigilRoutes', routes);
  app.addHook('onRoute', (r) => {
    for (const m of Array.isArray(r.method) ? r.method : [r.method]) routes.push({ method: m, url: r.url });
    // Device ingest: a higher limit per device credential than the API's per-user default.
    if (r.url.startsWith('/ingest/') && r.config?.rateLimit === undefined)
      r.config = { ...r.config, rateLimit: { ...ingestRateLimit } };
  });

  const origins = new Set(ctx.security.corsOrigins);
  const corsBase = {
    methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowedHeaders: ['authorization', 'content-type', 'x-request-id', 'if-match', 'prefer'],
    exposedHeaders: ['x-request-id', 'location', 'etag', 'retry-after'],
    credentials: false,
    maxAge: 600,
  };
  // SMART App Launch (browser apps): the public discovery documents for any origin; the token
  // endpoint and the FHIR API also for the origins of registered apps' redirect URIs.
  const discovery = new Set([
    '/.well-known/smart-configuration',
    '/fhir/.well-known/smart-configuration',
    '/.well-known/openid-configuration',
    '/fhir/metadata',
    '/oauth/jwks',
  ]);
  await app.register(cors, {
    delegator: async (req: FastifyRequest) => {
      const origin = req.headers.origin;
      const path = (req.url ?? '').split('?')[0] ?? '';
      if (discovery.has(path)) return { ...corsBase, origin: true };
      if (origin === undefined) return { ...corsBase, origin: false };
      if (origins.has(origin)) return { ...corsBase, origin: true };
      if (
        (path === '/oauth/token' || path === '/fhir' || path.startsWith('/fhir/')) &&
        ctx.security.smartClients
      )
        return { ...corsBase, origin: (await ctx.security.smartClients.origins()).has(origin) };
      return { ...corsBase, origin: false };
    },
  });

  await app.register(rateLimit, {
    global: true,
    ...apiRateLimit,
    keyGenerator: clientKey,
    errorResponseBuilder: (_req, c) =>
      new VigilError(
        'VIGIL_ERR_API_RATE_LIMITED',
        `too many requests; retry in ${Math.ceil(c.ttl / 1000)} s`,
        c.statusCode === 403 ? 403 : 429,
      ),
  });

  app.addHook('onSend', async (request, reply) => {
    const cfg = request.routeOptions.config;
    if (cfg?.audit || cfg?.auditSelf) reply.header('cache-control', 'no-store');
  });

  app.addHook('onResponse', async (request, reply) => {
    auditResponse(ctx, request, reply);
  });
}

function auditResponse(ctx: ApiContext, request: FastifyRequest, reply: FastifyReply): void {
  const cfg = request.routeOptions.config;
  const status = reply.statusCode;
  const params = (request.params ?? {}) as Record<string, string>;
  const agent = agentOf(request.principal, request.ip);
  const query = request.url.includes('?') ? request.url.slice(request.url.indexOf('?') + 1) : undefined;
  if (status === 403 && !request.auditRecorded) {
    ctx.security.audit.recordLater({
      kind: 'security-alert',
      subtype: 'access-denied',
      action: methodAction[request.method] ?? 'E',
      outcome: 'minor',
      outcomeDesc: `${request.method} ${request.routeOptions.url ?? 'unmatched'} denied`,
      agent,
      patientId:
        request.auditPatientId ?? (cfg?.audit?.patientParam ? params[cfg.audit.patientParam] : undefined),
      entities: [
        {
          type: cfg?.audit?.entity ?? 'Route',
          id: request.auditEntityId ?? params['id'],
          description: request.routeOptions.url,
        },
      ],
      requestId: request.id,
    });
    return;
  }
  if (cfg?.auditSelf === 'all') return;
  if (status === 401 && request.headers.authorization) {
    ctx.security.audit.recordLater({
      kind: 'security-alert',
      subtype: 'credential-refused',
      action: 'E',
      outcome: 'minor',
      outcomeDesc: `${request.method} ${request.routeOptions.url ?? 'unmatched'}: credential refused`,
      agent,
      requestId: request.id,
    });
    return;
  }
  if (cfg?.auditSelf || !cfg?.audit || status === 401) return;
  const a = cfg.audit;
  const patients = request.auditPatientIds ?? [
    request.auditPatientId ?? (a.patientParam ? params[a.patientParam] : undefined),
  ];
  for (const patientId of patients.length ? patients : [undefined]) {
    ctx.security.audit.recordLater({
      kind: 'rest',
      subtype: a.subtype ?? restSubtype(request.method, params['id'] !== undefined),
      action: a.action ?? methodAction[request.method] ?? 'E',
      outcome: outcomeOf(status),
      ...(status >= 400 ? { outcomeDesc: `HTTP ${status}` } : {}),
      agent,
      patientId,
      entities: [
        {
          type: a.entity,
          id: request.auditEntityId ?? params['id'],
          query,
          description: `${request.method} ${request.url.split('?')[0]}`,
        },
      ],
      requestId: request.id,
    });
  }
}
