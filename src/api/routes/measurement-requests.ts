import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { VigilError } from '../../core/errors.ts';
import {
  MeasurementRequestRepository,
  type MeasurementRequestStatus,
  measurementRequestStatuses,
} from '../../store/measurement-request-repository.ts';
import { requirePatientAccess } from '../auth-hooks.ts';
import type { ApiContext } from '../context.ts';

const Id = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
const statusList = `(${measurementRequestStatuses.join('|')})`;
const Nullable = (t: ReturnType<typeof Type.String>) => Type.Union([t, Type.Null()]);

export const MeasurementRequestSchema = Type.Object(
  {
    id: Type.String(),
    patientId: Type.String(),
    kind: Type.String({ description: 'repeat-bp | reweigh | spo2-at-rest' }),
    code: Type.String({ description: 'LOINC code the repeat reading must carry' }),
    ruleId: Nullable(Type.String()),
    status: Type.Union(measurementRequestStatuses.map((s) => Type.Literal(s))),
    outcome: Type.String({ description: 'requested | confirmed | not-confirmed | no-repeat | cancelled' }),
    triggerReadingId: Type.String({ description: 'the reading that opened the request' }),
    fulfilledBy: Nullable(Type.String({ description: 'the reading that answered it' })),
    requestedAt: Type.String({ format: 'date-time' }),
    notBefore: Type.String({ format: 'date-time' }),
    dueBy: Type.String({ format: 'date-time' }),
    closedAt: Nullable(Type.String({ format: 'date-time' })),
    instruction: Nullable(Type.String({ description: 'what the patient is asked to do' })),
    summary: Type.String(),
    createdAt: Type.String({ format: 'date-time' }),
    updatedAt: Type.String({ format: 'date-time' }),
  },
  { additionalProperties: false },
);

/**
 * GET /api/v1/patients/:id/measurement-requests[?status=open,fulfilled][&limit=] — the repeat
 * measurements detection asked of a patient and how each ended (docs/alerts.md). Readable by the
 * patient's care team, the patient (their own) and integrations with scope and consent; audited.
 */
export async function measurementRequestRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const repo = new MeasurementRequestRepository(ctx.db);
  ctx.security.patientData.erasureSteps.push(MeasurementRequestRepository.erase);
  const patientId = (r: { params: unknown }) => (r.params as { id: string }).id;
  const access = requirePatientAccess(ctx, 'read', patientId, 'ServiceRequest');

  app.get(
    '/api/v1/patients/:id/measurement-requests',
    {
      preValidation: access,
      config: { audit: { entity: 'Patient', patientParam: 'id' } },
      schema: {
        params: Id,
        querystring: Type.Object({
          status: Type.Optional(
            Type.String({
              pattern: `^${statusList}(,${statusList})*$`,
              description: 'comma-separated statuses (default: all)',
            }),
          ),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
        }),
        response: {
          200: Type.Object({
            patientId: Type.String(),
            measurementRequests: Type.Array(MeasurementRequestSchema),
          }),
        },
      },
    },
    async (request) => {
      const id = patientId(request);
      if (!(await ctx.security.patientData.exists(id)))
        throw new VigilError('VIGIL_ERR_API_NOT_FOUND', `no patient ${id}`, 404);
      const q = request.query as { status?: string; limit?: number };
      const status = q.status ? (q.status.split(',') as MeasurementRequestStatus[]) : undefined;
      const measurementRequests = await repo.list(id, {
        ...(status ? { status } : {}),
        limit: q.limit ?? 100,
      });
      return { patientId: id, measurementRequests };
    },
  );
}
