import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import {
  type BreakGlassGrant,
  BreakGlassService,
  maxReasonLength,
  type ReviewOutcome,
  reviewOutcomes,
} from '../../auth/break-glass.ts';
import type { Principal } from '../../auth/token-service.ts';
import { VigilError } from '../../core/errors.ts';
import { requireRoles } from '../auth-hooks.ts';
import type { ApiContext } from '../context.ts';
import { requestAudit } from '../request-audit.ts';

const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);
const Id = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });

export const BreakGlassGrantSchema = Type.Object(
  {
    id: Type.String(),
    userId: Type.String(),
    practitionerId: Type.String(),
    patientId: Type.String(),
    reason: Type.String({ description: 'why the holder needed the record, in their words' }),
    grantedAt: Type.String({ format: 'date-time' }),
    expiresAt: Type.String({ format: 'date-time' }),
    endedAt: Nullable(Type.String({ format: 'date-time' })),
    endedBy: Nullable(Type.String()),
    status: Type.Union([Type.Literal('active'), Type.Literal('expired'), Type.Literal('ended')]),
    notifiedAt: Nullable(
      Type.String({ format: 'date-time', description: 'the privacy officers were e-mailed' }),
    ),
    noticeError: Nullable(Type.String()),
    reviewedAt: Nullable(Type.String({ format: 'date-time' })),
    reviewedBy: Nullable(Type.String()),
    reviewOutcome: Type.Union([...reviewOutcomes.map((o) => Type.Literal(o)), Type.Null()]),
    reviewNote: Nullable(Type.String()),
  },
  { additionalProperties: false },
);

const reviewers = ['admin', 'privacy'] as const;
const isReviewer = (p: Principal | undefined) =>
  !!p && p.roles.some((r) => (reviewers as readonly string[]).includes(r));

/**
 * Break-glass access (docs/break-glass.md):
 * - POST /api/v1/break-glass — a clinician or nurse opens a patient's record outside their care
 *   teams, with a reason, for a limited time;
 * - GET /api/v1/break-glass — one's own grants; privacy officers and admins see all (the review
 *   queue: `?status=unreviewed`);
 * - POST /api/v1/break-glass/:id/end — the holder (or a reviewer) ends it early;
 * - GET /api/v1/break-glass/:id/accesses — what the holder did with the patient's data meanwhile;
 * - POST /api/v1/break-glass/:id/review — a privacy officer records their judgement.
 */
