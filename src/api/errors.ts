import type { FastifyError, FastifyInstance } from 'fastify';
import { isVigilError } from '../core/errors.ts';

/**
 * One place maps errors to HTTP: coded errors keep their code and status; validation errors become
 * 400 VIGIL_ERR_API_VALIDATION; anything else is a 500 whose details stay in the log.
 * (The FHIR API answers OperationOutcomes through its own handler.)
 */
export function registerErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (isVigilError(error)) {
      // temporarily unavailable (the database): tell the client when to retry
      if (error.status === 503)
        reply.header('retry-after', String(error.details?.['retryAfterSeconds'] ?? 5));
      return reply.status(error.status >= 400 && error.status < 600 ? error.status : 400).send({
        error: {
          code: error.code,
          message: error.message,
          ...(error.details ? { details: error.details } : {}),
        },
      });
    }
    if (error.validation) {
      return reply.status(400).send({ error: { code: 'VIGIL_ERR_API_VALIDATION', message: error.message } });
    }
    if (error.statusCode === 413 || error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return reply
        .status(413)
        .send({ error: { code: 'VIGIL_ERR_API_PAYLOAD_TOO_LARGE', message: 'request body is too large' } });
    }
    if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      return reply
        .status(415)
        .send({ error: { code: 'VIGIL_ERR_API_UNSUPPORTED_MEDIA_TYPE', message: error.message } });
    }
    if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
      return reply
        .status(error.statusCode)
        .send({ error: { code: `VIGIL_ERR_API_${error.code ?? 'BAD_REQUEST'}`, message: error.message } });
    }
    request.log.error({ err: error }, 'unhandled error');
    return reply.status(500).send({ error: { code: 'VIGIL_ERR_INTERNAL', message: 'internal error' } });
  });
  // Registered routes always win; this answers only what no route matched (the dashboard's SPA
  // fallback hands API paths back here): an OperationOutcome under /fhir, JSON everywhere else.
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    if (path === '/fhir' || path.startsWith('/fhir/')) {
      return reply
        .status(404)
        .type('application/fhir+json; charset=utf-8')
        .send({
          resourceType: 'OperationOutcome',
          issue: [
            {
              severity: 'error',
              code: 'not-found',
              details: { text: 'VIGIL_ERR_FHIR_NOT_FOUND' },
              diagnostics: `no route ${request.method} ${path}`,
            },
          ],
        });
    }
    return reply.status(404).send({
      error: {
        code: 'VIGIL_ERR_API_NOT_FOUND',
        message: `no route ${request.method} ${request.url.split('?')[0]}`,
      },
    });
  });
}
