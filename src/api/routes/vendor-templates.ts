import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { canonicalJson } from '../../audit/canonical-json.ts';
import { isVigilError, VigilError } from '../../core/errors.ts';
import { newId } from '../../core/ids.ts';
import { maxJsonDepth, valueTooDeep } from '../../core/json-depth.ts';
import { templateNamePattern } from '../../ingest/vendor-templates.ts';
import { normalize } from '../../normalize/normalize.ts';
import { loadTemplate, type MappingTemplate, type TemplateSpec } from '../../normalize/profiles/template.ts';
import type { VendorTemplateRepository } from '../../store/vendor-template-repository.ts';
import type { RoutePlugin } from '../app.ts';
import { requireRoles } from '../auth-hooks.ts';
import type { ApiContext } from '../context.ts';

const Name = Type.Object({ name: Type.String({ pattern: templateNamePattern.source }) });

/** Validates a spec as it would be loaded for ingest; throws VIGIL_ERR_NORMALIZE_INVALID_TEMPLATE. */
function compile(spec: unknown): MappingTemplate {
  if (valueTooDeep(spec)) {
    throw new VigilError(
      'VIGIL_ERR_INGEST_TOO_DEEP',
      `template nested deeper than ${maxJsonDepth} levels`,
      400,
    );
  }
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) {
    throw new VigilError('VIGIL_ERR_NORMALIZE_INVALID_TEMPLATE', 'a template is a JSON object', 400);
  }
  try {
    return loadTemplate(spec as TemplateSpec);
  } catch (e) {
    if (isVigilError(e)) throw new VigilError(e.code, e.message, 400, e.details);
    throw new VigilError('VIGIL_ERR_NORMALIZE_INVALID_TEMPLATE', 'the template could not be read', 400);
  }
}

/**
 * Vendor mapping templates through the management API (administrators): validate (with an optional
 * sample payload to preview the readings), create a version, list, read, assign to a device or a
 * device model. Devices then send the vendor's JSON on `devices/{id}/vendor/{name}` (MQTT) or
 * `POST /ingest/v1/vendor/{name}` (HTTP).
 */