export async function breakGlassRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const sec = ctx.security;
  const bg = sec.breakGlass;
  const { record: audit } = requestAudit(sec.audit);
  const openers = requireRoles(ctx, ['clinician', 'nurse']);
  const anyStaff = requireRoles(ctx, ['admin', 'clinician', 'nurse', 'privacy']);
  const reviewer = requireRoles(ctx, [...reviewers]);
  sec.patientData.erasureSteps.push(BreakGlassService.erase);

  /** The grant, if the caller may see it: its holder or a reviewer; else 404 (no probing of ids). */
  const visible = async (request: FastifyRequest): Promise<BreakGlassGrant> => {
    const { id } = request.params as { id: string };
    const g = await bg.get(id);
    const p = request.principal;
    if (!g || !(isReviewer(p) || g.userId === p?.id))
      throw new VigilError('VIGIL_ERR_API_NOT_FOUND', `no break-glass grant ${id}`, 404);
    return g;
  };

  app.post(
    '/api/v1/break-glass',
    {
      preValidation: openers,
      config: { auditSelf: true },
      schema: {
        body: Type.Object(
          {
            patientId: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9\\-.]{1,64}$' }),
            reason: Type.String({ minLength: 1, maxLength: maxReasonLength }),
            minutes: Type.Optional(Type.Integer({ minimum: 1, maximum: 720 })),
          },
          { additionalProperties: false },
        ),
        response: { 201: BreakGlassGrantSchema },
      },
    },
    async (request, reply) => {
      const p = request.principal as Principal;
      const b = request.body as { patientId: string; reason: string; minutes?: number };
      if (!p.practitionerId)
        throw new VigilError(
          'VIGIL_ERR_AUTH_NOT_IN_CARE_TEAM',
          'your account is not linked to a practitioner: ask an administrator',
          403,
        );
      if (!(await sec.patientData.exists(b.patientId)))
        throw new VigilError('VIGIL_ERR_API_NOT_FOUND', `no patient ${b.patientId}`, 404);
      if ((await sec.careTeams.patientsOf(p.practitionerId)).has(b.patientId))
        throw new VigilError(
          'VIGIL_ERR_BREAK_GLASS_NOT_NEEDED',
          'you already have access to this patient (care team or a grant in force)',
          409,
        );
      const g = await bg.grant({
        userId: p.id,
        practitionerId: p.practitionerId,
        patientId: b.patientId,
        reason: b.reason,
        minutes: b.minutes,
      });
      await audit(request, {
        kind: 'security-alert',
        subtype: 'emergency-override-started',
        action: 'E',
        outcome: 'success',
        outcomeDesc: `break-glass access until ${g.expiresAt}`,
        patientId: g.patientId,
        entities: [{ type: 'BreakGlassGrant', id: g.id }],
      });
      return reply.code(201).send(g);
    },
  );

  app.get(
    '/api/v1/break-glass',
    {
      preValidation: anyStaff,
      // each patient a listed grant names is recorded (the reasons describe them)
      config: { audit: { entity: 'BreakGlassGrant', subtype: 'search', action: 'R' } },
      schema: {
        querystring: Type.Object({
          status: Type.Optional(
            Type.Union(['active', 'expired', 'ended', 'unreviewed'].map((s) => Type.Literal(s))),
          ),
          patientId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
        }),
        response: { 200: Type.Object({ grants: Type.Array(BreakGlassGrantSchema) }) },
      },
    },
    async (request) => {
      const q = request.query as {
        status?: 'active' | 'expired' | 'ended' | 'unreviewed';
        patientId?: string;
        limit?: number;
      };
      const p = request.principal;
      const grants = await bg.list({ ...q, userId: isReviewer(p) ? undefined : p?.id });
      request.auditPatientIds = [...new Set(grants.map((g) => g.patientId))];
      return { grants };
    },
  );

  app.post(
    '/api/v1/break-glass/:id/end',
    {
      preValidation: anyStaff,
      config: { auditSelf: true },
      schema: { params: Id, response: { 200: BreakGlassGrantSchema } },
    },
    async (request) => {
      const g = await visible(request);
      const ended = await bg.end(g.id, (request.principal as Principal).id);
      await audit(request, {
        kind: 'security-alert',
        subtype: 'emergency-override-stopped',
        action: 'E',
        outcome: 'success',
        outcomeDesc: 'break-glass access ended before it expired',
        patientId: ended.patientId,
        entities: [{ type: 'BreakGlassGrant', id: ended.id }],
      });
      return ended;
    },
  );

  app.get(
    '/api/v1/break-glass/:id/accesses',
    {
      preValidation: reviewer,
      config: { auditSelf: true },
      schema: { params: Id },
    },
    async (request) => {
      const g = await visible(request);
      const until = g.endedAt ?? g.expiresAt;
      const records = await sec.audit.search({
        agent: g.userId,
        patient: g.patientId,
        since: g.grantedAt,
        until,
        limit: 1000,
      });
      await audit(request, {
        kind: 'audit-log-used',
        subtype: 'search',
        action: 'R',
        outcome: 'success',
        entities: [{ type: 'BreakGlassGrant', id: g.id }],
      });
      return {
        grant: g,
        accesses: records.map((r) => ({
          seq: r.seq,
          recorded: r.event.recorded,
          subtype: r.event.subtype?.[0]?.display ?? r.event.subtype?.[0]?.code ?? null,
          action: r.event.action,
          outcome: r.event.outcome,
          // what was touched: the resource types and the requests (paths name the patient, who is known)
          entities: (r.event.entity ?? [])
            .filter((e) => e.description !== 'request' && e.role?.code !== '1')
            .map((e) => e.description ?? e.what?.reference ?? '')
            .filter(Boolean),
        })),
      };
    },
  );

  app.post(
    '/api/v1/break-glass/:id/review',
    {
      preValidation: reviewer,
      config: { auditSelf: true },
      schema: {
        params: Id,
        body: Type.Object(
          {
            outcome: Type.Union(reviewOutcomes.map((o) => Type.Literal(o))),
            note: Type.Optional(Type.String({ maxLength: 2000 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: BreakGlassGrantSchema },
      },
    },
    async (request) => {
      const g = await visible(request);
      const b = request.body as { outcome: ReviewOutcome; note?: string };
      const reviewed = await bg.review(g.id, {
        reviewerUserId: (request.principal as Principal).id,
        outcome: b.outcome,
        note: b.note,
      });
      await audit(request, {
        kind: 'security-alert',
        subtype: 'break-glass-review',
        action: 'U',
        outcome: 'success',
        outcomeDesc: `break-glass access reviewed: ${b.outcome}`,
        patientId: reviewed.patientId,
        entities: [{ type: 'BreakGlassGrant', id: reviewed.id }],
      });
      return reviewed;
    },
  );
}
