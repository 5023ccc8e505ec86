import type { FastifyReply, FastifyRequest } from 'fastify';
import type { PatientAction } from '../auth/access-policy.ts';
import type { Principal, Role } from '../auth/token-service.ts';
import { VigilError } from '../core/errors.ts';
import type { ApiContext } from './context.ts';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
    /** The patient a request touched, set by handlers for the audit record. */
    auditPatientId?: string | null;
    /** Several patients a request touched (a list): one audit record each. */
    auditPatientIds?: Array<string | null>;
    /** Set by a handler that has written the audit record of its own refusal. */
    auditRecorded?: boolean;
    /** The entity a request touched (id), set by handlers for the audit record. */
    auditEntityId?: string;
  }
}

export function bearer(request: FastifyRequest): string | undefined {
  const h = request.headers.authorization;
  if (!h) return undefined;
  const m = /^Bearer\s+(\S+)$/i.exec(h);
  return m?.[1];
}

/** The signed-in principal (any role); checked against revocation on every request. */
async function signedIn(
  ctx: ApiContext,
  request: FastifyRequest,
  allowEnrollment = false,
): Promise<Principal> {
  const token = bearer(request);
  if (!token) throw new VigilError('VIGIL_ERR_AUTH_REQUIRED', 'a bearer access token is required', 401);
  const p = await ctx.security.authenticate(token, { allowEnrollment });
  request.principal = p;
  return p;
}

// Use these as `preValidation` (or `preHandler`): as preValidation, a caller without access is refused
// before the body is even validated, so validation messages tell outsiders nothing.

/** Hook: any valid access token of a person or integration. */
export function requireSignedIn(ctx: ApiContext, opts: { allowEnrollment?: boolean } = {}) {
  return async (request: FastifyRequest, _reply: FastifyReply) => {
    await signedIn(ctx, request, opts.allowEnrollment ?? false);
  };
}

/** Hook: a valid access token with one of the roles. */
export function requireRoles(ctx: ApiContext, roles: readonly Role[]) {
  return async (request: FastifyRequest, _reply: FastifyReply) => {
    const p = await signedIn(ctx, request);
    if (!ctx.security.policy.hasRole(p, roles)) {
      throw new VigilError('VIGIL_ERR_AUTH_FORBIDDEN', 'your role does not allow this', 403);
    }
  };
}

/**
 * Hook: a valid access token whose holder may `action` the data of the patient named by the
 * route (care team, own record, integration scope and consent — decided by the access policy).
 */
export function requirePatientAccess(
  ctx: ApiContext,
  action: PatientAction,
  patientOf: (request: FastifyRequest) => string,
  resourceType = 'Observation',
) {
  return async (request: FastifyRequest, _reply: FastifyReply) => {
    const p = await signedIn(ctx, request);
    const patientId = patientOf(request);
    request.auditPatientId = patientId;
    await ctx.security.policy.assertPatientAccess(p, patientId, action, resourceType);
  };
}

/** Hook for ingest: the device's own secret as bearer credential. */
export function requireDevice(ctx: ApiContext) {
  return async (request: FastifyRequest, _reply: FastifyReply) => {
    const token = bearer(request);
    if (!token)
      throw new VigilError(
        'VIGIL_ERR_INGEST_AUTH_REQUIRED',
        'the device secret is required as bearer credential',
        401,
      );
    const deviceId = token.length <= 200 ? await ctx.devices.authenticateBearer(token) : undefined;
    if (!deviceId) {
      request.log.warn(
        { event: 'device-auth-failed' },
        'ingest refused: unknown or revoked device credential',
      );
      throw new VigilError('VIGIL_ERR_INGEST_BAD_CREDENTIAL', 'unknown or revoked device credential', 401);
    }
    request.principal = { kind: 'device', id: deviceId, roles: ['device'], scopes: [] };
  };
}