export function vendorTemplateRoutes(
  repo: VendorTemplateRepository,
  cache: { invalidate(): void },
): RoutePlugin {
  return async (app: FastifyInstance, ctx: ApiContext): Promise<void> => {
    const admin = requireRoles(ctx, ['admin']);
    const audit = { audit: { entity: 'VendorTemplate' } };

    app.post(
      '/api/v1/vendor-templates/validate',
      {
        preValidation: admin,
        schema: {
          body: Type.Object(
            { template: Type.Unknown(), sample: Type.Optional(Type.Unknown()) },
            { additionalProperties: false },
          ),
        },
      },
      async (request) => {
        const { template, sample } = request.body as { template: unknown; sample?: unknown };
        const t = compile(template);
        if (sample === undefined) return { valid: true, name: t.name };
        if (valueTooDeep(sample)) {
          throw new VigilError(
            'VIGIL_ERR_INGEST_TOO_DEEP',
            `sample nested deeper than ${maxJsonDepth} levels`,
            400,
          );
        }
        try {
          const out = normalize(
            {
              format: `template:${t.name}`,
              payload: sample as object,
              deviceId: 'preview',
              receivedAt: ctx.clock.now(),
            },
            { templates: new Map([[t.name, t]]) },
          );
          return {
            valid: true,
            name: t.name,
            readings: out.readings.map((r) => ({
              code: r.code,
              value: r.value,
              unit: r.unit,
              components: r.components.map((c) => ({ code: c.code, value: c.value, unit: c.unit })),
              effective: r.effective,
              messageId: r.messageId,
            })),
          };
        } catch (e) {
          if (isVigilError(e)) throw new VigilError(e.code, `sample: ${e.message}`, 400, e.details);
          throw e;
        }
      },
    );

    app.post(
      '/api/v1/vendor-templates',
      { preValidation: admin, config: { audit: { ...audit.audit, action: 'C' as const } } },
      async (request, reply) => {
        const t = compile(request.body);
        const latest = await repo.get(t.name);
        // the same spec again is not a new version (a retried create)
        if (latest && canonicalJson(latest.spec) === canonicalJson(t.spec)) {
          return reply
            .status(200)
            .send({ name: latest.name, version: latest.version, createdAt: latest.createdAt });
        }
        const stored = await repo.addVersion(t.name, t.spec, request.principal?.id ?? null);
        cache.invalidate();
        return reply
          .status(201)
          .header('location', `/api/v1/vendor-templates/${stored.name}?version=${stored.version}`)
          .send({ name: stored.name, version: stored.version, createdAt: stored.createdAt });
      },
    );

    app.get('/api/v1/vendor-templates', { preValidation: admin, config: audit }, async () => {
      const all = await repo.list();
      return {
        templates: all.map((t) => {
          const spec = t.spec as Partial<TemplateSpec>;
          return {
            name: t.name,
            version: t.version,
            description: spec.description ?? null,
            example: spec.example === true,
            createdAt: t.createdAt,
          };
        }),
      };
    });

    app.get(
      '/api/v1/vendor-templates/:name',
      {
        preValidation: admin,
        config: audit,
        schema: {
          params: Name,
          querystring: Type.Object({ version: Type.Optional(Type.Integer({ minimum: 1 })) }),
        },
      },
      async (request) => {
        const { name } = request.params as { name: string };
        const { version } = request.query as { version?: number };
        const t = await repo.get(name, version);
        if (!t) throw new VigilError('VIGIL_ERR_API_NOT_FOUND', `no vendor template ${name}`, 404);
        return {
          name: t.name,
          version: t.version,
          spec: t.spec,
          createdAt: t.createdAt,
          versions: await repo.versions(name),
        };
      },
    );

    app.post(
      '/api/v1/vendor-templates/:name/assignments',
      {
        preValidation: admin,
        config: { audit: { ...audit.audit, action: 'C' as const, subtype: 'assign' } },
        schema: {
          params: Name,
          body: Type.Object(
            {
              deviceId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
              model: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
              version: Type.Optional(Type.Integer({ minimum: 1 })),
            },
            { additionalProperties: false },
          ),
        },
      },
      async (request, reply) => {
        const { name } = request.params as { name: string };
        const b = request.body as { deviceId?: string; model?: string; version?: number };
        if ((b.deviceId === undefined) === (b.model === undefined)) {
          throw new VigilError('VIGIL_ERR_API_VALIDATION', 'give exactly one of deviceId or model', 400);
        }
        if (!(await repo.get(name, b.version))) {
          throw new VigilError(
            'VIGIL_ERR_API_NOT_FOUND',
            `no vendor template ${name}${b.version ? ` version ${b.version}` : ''}`,
            404,
          );
        }
        if (b.deviceId !== undefined) await ctx.devices.get(b.deviceId); // 404 VIGIL_ERR_DEVICE_NOT_FOUND
        const a = await repo.assign({
          id: newId(),
          template: name,
          version: b.version ?? null,
          deviceId: b.deviceId ?? null,
          deviceModel: b.model ?? null,
          createdBy: request.principal?.id ?? null,
        });
        cache.invalidate();
        return reply.status(201).send(a);
      },
    );

    app.get(
      '/api/v1/vendor-templates/:name/assignments',
      { preValidation: admin, config: audit, schema: { params: Name } },
      async (request) => {
        const { name } = request.params as { name: string };
        return { assignments: await repo.assignments(name) };
      },
    );

    app.delete(
      '/api/v1/vendor-templates/:name/assignments/:id',
      {
        preValidation: admin,
        config: { audit: { ...audit.audit, action: 'D' as const, subtype: 'unassign' } },
        schema: {
          params: Type.Object({
            name: Type.String({ pattern: templateNamePattern.source }),
            id: Type.String(),
          }),
        },
      },
      async (request, reply) => {
        const { name, id } = request.params as { name: string; id: string };
        if (!(await repo.unassign(name, id))) {
          throw new VigilError('VIGIL_ERR_API_NOT_FOUND', `no assignment ${id} of ${name}`, 404);
        }
        cache.invalidate();
        return reply.status(204).send();
      },
    );
  };
}
