import type { FastifyInstance } from 'fastify';
import { type Static, Type } from 'typebox';
import { VigilError } from '../../core/errors.ts';
import { classifyDevice, LOW_BATTERY_PERCENT } from '../../program/fleet.ts';
import { DeviceRepository } from '../../store/device-repository.ts';
import { requirePatientAccess } from '../auth-hooks.ts';
import type { ApiContext } from '../context.ts';

const PatientDevice = Type.Object(
  {
    id: Type.String(),
    kind: Type.String({ description: 'device kind (blood-pressure-cuff, scale, …)' }),
    manufacturer: Type.Union([Type.String(), Type.Null()]),
    model: Type.Union([Type.String(), Type.Null()]),
    battery: Type.Union([Type.Integer(), Type.Null()], { description: 'percent, as last reported' }),
    lowBattery: Type.Boolean({ description: `below ${LOW_BATTERY_PERCENT} %` }),
    lastSeen: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    silentMinutes: Type.Union([Type.Integer(), Type.Null()]),
    expectedIntervalMinutes: Type.Integer(),
    state: Type.String({ description: 'online | offline | never-seen | revoked (src/program/fleet.ts)' }),
    since: Type.String({ format: 'date-time', description: 'assigned to the patient since' }),
  },
  { additionalProperties: false },
);

/**
 * GET /api/v1/patients/:id/devices — the devices assigned to a patient now, with battery, last
 * contact and whether each is silent for longer than its kind is expected to be (the fleet rules of
 * src/program/fleet.ts). For the patient app's *My devices*: the patient reads their own, the care
 * team theirs; audited. No credential detail is ever shown.
 */
export async function patientDeviceRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const repo = new DeviceRepository(ctx.db);
  const patientOf = (r: { params: unknown }) => (r.params as { id: string }).id;
  app.get(
    '/api/v1/patients/:id/devices',
    {
      preValidation: requirePatientAccess(ctx, 'read', patientOf, 'Device'),
      config: { audit: { entity: 'Device', subtype: 'search-type', patientParam: 'id' } },
      schema: {
        params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) }),
        response: { 200: Type.Object({ patientId: Type.String(), devices: Type.Array(PatientDevice) }) },
      },
    },
    async (request) => {
      const patientId = patientOf(request);
      if (!(await ctx.security.patientData.exists(patientId)))
        throw new VigilError('VIGIL_ERR_API_NOT_FOUND', `no patient ${patientId}`, 404);
      const now = ctx.clock.now();
      const current = (await repo.assignmentsOfPatient(patientId)).filter(
        (a) => Date.parse(a.periodStart) <= now && (a.periodEnd === null || Date.parse(a.periodEnd) > now),
      );
      const devices: Array<Static<typeof PatientDevice>> = [];
      for (const a of current) {
        const d = await repo.get(a.deviceId);
        if (!d) continue;
        const c = classifyDevice(
          {
            id: d.id,
            kind: d.kind,
            manufacturer: d.manufacturer,
            model: d.model,
            firmware: d.firmware,
            battery: d.batteryPercent,
            lastSeen: d.lastSeen === null ? null : Date.parse(d.lastSeen),
            revoked: d.revokedAt !== null,
            assigned: true,
          },
          now,
        );
        devices.push({
          id: c.id,
          kind: c.kind,
          manufacturer: c.manufacturer,
          model: c.model,
          battery: c.battery,
          lowBattery: c.lowBattery,
          lastSeen: c.lastSeen,
          silentMinutes: c.silentMinutes,
          expectedIntervalMinutes: c.expectedIntervalMinutes,
          state: c.state,
          since: a.periodStart,
        });
      }
      // what needs the patient's attention first: silent, then low battery
      const rank = (d: (typeof devices)[number]) =>
        d.state === 'offline' || d.state === 'never-seen' ? 0 : d.lowBattery ? 1 : 2;
      devices.sort((a, b) => rank(a) - rank(b) || a.kind.localeCompare(b.kind));
      return { patientId, devices };
    },
  );
}
