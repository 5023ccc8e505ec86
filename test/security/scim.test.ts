import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { adminToken, call, type Harness, putResource, startSecured } from './support.ts';

const core = 'urn:ietf:params:scim:schemas:core:2.0:User';
const enterprise = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const patchOp = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const scimJson = { 'content-type': 'application/scim+json' };

interface ScimUser {
  id: string;
  userName: string;
  active: boolean;
  roles?: Array<{ value: string }>;
  meta: { resourceType: string; location: string };
  [enterprise]?: { employeeNumber?: string };
}

// The exchange an identity provider (Microsoft Entra ID, Okta) has with a SCIM service provider:
// discovery, create, find by filter, group membership, deactivate, delete (RFC 7644).
describe('SCIM 2.0 provisioning of staff by the identity provider', () => {
  let h: Harness;
  let admin: string;
  let token: string;
  let tokenId: string;
  let kim: ScimUser;
  const scim = (method: string, url: string, body?: unknown, t: string | undefined = token) =>
    call(h.vigil, method, url, {
      token: t,
      headers: scimJson,
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
  const account = async (id: string) =>
    (
      await h.vigil.db.query<{
        roles: string[];
        disabled: boolean;
        practitioner_id: string | null;
        tokens_valid_after: unknown;
      }>('select roles, disabled, practitioner_id, tokens_valid_after from app_user where id::text = $1', [
        id,
      ])
    )[0];

  before(async () => {
    h = await startSecured({
      env: {
        VIGIL_SCIM_GROUP_ROLES: 'ICU Clinicians=clinician,Privacy Office=privacy',
        VIGIL_PUBLIC_URL: 'https://vigil.hospital.example',
      },
    });
    admin = await adminToken(h.vigil);
    await putResource(h.vigil, {
      resourceType: 'Practitioner',
      id: 'pr-kim',
      identifier: [{ system: 'urn:hospital:employee', value: 'E-4471' }],
    });
  });
  after(async () => {
    await h?.close();
  });

  it('an administrator makes a SCIM token; without it, or with a person’s token, SCIM answers 401', async () => {
    const made = await call(h.vigil, 'POST', '/api/v1/scim/tokens', {
      token: admin,
      body: { name: 'Entra ID' },
    });
    assert.equal(made.status, 201, made.body);
    token = made.json().token as string;
    tokenId = made.json().id as string;
    assert.match(token, /^vscim_[\w-]{40,}$/);
    const listed = await call(h.vigil, 'GET', '/api/v1/scim/tokens', { token: admin });
    assert.ok(!listed.body.includes(token), 'the token is shown once, never listed');
    for (const t of ['', 'vscim_not-a-token', admin]) {
      const r = await scim('GET', '/scim/v2/Users', undefined, t);
      assert.equal(r.status, 401, r.body);
      assert.deepEqual(r.json().schemas, ['urn:ietf:params:scim:api:messages:2.0:Error']);
    }
  });

  it('discovery: ServiceProviderConfig (PATCH and filter on, bulk off), ResourceTypes, Schemas', async () => {
    const spc = await scim('GET', '/scim/v2/ServiceProviderConfig');
    assert.equal(spc.status, 200, spc.body);
    assert.match(String(spc.headers['content-type']), /application\/scim\+json/);
    const j = spc.json() as {
      patch: { supported: boolean };
      filter: { supported: boolean };
      bulk: { supported: boolean };
    };
    assert.equal(j.patch.supported, true);
    assert.equal(j.filter.supported, true);
    assert.equal(j.bulk.supported, false);
    const types = await scim('GET', '/scim/v2/ResourceTypes');
    const names = (types.json().Resources as Array<{ name: string }>).map((r) => r.name).sort();
    assert.deepEqual(names, ['Group', 'User']);
    const schemas = await scim('GET', '/scim/v2/Schemas');
    const ids = (schemas.json().Resources as Array<{ id: string }>).map((r) => r.id);
    assert.ok(ids.includes(core) && ids.includes(enterprise), ids.join(' '));
  });

  it('creates a person with their role and Practitioner (from the employee number); refuses a duplicate and a patient role', async () => {
    const r = await scim('POST', '/scim/v2/Users', {
      schemas: [core, enterprise],
      userName: 'kim.lee@hospital.example',
      externalId: 'entra-0001',
      name: { givenName: 'Kim', familyName: 'Lee' },
      active: true,
      roles: [{ value: 'nurse' }],
      [enterprise]: { employeeNumber: 'E-4471' },
    });
    assert.equal(r.status, 201, r.body);
    kim = r.json() as unknown as ScimUser;
    assert.equal(kim.userName, 'kim.lee@hospital.example');
    assert.equal(kim.meta.resourceType, 'User');
    assert.equal(kim.meta.location, `https://vigil.hospital.example/scim/v2/Users/${kim.id}`);
    const acct = await account(kim.id);
    assert.deepEqual(acct?.roles, ['nurse']);
    assert.equal(acct?.practitioner_id, 'pr-kim', 'linked by the Practitioner identifier');
    assert.equal(acct?.disabled, false);

    const dup = await scim('POST', '/scim/v2/Users', {
      schemas: [core],
      userName: 'kim.lee@hospital.example',
    });
    assert.equal(dup.status, 409, dup.body);
    assert.equal(dup.json().scimType, 'uniqueness');
    const local = await scim('POST', '/scim/v2/Users', { schemas: [core], userName: 'admin' });
    assert.equal(local.status, 409, 'a local account is not taken over');
    const patient = await scim('POST', '/scim/v2/Users', {
      schemas: [core],
      userName: 'pat@hospital.example',
      roles: [{ value: 'patient' }],
    });
    assert.equal(patient.status, 400, patient.body);
    assert.equal(patient.json().scimType, 'invalidValue');
    const noName = await scim('POST', '/scim/v2/Users', { schemas: [core], displayName: 'No user name' });
    assert.equal(noName.status, 400, noName.body);
    const broken = await scim('POST', '/scim/v2/Users', '{"schemas": [');
    assert.equal(broken.status, 400, broken.body);
  });

  it('finds by filter as IdPs do; local accounts are not visible to SCIM', async () => {
    const f = await scim(
      'GET',
      `/scim/v2/Users?filter=${encodeURIComponent('userName eq "kim.lee@hospital.example"')}`,
    );
    assert.equal(f.status, 200, f.body);
    assert.equal(f.json().totalResults, 1);
    assert.equal((f.json().Resources as ScimUser[])[0]?.id, kim.id);
    const admins = await scim('GET', `/scim/v2/Users?filter=${encodeURIComponent('userName eq "admin"')}`);
    assert.equal(admins.json().totalResults, 0);
    const bad = await scim('GET', `/scim/v2/Users?filter=${encodeURIComponent('userName zz "x"')}`);
    assert.equal(bad.status, 400, bad.body);
    const missing = await scim('GET', '/scim/v2/Users/01900000-0000-7000-8000-00000000dead');
    assert.equal(missing.status, 404, missing.body);
  });

  it('a mapped group gives its members a role; removing a member (PATCH) takes it away and ends their sessions', async () => {
    const g = await scim('POST', '/scim/v2/Groups', {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'],
      displayName: 'ICU Clinicians',
      members: [{ value: kim.id }],
    });
    assert.equal(g.status, 201, g.body);
    const groupId = g.json().id as string;
    assert.deepEqual((await account(kim.id))?.roles, ['clinician', 'nurse']);
    const unknownMember = await scim('POST', '/scim/v2/Groups', {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'],
      displayName: 'Privacy Office',
      members: [{ value: '01900000-0000-7000-8000-00000000beef' }],
    });
    assert.equal(unknownMember.status, 400, unknownMember.body);

    const removed = await scim('PATCH', `/scim/v2/Groups/${groupId}`, {
      schemas: [patchOp],
      Operations: [{ op: 'remove', path: `members[value eq "${kim.id}"]` }],
    });
    assert.ok(removed.status === 200 || removed.status === 204, removed.body);
    const acct = await account(kim.id);
    assert.deepEqual(acct?.roles, ['nurse']);
    assert.ok(acct?.tokens_valid_after, 'a lost role ends the sessions');
  });

  it('deactivation (Entra-style PATCH replace) disables the account; delete hides it; provisioning again revives it', async () => {
    const off = await scim('PATCH', `/scim/v2/Users/${kim.id}`, {
      schemas: [patchOp],
      Operations: [{ op: 'replace', value: { active: false } }],
    });
    assert.equal(off.status, 200, off.body);
    assert.equal((off.json() as unknown as ScimUser).active, false);
    assert.equal((await account(kim.id))?.disabled, true);

    const del = await scim('DELETE', `/scim/v2/Users/${kim.id}`);
    assert.equal(del.status, 204, del.body);
    assert.equal((await scim('GET', `/scim/v2/Users/${kim.id}`)).status, 404);
    assert.equal((await account(kim.id))?.disabled, true, 'the account stays, disabled (audit trail)');
    const again = await scim('POST', '/scim/v2/Users', {
      schemas: [core],
      userName: 'kim.lee@hospital.example',
      active: true,
      roles: [{ value: 'nurse' }],
    });
    assert.equal(again.status, 201, again.body);
    assert.equal(again.json().id, kim.id, 'the same account, not a second one');
    assert.equal((await account(kim.id))?.disabled, false);
  });

  it('every change is audited with the SCIM client as agent; a revoked token stops at once', async () => {
    const a = await call(h.vigil, 'GET', '/api/v1/audit?type=110137&limit=50', { token: admin });
    const events = a.json().events as Array<{
      subtype?: Array<{ code: string }>;
      agent: Array<{ who?: { display?: string; identifier?: { value?: string } } }>;
    }>;
    const created = events.filter((e) => e.subtype?.[0]?.code === 'scim-user-created');
    assert.equal(created.length, 2, 'the first creation and the revival');
    assert.equal(created[0]?.agent[0]?.who?.display, 'Entra ID');
    assert.ok(events.some((e) => e.subtype?.[0]?.code === 'scim-user-deleted'));
    assert.ok(events.some((e) => e.subtype?.[0]?.code === 'scim-group-changed'));

    const revoke = await call(h.vigil, 'DELETE', `/api/v1/scim/tokens/${tokenId}`, { token: admin });
    assert.equal(revoke.status, 204, revoke.body);
    assert.equal((await scim('GET', '/scim/v2/Users')).status, 401);
  });
});
