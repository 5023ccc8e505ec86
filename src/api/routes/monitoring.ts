import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { Principal } from '../../auth/token-service.ts';
import type { MonitoringService } from '../../pipeline/monitoring-service.ts';
import type { MonitoringVersion } from '../../store/monitoring-repository.ts';
import type { RoutePlugin } from '../app.ts';
import { requirePatientAccess, requireRoles } from '../auth-hooks.ts';
import type { ApiContext } from '../context.ts';

const PatientParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });

function view(v: MonitoringVersion | undefined, patientId: string) {
  if (!v) return { patientId, version: 0, enrolled: false, monitoring: null };
  return {
    patientId,
    version: v.version,
    enrolled: v.enrolment !== null,
    monitoring: v.enrolment,
    changedBy: v.changedBy,
    changedAt: v.changedAt,
    reason: v.reason,
  };
}

const actor = (request: FastifyRequest) => {
  const p = request.principal as Principal;
  return `${p.kind}:${p.id}`;
};

/**
 * Per-patient monitoring configuration (programs, overrides, SpO2 scale, oxygen, cadences as
 * missing-data overrides) and the program catalogue. Admins and clinicians change, nurses read;
 * clinicians and nurses only for patients of their care teams (the access policy decides).
 */
export function monitoringRoutes(monitoring: MonitoringService): RoutePlugin {
  return async (app: FastifyInstance, ctx: ApiContext) => {
    const readers = requireRoles(ctx, ['admin', 'clinician', 'nurse']);
    const writers = requireRoles(ctx, ['admin', 'clinician']);
    const patientOf = (request: FastifyRequest) => (request.params as { id: string }).id;
    const canRead = requirePatientAccess(ctx, 'read', patientOf, 'Patient');
    const canWrite = requirePatientAccess(ctx, 'write', patientOf, 'Patient');
    const audit = { audit: { entity: 'Patient', patientParam: 'id' } };

    app.get(
      '/api/v1/patients/:id/monitoring',
      { preValidation: [readers, canRead], config: audit, schema: { params: PatientParams } },
      async (request) => {
        const { id } = request.params as { id: string };
        return view(await monitoring.get(id), id);
      },
    );

    app.put(
      '/api/v1/patients/:id/monitoring',
      {
        preValidation: [writers, canWrite],
        config: audit,
        schema: {
          params: PatientParams,
          // The enrolment itself is validated by the detect module (field paths in the error).
          body: Type.Object(
            {
              monitoring: Type.Union([Type.Object({}, { additionalProperties: true }), Type.Null()]),
              reason: Type.Optional(Type.String({ maxLength: 500 })),
              expectedVersion: Type.Optional(Type.Integer({ minimum: 0 })),
            },
            { additionalProperties: false },
          ),
        },
      },
      async (request) => {
        const { id } = request.params as { id: string };
        const b = request.body as { monitoring: unknown; reason?: string; expectedVersion?: number };
        const v = await monitoring.put(id, b.monitoring, actor(request), {
          ...(b.reason !== undefined ? { reason: b.reason } : {}),
          ...(b.expectedVersion !== undefined ? { expectedVersion: b.expectedVersion } : {}),
        });
        request.log.info(
          { patientId: id, version: v.version, event: 'monitoring-changed' },
          'monitoring configuration changed',
        );
        return view(v, id);
      },
    );

    app.get(
      '/api/v1/patients/:id/monitoring/history',
      {
        preValidation: [readers, canRead],
        config: audit,
        schema: {
          params: PatientParams,
          querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })) }),
        },
      },
      async (request) => {
        const { id } = request.params as { id: string };
        const { limit } = request.query as { limit?: number };
        return { patientId: id, versions: (await monitoring.history(id, limit)).map((v) => view(v, id)) };
      },
    );

    app.get('/api/v1/programs', { preValidation: readers }, async () => ({
      programs: await monitoring.programList(),
    }));

    app.put(
      '/api/v1/programs/:name',
      {
        preValidation: requireRoles(ctx, ['admin']),
        schema: {
          params: Type.Object({
            name: Type.String({ minLength: 1, maxLength: 64, pattern: '^[a-z0-9][a-z0-9-]*$' }),
          }),
          body: Type.Object({}, { additionalProperties: true }),
        },
      },
      async (request) => {
        const { name } = request.params as { name: string };
        const body = { ...(request.body as Record<string, unknown>), name };
        const v = await monitoring.putProgram(body, actor(request));
        return { name: v.name, version: v.version, changedBy: v.changedBy, changedAt: v.changedAt };
      },
    );
  };
}
