import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SignJWT } from 'jose';
import { totpCode } from '../../src/auth/totp.ts';
import { FakeClock } from '../../src/core/clock.ts';
import {
  adminPassword,
  adminToken,
  call,
  createUser,
  type Harness,
  signIn,
  startSecured,
} from './support.ts';

const form = { 'content-type': 'application/x-www-form-urlencoded' };

describe('sign-in, tokens and sessions', () => {
  let h: Harness;
  const clock = new FakeClock(Date.now());
  let admin: string;

  before(async () => {
    h = await startSecured({ clock });
    admin = await adminToken(h.vigil);
  });
  after(async () => h.close());

  const audit = async (q: string) => {
    await h.vigil.ctx.security.audit.flush();
    return (await call(h.vigil, 'GET', `/api/v1/audit?${q}`, { token: admin })).json()['events'] as Array<
      Record<string, unknown>
    >;
  };

  test('brute force: five wrong passwords lock the account, even the right password is then refused; unlock and expiry', async () => {
    const u = await createUser(h.vigil, admin, 'victim', ['nurse'], { practitionerId: 'pr-v' });
    for (let i = 0; i < 5; i++) {
      const r = await call(h.vigil, 'POST', '/auth/token', {
        body: { username: 'victim', password: `guess-${i}-xxxxxxxx` },
      });
      assert.equal(r.status, 401);
      assert.equal((r.json()['error'] as { code: string }).code, 'VIGIL_ERR_AUTH_BAD_CREDENTIALS');
    }
    const locked = await call(h.vigil, 'POST', '/auth/token', {
      body: { username: 'victim', password: u.password },
    });
    assert.equal(locked.status, 423);
    assert.equal((locked.json()['error'] as { code: string }).code, 'VIGIL_ERR_AUTH_LOCKED');
    const lockouts = await audit('subtype=lockout');
    assert.ok(
      lockouts.some((e) => JSON.stringify(e['agent']).includes(u.id)),
      'lockout is audited',
    );
    const failures = await audit('type=110114&outcome=4');
    assert.ok(failures.length >= 6, 'each failure is audited');

    // An unknown username behaves the same (no account enumeration through lockout).
    for (let i = 0; i < 5; i++)
      await call(h.vigil, 'POST', '/auth/token', { body: { username: 'nobody', password: 'x'.repeat(12) } });
    assert.equal(
      (await call(h.vigil, 'POST', '/auth/token', { body: { username: 'nobody', password: 'x'.repeat(12) } }))
        .status,
      423,
    );

    // The lock ends by itself …
    clock.advance(16 * 60_000);
    assert.equal(
      (await call(h.vigil, 'POST', '/auth/token', { body: { username: 'victim', password: u.password } }))
        .status,
      200,
    );
    admin = await adminToken(h.vigil); // the clock moved past the admin token's life
    // … or an administrator lifts it.
    for (let i = 0; i < 5; i++)
      await call(h.vigil, 'POST', '/auth/token', {
        body: { username: 'victim', password: 'wrong-wrong-wrong' },
      });
    assert.equal(
      (await call(h.vigil, 'POST', '/auth/token', { body: { username: 'victim', password: u.password } }))
        .status,
      423,
    );
    assert.equal((await call(h.vigil, 'POST', `/api/v1/users/${u.id}/unlock`, { token: admin })).status, 200);
    assert.equal(
      (await call(h.vigil, 'POST', '/auth/token', { body: { username: 'victim', password: u.password } }))
        .status,
      200,
    );
  });

  test('tokens: expired, tampered, signed with another key, alg none, garbage — all refused', async () => {
    const t = admin;
    assert.equal((await call(h.vigil, 'GET', '/auth/me', { token: t })).status, 200);
    const [header, payload, sig] = t.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    const forged = Buffer.from(
      JSON.stringify({ ...claims, roles: ['admin'], sub: '00000000-0000-7000-8000-000000000000' }),
    ).toString('base64url');
    const cases: Record<string, string> = {
      tampered: `${header}.${forged}.${sig}`,
      'bad signature': `${header}.${payload}.${sig.slice(0, -4)}AAAA`,
      'alg none': `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${payload}.`,
      'wrong key': await new SignJWT(claims)
        .setProtectedHeader({ alg: 'HS256' })
        .sign(new Uint8Array(32).fill(7)),
      garbage: 'not-a-token',
    };
    for (const [name, token] of Object.entries(cases)) {
      const r = await call(h.vigil, 'GET', '/api/v1/users', { token });
      assert.equal(r.status, 401, name);
      assert.equal((r.json()['error'] as { code: string }).code, 'VIGIL_ERR_AUTH_TOKEN_INVALID', name);
    }
    clock.advance(16 * 60_000);
    const expired = await call(h.vigil, 'GET', '/api/v1/users', { token: t });
    assert.equal(expired.status, 401);
    assert.equal((expired.json()['error'] as { code: string }).code, 'VIGIL_ERR_AUTH_TOKEN_EXPIRED');
    admin = await adminToken(h.vigil);
    const refused = await audit('subtype=credential-refused');
    assert.ok(refused.length >= 6, 'refused tokens are audited');
  });

  test('refresh rotates; reuse of an old refresh token revokes the session; revocation endpoint', async () => {
    const first = await signIn(h.vigil, 'admin', adminPassword);
    const r1 = await call(h.vigil, 'POST', '/auth/token', {
      body: { grant_type: 'refresh_token', refresh_token: first.refresh_token },
    });
    assert.equal(r1.status, 200);
    const second = r1.json() as Record<string, string>;
    assert.notEqual(second.refresh_token, first.refresh_token);
    assert.equal((await call(h.vigil, 'GET', '/auth/me', { token: second.access_token })).status, 200);
    // The old refresh token again: theft assumed, the whole session ends.
    const reuse = await call(h.vigil, 'POST', '/auth/token', {
      body: { grant_type: 'refresh_token', refresh_token: first.refresh_token },
    });
    assert.equal(reuse.status, 401);
    assert.equal((await call(h.vigil, 'GET', '/auth/me', { token: second.access_token })).status, 401);
    assert.equal(
      (
        await call(h.vigil, 'POST', '/auth/token', {
          body: { grant_type: 'refresh_token', refresh_token: second.refresh_token },
        })
      ).status,
      401,
    );
    assert.ok((await audit('subtype=refresh-token-reuse')).length >= 1);

    // RFC 7009 revocation of a refresh token ends its session at once; of an access token, that token.
    const s = await signIn(h.vigil, 'admin', adminPassword);
    assert.equal(
      (await call(h.vigil, 'POST', '/auth/revoke', { body: `token=${s.refresh_token}`, headers: form }))
        .status,
      200,
    );
    assert.equal((await call(h.vigil, 'GET', '/auth/me', { token: s.access_token })).status, 401);
    const s2 = await signIn(h.vigil, 'admin', adminPassword);
    assert.equal(
      (await call(h.vigil, 'POST', '/auth/revoke', { body: { token: s2.access_token } })).status,
      200,
    );
    const revoked = await call(h.vigil, 'GET', '/auth/me', { token: s2.access_token });
    assert.equal(revoked.status, 401);
    assert.equal((revoked.json()['error'] as { code: string }).code, 'VIGIL_ERR_AUTH_TOKEN_REVOKED');
    const refreshed = await call(h.vigil, 'POST', '/auth/oauth2/token', {
      body: `grant_type=refresh_token&refresh_token=${s2.refresh_token}`,
      headers: form,
    });
    assert.equal(refreshed.status, 200, 'revoking one access token leaves its session');
  });

  test('sign out everywhere ends every session of the user; sign out ends one', async () => {
    const u = await createUser(h.vigil, admin, 'roamer', ['clinician'], { practitionerId: 'pr-r' });
    const a = await signIn(h.vigil, 'roamer', u.password);
    const b = await signIn(h.vigil, 'roamer', u.password);
    const c = await signIn(h.vigil, 'roamer', u.password);
    assert.equal((await call(h.vigil, 'POST', '/auth/logout', { token: c.access_token })).status, 200);
    assert.equal((await call(h.vigil, 'GET', '/auth/me', { token: c.access_token })).status, 401);
    assert.equal((await call(h.vigil, 'GET', '/auth/me', { token: a.access_token })).status, 200);
    const all = await call(h.vigil, 'POST', '/auth/logout-all', { token: a.access_token });
    assert.equal(all.status, 200);
    assert.equal(all.json()['sessions'], 2);
    for (const s of [a, b]) {
      assert.equal((await call(h.vigil, 'GET', '/auth/me', { token: s.access_token })).status, 401);
      assert.equal(
        (
          await call(h.vigil, 'POST', '/auth/token', {
            body: { grant_type: 'refresh_token', refresh_token: s.refresh_token },
          })
        ).status,
        401,
      );
    }
    // A new sign-in works; disabling the account ends it at once.
    const d = await signIn(h.vigil, 'roamer', u.password);
    assert.equal(
      (await call(h.vigil, 'PATCH', `/api/v1/users/${u.id}`, { token: admin, body: { disabled: true } }))
        .status,
      200,
    );
    assert.equal((await call(h.vigil, 'GET', '/auth/me', { token: d.access_token })).status, 401);
    assert.equal(
      (await call(h.vigil, 'POST', '/auth/token', { body: { username: 'roamer', password: u.password } }))
        .status,
      401,
    );
  });

  test('a role change takes effect on the next request, not at the next sign-in', async () => {
    const u = await createUser(h.vigil, admin, 'promoted', ['admin']);
    const t = (await signIn(h.vigil, 'promoted', u.password)).access_token as string;
    assert.equal((await call(h.vigil, 'GET', '/api/v1/users', { token: t })).status, 200);
    await call(h.vigil, 'PATCH', `/api/v1/users/${u.id}`, {
      token: admin,
      body: { roles: ['nurse'], practitionerId: 'pr-p' },
    });
    assert.equal((await call(h.vigil, 'GET', '/api/v1/users', { token: t })).status, 403);
    assert.ok((await audit('subtype=roles-change')).length >= 1);
  });

  test('TOTP: enrol, activate, required at sign-in, codes single-use; policy forces enrolment for a role', async () => {
    const u = await createUser(h.vigil, admin, 'careful', ['clinician'], { practitionerId: 'pr-c' });
    const t = (await signIn(h.vigil, 'careful', u.password)).access_token as string;
    const enrol = await call(h.vigil, 'POST', '/auth/mfa/totp/enroll', { token: t });
    assert.equal(enrol.status, 200);
    const secret = enrol.json()['secret'] as string;
    assert.match(enrol.json()['otpauth_uri'] as string, /^otpauth:\/\/totp\/Vigil:careful\?/);
    assert.equal(
      (await call(h.vigil, 'POST', '/auth/mfa/totp/activate', { token: t, body: { code: '000000' } })).status,
      401,
    );
    assert.equal(
      (
        await call(h.vigil, 'POST', '/auth/mfa/totp/activate', {
          token: t,
          body: { code: totpCode(secret, clock.now()) },
        })
      ).status,
      200,
    );

    const missing = await call(h.vigil, 'POST', '/auth/token', {
      body: { username: 'careful', password: u.password },
    });
    assert.equal(missing.status, 401);
    assert.equal((missing.json()['error'] as { code: string }).code, 'VIGIL_ERR_AUTH_MFA_REQUIRED');
    clock.advance(30_000);
    const code = totpCode(secret, clock.now());
    const wrong = await call(h.vigil, 'POST', '/auth/token', {
      body: { username: 'careful', password: u.password, totp: code === '123456' ? '654321' : '123456' },
    });
    assert.equal(wrong.status, 401);
    assert.equal((wrong.json()['error'] as { code: string }).code, 'VIGIL_ERR_AUTH_MFA_INVALID');
    assert.equal(
      (
        await call(h.vigil, 'POST', '/auth/token', {
          body: { username: 'careful', password: u.password, totp: code },
        })
      ).status,
      200,
    );
    const replay = await call(h.vigil, 'POST', '/auth/token', {
      body: { username: 'careful', password: u.password, totp: code },
    });
    assert.equal(replay.status, 401, 'the same code is not accepted twice');

    // The administrator requires TOTP for nurses: a nurse without it gets only an enrolment token.
    assert.equal(
      (
        await call(h.vigil, 'PUT', '/api/v1/security/mfa-policy', {
          token: admin,
          body: { requiredForRoles: ['nurse'] },
        })
      ).status,
      200,
    );
    const n = await createUser(h.vigil, admin, 'night-nurse', ['nurse'], { practitionerId: 'pr-n' });
    const gate = await call(h.vigil, 'POST', '/auth/token', {
      body: { username: 'night-nurse', password: n.password },
    });
    assert.equal(gate.status, 403);
    const details = gate.json()['error'] as { code: string; details: { enrollmentToken: string } };
    assert.equal(details.code, 'VIGIL_ERR_AUTH_MFA_ENROLLMENT_REQUIRED');
    const et = details.details.enrollmentToken;
    assert.equal(
      (await call(h.vigil, 'GET', '/api/v1/devices', { token: et })).status,
      403,
      'the enrolment token opens nothing else',
    );
    const ne = await call(h.vigil, 'POST', '/auth/mfa/totp/enroll', { token: et });
    assert.equal(ne.status, 200);
    const nsecret = ne.json()['secret'] as string;
    assert.equal(
      (
        await call(h.vigil, 'POST', '/auth/mfa/totp/activate', {
          token: et,
          body: { code: totpCode(nsecret, clock.now()) },
        })
      ).status,
      200,
    );
    clock.advance(30_000);
    const ok = await call(h.vigil, 'POST', '/auth/token', {
      body: { username: 'night-nurse', password: n.password, totp: totpCode(nsecret, clock.now()) },
    });
    assert.equal(ok.status, 200);
    await call(h.vigil, 'PUT', '/api/v1/security/mfa-policy', {
      token: admin,
      body: { requiredForRoles: [] },
    });
  });

  test('integrations: client credentials with SMART scopes; wrong secret, excess scope, revocation, rotation', async () => {
    const reg = await call(h.vigil, 'POST', '/api/v1/integrations', {
      token: admin,
      body: { id: 'analytics', name: 'Analytics', scopes: ['system/Observation.read'] },
    });
    assert.equal(reg.status, 201);
    const secret = reg.json()['client_secret'] as string;
    const basic = (id: string, s: string) => ({
      ...form,
      authorization: `Basic ${Buffer.from(`${id}:${s}`).toString('base64')}`,
    });
    const bad = await call(h.vigil, 'POST', '/auth/oauth2/token', {
      body: 'grant_type=client_credentials',
      headers: basic('analytics', `${secret}x`),
    });
    assert.equal(bad.status, 401);
    assert.equal(bad.json()['error'], 'invalid_client');
    const excess = await call(h.vigil, 'POST', '/auth/oauth2/token', {
      body: 'grant_type=client_credentials&scope=system/*.read',
      headers: basic('analytics', secret),
    });
    assert.equal(excess.status, 400);
    assert.equal(excess.json()['error'], 'invalid_scope');
    const good = await call(h.vigil, 'POST', '/auth/oauth2/token', {
      body: 'grant_type=client_credentials&scope=system/Observation.read',
      headers: basic('analytics', secret),
    });
    assert.equal(good.status, 200);
    assert.equal(good.json()['scope'], 'system/Observation.read');
    assert.equal(good.headers['cache-control'], 'no-store');
    const token = good.json()['access_token'] as string;
    const me = (await call(h.vigil, 'GET', '/auth/me', { token })).json();
    assert.deepEqual(me['roles'], ['integration']);
    assert.equal(
      (await call(h.vigil, 'GET', '/api/v1/users', { token })).status,
      403,
      'integrations administer nothing',
    );
    // Rotation: tokens issued before it stop working (issued-at is in whole seconds: step past it).
    clock.advance(1000);
    const rot = await call(h.vigil, 'POST', '/api/v1/integrations/analytics/rotate', { token: admin });
    assert.equal(rot.status, 200);
    assert.equal((await call(h.vigil, 'GET', '/auth/me', { token })).status, 401);
    clock.advance(1000);
    const fresh = await call(h.vigil, 'POST', '/auth/oauth2/token', {
      body: `grant_type=client_credentials&client_id=analytics&client_secret=${encodeURIComponent(rot.json()['client_secret'] as string)}`,
      headers: form,
    });
    assert.equal(fresh.status, 200);
    const t2 = fresh.json()['access_token'] as string;
    assert.equal((await call(h.vigil, 'GET', '/auth/me', { token: t2 })).status, 200);
    assert.equal(
      (await call(h.vigil, 'POST', '/api/v1/integrations/analytics/revoke', { token: admin })).status,
      200,
    );
    assert.equal(
      (await call(h.vigil, 'GET', '/auth/me', { token: t2 })).status,
      401,
      'revocation is immediate',
    );
    const unsupported = await call(h.vigil, 'POST', '/auth/oauth2/token', {
      body: 'grant_type=implicit',
      headers: form,
    });
    assert.equal(unsupported.json()['error'], 'unsupported_grant_type');
  });

  test('no default password: the admin password comes from VIGIL_ADMIN_PASSWORD, and users get random ones', async () => {
    const u = await createUser(h.vigil, admin, 'randomized', ['nurse'], { practitionerId: 'pr-x' });
    assert.ok(u.password.length >= 20);
    const weak = await call(h.vigil, 'POST', '/api/v1/users', {
      token: admin,
      body: { username: 'weak', roles: ['nurse'], practitionerId: 'p', password: 'short' },
    });
    assert.equal(weak.status, 400);
    const row = (
      await h.vigil.db.query<{ password_hash: string }>(
        `select password_hash from app_user where username = 'randomized'`,
      )
    )[0];
    assert.match(row?.password_hash ?? '', /^\$argon2id\$/);
  });
});

// Its own server: the limiter counts real time, and this test spends the address's allowance.
describe('sign-in rate limit', () => {
  let h: Harness;
  before(async () => {
    h = await startSecured();
  });
  after(async () => h.close());

  test('sign-in is rate limited per address', async () => {
    let limited = false;
    for (let i = 0; i < 320 && !limited; i++) {
      const r = await call(h.vigil, 'POST', '/auth/token', {
        body: { username: 'nobody', password: 'x'.repeat(12) },
      });
      limited = r.status === 429;
      if (limited) assert.equal((r.json()['error'] as { code: string }).code, 'VIGIL_ERR_API_RATE_LIMITED');
    }
    assert.ok(limited, 'sign-in answered 429 after the limit');
  });
});
