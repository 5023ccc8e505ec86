import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { agentOf } from '../../audit/audit-event.ts';
import { VigilError } from '../../core/errors.ts';
import type { NightscoutCredentials } from '../../ingest/nightscout/nightscout-credentials.ts';
import { nightscoutUploadRoutes } from '../../ingest/nightscout/nightscout-routes.ts';
import type { RoutePlugin } from '../app.ts';
import { requireRoles } from '../auth-hooks.ts';
import type { ApiContext } from '../context.ts';
import { nightscoutReadRoutes } from './nightscout-read.ts';

/**
 * Nightscout compatibility: the uploader routes (src/ingest/nightscout) and the admin operation that
 * issues a Nightscout-capable credential for a CGM device (docs/nightscout.md, docs/adr/0006):
 *
 *   POST /api/v1/devices/{id}/nightscout  → { id, secret, baseUrlPath }
 *
 * It rotates the device secret (the old one stops working at once) and stores the API-secret
 * verifier derived from the new one; the secret is shown once, like registration and rotation.
 */
export function nightscoutRoutes(credentials: NightscoutCredentials): RoutePlugin {
  return async (app: FastifyInstance, ctx: ApiContext) => {
    // Reads share the uploads' plugin: its credential hook authenticates them the same way.
    await app.register(async (a) => {
      await nightscoutUploadRoutes(credentials)(a, ctx);
      await nightscoutReadRoutes(a, ctx);
    });
    const admin = requireRoles(ctx, ['admin']);
    app.post(
      '/api/v1/devices/:id/nightscout',
      { preValidation: admin, schema: { params: Type.Object({ id: Type.String({ maxLength: 64 }) }) } },
      async (request) => {
        const { id } = request.params as { id: string };
        const device = await ctx.devices.get(id);
        if (device.kind !== 'cgm') {
          throw new VigilError(
            'VIGIL_ERR_NIGHTSCOUT_NOT_CGM',
            `device ${id} is a ${device.kind}; Nightscout uploads are for devices of kind cgm`,
            409,
          );
        }
        const { secret } = await ctx.devices.rotate(id);
        await credentials.issue(id, secret);
        await ctx.security.audit.record({
          kind: 'object-security',
          subtype: 'device-credential-rotate',
          action: 'U',
          outcome: 'success',
          agent: agentOf(request.principal, request.ip),
          entities: [{ type: 'Device', id }],
          requestId: request.id,
        });
        for (const l of ctx.security.onDeviceCredentialChange) l(id);
        request.log.info(
          { deviceId: id, event: 'nightscout-credential-issued' },
          'Nightscout credential issued',
        );
        return { id, secret, baseUrlPath: `/nightscout/${encodeURIComponent(id)}` };
      },
    );
  };
}
