import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { agentOf } from '../../audit/audit-event.ts';
import { VigilError } from '../../core/errors.ts';
import { deviceKinds } from '../../devices/device-service.ts';
import { AdtRepository } from '../../store/adt-repository.ts';
import { requireRoles } from '../auth-hooks.ts';
import type { ApiContext } from '../context.ts';
import { readingToJson } from '../reading-json.ts';

const Id = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
const Time = Type.String({ minLength: 10, maxLength: 40 });

/** Device registry: register (secret shown once), rotate, revoke, assign to a patient for a period. */
export async function deviceRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const admin = requireRoles(ctx, ['admin']);
  const staff = requireRoles(ctx, ['admin', 'clinician', 'nurse']);
  const sec = ctx.security;
  // Device credential changes are security events; the MQTT broker drops the device's connection.
  const credentialEvent = async (
    request: FastifyRequest,
    deviceId: string,
    subtype: string,
    action: 'C' | 'U',
  ) => {
    await sec.audit.record({
      kind: 'object-security',
      subtype,
      action,
      outcome: 'success',
      agent: agentOf(request.principal, request.ip),
      entities: [{ type: 'Device', id: deviceId }],
      requestId: request.id,
    });
    if (subtype !== 'device-register') for (const l of sec.onDeviceCredentialChange) l(deviceId);
  };

  app.post(
    '/api/v1/devices',
    {
      preValidation: admin,
      schema: {
        body: Type.Object(
          {
            id: Type.String({ minLength: 1, maxLength: 64 }),
            kind: Type.Union(deviceKinds.map((k) => Type.Literal(k))),
            identifier: Type.Optional(Type.String({ maxLength: 200 })),
            manufacturer: Type.Optional(Type.String({ maxLength: 200 })),
            model: Type.Optional(Type.String({ maxLength: 200 })),
            serial: Type.Optional(Type.String({ maxLength: 200 })),
            firmware: Type.Optional(Type.String({ maxLength: 200 })),
            modelId: Type.Optional(
              Type.String({ minLength: 1, maxLength: 64, description: 'device-model catalogue id' }),
            ),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (request, reply) => {
      const { device, secret } = await ctx.devices.register(
        request.body as Parameters<ApiContext['devices']['register']>[0],
      );
      request.log.info({ deviceId: device.id, event: 'device-registered' }, 'device registered');
      await credentialEvent(request, device.id, 'device-register', 'C');
      return reply.status(201).send({ device, secret });
    },
  );

  app.get(
    '/api/v1/devices',
    {
      preValidation: staff,
      schema: {
        querystring: Type.Object({
          kind: Type.Optional(Type.String()),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
          offset: Type.Optional(Type.Integer({ minimum: 0 })),
        }),
      },
    },
    async (request) => {
      const q = request.query as { kind?: string; limit?: number; offset?: number };
      return { devices: await ctx.devices.list(q) };
    },
  );

  // An assignment names its patient: only those of patients the caller may read (access policy:
  // care teams for staff, all for administrators), each one audited.
  const visibleAssignments = async (request: FastifyRequest, id: string) => {
    const readable = await sec.policy.readablePatients(request.principal, 'Device');
    const all = await ctx.devices.assignments(id);
    const visible = readable === 'all' ? all : all.filter((a) => readable.has(a.patientId));
    request.auditPatientIds = [...new Set(visible.map((a) => a.patientId))];
    return visible;
  };

  app.get(
    '/api/v1/devices/:id',
    { preValidation: staff, config: { audit: { entity: 'Device' } }, schema: { params: Id } },
    async (request) => {
      const { id } = request.params as { id: string };
      const device = await ctx.devices.get(id);
      return { device, assignments: await visibleAssignments(request, id) };
    },
  );

  app.post(
    '/api/v1/devices/:id/rotate',
    { preValidation: admin, schema: { params: Id } },
    async (request) => {
      const { id } = request.params as { id: string };
      const { secret } = await ctx.devices.rotate(id);
      request.log.info({ deviceId: id, event: 'device-credential-rotated' }, 'device credential rotated');
      await credentialEvent(request, id, 'device-credential-rotate', 'U');
      return { id, secret };
    },
  );

  app.post(
    '/api/v1/devices/:id/revoke',
    { preValidation: admin, schema: { params: Id } },
    async (request) => {
      const { id } = request.params as { id: string };
      await ctx.devices.revoke(id);
      request.log.info({ deviceId: id, event: 'device-credential-revoked' }, 'device credential revoked');
      await credentialEvent(request, id, 'device-credential-revoke', 'U');
      return { id, revoked: true };
    },
  );

  app.post(
    '/api/v1/devices/:id/assignments',
    {
      preValidation: admin,
      config: { audit: { entity: 'Device' } },
      schema: {
        params: Id,
        body: Type.Object(
          {
            patientId: Type.String({ minLength: 1, maxLength: 64 }),
            start: Type.Optional(Time),
            end: Type.Optional(Time),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (request, reply) => {
      const { id } = request.params as { id: string };
      const b = request.body as { patientId: string; start?: string; end?: string };
      request.auditPatientId = b.patientId;
      // Monitoring needs the patient's consent: a recorded refusal blocks a new assignment.
      if (!(await sec.consent.isPermitted(b.patientId, 'monitoring'))) {
        throw new VigilError('VIGIL_ERR_CONSENT_DENIED', 'the patient has not consented to monitoring', 409);
      }
      const assignment = await ctx.devices.assign(id, b.patientId, b.start, b.end);
      const attributed = await ctx.observations.attribute(
        id,
        b.patientId,
        assignment.periodStart,
        assignment.periodEnd,
      );
      return reply.status(201).send({ assignment, attributedReadings: attributed.length });
    },
  );

  app.get(
    '/api/v1/devices/:id/assignments',
    { preValidation: staff, config: { audit: { entity: 'Device' } }, schema: { params: Id } },
    async (request) => {
      const { id } = request.params as { id: string };
      await ctx.devices.get(id);
      return { assignments: await visibleAssignments(request, id) };
    },
  );

  app.post(
    '/api/v1/devices/:id/unassign',
    {
      preValidation: admin,
      schema: { params: Id, body: Type.Optional(Type.Object({ at: Type.Optional(Time) })) },
    },
    async (request) => {
      const { id } = request.params as { id: string };
      const at = (request.body as { at?: string } | undefined)?.at;
      return { assignment: (await ctx.devices.unassign(id, at)) ?? null };
    },
  );

  // A bedside device placed at a bed follows whoever ADT admits to it (docs/hl7v2.md § ADT).
  const beds = new AdtRepository(ctx.db);
  app.put(
    '/api/v1/devices/:id/bed',
    {
      preValidation: admin,
      schema: {
        params: Id,
        body: Type.Object(
          {
            bed: Type.String({
              minLength: 1,
              maxLength: 200,
              pattern: '^[^\\^]*(\\^[^\\^]*){0,3}$',
              description: 'ADT bed key: PV1-3 point of care^room^bed^facility, trailing empty parts dropped',
            }),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (request) => {
      const { id } = request.params as { id: string };
      const bed = (request.body as { bed: string }).bed.replace(/\^+$/, '');
      await ctx.devices.get(id);
      await beds.setBed(id, bed);
      request.log.info({ deviceId: id, event: 'device-bed-set' }, 'bedside device placed');
      return { id, bed };
    },
  );

  app.delete('/api/v1/devices/:id/bed', { preValidation: admin, schema: { params: Id } }, async (request) => {
    const { id } = request.params as { id: string };
    await ctx.devices.get(id);
    await beds.setBed(id, null);
    return { id, bed: null };
  });

  app.get(
    '/api/v1/devices/:id/readings',
    {
      preValidation: staff,
      config: { audit: { entity: 'Device', subtype: 'search-type' } },
      schema: {
        params: Id,
        querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })) }),
      },
    },
    async (request) => {
      const { id } = request.params as { id: string };
      await ctx.devices.get(id);
      const { limit } = request.query as { limit?: number };
      // Only readings of patients the caller may read (care teams); unattributed ones for administrators.
      const readable = await sec.policy.readablePatients(request.principal);
      const readings = (await ctx.observations.latestForDevice(id, limit ?? 50)).filter((r) =>
        readable === 'all' ? true : r.patientId !== null && readable.has(r.patientId),
      );
      request.auditPatientIds = [...new Set(readings.map((r) => r.patientId))];
      return { readings: readings.map(readingToJson) };
    },
  );
}
