import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { AuditQuery } from '../../audit/audit-log.ts';
import { type ConsentPurpose, consentPurposes } from '../../consent/consent-service.ts';
import { VigilError } from '../../core/errors.ts';
import { requirePatientAccess, requireRoles } from '../auth-hooks.ts';
import type { ApiContext } from '../context.ts';
import { requestAudit } from '../request-audit.ts';

const PatientParam = Type.Object({ patientId: Type.String({ pattern: '^[A-Za-z0-9.-]{1,64}$' }) });
const Purpose = Type.Union(consentPurposes.map((p) => Type.Literal(p)));
const Time = Type.String({ minLength: 10, maxLength: 40 });
const AuditQuerySchema = Type.Object(
  {
    patient: Type.Optional(Type.String({ maxLength: 64 })),
    agent: Type.Optional(Type.String({ maxLength: 200 })),
    type: Type.Optional(Type.String({ maxLength: 40 })),
    subtype: Type.Optional(Type.String({ maxLength: 64 })),
    action: Type.Optional(Type.Union(['C', 'R', 'U', 'D', 'E'].map((a) => Type.Literal(a)))),
    outcome: Type.Optional(Type.Union(['0', '4', '8', '12'].map((a) => Type.Literal(a)))),
    entityType: Type.Optional(Type.String({ maxLength: 64 })),
    entityId: Type.Optional(Type.String({ maxLength: 200 })),
    since: Type.Optional(Time),
    until: Type.Optional(Time),
    before: Type.Optional(Type.Integer({ minimum: 1 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  },
  { additionalProperties: false },
);

function checkTimes(q: { since?: string; until?: string }): void {
  for (const t of [q.since, q.until]) {
    if (t !== undefined && Number.isNaN(Date.parse(t)))
      throw new VigilError('VIGIL_ERR_API_VALIDATION', 'since/until must be ISO 8601 times', 400);
  }
}

const ndjson = (lines: AsyncIterable<string>) =>
  Readable.from(
    (async function* () {
      for await (const l of lines) yield `${l}\n`;
    })(),
  );

/**
 * Audit log (search, export, verify — administrators), consent per patient, patient export and
 * erasure, retention rules and purge.
 */
export async function governanceRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const sec = ctx.security;
  const admin = requireRoles(ctx, ['admin']);
  // The privacy officer reads the log (break-glass review, access questions) but changes nothing.
  const auditReaders = requireRoles(ctx, ['admin', 'privacy']);
  const { record: audit } = requestAudit(sec.audit);
  const patientOf = (request: FastifyRequest) => (request.params as { patientId: string }).patientId;
  const logUsed = { auditSelf: true };
  /** The audit log read (searched or exported), with the query asked. */
  const logRead = (request: FastifyRequest, subtype: 'search' | 'export') =>
    audit(request, {
      kind: 'audit-log-used',
      subtype,
      action: 'R',
      outcome: 'success',
      entities: [{ type: 'AuditEvent', query: request.url.split('?')[1] }],
    });

  // ── audit log ────────────────────────────────────────────────────────────────────────────────
  app.get(
    '/api/v1/audit',
    { preValidation: auditReaders, config: logUsed, schema: { querystring: AuditQuerySchema } },
    async (request) => {
      const q = request.query as AuditQuery;
      checkTimes(q);
      const records = await sec.audit.search(q);
      await logRead(request, 'search');
      return {
        events: records.map((r) => ({ seq: r.seq, hash: r.hash, ...r.event })),
        next: records.length ? records.at(-1)?.seq : null,
      };
    },
  );

  app.get(
    '/api/v1/audit/export',
    {
      preValidation: auditReaders,
      config: logUsed,
      schema: { querystring: Type.Omit(AuditQuerySchema, ['before', 'limit']) },
    },
    async (request, reply) => {
      const q = request.query as AuditQuery;
      checkTimes(q);
      await logRead(request, 'export');
      const lines = (async function* () {
        for await (const r of sec.audit.export(q))
          yield JSON.stringify({
            ...r.event,
            meta: { tag: [{ system: 'urn:vigil:audit-chain', code: `${r.seq}:${r.hash}` }] },
          });
      })();
      return reply
        .type('application/fhir+ndjson')
        .header('content-disposition', 'attachment; filename="audit.ndjson"')
        .send(ndjson(lines));
    },
  );

  app.get('/api/v1/audit/verify', { preValidation: admin, config: logUsed }, async (request) => {
    const v = await sec.audit.verifyChain();
    await audit(request, {
      kind: 'audit-log-used',
      subtype: 'verify',
      action: 'E',
      outcome: v.ok ? 'success' : 'serious',
      outcomeDesc: v.ok
        ? `${v.checked} records verified`
        : `chain broken at ${v.broken?.seq}: ${v.broken?.reason}`,
    });
    return v;
  });

  // ── consent ──────────────────────────────────────────────────────────────────────────────────
  app.get(
    '/api/v1/patients/:patientId/consents',
    {
      preValidation: requirePatientAccess(ctx, 'read', patientOf, 'Consent'),
      config: { audit: { entity: 'Consent', subtype: 'search-type' } },
      schema: { params: PatientParam },
    },
    async (request) => {
      const patientId = patientOf(request);
      const decisions = Object.fromEntries(
        await Promise.all(
          consentPurposes.map(async (p) => [p, await sec.consent.decide(patientId, p)] as const),
        ),
      );
      return { consents: await sec.consent.list(patientId), decisions };
    },
  );

  // Give or refuse consent: administrators, or the patient for their own record.
  const consentWriter = async (request: FastifyRequest) => {
    const p = request.principal;
    const patientId = patientOf(request);
    request.auditPatientId = patientId;
    const own = p?.roles.includes('patient') && p.patientId === patientId;
    if (!p?.roles.includes('admin') && !own) {
      throw new VigilError(
        'VIGIL_ERR_AUTH_FORBIDDEN',
        'only the patient or an administrator records consent',
        403,
      );
    }
  };
  const signedInAny = requireRoles(ctx, ['admin', 'patient', 'clinician', 'nurse', 'integration']);
  app.post(
    '/api/v1/patients/:patientId/consents',
    {
      preValidation: [signedInAny, consentWriter],
      config: { auditSelf: true },
      schema: {
        params: PatientParam,
        body: Type.Object(
          {
            purpose: Purpose,
            decision: Type.Union([Type.Literal('permit'), Type.Literal('deny')]),
            end: Type.Optional(Time),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (request, reply) => {
      const patientId = patientOf(request);
      const b = request.body as { purpose: ConsentPurpose; decision: 'permit' | 'deny'; end?: string };
      if (b.end !== undefined && Number.isNaN(Date.parse(b.end)))
        throw new VigilError('VIGIL_ERR_API_VALIDATION', 'end must be an ISO 8601 time', 400);
      const p = request.principal!;
      const performer =
        p.patientId === patientId
          ? `Patient/${patientId}`
          : p.practitionerId
            ? `Practitioner/${p.practitionerId}`
            : undefined;
      const r = await sec.consent.record(patientId, b.purpose, b.decision, { performer, end: b.end });
      await audit(request, {
        kind: 'patient-record',
        subtype: b.decision === 'permit' ? 'consent-given' : 'consent-revoked',
        action: 'C',
        outcome: 'success',
        outcomeDesc: `${b.purpose}: ${b.decision}`,
        patientId,
        entities: [
          { type: 'Consent', id: r.consent.id },
          ...r.superseded.map((id) => ({ type: 'Consent', id, description: 'superseded' })),
        ],
      });
      return reply.status(201).send({ consent: r.consent, superseded: r.superseded });
    },
  );

  // ── export and erasure ───────────────────────────────────────────────────────────────────────
  app.get(
    '/api/v1/patients/:patientId/export',
    {
      preValidation: requirePatientAccess(ctx, 'read', patientOf, '*'),
      config: { audit: { entity: 'Patient', action: 'E', subtype: 'export', patientParam: 'patientId' } },
      schema: { params: PatientParam },
    },
    async (request, reply) => {
      const patientId = patientOf(request);
      const p = request.principal!;
      if (p.roles.includes('clinician') || p.roles.includes('nurse')) {
        throw new VigilError(
          'VIGIL_ERR_AUTH_FORBIDDEN',
          'a full export is for the patient, an administrator or a consented integration',
          403,
        );
      }
      if (!(await sec.patientData.exists(patientId)) && !p.roles.includes('admin')) {
        throw new VigilError('VIGIL_ERR_API_NOT_FOUND', `patient ${patientId} not found`, 404);
      }
      await audit(request, {
        kind: 'export',
        subtype: 'patient-export',
        action: 'E',
        outcome: 'success',
        patientId,
        entities: [{ type: 'Patient', id: patientId }],
      });
      return reply
        .type('application/fhir+ndjson')
        .header('content-disposition', `attachment; filename="patient-${patientId}.ndjson"`)
        .send(
          ndjson(sec.patientData.exportNdjson(patientId, { includeAudit: !p.roles.includes('integration') })),
        );
    },
  );

  app.post(
    '/api/v1/patients/:patientId/erase',
    {
      preValidation: admin,
      config: { auditSelf: true },
      schema: {
        params: PatientParam,
        body: Type.Object({ confirm: Type.String({ maxLength: 64 }) }, { additionalProperties: false }),
      },
    },
    async (request) => {
      const patientId = patientOf(request);
      request.auditPatientId = patientId;
      if ((request.body as { confirm: string }).confirm !== patientId) {
        throw new VigilError('VIGIL_ERR_API_VALIDATION', 'confirm must repeat the patient id', 400);
      }
      const removed = await sec.patientData.erase(patientId, request.principal!.id);
      sec.careTeams.invalidate();
      await audit(request, {
        kind: 'patient-record',
        subtype: 'erasure',
        action: 'D',
        outcome: 'success',
        outcomeDesc: Object.entries(removed)
          .map(([k, v]) => `${k}=${v}`)
          .join(' '),
        patientId,
        entities: [{ type: 'Patient', id: patientId }],
      });
      return { patientId, erased: true, removed };
    },
  );

  // ── retention ────────────────────────────────────────────────────────────────────────────────
  app.get('/api/v1/retention', { preValidation: admin }, async () => ({
    rules: await sec.retention.rules(),
  }));

  app.put(
    '/api/v1/retention/:dataClass',
    {
      preValidation: admin,
      config: { auditSelf: true },
      schema: {
        params: Type.Object({ dataClass: Type.String({ maxLength: 40 }) }),
        body: Type.Object({ days: Type.Union([Type.Integer({ minimum: 1 }), Type.Null()]) }),
      },
    },
    async (request) => {
      const { dataClass } = request.params as { dataClass: string };
      const rule = await sec.retention.setRule(dataClass, (request.body as { days: number | null }).days);
      await audit(request, {
        kind: 'application',
        subtype: 'retention-rule',
        action: 'U',
        outcome: 'success',
        outcomeDesc: `${dataClass}=${rule.days ?? 'keep'}`,
      });
      return rule;
    },
  );

  app.post(
    '/api/v1/retention/purge',
    {
      preValidation: admin,
      config: { auditSelf: true },
      schema: { querystring: Type.Object({ dryRun: Type.Optional(Type.Boolean()) }) },
    },
    async (request) => {
      const dryRun = (request.query as { dryRun?: boolean }).dryRun ?? false;
      const r = await sec.retention.purge(dryRun);
      await audit(request, {
        kind: 'application',
        subtype: dryRun ? 'purge-dry-run' : 'purge',
        action: dryRun ? 'R' : 'D',
        outcome: 'success',
        outcomeDesc: r.classes.map((c) => `${c.dataClass}=${c.count}`).join(' '),
      });
      return r;
    },
  );
}
