import {
  type AuthenticationResponseJSON,
  generateAuthenticationOptions,
  generateRegistrationOptions,
  type RegistrationResponseJSON,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
} from '@simplewebauthn/server';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { AuditAgent } from '../../audit/audit-event.ts';
import type { Principal } from '../../auth/token-service.ts';
import { VigilError } from '../../core/errors.ts';
import { newId } from '../../core/ids.ts';
import { requireRoles } from '../auth-hooks.ts';
import type { ApiContext } from '../context.ts';
import { requestAudit } from '../request-audit.ts';

const challengeTtlMs = 5 * 60_000;

const refused = (why: string) =>
  new VigilError('VIGIL_ERR_AUTH_PASSKEY_INVALID', `passkey not accepted: ${why}`, 401);

/**
 * Passkeys (WebAuthn, `@simplewebauthn/server`): a signed-in person registers one; anyone signs in
 * with one (discoverable credentials: no user name to type). The relying party is VIGIL_PUBLIC_URL's
 * host (else the request's), the expected origin its origin. User verification is required (the
 * device's PIN, fingerprint or face), so a passkey sign-in is multi-factor: it stands in for password
 * + TOTP. Challenges are single use, kept in the database (any worker can finish a ceremony) for
 * 5 minutes. Every registration, removal and sign-in is audited.
 */
