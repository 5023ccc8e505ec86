import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import SCIMMY from 'scimmy';
import { Type } from 'typebox';
import type { AuditAgent } from '../../audit/audit-event.ts';
import {
  type ScimDirectory,
  type ScimGroupRecord,
  type ScimUserInput,
  type ScimUserRecord,
  scimRoles,
} from '../../auth/scim-directory.ts';
import { isVigilError, VigilError } from '../../core/errors.ts';
import { requireRoles } from '../auth-hooks.ts';
import type { ApiContext } from '../context.ts';
import { requestAudit } from '../request-audit.ts';

const enterprise = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const scimJson = 'application/scim+json';

interface Ctx {
  dir: ScimDirectory;
  /** What really failed, when it was not the request (the database, a bug): rethrown as is. */
  failure?: unknown;
}

/**
 * Runs a directory call inside a SCIMMY handler. SCIMMY turns any error that is not its own into
 * "404 not found", so the directory's coded refusals become SCIMMY errors (uniqueness, invalid
 * value, not found) and anything else is kept aside for the route to rethrow unchanged.
 */
async function guarded<T>(ctx: Ctx, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (isVigilError(e) && e.code.startsWith('VIGIL_ERR_SCIM_')) {
      const scimType =
        e.code === 'VIGIL_ERR_SCIM_UNIQUENESS'
          ? 'uniqueness'
          : e.code === 'VIGIL_ERR_SCIM_INVALID_VALUE'
            ? 'invalidValue'
            : null;
      throw new SCIMMY.Types.Error(e.status, scimType as string, e.message);
    }
    ctx.failure = e;
    throw new SCIMMY.Types.Error(500, null as unknown as string, 'the request could not be completed');
  }
}

/**
 * SCIMMY keeps its resource declarations in one registry per process; the handlers get the
 * directory of the server answering through `ctx`, so several servers in one process (tests)
 * share the declarations safely.
 */
let declared = false;
function declareOnce(): void {
  if (declared) return;
  declared = true;
  SCIMMY.Config.set({
    documentationUri: 'https://github.com/vigil-health/vigil/blob/main/docs/scim.md',
    patch: true,
    filter: { supported: true, maxResults: 200 },
    bulk: false,
    sort: false,
    etag: false,
    changePassword: false,
    authenticationSchemes: [
      {
        type: 'oauthbearertoken',
        name: 'Bearer token',
        description: 'A SCIM token an administrator made with POST /api/v1/scim/tokens',
      },
    ],
  });
  SCIMMY.Resources.declare(SCIMMY.Resources.User.extend(SCIMMY.Schemas.EnterpriseUser, false))
    .egress(async (resource, ctx: Ctx) => {
      // SCIMMY checks the shape against its schema; its declared types want its own classes
      const id = resource.id;
      if (id) return toScimUser(await guarded(ctx, () => ctx.dir.getUser(id))) as never;
      const all = (await guarded(ctx, () => ctx.dir.listUsers())).map(toScimUser);
      return (resource.filter ? resource.filter.match(all) : all) as never;
    })
    .ingress(async (resource, instance, ctx: Ctx) => {
      const id = resource.id;
      const input = await guarded(ctx, async () =>
        fromScimUser(instance as unknown as Record<string, unknown>),
      );
      return toScimUser(
        await guarded(ctx, () => (id ? ctx.dir.replaceUser(id, input) : ctx.dir.createUser(input))),
      ) as never;
    })
    .degress(async (resource, ctx: Ctx) => {
      await guarded(ctx, () => ctx.dir.deleteUser(resource.id as string));
    });
  SCIMMY.Resources.declare(SCIMMY.Resources.Group)
    .egress(async (resource, ctx: Ctx) => {
      const id = resource.id;
      if (id) return toScimGroup(await guarded(ctx, () => ctx.dir.getGroup(id))) as never;
      const all = (await guarded(ctx, () => ctx.dir.listGroups())).map(toScimGroup);
      return (resource.filter ? resource.filter.match(all) : all) as never;
    })
    .ingress(async (resource, instance, ctx: Ctx) => {
      const g = instance as unknown as {
        displayName: string;
        externalId?: string;
        members?: Array<{ value: string }>;
      };
      const input = {
        displayName: g.displayName,
        externalId: g.externalId ?? null,
        members: (g.members ?? []).map((m) => m.value),
      };
      const id = resource.id;
      return toScimGroup(
        await guarded(ctx, () => (id ? ctx.dir.replaceGroup(id, input) : ctx.dir.createGroup(input))),
      ) as never;
    })
    .degress(async (resource, ctx: Ctx) => {
      await guarded(ctx, () => ctx.dir.deleteGroup(resource.id as string));
    });
}

