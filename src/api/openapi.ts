import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';

/**
 * What the OpenAPI description covers: the management API (and the device ingest, auth, health and
 * metrics routes beside it). Not the live feed's WebSocket, not the FHIR API (its CapabilityStatement at /fhir/metadata describes
 * it), not the dashboard's SPA fallback, not the docs page itself.
 */
export function inOpenApi(method: string, url: string): boolean {
  if (method === 'HEAD' || method === 'OPTIONS') return false;
  if (url === '/fhir' || url.startsWith('/fhir/')) return false;
  if (url === '/*' || url === '*') return false;
  // WebSocket upgrades (the live feed) are not expressible in OpenAPI 3; docs/alerts.md describes them.
  if (url === '/api/v1/live') return false;
  if (url === '/docs' || url.startsWith('/docs/') || url === '/openapi.json') return false;
  return true;
}

/**
 * OpenAPI 3 generated from the route schemas (@fastify/swagger), served as `GET /openapi.json`, with
 * a docs page at `/docs` (@fastify/swagger-ui, assets shipped in the package: no CDN). Registered
 * before the routes, whose `onRoute` it records.
 */
export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Vigil management API',
        description:
          'People, devices, readings, alerts, monitoring, program and security administration. ' +
          'Device ingest under /ingest. The FHIR R4 API under /fhir is described by its CapabilityStatement (/fhir/metadata).',
        version: '1',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
        },
      },
      security: [{ bearer: [] }],
    },
    transform: ({ schema, url, route }) => {
      const methods = Array.isArray(route.method) ? route.method : [route.method];
      const shown = methods.some((m) => inOpenApi(m, url));
      return { schema: shown ? stripInternal(schema ?? {}) : { ...(schema ?? {}), hide: true }, url };
    },
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    uiConfig: { docExpansion: 'list', deepLinking: false },
    staticCSP: true,
  });
}

/**
 * TypeBox 1.x marks its schemas with `~`-prefixed keys (`~kind`, `~optional`…); they are not JSON
 * Schema and do not belong in the description.
 */
function stripInternal<T>(value: T): T {
  if (Array.isArray(value)) return value.map(stripInternal) as T;
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (!k.startsWith('~')) out[k] = stripInternal(v);
    return out as T;
  }
  return value;
}
