/**
 * Nightscout API v1 uploads (xDrip+, Spike, OpenAPS and other CGM uploaders), per device:
 *
 *   POST /nightscout/{deviceId}/api/v1/entries[.json]   one entry or an array
 *   GET  /nightscout/{deviceId}/api/v1/status[.json]    minimal status, so uploaders accept the server
 *   POST /nightscout/{deviceId}/api/v1/devicestatus     uploader status: acknowledged, not stored
 *
 * An uploader's "Nightscout URL" is `https://<host>/nightscout/<deviceId>` and its API secret is
 * the device secret: it sends `api-secret: SHA-1(secret)` (checked against the verifier issued by
 * `POST /api/v1/devices/{id}/nightscout`, docs/adr/0006) — or `Authorization: Bearer <secret>`.
 * The device id in the path makes the identity unambiguous; the credential must belong to it.
 *
 * Each entry is ingested on its own (format `nightscout`) and committed before the answer. The
 * answer is the list of rejected entries (empty = all stored), as the v1 swagger specifies.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Clock } from '../../core/clock.ts';
import { VigilError } from '../../core/errors.ts';
import { jsonTooDeep } from '../../core/json-depth.ts';
import { type IngestEnvelope, type ItemResult, tooDeep } from '../ingest-service.ts';
import type { NightscoutCredentials } from './nightscout-credentials.ts';

export interface NightscoutContext {
  ingest: {
    ingest(env: IngestEnvelope): Promise<ItemResult[]>;
    refuse(env: IngestEnvelope, error: VigilError): Promise<ItemResult>;
  };
  devices: { authenticate(deviceId: string, secret: string): Promise<boolean> };
  clock: Clock;
  maxPayloadBytes: number;
}

const maxEntries = 5_000;
/** Uploaders post every 5 minutes and backfill after a gap; same budget as /ingest routes. */
const rateLimit = { max: 12_000, timeWindow: '1 minute' };

declare module 'fastify' {
  interface FastifyRequest {
    nightscoutDevice?: string;
  }
}

function authError(presented: boolean): VigilError {
  // The HTTP ingest codes: the same meaning for every device transport over HTTP.
  return presented
    ? new VigilError(
        'VIGIL_ERR_INGEST_BAD_CREDENTIAL',
        'unknown or revoked credential for the device in the URL (api-secret = SHA-1 of the device secret)',
        401,
      )
    : new VigilError(
        'VIGIL_ERR_INGEST_AUTH_REQUIRED',
        'an api-secret header (SHA-1 of the device secret) or the device bearer credential is required',
        401,
      );
}

export function nightscoutAuth(ctx: NightscoutContext, credentials: NightscoutCredentials) {
  return async (request: FastifyRequest, _reply: FastifyReply) => {
    const { deviceId } = request.params as { deviceId: string };
    const header = request.headers['api-secret'];
    const apiSecret = Array.isArray(header) ? header[0] : header;
    const auth = request.headers.authorization;
    const bearer = auth?.startsWith('Bearer ') ? auth.slice(7).trim() : undefined;
    let ok = false;
    if (deviceId.length <= 64) {
      if (apiSecret && apiSecret.length <= 200) {
        ok = /^[0-9a-fA-F]{40}$/.test(apiSecret.trim())
          ? await credentials.verify(deviceId, apiSecret)
          : await ctx.devices.authenticate(deviceId, apiSecret); // the secret itself, unhashed
      } else if (bearer && bearer.length <= 200) {
        ok = await ctx.devices.authenticate(deviceId, bearer);
      }
    }
    if (!ok) {
      request.log.warn({ event: 'device-auth-failed', transport: 'nightscout' }, 'Nightscout upload refused');
      throw authError(Boolean(apiSecret || bearer));
    }
    request.nightscoutDevice = deviceId;
    request.principal = { kind: 'device', id: deviceId, roles: ['device'], scopes: [] };
  };
}

/** Registers the upload routes (encapsulated: raw-body parsing and the auth hook stay here). */
export function nightscoutUploadRoutes(credentials: NightscoutCredentials) {
  return async (app: FastifyInstance, ctx: NightscoutContext): Promise<void> => {
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: ctx.maxPayloadBytes }, (_req, body, done) =>
      done(null, body),
    );
    app.addHook('onRequest', nightscoutAuth(ctx, credentials));
    const base = '/nightscout/:deviceId/api/v1';
    const config = { rateLimit };

    const entries = async (request: FastifyRequest, reply: FastifyReply) => {
      const deviceId = request.nightscoutDevice as string;
      const payload = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const env = (body: Buffer): IngestEnvelope => ({
        transport: 'nightscout',
        deviceId,
        format: 'nightscout',
        payload: body,
        topic: 'nightscout/api/v1/entries',
        contentType: request.headers['content-type'],
        receivedAt: ctx.clock.now(),
      });
      if (jsonTooDeep(payload)) {
        const err = tooDeep();
        await ctx.ingest.refuse(env(payload), err);
        return reply.status(err.status).send({ error: { code: err.code, message: err.message } });
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(payload.toString('utf8'));
      } catch {
        parsed = undefined;
      }
      const list = Array.isArray(parsed)
        ? parsed
        : parsed && typeof parsed === 'object'
          ? [parsed]
          : undefined;
      if (!list || list.length === 0 || list.length > maxEntries) {
        const err = !list
          ? new VigilError(
              'VIGIL_ERR_INGEST_MALFORMED_JSON',
              'body is not a JSON entry or array of entries',
              400,
            )
          : list.length === 0
            ? new VigilError('VIGIL_ERR_INGEST_EMPTY', 'no entries', 400)
            : new VigilError('VIGIL_ERR_INGEST_TOO_MANY', `at most ${maxEntries} entries per request`, 413);
        await ctx.ingest.refuse(env(payload.subarray(0, 64 * 1024)), err);
        return reply.status(err.status).send({ error: { code: err.code, message: err.message } });
      }
      // One ingest per entry, concurrently: the group commit gathers them into one transaction.
      const results = await Promise.all(
        list.map((entry) => ctx.ingest.ingest(env(Buffer.from(JSON.stringify(entry))))),
      );
      const rejected = results.flatMap((r, i) => {
        const first = r[0];
        return first?.status === 'rejected'
          ? [{ ...(list[i] as object), vigil: { index: i, reason: first.reason, message: first.message } }]
          : [];
      });
      return reply.status(200).send(rejected);
    };
    app.post(`${base}/entries`, { config }, entries);
    app.post(`${base}/entries.json`, { config }, entries);

    const status = async () => {
      const now = ctx.clock.now();
      return {
        status: 'ok',
        name: 'Vigil',
        // The Nightscout API level implemented (corpora api-v1-swagger.yaml), for version-gated uploaders.
        version: '14.2.3',
        serverTime: new Date(now).toISOString(),
        serverTimeEpoch: now,
        apiEnabled: true,
        careportalEnabled: false,
        boluscalcEnabled: false,
        settings: { units: 'mg/dl', authDefaultRoles: '', enable: [] },
        extendedSettings: {},
        authorized: null,
      };
    };
    app.get(`${base}/status`, { config }, status);
    app.get(`${base}/status.json`, { config }, status);
    // Uploader battery / phone status: acknowledged so uploaders do not retry forever; not stored.
    app.post(`${base}/devicestatus`, { config }, async () => []);
    app.post(`${base}/devicestatus.json`, { config }, async () => []);
  };
}