function toScimUser(u: ScimUserRecord): Record<string, unknown> {
  return {
    id: u.id,
    userName: u.userName,
    ...(u.externalId ? { externalId: u.externalId } : {}),
    ...(u.displayName ? { displayName: u.displayName, name: { formatted: u.displayName } } : {}),
    active: u.active,
    ...(u.scimRoles.length ? { roles: u.scimRoles.map((value) => ({ value })) } : {}),
    ...(u.practitionerId ? { [enterprise]: { employeeNumber: u.practitionerId } } : {}),
    meta: { created: u.created, lastModified: u.lastModified },
  };
}

function fromScimUser(i: Record<string, unknown>): ScimUserInput {
  const name = i['name'] as { formatted?: string; givenName?: string; familyName?: string } | undefined;
  const display =
    (i['displayName'] as string | undefined) ??
    name?.formatted ??
    ([name?.givenName, name?.familyName].filter(Boolean).join(' ') || null);
  const roles = ((i['roles'] as Array<{ value?: string }> | undefined) ?? [])
    .map((r) => r.value ?? '')
    .filter(Boolean);
  const unknown = roles.filter((r) => !scimRoles.has(r));
  if (unknown.length > 0)
    throw new VigilError(
      'VIGIL_ERR_SCIM_INVALID_VALUE',
      `roles must be staff roles (${[...scimRoles].join(', ')}); not ${unknown.join(', ')}`,
      400,
    );
  const ext = i[enterprise] as { employeeNumber?: string } | undefined;
  return {
    userName: String(i['userName']),
    displayName: display ? display.slice(0, 200) : null,
    active: i['active'] !== false,
    externalId: typeof i['externalId'] === 'string' ? i['externalId'] : null,
    roles,
    employeeNumber: ext?.employeeNumber ?? null,
  };
}

function toScimGroup(g: ScimGroupRecord): Record<string, unknown> {
  return {
    id: g.id,
    displayName: g.displayName,
    ...(g.externalId ? { externalId: g.externalId } : {}),
    members: g.members.map((m) => ({ value: m.value, display: m.display, type: 'User' })),
    meta: { created: g.created, lastModified: g.lastModified },
  };
}

/** An error as SCIM clients read it (RFC 7644 §3.12), whatever raised it. */
function scimError(e: unknown): { status: number; body: Record<string, unknown> } {
  if (isVigilError(e)) {
    const scimType =
      e.code === 'VIGIL_ERR_SCIM_UNIQUENESS'
        ? 'uniqueness'
        : e.code === 'VIGIL_ERR_SCIM_INVALID_VALUE'
          ? 'invalidValue'
          : undefined;
    return {
      status: e.status,
      body: {
        schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'],
        status: String(e.status),
        ...(scimType ? { scimType } : {}),
        detail: e.message,
      },
    };
  }
  if (e instanceof SCIMMY.Types.Error) {
    const m = new SCIMMY.Messages.Error(e) as unknown as Record<string, unknown>;
    return { status: Number(m['status']), body: { ...m } };
  }
  if (e instanceof TypeError) {
    return {
      status: 400,
      body: {
        schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'],
        status: '400',
        scimType: 'invalidValue',
        detail: e.message,
      },
    };
  }
  throw e;
}

