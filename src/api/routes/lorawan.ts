import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { agentOf } from '../../audit/audit-event.ts';
import { VigilError } from '../../core/errors.ts';
import { newId, newSecret } from '../../core/ids.ts';
import { checkCodec, runDecodeUplink } from '../../ingest/lorawan/codec-sandbox.ts';
import { lorawanUplinkRoutes } from '../../ingest/lorawan/lorawan-routes.ts';
import { LorawanService } from '../../ingest/lorawan/lorawan-service.ts';
import { LorawanRepository } from '../../store/lorawan-repository.ts';
import type { RoutePlugin } from '../app.ts';
import { requireRoles } from '../auth-hooks.ts';
import type { ApiContext } from '../context.ts';

/**
 * LoRaWAN administration (docs/lorawan.md): network-server integrations and payload codecs per
 * device model, for admins; plus the uplink routes the network servers call.
 *
 *   POST   /api/v1/lorawan/integrations                { network, name } → secret shown once
 *   GET    /api/v1/lorawan/integrations
 *   DELETE /api/v1/lorawan/integrations/{id}           revoke (takes effect on the next uplink)
 *   PUT    /api/v1/lorawan/codecs/{model}              { source, template? } → a new version
 *   GET    /api/v1/lorawan/codecs[/{model}]
 *   POST   /api/v1/lorawan/codecs/{model}/decode       { payload (hex or base64), fPort } → decoded (dry run)
 */
export const lorawanRoutes: RoutePlugin = async (app: FastifyInstance, ctx: ApiContext) => {
  const repo = new LorawanRepository(ctx.db);
  const service = new LorawanService({ repo, ingest: ctx.ingest, clock: ctx.clock });
  await app.register(async (a) => lorawanUplinkRoutes(service, repo, ctx.maxPayloadBytes)(a));
  const admin = requireRoles(ctx, ['admin']);
  const modelParam = Type.Object({ model: Type.String({ minLength: 1, maxLength: 128 }) });

  app.post(
    '/api/v1/lorawan/integrations',
    {
      preValidation: admin,
      schema: {
        body: Type.Object(
          {
            network: Type.Union([Type.Literal('chirpstack'), Type.Literal('tts')]),
            name: Type.String({ minLength: 1, maxLength: 200 }),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (request, reply) => {
      const body = request.body as { network: 'chirpstack' | 'tts'; name: string };
      const secret = `vgl_${newSecret(32)}`;
      const integration = await repo.createIntegration({
        id: newId(),
        network: body.network,
        name: body.name,
        secret,
      });
      await ctx.security.audit.record({
        kind: 'object-security',
        subtype: 'lorawan-integration-create',
        action: 'C',
        outcome: 'success',
        agent: agentOf(request.principal, request.ip),
        entities: [{ type: 'Endpoint', id: integration.id }],
        requestId: request.id,
      });
      const uplinkPath =
        body.network === 'chirpstack'
          ? `/lorawan/v1/chirpstack/${integration.id}`
          : `/lorawan/v1/tts/${integration.id}`;
      return reply.status(201).send({ ...integration, secret, uplinkPath });
    },
  );

  app.get('/api/v1/lorawan/integrations', { preValidation: admin }, async () => ({
    integrations: await repo.listIntegrations(),
  }));

  app.delete(
    '/api/v1/lorawan/integrations/:id',
    { preValidation: admin, schema: { params: Type.Object({ id: Type.String({ maxLength: 64 }) }) } },
    async (request, reply) => {
      const { id } = request.params as { id: string };
      if (!(await repo.revokeIntegration(id)))
        throw new VigilError('VIGIL_ERR_LORAWAN_NOT_FOUND', `no LoRaWAN integration ${id}`, 404);
      await ctx.security.audit.record({
        kind: 'object-security',
        subtype: 'lorawan-integration-revoke',
        action: 'D',
        outcome: 'success',
        agent: agentOf(request.principal, request.ip),
        entities: [{ type: 'Endpoint', id }],
        requestId: request.id,
      });
      return reply.status(204).send();
    },
  );

  app.put(
    '/api/v1/lorawan/codecs/:model',
    {
      preValidation: admin,
      schema: {
        params: modelParam,
        body: Type.Object(
          {
            source: Type.String({ minLength: 1, maxLength: 256 * 1024 }),
            template: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (request, reply) => {
      const { model } = request.params as { model: string };
      const body = request.body as { source: string; template?: string };
      await checkCodec(body.source);
      const codec = await repo.putCodec({
        model,
        source: body.source,
        template: body.template ?? null,
        createdBy: request.principal?.id ?? null,
      });
      await ctx.security.audit.record({
        kind: 'object-security',
        subtype: 'lorawan-codec-put',
        action: 'U',
        outcome: 'success',
        agent: agentOf(request.principal, request.ip),
        entities: [{ type: 'DeviceDefinition', id: `${model}|${codec.version}` }],
        requestId: request.id,
      });
      const { source: _s, ...rest } = codec;
      return reply.status(201).send(rest);
    },
  );

  app.get('/api/v1/lorawan/codecs', { preValidation: admin }, async () => ({
    codecs: await repo.listCodecs(),
  }));

  app.get(
    '/api/v1/lorawan/codecs/:model',
    { preValidation: admin, schema: { params: modelParam } },
    async (request) => {
      const { model } = request.params as { model: string };
      const codec = await repo.codec(model);
      if (!codec) throw new VigilError('VIGIL_ERR_LORAWAN_NOT_FOUND', `no codec for model ${model}`, 404);
      return codec;
    },
  );

  app.post(
    '/api/v1/lorawan/codecs/:model/decode',
    {
      preValidation: admin,
      schema: {
        params: modelParam,
        body: Type.Object(
          {
            payload: Type.String({ maxLength: 1024 }),
            fPort: Type.Optional(Type.Integer({ minimum: 0, maximum: 255 })),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (request) => {
      const { model } = request.params as { model: string };
      const body = request.body as { payload: string; fPort?: number };
      const codec = await repo.codec(model);
      if (!codec) throw new VigilError('VIGIL_ERR_LORAWAN_NOT_FOUND', `no codec for model ${model}`, 404);
      const bytes = /^([0-9a-fA-F]{2})*$/.test(body.payload)
        ? Buffer.from(body.payload, 'hex')
        : Buffer.from(body.payload, 'base64');
      const out = await runDecodeUplink(codec.source, {
        bytes: new Uint8Array(bytes),
        fPort: body.fPort,
        recvTime: ctx.clock.now(),
      });
      return { model, version: codec.version, ...out };
    },
  );
};
