import { existsSync, statSync } from 'node:fs';
import { join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { RoutePlugin } from '../app.ts';

/** Paths the dashboard never answers: the APIs keep their own 404s (JSON, OperationOutcome). */
export const reservedPrefixes = [
  '/api',
  '/fhir',
  '/auth',
  '/ingest',
  '/nightscout',
  '/health',
  '/ready',
  '/metrics',
  '/nightscout',
  '/lorawan',
  '/.well-known',
  '/oauth',
  '/docs',
  '/openapi.json',
  '/ack',
] as const;

const defaultDist = fileURLToPath(new URL('../../../web/dist/', import.meta.url));

function reserved(path: string): boolean {
  return reservedPrefixes.some((p) => path === p || path.startsWith(`${p}/`) || path.startsWith(`${p}?`));
}

const notBuilt = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Vigil</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;color:#111}code{background:#eee;padding:.1rem .3rem}</style>
</head><body><h1>Vigil</h1>
<p>The API is running, but the clinician dashboard has not been built.</p>
<p>Build it with <code>npm run build:web</code> (it is also built by <code>npm ci</code>), then reload this page.</p>
<p>APIs: <a href="/health">/health</a>, <code>/api/v1</code>, <code>/fhir</code>.</p>
</body></html>`;

/**
 * The clinician dashboard: the Vite build in web/dist served at `/`, with an SPA fallback to
 * index.html for every other GET that is not an API path. One route (`GET /*`), so the route
 * registry stays small. Hashed assets are cached for a year; index.html is never cached.
 */
export function webRoutes(dist = defaultDist): RoutePlugin {
  return async (app: FastifyInstance) => {
    const built = existsSync(join(dist, 'index.html'));
    if (built) await app.register(fastifyStatic, { root: dist, serve: false });
    const handler = async (request: FastifyRequest, reply: FastifyReply) => {
      const path = decodeURIComponent((request.url.split('?')[0] ?? '/').split('#')[0] ?? '/');
      if (reserved(path)) return reply.callNotFound();
      reply.header('x-content-type-options', 'nosniff');
      if (!built)
        return reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(notBuilt);
      const rel = normalize(path).replace(/^([/\\])+/, '');
      const file = join(dist, rel);
      if (rel && file.startsWith(dist.endsWith(sep) ? dist : dist + sep) && isFile(file)) {
        const immutable = rel.startsWith('assets/') || rel.startsWith(`assets${sep}`);
        reply.header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
        return reply.sendFile(rel, { cacheControl: false });
      }
      // SPA fallback: the app decides what to show; no patient data ever travels in the path.
      // /patient/… is the patient app (docs/patient-app.md), everything else the clinician dashboard.
      if (path === '/patient') return reply.redirect('/patient/', 301);
      const app = path.startsWith('/patient/') ? 'patient/index.html' : 'index.html';
      return reply.header('cache-control', 'no-cache').sendFile(app, { cacheControl: false });
    };
    app.get('/*', handler);
  };
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}