/**
 * SCIM 2.0 (RFC 7644) at /scim/v2 for the hospital's identity provider: Users and Groups, with
 * ServiceProviderConfig, ResourceTypes and Schemas. Authenticated by a SCIM bearer token an
 * administrator makes (`/api/v1/scim/tokens`), not by a person's token. Every change is audited
 * as a change of account security, with the token's name as the agent (docs/scim.md).
 */
export async function scimRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  declareOnce();
  const base = `${ctx.publicUrl?.replace(/\/$/, '') ?? ''}/scim/v2`;
  SCIMMY.Resources.User.basepath(base);
  SCIMMY.Resources.Group.basepath(base);
  const dir = ctx.security.scim;
  const sec = ctx.security;
  const { record } = requestAudit(sec.audit);
  const admin = requireRoles(ctx, ['admin']);

  // ── tokens, for administrators ─────────────────────────────────────────────────────────────────
  app.post(
    '/api/v1/scim/tokens',
    {
      preValidation: admin,
      config: { auditSelf: true },
      schema: {
        body: Type.Object(
          { name: Type.String({ minLength: 1, maxLength: 100 }) },
          { additionalProperties: false },
        ),
      },
    },
    async (request, reply) => {
      const t = await dir.createToken((request.body as { name: string }).name);
      await record(request, {
        kind: 'object-security',
        subtype: 'scim-token-created',
        action: 'C',
        outcome: 'success',
        entities: [{ type: 'ScimToken', id: t.id }],
      });
      return reply.code(201).send(t);
    },
  );
  app.get('/api/v1/scim/tokens', { preValidation: admin }, async () => ({ tokens: await dir.listTokens() }));
  app.delete(
    '/api/v1/scim/tokens/:id',
    {
      preValidation: admin,
      config: { auditSelf: true },
      schema: { params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) }) },
    },
    async (request, reply) => {
      const { id } = request.params as { id: string };
      if (!(await dir.revokeToken(id)))
        throw new VigilError('VIGIL_ERR_API_NOT_FOUND', `no SCIM token ${id} in force`, 404);
      await record(request, {
        kind: 'object-security',
        subtype: 'scim-token-revoked',
        action: 'D',
        outcome: 'success',
        entities: [{ type: 'ScimToken', id }],
      });
      return reply.code(204).send();
    },
  );

  // ── the SCIM protocol ──────────────────────────────────────────────────────────────────────────
  await app.register(async (scim) => {
    scim.addContentTypeParser(scimJson, { parseAs: 'string' }, (_req, body, done) => {
      try {
        done(null, body === '' ? undefined : JSON.parse(body as string));
      } catch {
        done(new VigilError('VIGIL_ERR_SCIM_INVALID_SYNTAX', 'the body is not JSON', 400), undefined);
      }
    });
    scim.setErrorHandler((err, _request, reply) => {
      const e =
        (err as { validation?: unknown }).validation || (err as { statusCode?: number }).statusCode === 400
          ? new VigilError('VIGIL_ERR_SCIM_INVALID_SYNTAX', (err as Error).message, 400)
          : err;
      const { status, body } = scimError(e);
      return reply.code(status).type(scimJson).send(body);
    });
    const agents = new WeakMap<FastifyRequest, AuditAgent>();
    scim.addHook('preValidation', async (request) => {
      const h = request.headers.authorization ?? '';
      const client = h.startsWith('Bearer ') ? await dir.authenticate(h.slice(7).trim()) : undefined;
      if (!client)
        throw new VigilError(
          h ? 'VIGIL_ERR_AUTH_TOKEN_INVALID' : 'VIGIL_ERR_AUTH_REQUIRED',
          'a SCIM bearer token is required',
          401,
        );
      agents.set(request, {
        kind: 'integration',
        id: `scim:${client.id}`,
        name: client.name,
        address: request.ip,
      });
    });
    const send = (reply: FastifyReply, status: number, body: unknown) =>
      reply.code(status).type(scimJson).send(body);
    const audited = async (
      request: FastifyRequest,
      action: 'C' | 'U' | 'D',
      type: 'User' | 'Group',
      id: string | undefined,
    ) =>
      record(
        request,
        {
          kind: 'user-security',
          subtype: `scim-${type.toLowerCase()}-${action === 'C' ? 'created' : action === 'U' ? 'changed' : 'deleted'}`,
          action,
          outcome: 'success',
          entities: [{ type: type === 'User' ? 'User' : 'ScimGroup', id }],
        },
        agents.get(request),
      );
    const query = (request: FastifyRequest) => {
      const q = request.query as Record<string, string | undefined>;
      return {
        ...(q['filter'] ? { filter: q['filter'] } : {}),
        ...(q['attributes'] ? { attributes: q['attributes'] } : {}),
        ...(q['excludedAttributes'] ? { excludedAttributes: q['excludedAttributes'] } : {}),
        ...(q['startIndex'] ? { startIndex: Number(q['startIndex']) } : {}),
        ...(q['count'] ? { count: Math.min(Number(q['count']), 200) } : {}),
      };
    };
    /** A SCIMMY call with this request's context; a failure that was not SCIM's is rethrown as is. */
    const run = async (fn: (c: Ctx) => Promise<unknown>): Promise<unknown> => {
      const c: Ctx = { dir };
      try {
        return await fn(c);
      } catch (e) {
        throw c.failure ?? e;
      }
    };
    const resources = { Users: SCIMMY.Resources.User, Groups: SCIMMY.Resources.Group } as const;
    const auditSelf = { auditSelf: true } as const;
    for (const [path, R] of Object.entries(resources)) {
      const type = path === 'Users' ? 'User' : 'Group';
      scim.get(`/scim/v2/${path}`, { config: auditSelf }, async (request, reply) =>
        send(reply, 200, await run((c) => new R(undefined, query(request)).read(c))),
      );
      scim.get(`/scim/v2/${path}/:id`, { config: auditSelf }, async (request, reply) =>
        send(
          reply,
          200,
          await run((c) => new R((request.params as { id: string }).id, query(request)).read(c)),
        ),
      );
      scim.post(`/scim/v2/${path}`, { config: auditSelf }, async (request, reply) => {
        const out = (await run((c) => new R().write(request.body, c))) as unknown as { id: string };
        await audited(request, 'C', type, out.id);
        return send(reply, 201, out);
      });
      scim.put(`/scim/v2/${path}/:id`, { config: auditSelf }, async (request, reply) => {
        const { id } = request.params as { id: string };
        const out = await run((c) => new R(id).write(request.body, c));
        await audited(request, 'U', type, id);
        return send(reply, 200, out);
      });
      scim.patch(`/scim/v2/${path}/:id`, { config: auditSelf }, async (request, reply) => {
        const { id } = request.params as { id: string };
        const out = await run((c) => new R(id).patch(request.body as never, c));
        await audited(request, 'U', type, id);
        return out === undefined ? reply.code(204).send() : send(reply, 200, out);
      });
      scim.delete(`/scim/v2/${path}/:id`, { config: auditSelf }, async (request, reply) => {
        const { id } = request.params as { id: string };
        await run((c) => new R(id).dispose(c));
        await audited(request, 'D', type, id);
        return reply.code(204).send();
      });
    }
    scim.get('/scim/v2/ServiceProviderConfig', async (_request, reply) =>
      send(reply, 200, await new SCIMMY.Resources.ServiceProviderConfig().read()),
    );
    scim.get('/scim/v2/ResourceTypes', async (_request, reply) =>
      send(reply, 200, await new SCIMMY.Resources.ResourceType().read()),
    );
    scim.get('/scim/v2/Schemas', async (_request, reply) =>
      send(reply, 200, await new SCIMMY.Resources.Schema().read()),
    );
  });
}
