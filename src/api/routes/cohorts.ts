import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { agentOf } from '../../audit/audit-event.ts';
import type { Principal } from '../../auth/token-service.ts';
import { VigilError } from '../../core/errors.ts';
import {
  type CohortEvaluation,
  CohortRepository,
  cohortCsv,
  cohortGroup,
  cohortView,
  defaultBpControl,
  evaluateCohort,
} from '../../program/cohort-data.ts';
import { type CohortDefinition, validateCohortDefinition } from '../../program/cohort-definition.ts';
import { requireRoles } from '../auth-hooks.ts';
import type { ApiContext } from '../context.ts';

const asOfOf = (v: string | undefined, now: number): string => {
  if (v === undefined) return new Date(now).toISOString();
  const t = Date.parse(v);
  if (!/(Z|[+-]\d{2}:\d{2})$/.test(v) || Number.isNaN(t))
    throw new VigilError(
      'VIGIL_ERR_PROGRAM_COHORT_INVALID',
      'asOf must be an ISO 8601 time with Z or an offset',
      400,
      {
        path: 'asOf',
      },
    );
  return new Date(t).toISOString();
};

const page = {
  asOf: Type.Optional(Type.String({ maxLength: 40, description: 'windows end here (default: now)' })),
  offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000 })),
  limit: Type.Optional(
    Type.Integer({ minimum: 1, maximum: 1000, description: 'members named (default 100)' }),
  ),
};

/**
 * Population analytics (docs/populations.md): saved cohorts over programs, conditions, measures
 * and alerts; their evaluation, views (BP control, TIR distribution, monthly trend) and exports
 * (CSV, FHIR Group). Staff; every evaluation counts only the patients the caller may read (care
 * teams; administrators all) and is audited: one record for the evaluation (who, which cohort, how
 * many) and one per patient named in the answer.
 */
