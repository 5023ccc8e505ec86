import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { VigilError } from '../../core/errors.ts';
import { patientEntryDevice } from '../../normalize/fhir-observation.ts';
import { requireRoles } from '../auth-hooks.ts';
import type { ApiContext } from '../context.ts';

/** The kinds of reading a patient may type in, as native reading-format types (docs/reading-format.md). */
export const patientEntryTypes = [
  'blood-pressure',
  'heart-rate',
  'spo2',
  'weight',
  'temperature',
  'glucose',
] as const;
export type PatientEntryType = (typeof patientEntryTypes)[number];

const Reading = Type.Object(
  {
    messageId: Type.String({
      pattern: '^[A-Za-z0-9._:-]{1,100}$',
      description: 'chosen by the app once per entry: sending it again is a no-op (duplicate)',
    }),
    type: Type.Union(patientEntryTypes.map((t) => Type.Literal(t))),
    time: Type.Optional(
      Type.String({ maxLength: 40, description: 'when it was measured (ISO 8601 with offset; default now)' }),
    ),
    value: Type.Optional(Type.Number({ description: 'all types but blood-pressure' })),
    systolic: Type.Optional(Type.Number()),
    diastolic: Type.Optional(Type.Number()),
    unit: Type.String({
      minLength: 1,
      maxLength: 16,
      description: 'mmHg, /min, %, kg or lb, Cel or [degF], mg/dL or mmol/L (common spellings too)',
    }),
  },
  { additionalProperties: false },
);
type Body = {
  messageId: string;
  type: PatientEntryType;
  time?: string;
  value?: number;
  systolic?: number;
  diastolic?: number;
  unit: string;
};

/**
 * The native reading a patient's entry becomes. Only what a patient can know is passed on: no
 * flags, battery or notes, so an entry cannot claim device status or quality.
 */
export function entryPayload(b: Body, now: string): Record<string, unknown> {
  const base = { messageId: b.messageId, time: b.time ?? now, type: b.type, unit: b.unit };
  if (b.type === 'blood-pressure') {
    if (b.value !== undefined)
      throw new VigilError('VIGIL_ERR_API_VALIDATION', 'blood pressure takes systolic and diastolic', 400);
    return {
      ...base,
      components: {
        ...(b.systolic !== undefined ? { systolic: b.systolic } : {}),
        ...(b.diastolic !== undefined ? { diastolic: b.diastolic } : {}),
      },
    };
  }
  if (b.systolic !== undefined || b.diastolic !== undefined)
    throw new VigilError('VIGIL_ERR_API_VALIDATION', 'systolic and diastolic are for blood pressure', 400);
  return { ...base, ...(b.value !== undefined ? { value: b.value } : {}) };
}

/**
 * POST /api/v1/patients/:id/entered-readings — a reading the patient typed in (docs/patient-app.md).
 * Only the patient themself, for their own record: the subject is the signed-in patient, never
 * taken from the body. It goes through the same ingest path as a device reading (normalization
 * with unit conversion, plausibility, durable commit, then detection, which can fulfil an open
 * measurement request), as transport `patient`, kept under the device id `patient:<id>`, and is
 * served with `meta.tag` …/CodeSystem/tag#patient-entered. Answered only after the commit: 201
 * accepted, 200 duplicate (the same messageId again), 422 with the ingest reason code when refused
 * (kept as a dead letter), 403 VIGIL_ERR_CONSENT_DENIED when the patient refused monitoring. Audited.
 */
export async function patientEntryRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  // The patient's refused entries are dead letters under their own entry id: erased with them.
  ctx.security.patientData.erasureSteps.push(async (tx, patientId) => ({
    deadLetters: (
      await tx.query('delete from dead_letter where device_id = $1 returning id', [
        patientEntryDevice(patientId),
      ])
    ).length,
  }));
  const patientOnly = requireRoles(ctx, ['patient']);
  const ownRecord = async (request: FastifyRequest) => {
    const id = (request.params as { id: string }).id;
    request.auditPatientId = id;
    if (request.principal?.patientId !== id)
      throw new VigilError(
        'VIGIL_ERR_AUTH_FORBIDDEN',
        'a patient enters readings for their own record only',
        403,
      );
  };
  app.post(
    '/api/v1/patients/:id/entered-readings',
    {
      preValidation: [patientOnly, ownRecord],
      config: { audit: { entity: 'Observation', subtype: 'patient-entered', patientParam: 'id' } },
      schema: { params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) }), body: Reading },
    },
    async (request, reply) => {
      const patientId = (request.params as { id: string }).id;
      // A patient who refused monitoring is not monitored, by device or by hand.
      await ctx.security.consent.assertPermitted(patientId, 'monitoring');
      const receivedAt = ctx.clock.now();
      const payload = entryPayload(request.body as Body, new Date(receivedAt).toISOString());
      const [result] = await ctx.ingest.ingest({
        transport: 'patient',
        deviceId: patientEntryDevice(patientId),
        patientId,
        format: 'json',
        payload: Buffer.from(JSON.stringify(payload)),
        contentType: 'application/json',
        receivedAt,
      });
      if (!result) throw new VigilError('VIGIL_ERR_INGEST_INTERNAL', 'the reading was not processed', 500);
      if (result.status === 'rejected')
        return reply.status(422).send({ error: { code: result.reason, message: result.message } });
      request.auditEntityId = result.ids[0] ?? '';
      return reply
        .status(result.status === 'accepted' ? 201 : 200)
        .send({ status: result.status, ids: result.ids });
    },
  );
}
