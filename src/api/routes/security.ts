import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../context.ts';
import { governanceRoutes } from './governance.ts';
import { userRoutes } from './users.ts';

/** Accounts, integrations, MFA policy, audit log, consent, export/erasure, retention. */
export async function securityRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  await userRoutes(app, ctx);
  await governanceRoutes(app, ctx);
}
