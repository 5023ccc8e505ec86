import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import Provider from 'oidc-provider';
import { adminPassword, call, type Harness, putResource, signIn, startSecured } from './support.ts';

/**
 * Staff sign in through the hospital's OpenID Connect provider: a real `oidc-provider` on loopback
 * (its development login and consent pages), Vigil as its client. Roles come from the IdP's groups.
 */

const people: Record<string, { groups: string[]; practitioner?: string; name: string }> = {
  'kim.nurse': { groups: ['staff', 'icu-nurses'], practitioner: 'pr-kim', name: 'Kim Nurse' },
  'dr.lee': { groups: ['cardiology'], name: 'Dr Lee' },
  'pat.visitor': { groups: ['visitors'], name: 'Visitor' },
};

describe('OpenID Connect staff sign-in (oidc-provider on loopback)', () => {
  let idp: Server;
  let issuer: string;
  let h: Harness;

  before(async () => {
    idp = createServer();
    await new Promise<void>((r) => idp.listen(0, '127.0.0.1', r));
    issuer = `http://127.0.0.1:${(idp.address() as AddressInfo).port}`;
    h = await startSecured({
      env: {
        VIGIL_OIDC_ISSUER: issuer,
        VIGIL_OIDC_CLIENT_ID: 'vigil',
        VIGIL_OIDC_CLIENT_SECRET: 'a-test-only-client-secret-for-the-idp',
        VIGIL_OIDC_GROUP_ROLES: 'icu-nurses=nurse,cardiology=clinician,it-admins=admin',
        VIGIL_OIDC_PRACTITIONER_CLAIM: 'practitioner',
      },
    });
    const provider = new Provider(issuer, {
      clients: [
        {
          client_id: 'vigil',
          client_secret: 'a-test-only-client-secret-for-the-idp',
          redirect_uris: [`${h.vigil.httpUrl}/auth/oidc/callback`],
          response_types: ['code'],
          grant_types: ['authorization_code'],
          token_endpoint_auth_method: 'client_secret_basic',
        },
      ],
      async findAccount(_ctx: unknown, id: string) {
        const p = people[id];
        if (!p) return undefined;
        return {
          accountId: id,
          async claims() {
            return {
              sub: id,
              preferred_username: id,
              name: p.name,
              groups: p.groups,
              ...(p.practitioner ? { practitioner: p.practitioner } : {}),
            };
          },
        };
      },
      claims: { openid: ['sub'], profile: ['preferred_username', 'name', 'groups', 'practitioner'] },
      conformIdTokenClaims: false,
      cookies: { keys: ['a-test-only-cookie-signing-key'] },
      features: { devInteractions: { enabled: true } },
    });
    idp.on('request', provider.callback());
    await putResource(h.vigil, { resourceType: 'Patient', id: 'pat-icu' });
    await putResource(h.vigil, {
      resourceType: 'CareTeam',
      id: 'team-icu',
      status: 'active',
      subject: { reference: 'Patient/pat-icu' },
      participant: [{ member: { reference: 'Practitioner/pr-kim' } }],
    });
  });
  after(async () => {
    await h?.close();
    await new Promise((r) => idp?.close(r));
  });

  /** A browser: follows redirects by hand, keeps cookies (per host; ports share cookies, as browsers do). */
  async function browserSignIn(login: string): Promise<{ status: number; html: string }> {
    const jar = new Map<string, string>();
    const send = async (url: string, init: RequestInit = {}) => {
      const cookies = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
      const r = await fetch(url, {
        ...init,
        redirect: 'manual',
        headers: { ...(init.headers as Record<string, string>), ...(cookies ? { cookie: cookies } : {}) },
      });
      for (const c of r.headers.getSetCookie()) {
        const [pair] = c.split(';');
        const i = (pair as string).indexOf('=');
        jar.set((pair as string).slice(0, i), (pair as string).slice(i + 1));
      }
      return r;
    };
    let r = await send(`${h.vigil.httpUrl}/auth/oidc/login`);
    const post = async (action: string, fields: Record<string, string>) =>
      send(new URL(action, issuer).toString(), {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(fields).toString(),
      });
    for (let i = 0; i < 12; i++) {
      if (r.status >= 300 && r.status < 400) {
        r = await send(new URL(r.headers.get('location') as string, r.url || issuer).toString());
        continue;
      }
      const html = await r.text();
      if (!r.url.startsWith(issuer) || !/<form/.test(html)) return { status: r.status, html };
      const action = /action="([^"]+)"/.exec(html)?.[1] as string;
      const prompt = /name="prompt" value="([^"]+)"/.exec(html)?.[1];
      r = await post(
        action,
        prompt === 'login' ? { prompt, login, password: 'any' } : { prompt: prompt ?? 'consent' },
      );
    }
    throw new Error('sign-in did not finish');
  }

  const refreshOf = (html: string) => /data-refresh="([^"]+)"/.exec(html)?.[1] as string;

  test('a nurse signs in at the IdP; the account is provisioned with the role of their group and their practitioner', async () => {
    const r = await browserSignIn('kim.nurse');
    assert.equal(r.status, 200, r.html);
    assert.match(r.html, /Signed in as kim\.nurse/);
    const refresh = refreshOf(r.html);
    assert.match(refresh, /^vgr_/);
    const t = await call(h.vigil, 'POST', '/auth/token', {
      body: { grant_type: 'refresh_token', refresh_token: refresh },
    });
    assert.equal(t.status, 200, t.body);
    const token = t.json()['access_token'] as string;
    const me = await call(h.vigil, 'GET', '/auth/me', { token });
    assert.deepEqual(me.json()['roles'], ['nurse']);
    assert.equal(me.json()['practitionerId'], 'pr-kim');
    assert.equal(me.json()['username'], 'kim.nurse');
    // The role works through the one access policy: the care team's patient, nobody else's.
    assert.equal((await call(h.vigil, 'GET', '/fhir/Patient/pat-icu', { token })).status, 200);
    // Provisioning and the sign-in are audited.
    const admin = (await signIn(h.vigil, 'admin', adminPassword)).access_token as string;
    const audit = await call(h.vigil, 'GET', '/api/v1/audit?subtype=user-create', { token: admin });
    assert.match(audit.body, /provisioned from the identity provider/);
  });

  test('a second sign-in reuses the account and follows group changes', async () => {
    const first = await browserSignIn('dr.lee');
    const me1 = await call(h.vigil, 'GET', '/auth/me', {
      token: (
        await call(h.vigil, 'POST', '/auth/token', {
          body: { grant_type: 'refresh_token', refresh_token: refreshOf(first.html) },
        })
      ).json()['access_token'] as string,
    });
    assert.deepEqual(me1.json()['roles'], ['clinician']);
    people['dr.lee'] = { groups: ['cardiology', 'it-admins'], name: 'Dr Lee' };
    const second = await browserSignIn('dr.lee');
    const me2 = await call(h.vigil, 'GET', '/auth/me', {
      token: (
        await call(h.vigil, 'POST', '/auth/token', {
          body: { grant_type: 'refresh_token', refresh_token: refreshOf(second.html) },
        })
      ).json()['access_token'] as string,
    });
    assert.equal(me2.json()['id'], me1.json()['id'], 'same account');
    assert.deepEqual([...(me2.json()['roles'] as string[])].sort(), ['admin', 'clinician']);
  });

  test('no mapped group, no access; a replayed callback is refused; local accounts are not taken over', async () => {
    const visitor = await browserSignIn('pat.visitor');
    assert.equal(visitor.status, 403);
    assert.match(visitor.html, /No access to Vigil/);
    const replay = await fetch(`${h.vigil.httpUrl}/auth/oidc/callback?state=made-up&code=x`);
    assert.equal(replay.status, 401);
    const admin = (await signIn(h.vigil, 'admin', adminPassword)).access_token as string;
    const local = await call(h.vigil, 'POST', '/api/v1/users', {
      token: admin,
      body: { username: 'it.person', roles: ['clinician'], practitionerId: 'pr-it' },
    });
    assert.equal(local.status, 201, local.body);
    people['it.person'] = { groups: ['it-admins'], name: 'IT' };
    const conflict = await browserSignIn('it.person');
    assert.equal(conflict.status, 409);
    assert.match(conflict.html, /local account/);
    const u = (await call(h.vigil, 'GET', '/api/v1/users', { token: admin })).json() as {
      users: Array<{ username: string; roles: string[] }>;
    };
    assert.deepEqual(u.users.find((x) => x.username === 'it.person')?.roles, ['clinician'], 'unchanged');
  });

  test('an account provisioned over SCIM signs in through the IdP and keeps its SCIM roles, until SCIM deactivates it', async () => {
    const admin = (await signIn(h.vigil, 'admin', adminPassword)).access_token as string;
    const made = await call(h.vigil, 'POST', '/api/v1/scim/tokens', { token: admin, body: { name: 'IdP' } });
    const scim = made.json()['token'] as string;
    const created = await call(h.vigil, 'POST', '/scim/v2/Users', {
      token: scim,
      headers: { 'content-type': 'application/scim+json' },
      body: JSON.stringify({
        schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
        userName: 'sam.scim',
        active: true,
        roles: [{ value: 'nurse' }],
      }),
    });
    assert.equal(created.status, 201, created.body);
    const scimId = created.json()['id'] as string;
    // the IdP's group claim would say clinician; SCIM said nurse, and SCIM decides
    people['sam.scim'] = { groups: ['cardiology'], name: 'Sam' };
    const r = await browserSignIn('sam.scim');
    assert.equal(r.status, 200, r.html);
    const token = (
      await call(h.vigil, 'POST', '/auth/token', {
        body: { grant_type: 'refresh_token', refresh_token: refreshOf(r.html) },
      })
    ).json()['access_token'] as string;
    const me = await call(h.vigil, 'GET', '/auth/me', { token });
    assert.equal(me.json()['id'], scimId, 'the SCIM account, not a second one');
    assert.deepEqual(me.json()['roles'], ['nurse']);
    const off = await call(h.vigil, 'PATCH', `/scim/v2/Users/${scimId}`, {
      token: scim,
      headers: { 'content-type': 'application/scim+json' },
      body: JSON.stringify({
        schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
        Operations: [{ op: 'replace', value: { active: false } }],
      }),
    });
    assert.equal(off.status, 200, off.body);
    assert.equal((await call(h.vigil, 'GET', '/auth/me', { token })).status, 401, 'the session ended');
    const again = await browserSignIn('sam.scim');
    assert.equal(again.status, 403, 'a deactivated account cannot sign in');
  });
});
