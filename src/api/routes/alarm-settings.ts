import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { Principal } from '../../auth/token-service.ts';
import type { AlarmReplayResult, AlarmSettingsService } from '../../pipeline/alarm-settings-service.ts';
import type { AlarmSettingsProposal } from '../../store/alarm-settings-repository.ts';
import type { RoutePlugin } from '../app.ts';
import { requireRoles } from '../auth-hooks.ts';
import type { ApiContext } from '../context.ts';

const Program = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 64, pattern: '^[a-z0-9][a-z0-9-]*$' }),
});
const ProposalParams = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 64, pattern: '^[a-z0-9][a-z0-9-]*$' }),
  pid: Type.String({ minLength: 1, maxLength: 64 }),
});
const Status = Type.Union([
  Type.Literal('proposed'),
  Type.Literal('approved'),
  Type.Literal('rejected'),
  Type.Literal('withdrawn'),
]);

const actor = (request: FastifyRequest) => {
  const p = request.principal as Principal;
  return `${p.kind}:${p.id}`;
};

/**
 * Alarm settings under change control (docs/alarm-settings.md): the settings in force and their
 * versions, proposals, their replay over the program's stored readings, the review by a second
 * clinician (four eyes, enforced by the service). Staff read; clinicians and admins propose and
 * replay; clinicians review. A replay names patients (its removed alerts) only where the caller may
 * read them, and every patient named is audited; every call is audited as an AlarmSettings access.
 */
