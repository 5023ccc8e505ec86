import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { VigilError } from '../../core/errors.ts';
import { requireRoles } from '../auth-hooks.ts';
import type { ApiContext } from '../context.ts';
import { requestAudit } from '../request-audit.ts';

const Method = Type.Union([
  Type.Object(
    {
      kind: Type.Literal('email'),
      address: Type.String({ pattern: '^[^\\s@<>,;]+@[^\\s@<>,;]+\\.[^\\s@<>,;]+$', maxLength: 254 }),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    { kind: Type.Literal('sms'), address: Type.String({ pattern: '^\\+[1-9][0-9]{6,14}$' }) },
    { additionalProperties: false },
  ),
]);

/**
 * A person's contact methods for notifications (administrators): e-mail addresses and SMS numbers
 * (E.164). `PUT` replaces the whole list. Audited as an account change.
 */
export async function contactMethodRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const admin = requireRoles(ctx, ['admin']);
  const { succeeded } = requestAudit(ctx.security.audit);
  const Id = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
  const mustExist = async (id: string) => {
    if (!(await ctx.users.byId(id)))
      throw new VigilError('VIGIL_ERR_AUTH_USER_NOT_FOUND', `no user ${id}`, 404);
  };
  const list = async (id: string) =>
    ctx.db.query<{ kind: string; address: string }>(
      `select kind, address from user_contact_method where user_id = $1 order by kind, created_at, address`,
      [id],
    );

  app.get(
    '/api/v1/users/:id/contact-methods',
    { preValidation: admin, schema: { params: Id } },
    async (request) => {
      const { id } = request.params as { id: string };
      await mustExist(id);
      return { methods: await list(id) };
    },
  );

  app.put(
    '/api/v1/users/:id/contact-methods',
    {
      preValidation: admin,
      config: { auditSelf: true },
      schema: { params: Id, body: Type.Object({ methods: Type.Array(Method, { maxItems: 10 }) }) },
    },
    async (request) => {
      const { id } = request.params as { id: string };
      await mustExist(id);
      const { methods } = request.body as { methods: Array<{ kind: string; address: string }> };
      await ctx.db.transaction(async (tx) => {
        await tx.query('delete from user_contact_method where user_id = $1', [id]);
        for (const m of methods)
          await tx.query(
            'insert into user_contact_method (user_id, kind, address) values ($1, $2, $3) on conflict do nothing',
            [id, m.kind, m.address],
          );
      });
      await succeeded(
        request,
        { kind: 'user-security', subtype: 'contact-methods', action: 'U' },
        { entities: [{ type: 'User', id }] },
      );
      return { methods: await list(id) };
    },
  );
}
