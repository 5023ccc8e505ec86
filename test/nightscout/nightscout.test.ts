import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { type InProcess, startInProcess } from '../support/in-process.ts';

const corpus = new URL('../../test/corpora/cgm/nightscout/', import.meta.url);
const dexcom = readFileSync(new URL('example-entries-dexcom-2014.json', corpus), 'utf8');
const openaps = JSON.parse(
  readFileSync(new URL('openaps-glucose-zoned-merge-2016.json', corpus), 'utf8'),
) as object[];
const sha1 = (s: string) => createHash('sha1').update(s).digest('hex');

describe('Nightscout API v1 uploads', () => {
  let t: InProcess;
  let secret: string;
  let admin: string;
  const upload = (body: string | object, headers: Record<string, string>, path = 'entries') =>
    t.inject({
      method: 'POST',
      url: `/nightscout/cgm-1/api/v1/${path}`,
      headers: { 'content-type': 'application/json', ...headers },
      payload: typeof body === 'string' ? body : JSON.stringify(body),
    });
  const stored = async () =>
    (
      await t.vigil.db.query<{ n: number }>(
        `select count(*)::int as n from observation where device_id = 'cgm-1'`,
      )
    )[0]?.n;

  before(async () => {
    t = await startInProcess();
    admin = await t.token();
    for (const [id, kind] of [
      ['cgm-1', 'cgm'],
      ['cuff-9', 'blood-pressure-cuff'],
    ]) {
      const r = await t.inject({
        method: 'POST',
        url: '/api/v1/devices',
        headers: { authorization: `Bearer ${admin}` },
        payload: { id, kind },
      });
      assert.equal(r.statusCode, 201);
    }
    const r = await t.inject({
      method: 'POST',
      url: '/api/v1/devices/cgm-1/nightscout',
      headers: { authorization: `Bearer ${admin}` },
    });
    assert.equal(r.statusCode, 200, r.body);
    const body = r.json() as { secret: string; baseUrlPath: string };
    secret = body.secret;
    assert.equal(body.baseUrlPath, '/nightscout/cgm-1');
  });
  after(async () => t?.stop());

  it('issues Nightscout credentials only for CGM devices', async () => {
    const r = await t.inject({
      method: 'POST',
      url: '/api/v1/devices/cuff-9/nightscout',
      headers: { authorization: `Bearer ${admin}` },
    });
    assert.equal(r.statusCode, 409);
    assert.equal((r.json() as { error: { code: string } }).error.code, 'VIGIL_ERR_NIGHTSCOUT_NOT_CGM');
  });

  it('accepts the Dexcom corpus as xDrip+ sends it (api-secret = SHA-1), special value 5 kept as data absent', async () => {
    const r = await upload(dexcom, { 'api-secret': sha1(secret) });
    assert.equal(r.statusCode, 200, r.body);
    assert.deepEqual(r.json(), [], 'empty list = nothing rejected');
    const rows = await t.vigil.db.query<{ code: string; value: number | null; effective: Date | string }>(
      `select code, value, effective from observation where device_id = 'cgm-1' order by effective`,
    );
    assert.equal(rows.length, 30);
    assert.ok(rows.every((x) => x.code === '99504-3'));
    assert.equal(rows.filter((x) => x.value === null).length, 12);
    assert.equal(rows[0]?.value, 169);
  });

  it('deduplicates resent entries', async () => {
    const r = await upload(dexcom, { 'api-secret': sha1(secret).toUpperCase() });
    assert.equal(r.statusCode, 200);
    assert.equal(await stored(), 30);
  });

  it('accepts one entry (not an array) on entries.json with the bearer credential, and answers rejected entries', async () => {
    const one = await upload(openaps[0] as object, { authorization: `Bearer ${secret}` }, 'entries.json');
    assert.equal(one.statusCode, 200);
    assert.deepEqual(one.json(), []);
    const mixed = await upload([openaps[1], { type: 'sgv', sgv: 'HIGH', date: 1477247000000 }], {
      'api-secret': sha1(secret),
    });
    assert.equal(mixed.statusCode, 200);
    const rejected = mixed.json() as Array<{ vigil: { index: number; reason: string } }>;
    assert.equal(rejected.length, 1);
    assert.deepEqual(
      [rejected[0]?.vigil.index, rejected[0]?.vigil.reason],
      [1, 'VIGIL_ERR_INGEST_NOT_A_NUMBER'],
    );
    assert.equal(await stored(), 32);
    const dl = await t.vigil.db.query<{ n: number }>(
      `select count(*)::int as n from dead_letter where transport = 'nightscout' and device_id = 'cgm-1'`,
    );
    assert.equal(dl[0]?.n, 1);
  });

  it('refuses a wrong secret, another device’s secret, and a missing credential', async () => {
    const other = await t.inject({
      method: 'POST',
      url: '/api/v1/devices/cuff-9/rotate',
      headers: { authorization: `Bearer ${admin}` },
    });
    const otherSecret = (other.json() as { secret: string }).secret;
    const attempts: Array<Record<string, string>> = [
      { 'api-secret': sha1('wrong') },
      { 'api-secret': sha1(otherSecret) },
      { authorization: `Bearer ${otherSecret}` },
      {},
    ];
    for (const headers of attempts) {
      const r = await upload(openaps[2] as object, headers);
      assert.equal(r.statusCode, 401, JSON.stringify(Object.keys(headers)));
      const code = (r.json() as { error: { code: string } }).error.code;
      assert.equal(
        code,
        Object.keys(headers).length ? 'VIGIL_ERR_INGEST_BAD_CREDENTIAL' : 'VIGIL_ERR_INGEST_AUTH_REQUIRED',
      );
    }
    assert.equal(await stored(), 32);
  });

  it('answers status.json to an authenticated uploader', async () => {
    const r = await t.inject({
      method: 'GET',
      url: '/nightscout/cgm-1/api/v1/status.json',
      headers: { 'api-secret': sha1(secret) },
    });
    assert.equal(r.statusCode, 200);
    const s = r.json() as { status: string; apiEnabled: boolean; settings: { units: string } };
    assert.equal(s.status, 'ok');
    assert.equal(s.apiEnabled, true);
    assert.equal(s.settings.units, 'mg/dl');
  });

  it('a body that is not JSON is refused with 400 and kept as a dead letter', async () => {
    const r = await upload('not json', { 'api-secret': sha1(secret) });
    assert.equal(r.statusCode, 400);
    assert.equal((r.json() as { error: { code: string } }).error.code, 'VIGIL_ERR_INGEST_MALFORMED_JSON');
  });

  it('rotating the device secret disables the old Nightscout secret at once', async () => {
    const old = sha1(secret);
    const rot = await t.inject({
      method: 'POST',
      url: '/api/v1/devices/cgm-1/rotate',
      headers: { authorization: `Bearer ${admin}` },
    });
    assert.equal(rot.statusCode, 200);
    const fresh = (rot.json() as { secret: string }).secret;
    assert.equal((await upload(openaps[3] as object, { 'api-secret': old })).statusCode, 401);
    // Until Nightscout access is issued again, the new secret works as bearer or unhashed api-secret only.
    assert.equal((await upload(openaps[3] as object, { 'api-secret': sha1(fresh) })).statusCode, 401);
    assert.equal((await upload(openaps[3] as object, { authorization: `Bearer ${fresh}` })).statusCode, 200);
  });

  it('logs no glucose values or secrets', () => {
    const logs = t.logs();
    assert.ok(!logs.includes(secret));
    assert.ok(!logs.includes(sha1(secret)));
    assert.ok(!/"sgv"/.test(logs));
  });
});
