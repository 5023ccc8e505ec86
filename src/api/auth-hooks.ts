import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Principal, Role } from '../auth/token-service.ts';
import { VigilError } from '../core/errors.ts';
import type { ApiContext } from './context.ts';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

function bearer(request: FastifyRequest): string | undefined {
  const h = request.headers.authorization;
  if (!h) return undefined;
  const m = /^Bearer\s+(\S+)$/i.exec(h);
  return m?.[1];
}

/** preHandler: a valid access token with one of the roles. */
export function requireRoles(ctx: ApiContext, roles: readonly Role[]) {
  return async (request: FastifyRequest, _reply: FastifyReply) => {
    const token = bearer(request);
    if (!token) throw new VigilError('VIGIL_ERR_AUTH_REQUIRED', 'a bearer access token is required', 401);
    const p = await ctx.tokens.verify(token);
    if (!p.roles.some((r) => roles.includes(r))) {
      throw new VigilError('VIGIL_ERR_AUTH_FORBIDDEN', 'your role does not allow this', 403);
    }
    request.principal = p;
  };
}

/** preHandler for ingest: the device's own secret as bearer credential. */
export function requireDevice(ctx: ApiContext) {
  return async (request: FastifyRequest, _reply: FastifyReply) => {
    const token = bearer(request);
    if (!token) throw new VigilError('VIGIL_ERR_INGEST_AUTH_REQUIRED', 'the device secret is required as bearer credential', 401);
    const deviceId = await ctx.devices.authenticateBearer(token);
    if (!deviceId) {
      request.log.warn({ event: 'device-auth-failed' }, 'ingest refused: unknown or revoked device credential');
      throw new VigilError('VIGIL_ERR_INGEST_BAD_CREDENTIAL', 'unknown or revoked device credential', 401);
    }
    request.principal = { kind: 'device', id: deviceId, roles: ['device'], scopes: [] };
  };
}
