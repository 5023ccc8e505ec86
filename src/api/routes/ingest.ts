import type { FastifyInstance, FastifyRequest } from 'fastify';
import { VigilError } from '../../core/errors.ts';
import type { ItemResult } from '../../ingest/ingest-service.ts';
import { templateNamePattern } from '../../ingest/vendor-templates.ts';
import { requireDevice } from '../auth-hooks.ts';
import type { ApiContext } from '../context.ts';

function summarize(results: ItemResult[]) {
  const count = (s: ItemResult['status']) => results.filter((r) => r.status === s).length;
  return {
    accepted: count('accepted'),
    duplicate: count('duplicate'),
    rejected: count('rejected'),
    results: results.map((r, index) => ({ index, ...r })),
  };
}

/**
 * Device ingest over HTTP. The device authenticates with its own secret (bearer) before the body is
 * read; the answer comes only after the readings are durable and lists, per reading, accepted /
 * duplicate / rejected with a reason code. 200 when the request was processed (look at each
 * result); 400 when the body as a whole is unusable (malformed JSON) — it is kept as a dead letter.
 */
export async function ingestRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  // Keep the raw bytes: ingest parses them itself, so malformed input becomes a dead letter.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: ctx.maxPayloadBytes }, (_req, body, done) =>
    done(null, body),
  );
  app.addHook('onRequest', requireDevice(ctx));
  app.setErrorHandler(async (error: Error & { statusCode?: number; code?: string }, request, reply) => {
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE' && request.principal) {
      const r = await ctx.ingest.refuse(
        {
          transport: 'http',
          deviceId: request.principal.id,
          format: 'json',
          payload: Buffer.alloc(0),
          contentType: request.headers['content-type'],
          receivedAt: ctx.clock.now(),
        },
        new VigilError('VIGIL_ERR_INGEST_OVERSIZE', `body exceeds ${ctx.maxPayloadBytes} bytes (not kept)`),
      );
      return reply.status(413).send({
        error: { code: 'VIGIL_ERR_INGEST_OVERSIZE', message: r.status === 'rejected' ? r.message : '' },
      });
    }
    throw error;
  });

  const run = async (request: FastifyRequest, format: string) => {
    const body = request.body;
    const payload = Buffer.isBuffer(body) ? body : Buffer.alloc(0);
    const results = await ctx.ingest.ingest({
      transport: 'http',
      deviceId: (request.principal as { id: string }).id,
      format,
      payload,
      contentType: request.headers['content-type'],
      receivedAt: ctx.clock.now(),
    });
    return summarize(results);
  };

  app.post('/ingest/v1/readings', async (request, reply) => {
    const out = await run(request, 'json');
    const whole =
      out.results.length === 1 &&
      out.results[0]?.status === 'rejected' &&
      payloadUnusable(out.results[0].reason);
    return reply.status(whole ? 400 : 200).send(out);
  });

  // Waveform strips (ECG, pleth) as MDC-coded JSON with sample arrays (docs/waveforms.md).
  app.post('/ingest/v1/waveforms', async (request, reply) => {
    const out = await run(request, 'waveform-json');
    const first = out.results[0];
    const whole = out.results.length === 1 && first?.status === 'rejected' && payloadUnusable(first.reason);
    return reply.status(whole ? 400 : 200).send(out);
  });

  // A vendor's own JSON, mapped by a stored template assigned to this device or its model.
  app.post('/ingest/v1/vendor/:template', async (request, reply) => {
    const { template } = request.params as { template: string };
    if (!templateNamePattern.test(template)) {
      throw new VigilError(
        'VIGIL_ERR_INGEST_UNKNOWN_TEMPLATE',
        'template names are kebab-case: a-z, 0-9, - (at most 64)',
        404,
      );
    }
    const out = await run(request, `template:${template}`);
    const first = out.results[0];
    const whole = out.results.length === 1 && first?.status === 'rejected' && payloadUnusable(first.reason);
    return reply.status(whole ? 400 : 200).send(out);
  });

  // Raw Bluetooth GATT characteristic value forwarded by a hub (body: the bytes, or hex text).
  app.post('/ingest/v1/gatt/:characteristic', async (request, reply) => {
    const { characteristic } = request.params as { characteristic: string };
    if (!/^(0x)?[0-9A-Fa-f]{4}$/.test(characteristic)) {
      throw new VigilError(
        'VIGIL_ERR_INGEST_UNKNOWN_CHARACTERISTIC',
        'characteristic must be a 16-bit UUID such as 2A35',
        400,
      );
    }
    const ct = String(request.headers['content-type'] ?? '');
    if (ct.startsWith('text/') && Buffer.isBuffer(request.body)) {
      const hex = request.body.toString('utf8').replace(/[\s:]/g, '');
      if (!/^([0-9A-Fa-f]{2})*$/.test(hex)) {
        throw new VigilError('VIGIL_ERR_INGEST_MALFORMED_HEX', 'text body must be hexadecimal bytes', 400);
      }
      request.body = Buffer.from(hex, 'hex');
    }
    return reply.send(await run(request, `gatt:${characteristic}`));
  });
}

function payloadUnusable(reason: string): boolean {
  return (
    reason === 'VIGIL_ERR_INGEST_MALFORMED_JSON' ||
    reason === 'VIGIL_ERR_INGEST_TOO_DEEP' ||
    reason === 'VIGIL_ERR_INGEST_UNKNOWN_TEMPLATE' ||
    reason === 'VIGIL_ERR_INGEST_TEMPLATE_NOT_ASSIGNED' ||
    reason === 'VIGIL_ERR_INGEST_EMPTY' ||
    reason === 'VIGIL_ERR_INGEST_TOO_MANY'
  );
}
