import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { totpCode } from '../../src/auth/totp.ts';
import { openSecret } from '../../src/core/secret-box.ts';
import { migrate } from '../../src/store/migrate.ts';
import { openDatabase } from '../../src/store/open-database.ts';
import { type InProcess, startInProcess } from '../support/in-process.ts';
import { tempDir } from '../support/process.ts';

/**
 * Secrets at rest are sealed under a key outside the database: nothing in the database alone gives
 * away a TOTP seed, a webhook secret or a signing key; the running server still uses them.
 */
describe('secrets at rest', () => {
  const running: InProcess[] = [];
  after(async () => {
    for (const r of running) await r.stop().catch(() => {});
  });
  const start = async (dataDir: string, env: Record<string, string> = {}) => {
    const t = await startInProcess({ dataDir, env });
    running.push(t);
    return t;
  };
  const sealedValues = async (t: InProcess) => ({
    jwt: (
      await t.vigil.db.query<{ value: string }>(`select value from server_key where name = 'jwt-hs256'`)
    )[0]?.value,
    totp: (
      await t.vigil.db.query<{ s: string | null; p: string | null }>(
        `select totp_secret as s, totp_pending_secret as p from app_user where username = 'admin'`,
      )
    )[0],
    webhooks: (await t.vigil.db.query<{ secret: string }>('select secret from webhook_subscription')).map(
      (r) => r.secret,
    ),
  });

  it('embedded: a key file beside the data directory (0600); TOTP, webhook and signing keys sealed; usable after restart', async () => {
    const dir = tempDir();
    let t = await start(dir);
    const keyFile = `${dir}-keys/secrets.key`;
    assert.ok(existsSync(keyFile));
    assert.equal(statSync(keyFile).mode & 0o777, 0o600);
    const admin = await t.token();
    const auth = { authorization: `Bearer ${admin}` };

    const enrol = await t.inject({ method: 'POST', url: '/auth/mfa/totp/enroll', headers: auth });
    assert.equal(enrol.statusCode, 200, enrol.body);
    const seed = (enrol.json() as { secret: string }).secret;
    let v = await sealedValues(t);
    assert.match(v.totp?.p ?? '', /^enc:v1:/);
    assert.ok(!(v.totp?.p ?? '').includes(seed));
    const act = await t.inject({
      method: 'POST',
      url: '/auth/mfa/totp/activate',
      headers: auth,
      payload: { code: totpCode(seed, Date.now()) },
    });
    assert.equal(act.statusCode, 200, act.body);

    const hook = await t.inject({
      method: 'POST',
      url: '/api/v1/alerts/webhooks',
      headers: auth,
      payload: { url: 'https://example.org/hook' },
    });
    assert.equal(hook.statusCode, 201, hook.body);
    const whsec = (hook.json() as { secret: string }).secret;
    v = await sealedValues(t);
    assert.match(v.jwt ?? '', /^enc:v1:/);
    assert.match(v.totp?.s ?? '', /^enc:v1:/);
    assert.equal(v.totp?.p, null);
    assert.deepEqual(
      v.webhooks.map((s) => s.startsWith('enc:v1:')),
      [true],
    );
    assert.ok(!v.webhooks[0]?.includes(whsec));
    // The server opens what it sealed: the webhook secret is the one handed out.
    assert.equal(openSecret(t.vigil.db, v.webhooks[0] as string, 'webhook'), whsec);

    // A restart reads the same key: the token issued before still verifies, TOTP still works.
    await t.stop();
    running.pop();
    t = await start(dir);
    const me = await t.inject({ method: 'GET', url: '/api/v1/alerts/webhooks', headers: auth });
    assert.equal(me.statusCode, 200, me.body);
  });

  it('secrets written before sealing are sealed at start, and still work', async () => {
    const dir = tempDir();
    // A database as an older Vigil left it: signing key and webhook secret in the clear.
    const db = await openDatabase({ dataDir: dir });
    await migrate(db);
    const jwtKey = randomBytes(32).toString('base64');
    await db.query(`insert into server_key (name, value) values ('jwt-hs256', $1)`, [jwtKey]);
    await db.query(
      `insert into webhook_subscription (id, url, secret, description, severities, enabled, expiry_seconds, created_at, updated_at)
       values ('0190a7e2-0000-7000-8000-000000000001', 'https://example.org/h', 'whsec_legacy', null, null, true, 86400, now(), now())`,
    );
    await db.close();
    const t = await start(dir);
    const v = await sealedValues(t);
    assert.match(v.jwt ?? '', /^enc:v1:/);
    assert.equal(openSecret(t.vigil.db, v.jwt as string, 'server_key'), jwtKey);
    assert.equal(openSecret(t.vigil.db, v.webhooks[0] as string, 'webhook'), 'whsec_legacy');
    assert.ok((await t.token()).length > 20, 'tokens are signed with the (now sealed) legacy key');
  });

  it('a different key refuses to start with one coded line, rather than using secrets it cannot open', async () => {
    const dir = tempDir();
    const key = randomBytes(32).toString('base64');
    await (await start(dir, { VIGIL_SECRETS_KEY: key })).stop();
    running.pop();
    await assert.rejects(
      start(dir, { VIGIL_SECRETS_KEY: randomBytes(32).toString('base64') }),
      (e: Error & { code?: string }) => e.code === 'VIGIL_ERR_SECRETS_KEY_MISMATCH',
    );
    await assert.rejects(
      start(dir, { VIGIL_SECRETS_KEY: 'too-short' }),
      (e: Error & { code?: string }) => e.code === 'VIGIL_ERR_CONFIG_INVALID',
    );
  });
});