export async function passkeyRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const signedIn = requireRoles(ctx, ['admin', 'clinician', 'nurse', 'patient']);
  const { succeeded, failed } = requestAudit(ctx.security.audit);
  const rp = (request: FastifyRequest) => {
    const base = ctx.publicUrl ?? `${request.protocol}://${request.host}`;
    const u = new URL(base);
    return { rpID: u.hostname, origin: u.origin };
  };
  const newChallenge = async (purpose: 'register' | 'sign-in', challenge: string, userId: string | null) => {
    const id = newId();
    await ctx.db.query(`delete from webauthn_challenge where expires_at < $1`, [
      new Date(ctx.clock.now()).toISOString(),
    ]);
    await ctx.db.query(
      `insert into webauthn_challenge (id, user_id, purpose, challenge, expires_at) values ($1, $2, $3, $4, $5)`,
      [id, userId, purpose, challenge, new Date(ctx.clock.now() + challengeTtlMs).toISOString()],
    );
    return id;
  };
  const takeChallenge = async (id: string, purpose: 'register' | 'sign-in') => {
    const [c] = await ctx.db.query<{ challenge: string; user_id: string | null }>(
      `delete from webauthn_challenge where id = $1 and purpose = $2 and expires_at > $3 returning challenge, user_id`,
      [id, purpose, new Date(ctx.clock.now()).toISOString()],
    );
    if (!c) throw refused('the ceremony expired or was already used: start again');
    return c;
  };
  const me = (request: FastifyRequest) => request.principal as Principal;
  const Ceremony = Type.Object(
    { challengeId: Type.String({ format: 'uuid' }), response: Type.Record(Type.String(), Type.Unknown()) },
    { additionalProperties: false },
  );

  app.post('/auth/passkeys/register/options', { preValidation: signedIn }, async (request) => {
    const p = me(request);
    const existing = await ctx.db.query<{ id: string }>('select id from user_passkey where user_id = $1', [
      p.id,
    ]);
    const { rpID } = rp(request);
    const options = await generateRegistrationOptions({
      rpName: 'Vigil',
      rpID,
      userName: p.username ?? p.id,
      userID: new TextEncoder().encode(p.id),
      attestationType: 'none',
      excludeCredentials: existing.map((e) => ({ id: e.id })),
      authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
    });
    return { challengeId: await newChallenge('register', options.challenge, p.id), options };
  });

  app.post(
    '/auth/passkeys/register/verify',
    {
      preValidation: signedIn,
      config: { auditSelf: true },
      schema: {
        body: Type.Object(
          {
            challengeId: Type.String({ format: 'uuid' }),
            response: Type.Record(Type.String(), Type.Unknown()),
            name: Type.Optional(Type.String({ maxLength: 100 })),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (request, reply) => {
      const p = me(request);
      const b = request.body as { challengeId: string; response: unknown; name?: string };
      const c = await takeChallenge(b.challengeId, 'register');
      if (c.user_id !== p.id) throw refused('this ceremony belongs to someone else');
      const { rpID, origin } = rp(request);
      let v: Awaited<ReturnType<typeof verifyRegistrationResponse>>;
      try {
        v = await verifyRegistrationResponse({
          response: b.response as RegistrationResponseJSON,
          expectedChallenge: c.challenge,
          expectedOrigin: origin,
          expectedRPID: rpID,
          requireUserVerification: true,
        });
      } catch (e) {
        throw refused((e as Error).message);
      }
      if (!v.verified) throw refused('the authenticator response did not verify');
      const cred = v.registrationInfo.credential;
      await ctx.db.query(
        `insert into user_passkey (id, user_id, public_key, counter, transports, name) values ($1, $2, $3, $4, $5::jsonb, $6)`,
        [
          cred.id,
          p.id,
          Buffer.from(cred.publicKey).toString('base64url'),
          cred.counter,
          JSON.stringify(cred.transports ?? []),
          b.name ?? null,
        ],
      );
      await succeeded(
        request,
        { kind: 'user-security', subtype: 'passkey-register', action: 'C' },
        { entities: [{ type: 'User', id: p.id }] },
      );
      return reply.status(201).send({ passkey: { id: cred.id, name: b.name ?? null } });
    },
  );

  app.get('/api/v1/me/passkeys', { preValidation: signedIn }, async (request) => ({
    passkeys: await ctx.db.query(
      `select id, name, created_at as "createdAt", last_used_at as "lastUsedAt" from user_passkey
        where user_id = $1 order by created_at`,
      [me(request).id],
    ),
  }));
  app.delete(
    '/api/v1/me/passkeys/:id',
    {
      preValidation: signedIn,
      config: { auditSelf: true },
      schema: { params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 1024 }) }) },
    },
    async (request, reply) => {
      const { id } = request.params as { id: string };
      const rows = await ctx.db.query(
        'delete from user_passkey where id = $1 and user_id = $2 returning id',
        [id, me(request).id],
      );
      if (rows.length === 0) throw new VigilError('VIGIL_ERR_API_NOT_FOUND', 'no such passkey of yours', 404);
      await succeeded(
        request,
        { kind: 'user-security', subtype: 'passkey-remove', action: 'D' },
        { entities: [{ type: 'User', id: me(request).id }] },
      );
      return reply.status(204).send();
    },
  );

  app.post('/auth/passkeys/sign-in/options', async (request) => {
    const { rpID } = rp(request);
    const options = await generateAuthenticationOptions({ rpID, userVerification: 'required' });
    return { challengeId: await newChallenge('sign-in', options.challenge, null), options };
  });

  app.post(
    '/auth/passkeys/sign-in/verify',
    { config: { auditSelf: 'all' }, schema: { body: Ceremony } },
    async (request) => {
      const b = request.body as { challengeId: string; response: AuthenticationResponseJSON };
      const login = { kind: 'authentication' as const, subtype: 'login-passkey', action: 'E' as const };
      const anon: AuditAgent = { kind: 'anonymous', address: request.ip };
      const c = await takeChallenge(b.challengeId, 'sign-in');
      const [key] = await ctx.db.query<{
        id: string;
        user_id: string;
        public_key: string;
        counter: string;
        transports: string[] | null;
      }>('select id, user_id, public_key, counter, transports from user_passkey where id = $1', [
        String(b.response?.id ?? ''),
      ]);
      if (!key) {
        await failed(request, login, 'unknown passkey', anon);
        throw refused('this passkey is not registered here');
      }
      const user = await ctx.users.byId(key.user_id);
      const agent: AuditAgent = { kind: 'user', id: key.user_id, name: user?.username, address: request.ip };
      const { rpID, origin } = rp(request);
      let v: Awaited<ReturnType<typeof verifyAuthenticationResponse>>;
      try {
        v = await verifyAuthenticationResponse({
          response: b.response,
          expectedChallenge: c.challenge,
          expectedOrigin: origin,
          expectedRPID: rpID,
          credential: {
            id: key.id,
            publicKey: Buffer.from(key.public_key, 'base64url'),
            counter: Number(key.counter),
            transports: (key.transports ?? undefined) as never,
          },
          requireUserVerification: true,
        });
      } catch (e) {
        await failed(request, login, 'passkey signature did not verify', agent);
        throw refused((e as Error).message);
      }
      if (!v.verified || !user || user.disabled) {
        await failed(request, login, user?.disabled ? 'account disabled' : 'passkey not verified', agent);
        throw refused(
          user?.disabled ? 'the account is disabled' : 'the authenticator response did not verify',
        );
      }
      await ctx.db.query('update user_passkey set counter = $2, last_used_at = $3 where id = $1', [
        key.id,
        v.authenticationInfo.newCounter,
        new Date(ctx.clock.now()).toISOString(),
      ]);
      const pair = await ctx.security.sessions.start(user.id, request.ip);
      await succeeded(
        request,
        login,
        { entities: [{ type: 'Session', id: pair.sessionId }] },
        { ...agent, roles: user.roles, patientId: user.patientId, practitionerId: user.practitionerId },
      );
      const { sessionId: _sid, ...body } = pair;
      return body;
    },
  );
}