export async function cohortRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const staff = requireRoles(ctx, ['admin', 'clinician', 'nurse']);
  const authors = requireRoles(ctx, ['admin', 'clinician']);
  const repo = new CohortRepository(ctx.db);

  const audit = (
    request: FastifyRequest,
    cohortId: string,
    e: { count: number },
    named: string[],
    what: string,
  ) => {
    const agent = agentOf(request.principal, request.ip);
    const entity = { type: 'Group', id: cohortId, description: `cohort ${what}: ${e.count} patients` };
    ctx.security.audit.recordLater({
      kind: 'rest',
      subtype: `cohort-${what}`,
      action: 'E',
      outcome: 'success',
      agent,
      entities: [entity],
      requestId: request.id,
    });
    for (const patientId of named)
      ctx.security.audit.recordLater({
        kind: 'rest',
        subtype: `cohort-${what}`,
        action: 'R',
        outcome: 'success',
        agent,
        patientId,
        entities: [entity],
        requestId: request.id,
      });
  };

  const evaluate = async (
    request: FastifyRequest,
    def: CohortDefinition,
    q: { asOf?: string; offset?: number; limit?: number | 'all' },
  ): Promise<CohortEvaluation> => {
    const readable = await ctx.security.policy.readablePatients(request.principal as Principal, 'Patient');
    return evaluateCohort(ctx.db, def, {
      asOf: asOfOf(q.asOf, ctx.clock.now()),
      readable,
      offset: q.offset ?? 0,
      limit: q.limit ?? 100,
    });
  };

  app.get('/api/v1/cohorts', { preValidation: staff }, async () => ({ cohorts: await repo.list() }));

  app.post(
    '/api/v1/cohorts',
    {
      preValidation: authors,
      schema: {
        body: Type.Object({
          name: Type.String({ minLength: 1, maxLength: 200 }),
          description: Type.Optional(Type.String({ maxLength: 2000 })),
          definition: Type.Unknown({ description: 'criteria combined with AND (docs/populations.md)' }),
        }),
      },
    },
    async (request, reply) => {
      const b = request.body as { name: string; description?: string; definition: unknown };
      const p = request.principal as Principal;
      const c = await repo.create(b, p.username ?? p.id, ctx.clock.now());
      return reply.code(201).send(c);
    },
  );

  app.get('/api/v1/cohorts/:id', { preValidation: staff }, async (request) =>
    repo.get((request.params as { id: string }).id),
  );

  app.delete('/api/v1/cohorts/:id', { preValidation: authors }, async (request, reply) => {
    const id = (request.params as { id: string }).id;
    const c = await repo.get(id);
    const p = request.principal as Principal;
    if (!p.roles.includes('admin') && c.createdBy !== (p.username ?? p.id))
      throw new VigilError(
        'VIGIL_ERR_AUTH_FORBIDDEN',
        'only its author or an administrator deletes a cohort',
        403,
      );
    await repo.delete(id);
    return reply.code(204).send();
  });

  // an unsaved definition (the builder's preview)
  app.post(
    '/api/v1/cohorts/evaluate',
    {
      preValidation: staff,
      config: { auditSelf: true },
      schema: { body: Type.Object({ definition: Type.Unknown(), ...page }) },
    },
    async (request) => {
      const b = request.body as { definition: unknown; asOf?: string; offset?: number; limit?: number };
      const def = validateCohortDefinition(b.definition);
      const e = await evaluate(request, def, b);
      audit(
        request,
        'unsaved',
        e,
        e.members.map((m) => m.patientId),
        'evaluate',
      );
      return e;
    },
  );

  app.post(
    '/api/v1/cohorts/:id/evaluate',
    {
      preValidation: staff,
      config: { auditSelf: true },
      schema: { body: Type.Optional(Type.Object(page)) },
    },
    async (request) => {
      const c = await repo.get((request.params as { id: string }).id);
      const e = await evaluate(request, c.definition, (request.body ?? {}) as { asOf?: string });
      audit(
        request,
        c.id,
        e,
        e.members.map((m) => m.patientId),
        'evaluate',
      );
      return { cohort: { id: c.id, name: c.name }, ...e };
    },
  );

  app.get(
    '/api/v1/cohorts/:id/view',
    {
      preValidation: staff,
      config: { auditSelf: true },
      schema: {
        querystring: Type.Object({
          asOf: page.asOf,
          months: Type.Optional(
            Type.Integer({ minimum: 1, maximum: 24, description: 'trend months (default 6)' }),
          ),
          systolicBelow: Type.Optional(Type.Number({ minimum: 60, maximum: 250 })),
          diastolicBelow: Type.Optional(Type.Number({ minimum: 30, maximum: 150 })),
          bpDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 366 })),
        }),
      },
    },
    async (request) => {
      const c = await repo.get((request.params as { id: string }).id);
      const q = request.query as {
        asOf?: string;
        months?: number;
        systolicBelow?: number;
        diastolicBelow?: number;
        bpDays?: number;
      };
      const readable = await ctx.security.policy.readablePatients(request.principal as Principal, 'Patient');
      const v = await cohortView(ctx.db, c.definition, {
        asOf: asOfOf(q.asOf, ctx.clock.now()),
        readable,
        months: q.months ?? 6,
        bp: {
          systolicBelow: q.systolicBelow ?? defaultBpControl.systolicBelow,
          diastolicBelow: q.diastolicBelow ?? defaultBpControl.diastolicBelow,
          days: q.bpDays ?? defaultBpControl.days,
        },
      });
      // aggregates only: no patient is named
      audit(request, c.id, { count: v.members }, [], 'view');
      return { cohort: { id: c.id, name: c.name }, ...v };
    },
  );

  app.get(
    '/api/v1/cohorts/:id/export',
    {
      preValidation: staff,
      config: { auditSelf: true },
      schema: {
        querystring: Type.Object({
          asOf: page.asOf,
          format: Type.Optional(Type.Union([Type.Literal('csv'), Type.Literal('fhir')])),
        }),
      },
    },
    async (request, reply) => {
      const c = await repo.get((request.params as { id: string }).id);
      const q = request.query as { asOf?: string; format?: 'csv' | 'fhir' };
      const e = await evaluate(request, c.definition, { ...(q.asOf ? { asOf: q.asOf } : {}), limit: 'all' });
      audit(
        request,
        c.id,
        e,
        e.members.map((m) => m.patientId),
        'export',
      );
      if (q.format === 'fhir') return reply.type('application/fhir+json').send(cohortGroup(c, e));
      return reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="vigil-cohort-${c.id}.csv"`)
        .send(cohortCsv(e));
    },
  );
}
