import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { VigilError } from '../../core/errors.ts';
import {
  ADHERENCE_CODES,
  type AdherenceRequest,
  adherenceRequest,
  computeAdherence,
  requestFor,
} from '../../program/medication-adherence.ts';
import { MedicationEventRepository } from '../../store/medication-event-repository.ts';
import { requirePatientAccess } from '../auth-hooks.ts';
import type { ApiContext } from '../context.ts';

const DAY = 86_400_000;

const Dose = Type.Object({
  due: Type.String({ format: 'date-time' }),
  status: Type.Union([
    Type.Literal('on-time'),
    Type.Literal('late'),
    Type.Literal('missed'),
    Type.Literal('pending'),
  ]),
  takenAt: Type.Optional(Type.String({ format: 'date-time' })),
});

export const AdherenceSchema = Type.Object({
  patientId: Type.String(),
  from: Type.String({ format: 'date-time' }),
  to: Type.String({ format: 'date-time' }),
  onTimeMinutes: Type.Integer(),
  utcOffsetMinutes: Type.Integer(),
  requests: Type.Array(
    Type.Object({
      requestId: Type.String(),
      medication: Type.String(),
      rescue: Type.Boolean(),
      dosesDue: Type.Integer(),
      takenOnTime: Type.Integer(),
      takenLate: Type.Integer(),
      missed: Type.Integer(),
      pending: Type.Integer(),
      onTimeRate: Type.Union([Type.Number(), Type.Null()], { description: 'on time ÷ (due − pending)' }),
      doses: Type.Array(Dose),
      usesPerDay: Type.Array(
        Type.Object({ day: Type.String(), uses: Type.Integer(), actuations: Type.Integer() }),
      ),
    }),
  ),
  unmatchedEvents: Type.Integer({ description: 'device events no MedicationRequest could be matched to' }),
});

/**
 * GET /api/v1/patients/:id/adherence[?days=7][&onTimeMinutes=60][&utcOffsetMinutes=0] — doses taken
 * on time / due per MedicationRequest, rescue-inhaler uses per day (docs/adherence.md). Readable by
 * the patient's care team, the patient (their own) and integrations with scope and consent; audited.
 */
export async function adherenceRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const repo = new MedicationEventRepository(ctx.db);
  const patientId = (r: { params: unknown }) => (r.params as { id: string }).id;
  app.get(
    '/api/v1/patients/:id/adherence',
    {
      preValidation: requirePatientAccess(ctx, 'read', patientId, 'MedicationAdministration'),
      config: { audit: { entity: 'Patient', patientParam: 'id' } },
      schema: {
        params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) }),
        querystring: Type.Object({
          days: Type.Optional(
            Type.Integer({ minimum: 1, maximum: 90, description: 'days back from now (default 7)' }),
          ),
          onTimeMinutes: Type.Optional(
            Type.Integer({
              minimum: 5,
              maximum: 720,
              description: '± minutes around a due time that count as on time (default 60)',
            }),
          ),
          utcOffsetMinutes: Type.Optional(
            Type.Integer({
              minimum: -840,
              maximum: 840,
              description: "the patient's local offset for times of day (default 0)",
            }),
          ),
        }),
        response: { 200: AdherenceSchema },
      },
    },
    async (request) => {
      const id = patientId(request);
      if (!(await ctx.security.patientData.exists(id)))
        throw new VigilError('VIGIL_ERR_API_NOT_FOUND', `no patient ${id}`, 404);
      const q = request.query as { days?: number; onTimeMinutes?: number; utcOffsetMinutes?: number };
      const to = ctx.clock.now();
      const from = to - (q.days ?? 7) * DAY;
      const onTimeMinutes = q.onTimeMinutes ?? 60;
      const utcOffsetMinutes = q.utcOffsetMinutes ?? 0;
      const requests = (await repo.medicationRequests(id))
        .map(adherenceRequest)
        .filter((r): r is AdherenceRequest => r !== undefined && r.status !== 'entered-in-error');
      // A dose due just before the window may be taken inside it: events from a day earlier.
      const events = await repo.events(
        id,
        ADHERENCE_CODES,
        new Date(from - DAY).toISOString(),
        new Date(to).toISOString(),
      );
      const result = computeAdherence(requests, events, { from, to, onTimeMinutes, utcOffsetMinutes });
      const unmatchedEvents = events.filter(
        (e) => Date.parse(e.effective) >= from && !requestFor(e, requests),
      ).length;
      return {
        patientId: id,
        from: new Date(from).toISOString(),
        to: new Date(to).toISOString(),
        onTimeMinutes,
        utcOffsetMinutes,
        requests: result,
        unmatchedEvents,
      };
    },
  );
}
