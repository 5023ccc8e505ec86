import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { inOpenApi } from '../../src/api/openapi.ts';
import { type InProcess, startInProcess } from '../support/in-process.ts';

/** Fastify's `/a/:id/b` is OpenAPI's `/a/{id}/b`. */
function openApiPath(url: string): string {
  return url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

describe('OpenAPI description of the management API', () => {
  let t: InProcess;
  let doc: {
    openapi: string;
    paths: Record<string, Record<string, unknown>>;
  };
  before(async () => {
    t = await startInProcess();
    const r = await t.inject({ method: 'GET', url: '/openapi.json' });
    assert.equal(r.statusCode, 200);
    doc = JSON.parse(r.body);
  });
  after(async () => t?.stop());

  it('validates as OpenAPI 3', async () => {
    assert.match(doc.openapi, /^3\./);
    const result = await new Validator().validate(structuredClone(doc) as never);
    assert.equal(result.valid, true, JSON.stringify(result.errors, null, 1)?.slice(0, 3000));
  });

  it('lists every registered management route, and nothing of FHIR or the dashboard', () => {
    const expected = t.vigil.app.vigilRoutes.filter((r) => inOpenApi(r.method, r.url));
    assert.ok(expected.length > 40, `routes seen: ${expected.length}`);
    const missing = expected.filter((r) => !doc.paths[openApiPath(r.url)]?.[r.method.toLowerCase()]);
    assert.deepEqual(missing, []);
    for (const must of ['/api/v1/users', '/api/v1/devices', '/auth/token', '/ingest/v1/readings'])
      assert.ok(doc.paths[must], `${must} is described`);
    const listed = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m} ${p}`));
    assert.equal(
      listed.length,
      new Set(expected.map((r) => `${r.method.toLowerCase()} ${openApiPath(r.url)}`)).size,
    );
    assert.ok(!Object.keys(doc.paths).some((p) => p.startsWith('/fhir')), 'FHIR has its CapabilityStatement');
  });

  it('carries the route schemas (path parameters, bodies)', () => {
    const reset = doc.paths['/api/v1/users/{id}/password']?.['post'] as {
      parameters?: Array<{ in: string; name: string }>;
    };
    assert.ok(reset?.parameters?.some((p) => p.in === 'path' && p.name === 'id'));
    assert.doesNotMatch(JSON.stringify(doc), /"~kind"/, 'TypeBox internals are not in the description');
  });

  it('serves a docs page at /docs', async () => {
    const r = await t.inject({ method: 'GET', url: '/docs' });
    assert.equal(r.statusCode, 200);
    assert.match(String(r.headers['content-type']), /text\/html/);
    assert.match(r.body, /swagger-ui/i);
  });
});
