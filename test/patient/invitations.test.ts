import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { normaliseCode } from '../../src/api/routes/invitations.ts';
import { type InProcess, insertPatient, startInProcess } from '../support/in-process.ts';

describe('patient app invitations', () => {
  let t: InProcess;
  let admin: string;
  const invite = async (patientId = 'pat-inv', body: unknown = {}) =>
    t.inject({
      method: 'POST',
      url: `/api/v1/patients/${patientId}/invitations`,
      headers: { authorization: `Bearer ${admin}` },
      payload: body as Record<string, unknown>,
    });
  const accept = (payload: Record<string, string>) =>
    t.inject({ method: 'POST', url: '/auth/invitations/accept', payload });

  before(async () => {
    t = await startInProcess({ env: { VIGIL_PUBLIC_URL: 'https://vigil.hospital.example' } });
    admin = await t.token();
    await insertPatient(t.vigil, 'pat-inv');
  });
  after(async () => t?.stop());

  it('a one-time code creates the patient their own account, for their record only', async () => {
    const r = await invite();
    assert.equal(r.statusCode, 201, r.body);
    const inv = r.json() as { code: string; url: string; expiresAt: string; qrSvg: string };
    assert.match(inv.code, /^[A-HJ-NP-Z2-9]{5}-[A-HJ-NP-Z2-9]{5}$/, 'no 0/O/1/I/L');
    assert.equal(inv.url, `https://vigil.hospital.example/patient/?invite=${normaliseCode(inv.code)}`);
    assert.match(inv.qrSvg, /^<svg/);
    assert.ok(Date.parse(inv.expiresAt) - Date.now() > 6 * 86_400_000, 'a week by default');
    const stored = await t.vigil.db.query<{ code_hash: string }>('select code_hash from patient_invitation');
    assert.ok(!stored.some((s) => s.code_hash.includes(normaliseCode(inv.code))), 'stored hashed');

    const weak = await accept({ code: inv.code, username: 'maria.g', password: 'short' });
    assert.equal(weak.statusCode, 400);
    const ok = await accept({
      code: inv.code.toLowerCase(),
      username: 'maria.g',
      password: 'my-own-long-password',
    });
    assert.equal(ok.statusCode, 201, ok.body);
    assert.deepEqual(ok.json(), { username: 'maria.g', patientId: 'pat-inv' });

    const again = await accept({ code: inv.code, username: 'maria.h', password: 'my-own-long-password' });
    assert.equal(again.statusCode, 400, 'a code works once');
    assert.equal(again.json().error.code, 'VIGIL_ERR_AUTH_INVITATION_INVALID');

    const token = await t.inject({
      method: 'POST',
      url: '/auth/token',
      payload: { username: 'maria.g', password: 'my-own-long-password' },
    });
    assert.equal(token.statusCode, 200, token.body);
    const bearer = { authorization: `Bearer ${token.json().accessToken ?? token.json().access_token}` };
    const me = await t.inject({ method: 'GET', url: '/auth/me', headers: bearer });
    assert.deepEqual(me.json().roles, ['patient']);
    const own = await t.inject({ method: 'GET', url: '/fhir/Patient/pat-inv', headers: bearer });
    assert.equal(own.statusCode, 200);
    await insertPatient(t.vigil, 'pat-someone-else');
    const other = await t.inject({ method: 'GET', url: '/fhir/Patient/pat-someone-else', headers: bearer });
    assert.ok([403, 404].includes(other.statusCode), `another patient: ${other.statusCode}`);
  });

  it('refuses an expired code, an unknown code, a taken username (leaving the code usable) and an unknown patient', async () => {
    const expired = (await invite('pat-inv', { expiresInHours: 1 })).json().code as string;
    await t.vigil.db.query(
      `update patient_invitation set expires_at = now() - interval '1 minute' where used_at is null`,
    );
    const r1 = await accept({ code: expired, username: 'late.user', password: 'my-own-long-password' });
    assert.equal(r1.statusCode, 400);
    const r2 = await accept({
      code: 'ABCDE-FGHJK',
      username: 'guess.user',
      password: 'my-own-long-password',
    });
    assert.equal(r2.statusCode, 400);
    assert.equal(r2.json().error.code, 'VIGIL_ERR_AUTH_INVITATION_INVALID');

    const fresh = (await invite()).json().code as string;
    const taken = await accept({ code: fresh, username: 'admin', password: 'my-own-long-password' });
    assert.equal(taken.statusCode, 409);
    const retry = await accept({ code: fresh, username: 'maria.second', password: 'my-own-long-password' });
    assert.equal(retry.statusCode, 201, 'the code was not used up by the refused attempt');

    const unknown = await invite('no-such-patient');
    assert.ok([403, 404].includes(unknown.statusCode), String(unknown.statusCode));
    const bad = await invite('pat-inv', { expiresInHours: 10_000 });
    assert.equal(bad.statusCode, 400);
  });
});
