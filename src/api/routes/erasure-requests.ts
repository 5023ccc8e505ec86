import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { VigilError } from '../../core/errors.ts';
import { newId } from '../../core/ids.ts';
import { ErasureRequestRepository } from '../../store/erasure-request-repository.ts';
import { requirePatientAccess, requireRoles } from '../auth-hooks.ts';
import type { ApiContext } from '../context.ts';
import { requestAudit } from '../request-audit.ts';

const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);
export const ErasureRequestSchema = Type.Object(
  {
    id: Type.String(),
    patientId: Type.String(),
    requestedBy: Type.String(),
    requestedAt: Type.String({ format: 'date-time' }),
    reason: Nullable(Type.String()),
    status: Type.Union([Type.Literal('open'), Type.Literal('declined')]),
    closedBy: Nullable(Type.String()),
    closedAt: Nullable(Type.String({ format: 'date-time' })),
    response: Nullable(Type.String()),
  },
  { additionalProperties: false },
);
const Id = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });

/**
 * Erasure requests (docs/patient-app.md, docs/security.md): the patient asks, an administrator
 * answers — by erasing (POST /api/v1/patients/:id/erase, which removes the request with the rest
 * of the patient's data; patient_erasure and the audit trail remain) or by declining with a reason
 * (a legal hold, a record that must be kept). Never an instant self-delete.
 * - POST /api/v1/patients/:id/erasure-requests — the patient, for their own record (asking again
 *   while one is open returns it: 200);
 * - GET /api/v1/patients/:id/erasure-requests — the patient, their care team, administrators;
 * - GET /api/v1/erasure-requests[?status=open] — administrators' queue;
 * - POST /api/v1/erasure-requests/:id/decline — administrators.
 * Every call is audited.
 */
export async function erasureRequestRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const repo = new ErasureRequestRepository(ctx.db);
  ctx.security.patientData.erasureSteps.push(ErasureRequestRepository.erase);
  const { record: audit } = requestAudit(ctx.security.audit);
  const patientOf = (r: { params: unknown }) => (r.params as { id: string }).id;
  const admin = requireRoles(ctx, ['admin']);
  const patientOnly = requireRoles(ctx, ['patient']);
  const ownRecord = async (request: FastifyRequest) => {
    const id = patientOf(request);
    request.auditPatientId = id;
    if (request.principal?.patientId !== id)
      throw new VigilError('VIGIL_ERR_AUTH_FORBIDDEN', 'a patient asks for their own record only', 403);
  };

  app.post(
    '/api/v1/patients/:id/erasure-requests',
    {
      preValidation: [patientOnly, ownRecord],
      config: { auditSelf: true },
      schema: {
        params: Id,
        body: Type.Object(
          { reason: Type.Optional(Type.String({ maxLength: 1000 })) },
          { additionalProperties: false },
        ),
      },
    },
    async (request, reply) => {
      const patientId = patientOf(request);
      const reason = (request.body as { reason?: string } | undefined)?.reason?.trim() || null;
      const { request: r, created } = await repo.openOrCreate({
        id: newId(),
        patientId,
        requestedBy: request.principal!.id,
        requestedAt: new Date(ctx.clock.now()).toISOString(),
        reason,
      });
      await audit(request, {
        kind: 'patient-record',
        subtype: 'erasure-requested',
        action: 'C',
        outcome: 'success',
        outcomeDesc: created ? 'new request' : 'already open',
        patientId,
        entities: [
          { type: 'Patient', id: patientId },
          { type: 'ErasureRequest', id: r.id },
        ],
      });
      return reply.status(created ? 201 : 200).send({ erasureRequest: r });
    },
  );

  app.get(
    '/api/v1/patients/:id/erasure-requests',
    {
      preValidation: requirePatientAccess(ctx, 'read', patientOf, 'Patient'),
      config: { audit: { entity: 'ErasureRequest', subtype: 'search-type', patientParam: 'id' } },
      schema: {
        params: Id,
        response: { 200: Type.Object({ erasureRequests: Type.Array(ErasureRequestSchema) }) },
      },
    },
    async (request) => ({ erasureRequests: await repo.ofPatient(patientOf(request)) }),
  );

  app.get(
    '/api/v1/erasure-requests',
    {
      preValidation: admin,
      config: { audit: { entity: 'ErasureRequest', subtype: 'search-type' } },
      schema: {
        querystring: Type.Object({
          status: Type.Optional(Type.Union([Type.Literal('open'), Type.Literal('declined')])),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
        }),
        response: { 200: Type.Object({ erasureRequests: Type.Array(ErasureRequestSchema) }) },
      },
    },
    async (request) => {
      const q = request.query as { status?: 'open' | 'declined'; limit?: number };
      const erasureRequests = await repo.list(q.status, q.limit ?? 100);
      request.auditPatientIds = [...new Set(erasureRequests.map((r) => r.patientId))];
      return { erasureRequests };
    },
  );

  app.post(
    '/api/v1/erasure-requests/:id/decline',
    {
      preValidation: admin,
      config: { auditSelf: true },
      schema: {
        params: Id,
        body: Type.Object(
          { response: Type.String({ minLength: 1, maxLength: 1000 }) },
          { additionalProperties: false },
        ),
      },
    },
    async (request) => {
      const id = patientOf(request);
      const prior = await repo.get(id);
      if (!prior) throw new VigilError('VIGIL_ERR_API_NOT_FOUND', `no erasure request ${id}`, 404);
      request.auditPatientId = prior.patientId;
      const r = await repo.decline(
        id,
        request.principal!.id,
        new Date(ctx.clock.now()).toISOString(),
        (request.body as { response: string }).response,
      );
      if (!r)
        throw new VigilError(
          'VIGIL_ERR_CONSENT_ERASURE_REQUEST_CLOSED',
          `erasure request ${id} is ${prior.status} already`,
          409,
        );
      await audit(request, {
        kind: 'patient-record',
        subtype: 'erasure-declined',
        action: 'U',
        outcome: 'success',
        patientId: r.patientId,
        entities: [{ type: 'ErasureRequest', id: r.id }],
      });
      return { erasureRequest: r };
    },
  );
}
