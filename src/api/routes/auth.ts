import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { verifyPassword } from '../../auth/passwords.ts';
import type { Role } from '../../auth/token-service.ts';
import { VigilError } from '../../core/errors.ts';
import type { ApiContext } from '../context.ts';

/** Sign-in: username and password → short-lived access token. */
export async function authRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  app.post(
    '/auth/token',
    {
      schema: {
        body: Type.Object({ username: Type.String({ minLength: 1, maxLength: 200 }), password: Type.String({ minLength: 1, maxLength: 1000 }) }),
      },
    },
    async (request) => {
      const { username, password } = request.body as { username: string; password: string };
      const user = await ctx.users.byUsername(username);
      const ok = user && !user.disabled ? await verifyPassword(user.passwordHash, password) : false;
      if (!user || !ok) {
        request.log.warn({ event: 'sign-in-failed' }, 'sign-in failed');
        throw new VigilError('VIGIL_ERR_AUTH_BAD_CREDENTIALS', 'wrong username or password', 401);
      }
      const { token, expiresIn } = await ctx.tokens.issue({
        kind: 'user',
        id: user.id,
        username: user.username,
        roles: user.roles as Role[],
        scopes: [],
        patientId: user.patientId,
        practitionerId: user.practitionerId,
      });
      return { access_token: token, token_type: 'Bearer', expires_in: expiresIn };
    },
  );
}
