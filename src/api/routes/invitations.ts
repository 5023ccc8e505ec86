import { createHash, randomInt } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import QRCode from 'qrcode';
import { Type } from 'typebox';
import { hashPassword } from '../../auth/passwords.ts';
import type { Principal } from '../../auth/token-service.ts';
import { VigilError } from '../../core/errors.ts';
import { newId } from '../../core/ids.ts';
import { requirePatientAccess, requireRoles } from '../auth-hooks.ts';
import type { ApiContext } from '../context.ts';
import { requestAudit } from '../request-audit.ts';
import { checkPasswordPolicy } from './auth.ts';
import { publicOrigin } from './smart.ts';

// No 0/O, 1/I/L: a code read aloud over the phone or typed from paper is not mistaken.
const alphabet = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';
const codeLength = 10;

export function newInvitationCode(): string {
  let s = '';
  for (let i = 0; i < codeLength; i++) s += alphabet[randomInt(alphabet.length)];
  return s;
}

/** Codes are compared as typed: case, spaces and dashes do not matter. */
export function normaliseCode(raw: string): string {
  return raw.toUpperCase().replace(/[\s-]/g, '');
}

const hashOf = (code: string) => createHash('sha256').update(normaliseCode(code)).digest('hex');

const invalid = () =>
  new VigilError(
    'VIGIL_ERR_AUTH_INVITATION_INVALID',
    'this invitation code is not valid, already used or expired: ask your care team for a new one',
    400,
  );

/**
 * Invitations to the patient app (docs/patient-app.md): the care team creates a one-time code for a
 * patient (a link and a QR code to hand over or print); the patient opens it and chooses a username
 * and password, which creates their own `patient` account for that patient only. Codes are stored
 * hashed, expire (default 7 days), and work once.
 */
export async function invitationRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const { succeeded, failed } = requestAudit(ctx.security.audit);
  const inviters = requireRoles(ctx, ['admin', 'clinician', 'nurse']);
  const PatientId = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });

  app.post(
    '/api/v1/patients/:id/invitations',
    {
      preValidation: [
        inviters,
        requirePatientAccess(ctx, 'write', (r) => (r.params as { id: string }).id, 'Patient'),
      ],
      config: { auditSelf: true },
      schema: {
        params: PatientId,
        body: Type.Optional(
          Type.Object(
            { expiresInHours: Type.Optional(Type.Integer({ minimum: 1, maximum: 720 })) },
            { additionalProperties: false },
          ),
        ),
      },
    },
    async (request, reply) => {
      const { id } = request.params as { id: string };
      const patient = await ctx.db.query(
        `select 1 from fhir_resource where resource_type = 'Patient' and id = $1 and not deleted`,
        [id],
      );
      if (patient.length === 0) throw new VigilError('VIGIL_ERR_API_NOT_FOUND', `no Patient ${id}`, 404);
      const hours = (request.body as { expiresInHours?: number } | undefined)?.expiresInHours ?? 168;
      const code = newInvitationCode();
      const expiresAt = new Date(ctx.clock.now() + hours * 3600_000).toISOString();
      await ctx.db.query(
        `insert into patient_invitation (id, patient_id, code_hash, created_by, expires_at) values ($1, $2, $3, $4, $5)`,
        [newId(), id, hashOf(code), (request.principal as Principal).id, expiresAt],
      );
      const origin = ctx.publicUrl?.replace(/\/$/, '') ?? publicOrigin(request);
      const url = `${origin}/patient/?invite=${code}`;
      await succeeded(
        request,
        { kind: 'user-security', subtype: 'patient-invitation', action: 'C' },
        { patientId: id, entities: [{ type: 'Patient', id }] },
      );
      return reply.status(201).send({
        code: `${code.slice(0, 5)}-${code.slice(5)}`,
        url,
        expiresAt,
        qrSvg: await QRCode.toString(url, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 }),
      });
    },
  );

  const Accept = Type.Object(
    {
      code: Type.String({ minLength: 1, maxLength: 40 }),
      username: Type.String({ minLength: 3, maxLength: 64, pattern: '^[A-Za-z0-9._@-]+$' }),
      password: Type.String({ minLength: 1, maxLength: 1000 }),
      displayName: Type.Optional(Type.String({ maxLength: 200 })),
    },
    { additionalProperties: false },
  );
  app.post(
    '/auth/invitations/accept',
    { config: { auditSelf: true }, schema: { body: Accept } },
    async (request: FastifyRequest, reply) => {
      const b = request.body as { code: string; username: string; password: string; displayName?: string };
      const what = {
        kind: 'user-security' as const,
        subtype: 'patient-invitation-accept',
        action: 'C' as const,
      };
      checkPasswordPolicy(b.password, b.username);
      const passwordHash = await hashPassword(b.password);
      const userId = newId();
      const now = new Date(ctx.clock.now()).toISOString();
      const result = await ctx.db.transaction(async (tx) => {
        // claim the code first: a code works once even when two people race with it
        const [inv] = await tx.query<{ id: string; patient_id: string }>(
          `update patient_invitation set used_at = $2, used_by = $3
            where code_hash = $1 and used_at is null and expires_at > $2 returning id, patient_id`,
          [hashOf(b.code), now, userId],
        );
        if (!inv) return undefined;
        const taken = await tx.query('select 1 from app_user where lower(username) = lower($1)', [
          b.username,
        ]);
        if (taken.length > 0)
          throw new VigilError(
            'VIGIL_ERR_AUTH_USER_EXISTS',
            `username ${b.username} is taken: choose another`,
            409,
          );
        await tx.query(
          `insert into app_user (id, username, password_hash, roles, display_name, patient_id)
           values ($1, $2, $3, $4::jsonb, $5, $6)`,
          [
            userId,
            b.username,
            passwordHash,
            JSON.stringify(['patient']),
            b.displayName ?? null,
            inv.patient_id,
          ],
        );
        return inv;
      });
      if (!result) {
        await failed(request, what, 'invitation code not valid, used or expired');
        throw invalid();
      }
      await succeeded(
        request,
        what,
        { patientId: result.patient_id, entities: [{ type: 'User', id: userId }] },
        { kind: 'user', id: userId, name: b.username, roles: ['patient'] },
      );
      return reply.status(201).send({ username: b.username, patientId: result.patient_id });
    },
  );
}