export function alarmSettingsRoutes(service: AlarmSettingsService): RoutePlugin {
  return async (app: FastifyInstance, ctx: ApiContext) => {
    const staff = requireRoles(ctx, ['admin', 'clinician', 'nurse']);
    const proposers = requireRoles(ctx, ['admin', 'clinician']);
    const reviewers = requireRoles(ctx, ['clinician']);
    const audit = { audit: { entity: 'AlarmSettings' } };

    /** Staff names for `user:<id>` actors (display name, else username), so reviewers see who is who. */
    const nameOf = async (actorId: string | null): Promise<string | null> => {
      if (actorId === null || !actorId.startsWith('user:')) return actorId;
      const u = await ctx.users.byId(actorId.slice('user:'.length));
      return u ? (u.displayName ?? u.username) : actorId;
    };
    const names = async (p: AlarmSettingsProposal) => ({
      proposedByName: await nameOf(p.proposedBy),
      reviewedByName: await nameOf(p.reviewedBy),
    });

    /** The proposal as the caller may see it: removed alerts of unreadable patients counted, not named. */
    const present = async (request: FastifyRequest, p0: AlarmSettingsProposal) => {
      request.auditEntityId = p0.id;
      const p = { ...p0, ...(await names(p0)) };
      const job = service.job(p.id);
      const r = p.replay as unknown as AlarmReplayResult | null;
      if (r === null) return { ...p, replayJob: job ?? null };
      const readable = await ctx.security.policy.readablePatients(request.principal as Principal, 'Flag');
      const shown = r.removed.filter((e) => readable === 'all' || readable.has(e.patientId));
      request.auditPatientIds = [...new Set(shown.map((e) => e.patientId))];
      return {
        ...p,
        replay: { ...r, removed: shown, removedNotShown: r.removed.length - shown.length },
        replayJob: job ?? null,
      };
    };

    app.get(
      '/api/v1/programs/:id/alarm-settings',
      { preValidation: staff, config: audit, schema: { params: Program } },
      async (request) => service.current((request.params as { id: string }).id),
    );

    app.get(
      '/api/v1/programs/:id/alarm-settings/versions',
      {
        preValidation: staff,
        config: audit,
        schema: {
          params: Program,
          querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })) }),
        },
      },
      async (request) => {
        const { id } = request.params as { id: string };
        const { limit } = request.query as { limit?: number };
        const versions = await service.versions(id, limit);
        return {
          program: id,
          versions: await Promise.all(
            versions.map(async (x) => ({ ...x, appliedByName: await nameOf(x.appliedBy) })),
          ),
        };
      },
    );

    app.get(
      '/api/v1/programs/:id/alarm-settings/proposals',
      {
        preValidation: staff,
        config: audit,
        schema: { params: Program, querystring: Type.Object({ status: Type.Optional(Status) }) },
      },
      async (request) => {
        const { id } = request.params as { id: string };
        const { status } = request.query as { status?: AlarmSettingsProposal['status'] };
        // The list carries no replay detail (no patients); open one proposal for it.
        const list = await service.proposals(id, status);
        return {
          program: id,
          proposals: await Promise.all(
            list.map(async ({ replay, ...p }) => ({
              ...p,
              ...(await names({ ...p, replay })),
              replayed: replay !== null,
              replayJob: service.job(p.id) ?? null,
            })),
          ),
        };
      },
    );

    app.post(
      '/api/v1/programs/:id/alarm-settings/proposals',
      {
        preValidation: proposers,
        config: audit,
        schema: {
          params: Program,
          // The changes themselves are validated by the rule kinds (field paths in the error).
          body: Type.Object(
            {
              changes: Type.Object({}, { additionalProperties: true }),
              reason: Type.String({ minLength: 1, maxLength: 1000 }),
            },
            { additionalProperties: false },
          ),
        },
      },
      async (request, reply) => {
        const { id } = request.params as { id: string };
        const b = request.body as { changes: unknown; reason: string };
        const p = await service.propose(id, b.changes, b.reason, actor(request));
        request.auditEntityId = p.id;
        return reply.code(201).send(await present(request, p));
      },
    );

    app.get(
      '/api/v1/programs/:id/alarm-settings/proposals/:pid',
      { preValidation: staff, config: audit, schema: { params: ProposalParams } },
      async (request) => {
        const { id, pid } = request.params as { id: string; pid: string };
        return present(request, await service.proposal(id, pid));
      },
    );

    app.post(
      '/api/v1/programs/:id/alarm-settings/proposals/:pid/replay',
      {
        preValidation: proposers,
        config: audit,
        schema: {
          params: ProposalParams,
          body: Type.Optional(
            Type.Object(
              { days: Type.Optional(Type.Integer({ minimum: 1, maximum: 90, description: 'default 30' })) },
              { additionalProperties: false },
            ),
          ),
        },
      },
      async (request, reply) => {
        const { id, pid } = request.params as { id: string; pid: string };
        const days = (request.body as { days?: number } | undefined)?.days ?? 30;
        request.auditEntityId = pid;
        const { job } = await service.startReplay(id, pid, days, actor(request));
        return reply.code(202).send({ id: pid, replayJob: job });
      },
    );

    app.post(
      '/api/v1/programs/:id/alarm-settings/proposals/:pid/review',
      {
        preValidation: reviewers,
        config: audit,
        schema: {
          params: ProposalParams,
          body: Type.Object(
            {
              decision: Type.Union([Type.Literal('approve'), Type.Literal('reject')]),
              note: Type.String({ minLength: 1, maxLength: 1000 }),
            },
            { additionalProperties: false },
          ),
        },
      },
      async (request) => {
        const { id, pid } = request.params as { id: string; pid: string };
        const b = request.body as { decision: 'approve' | 'reject'; note: string };
        const r = await service.review(id, pid, b.decision, b.note, actor(request));
        request.log.info(
          { program: id, proposal: pid, decision: b.decision, version: r.version?.version },
          'alarm settings reviewed',
        );
        return { proposal: await present(request, r.proposal), version: r.version ?? null };
      },
    );

    app.post(
      '/api/v1/programs/:id/alarm-settings/proposals/:pid/withdraw',
      { preValidation: proposers, config: audit, schema: { params: ProposalParams } },
      async (request) => {
        const { id, pid } = request.params as { id: string; pid: string };
        request.auditEntityId = pid;
        return service.withdraw(id, pid, actor(request));
      },
    );
  };
}
