import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { isVigilError, VigilError } from '../../core/errors.ts';
import { SqlDeviceLookup } from '../../devices/device-lookup.ts';
import { type Hl7v2Header, resolveHl7v2Device } from '../../ingest/hl7v2/mllp-server.ts';
import type { IngestEnvelope } from '../../ingest/ingest-service.ts';
import { inspectPcd01 } from '../../normalize/profiles/hl7v2-pcd01.ts';
import { requireRoles } from '../auth-hooks.ts';
import type { ApiContext } from '../context.ts';
import { readingToJson } from '../reading-json.ts';

async function hl7v2DeviceOf(payload: Buffer, devices: SqlDeviceLookup): Promise<string | VigilError> {
  let header: Hl7v2Header;
  try {
    header = inspectPcd01(payload);
  } catch (e) {
    return isVigilError(e)
      ? e
      : new VigilError('VIGIL_ERR_HL7V2_MALFORMED', 'the message could not be read as HL7 v2', 422);
  }
  return resolveHl7v2Device(header, devices);
}

/** Readings and dead letters through the management API. */
export async function readingRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const readers = requireRoles(ctx, ['admin', 'clinician', 'nurse', 'patient', 'integration']);
  const admin = requireRoles(ctx, ['admin']);
  const observation = { audit: { entity: 'Observation' } };
  const deadLetter = { audit: { entity: 'DeadLetter' } };

  app.get(
    '/api/v1/readings/:id',
    {
      preValidation: readers,
      config: observation,
      schema: { params: Type.Object({ id: Type.String({ maxLength: 64 }) }) },
    },
    async (request) => {
      const { id } = request.params as { id: string };
      const r = await ctx.observations.get(id);
      if (!r) throw new VigilError('VIGIL_ERR_API_NOT_FOUND', `reading ${id} not found`, 404);
      request.auditPatientId = r.patientId;
      // Unattributed readings belong to no patient yet: administrators only.
      if (r.patientId) await ctx.security.policy.assertPatientAccess(request.principal, r.patientId, 'read');
      else if (!ctx.security.policy.hasRole(request.principal, ['admin'])) {
        throw new VigilError('VIGIL_ERR_AUTH_FORBIDDEN', 'unattributed readings are for administrators', 403);
      }
      return readingToJson(r);
    },
  );

  app.get(
    '/api/v1/dead-letters',
    {
      preValidation: admin,
      config: deadLetter,
      schema: {
        querystring: Type.Object({
          deviceId: Type.Optional(Type.String()),
          reason: Type.Optional(Type.String()),
          pending: Type.Optional(Type.Boolean()),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
        }),
      },
    },
    async (request) => {
      const q = request.query as { deviceId?: string; reason?: string; pending?: boolean; limit?: number };
      const letters = await ctx.deadLetters.list({
        ...(q.deviceId ? { deviceId: q.deviceId } : {}),
        ...(q.reason ? { reasonCode: q.reason } : {}),
        pendingOnly: q.pending ?? false,
        limit: q.limit ?? 100,
      });
      return { deadLetters: letters.map(({ payload, ...l }) => ({ ...l, payloadBytes: payload.length })) };
    },
  );

  app.get(
    '/api/v1/dead-letters/:id',
    { preValidation: admin, config: deadLetter, schema: { params: Type.Object({ id: Type.String() }) } },
    async (request) => {
      const { id } = request.params as { id: string };
      const l = await ctx.deadLetters.get(id);
      if (!l) throw new VigilError('VIGIL_ERR_API_NOT_FOUND', `dead letter ${id} not found`, 404);
      const { payload, ...rest } = l;
      return { ...rest, payloadBase64: payload.toString('base64'), payloadText: payload.toString('utf8') };
    },
  );

  // Replay: run the kept payload through ingest again (after a fix to the device, a template, or an assignment).
  app.post(
    '/api/v1/dead-letters/:id/replay',
    {
      preValidation: admin,
      config: { audit: { entity: 'DeadLetter', action: 'E' as const, subtype: 'replay' } },
      schema: { params: Type.Object({ id: Type.String() }) },
    },
    async (request) => {
      const { id } = request.params as { id: string };
      const l = await ctx.deadLetters.get(id);
      if (!l) throw new VigilError('VIGIL_ERR_API_NOT_FOUND', `dead letter ${id} not found`, 404);
      let deviceId = l.deviceId;
      if (!deviceId && (l.format === 'hl7v2' || l.transport === 'hl7v2')) {
        // HL7 v2 has no credential: refused before its device was known (unregistered, unreadable),
        // it is identified again from the message itself (OBX-18 equipment, MSH-3 sender), as MLLP does.
        const found = await hl7v2DeviceOf(l.payload, new SqlDeviceLookup(ctx.db));
        if (found instanceof VigilError) {
          throw new VigilError(
            'VIGIL_ERR_INGEST_REPLAY_NO_DEVICE',
            `dead letter has no device to replay as (${found.code}: ${found.message})`,
            409,
          );
        }
        deviceId = found;
      }
      if (!deviceId)
        throw new VigilError(
          'VIGIL_ERR_INGEST_REPLAY_NO_DEVICE',
          'dead letter has no device to replay as',
          409,
        );
      // The stored format decides the profile; letters kept before it was recorded fall back to the topic.
      const format = l.format
        ? l.format
        : l.topic
          ? l.topic.includes('/gatt/')
            ? `gatt:${l.topic.split('/').at(-1)}`
            : l.topic.endsWith('/mdc')
              ? 'mdc'
              : 'json'
          : 'json';
      const results = await ctx.ingest.ingest({
        transport: l.transport as IngestEnvelope['transport'],
        deviceId,
        format,
        payload: l.payload,
        topic: l.topic ?? undefined,
        receivedAt: ctx.clock.now(),
      });
      await ctx.deadLetters.markReplayed(id, results);
      return { id, results };
    },
  );
}
