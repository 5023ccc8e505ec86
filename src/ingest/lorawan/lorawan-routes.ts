/**
 * LoRaWAN network-server HTTP integrations (docs/lorawan.md):
 *
 *   POST /lorawan/v1/chirpstack/{integrationId}?event=up   ChirpStack v4 HTTP integration (JSON encoding)
 *   POST /lorawan/v1/tts/{integrationId}                   The Things Stack v3 webhook (uplink message)
 *
 * Authenticated per integration: `Authorization: Bearer <integration secret>` (both network servers
 * let an integration add request headers). Events other than uplinks (join, status, ack, …) are
 * acknowledged and not stored. An uplink is answered after its readings are committed.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { VigilError } from '../../core/errors.ts';
import type { LorawanRepository } from '../../store/lorawan-repository.ts';
import type { LorawanService } from './lorawan-service.ts';
import type { LorawanNetwork } from './uplink.ts';

const rateLimit = { max: 12_000, timeWindow: '1 minute' };

export function lorawanUplinkRoutes(
  service: LorawanService,
  repo: LorawanRepository,
  maxPayloadBytes: number,
) {
  return async (app: FastifyInstance): Promise<void> => {
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: maxPayloadBytes }, (_req, body, done) =>
      done(null, body),
    );
    const handler = (network: LorawanNetwork) => async (request: FastifyRequest, reply: FastifyReply) => {
      const { integrationId } = request.params as { integrationId: string };
      const auth = request.headers.authorization;
      const secret = auth?.startsWith('Bearer ') ? auth.slice(7).trim() : undefined;
      const integration =
        secret && secret.length <= 200 && integrationId.length <= 64
          ? await repo.authenticate(integrationId, secret)
          : undefined;
      if (!integration || integration.network !== network) {
        request.log.warn({ event: 'lorawan-auth-failed', network }, 'LoRaWAN uplink refused');
        throw secret
          ? new VigilError(
              'VIGIL_ERR_INGEST_BAD_CREDENTIAL',
              'unknown or revoked LoRaWAN integration credential',
              401,
            )
          : new VigilError(
              'VIGIL_ERR_INGEST_AUTH_REQUIRED',
              'the integration secret is required as Authorization: Bearer <secret>',
              401,
            );
      }
      request.principal = { kind: 'integration', id: `lorawan:${integration.id}`, roles: [], scopes: [] };
      const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const event =
        network === 'chirpstack' ? ((request.query as { event?: string }).event ?? 'up') : undefined;
      const r = await service.handle(network, body, event);
      switch (r.status) {
        case 'ignored':
          return reply.status(200).send({ ignored: r.event });
        case 'rejected':
          return reply
            .status(r.httpStatus)
            .send({ error: { code: r.reason, message: r.message, deadLetterId: r.deadLetterId } });
        default: {
          const rejected = r.results.find((x) => x.status === 'rejected');
          return reply
            .status(rejected ? 422 : 200)
            .send({ deviceId: r.deviceId, results: r.results, warnings: r.warnings });
        }
      }
    };
    app.post('/lorawan/v1/chirpstack/:integrationId', { config: { rateLimit } }, handler('chirpstack'));
    app.post('/lorawan/v1/tts/:integrationId', { config: { rateLimit } }, handler('tts'));
  };
}
