import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { type InProcess, startInProcess } from '../support/in-process.ts';

/**
 * Nightscout API v1 reads for follower apps: entries as JSON (never the dashboard page),
 * authenticated like uploads; treatments answer a coded JSON. The same corpus uploaded, read back.
 */
const corpus = JSON.parse(
  readFileSync(
    new URL('../corpora/cgm/nightscout/example-entries-dexcom-2014.json', import.meta.url),
    'utf8',
  ),
) as Array<{ type: string; sgv: string; date: number; direction: string }>;
const sha1 = (s: string) => createHash('sha1').update(s).digest('hex');

interface Entry {
  _id: string;
  type: string;
  sgv?: number;
  date: number;
  dateString: string;
  direction?: string;
}

for (const unit of ['mg/dL', 'mmol/L']) {
  describe(`Nightscout API v1 reads (glucose stored in ${unit})`, () => {
    let t: InProcess;
    let apiSecret: string;
    const newestFirst = [...corpus].sort((a, b) => b.date - a.date);
    const get = (path: string, headers: Record<string, string> = { 'api-secret': apiSecret }) =>
      t.inject({ method: 'GET', url: `/nightscout/cgm-r/api/v1/${path}`, headers });
    const entries = async (path: string): Promise<Entry[]> => {
      const r = await get(path);
      assert.equal(r.statusCode, 200, r.body);
      assert.match(String(r.headers['content-type']), /application\/json/);
      return r.json() as Entry[];
    };

    before(async () => {
      t = await startInProcess({ env: { VIGIL_GLUCOSE_UNIT: unit } });
      const admin = await t.token();
      const auth = { authorization: `Bearer ${admin}` };
      assert.equal(
        (
          await t.inject({
            method: 'POST',
            url: '/api/v1/devices',
            headers: auth,
            payload: { id: 'cgm-r', kind: 'cgm' },
          })
        ).statusCode,
        201,
      );
      const issued = await t.inject({
        method: 'POST',
        url: '/api/v1/devices/cgm-r/nightscout',
        headers: auth,
      });
      apiSecret = sha1((issued.json() as { secret: string }).secret);
      const up = await t.inject({
        method: 'POST',
        url: '/nightscout/cgm-r/api/v1/entries',
        headers: { 'content-type': 'application/json', 'api-secret': apiSecret },
        payload: JSON.stringify(corpus),
      });
      assert.equal(up.statusCode, 200, up.body);
      assert.deepEqual(up.json(), []);
    });
    after(async () => t?.stop());

    it('GET entries.json: the newest 10 as Nightscout entries (sgv mg/dL, date, direction)', async () => {
      const got = await entries('entries.json');
      assert.equal(got.length, 10);
      got.forEach((e, i) => {
        const want = newestFirst[i];
        assert.equal(e.type, 'sgv');
        assert.equal(e.date, want?.date);
        assert.equal(e.sgv, Number(want?.sgv));
        assert.equal(e.direction, want?.direction);
        assert.equal(Date.parse(e.dateString), want?.date);
      });
    });

    it('entries, entries/sgv.json, current.json and count', async () => {
      assert.deepEqual(await entries('entries?count=10'), await entries('entries.json'));
      assert.equal((await entries('entries/sgv.json?count=100')).length, corpus.length);
      assert.equal((await entries('entries.json?count=100')).length, corpus.length);
      const current = await entries('entries/current.json');
      assert.equal(current.length, 1);
      assert.equal(current[0]?.date, newestFirst[0]?.date);
      const one = await entries(`entries/${current[0]?._id}`);
      assert.deepEqual(one, current);
      assert.deepEqual(await entries('entries/mbg.json'), []);
    });

    it('find[date], find[dateString] and find[sgv] filter as the v1 API defines', async () => {
      const cut = newestFirst[5]?.date as number;
      const since = await entries(`entries.json?count=100&find[date][$gte]=${cut}`);
      assert.deepEqual(
        since.map((e) => e.date),
        newestFirst.filter((e) => e.date >= cut).map((e) => e.date),
      );
      const before = await entries(`entries.json?count=100&find[date][$lt]=${cut}`);
      assert.equal(before.length + since.length, corpus.length);
      const iso = new Date(cut).toISOString();
      const byString = await entries(
        `entries.json?count=100&find[dateString][$gte]=${encodeURIComponent(iso)}`,
      );
      assert.deepEqual(byString, since);
      const high = await entries('entries.json?count=100&find[sgv][$gte]=175');
      assert.deepEqual(
        high.map((e) => e.sgv),
        newestFirst.filter((e) => Number(e.sgv) >= 175).map((e) => Number(e.sgv)),
      );
      const bad = await get('entries.json?find[insulin][$gte]=3');
      assert.equal(bad.statusCode, 400);
      assert.equal((bad.json() as { error: { code: string } }).error.code, 'VIGIL_ERR_NIGHTSCOUT_BAD_QUERY');
    });

    it('reads need the credential, are audited with the device as agent', async () => {
      const anon = await get('entries.json', {});
      assert.equal(anon.statusCode, 401);
      assert.match(String(anon.headers['content-type']), /application\/json/);
      const wrong = await get('entries.json', { 'api-secret': sha1('wrong') });
      assert.equal(wrong.statusCode, 401);
      await t.vigil.ctx.security.audit.flush();
      const rows = await t.vigil.db.query<{ n: number }>(
        `select count(*)::int as n from audit_event where agent_id = 'cgm-r' and entity_type = 'Observation' and action = 'R'`,
      );
      assert.ok((rows[0]?.n ?? 0) > 0);
    });

    it('treatments answer coded JSON; no path under /nightscout answers the dashboard page', async () => {
      for (const method of ['GET', 'POST'] as const) {
        const r = await t.inject({
          method,
          url: '/nightscout/cgm-r/api/v1/treatments.json',
          headers: { 'api-secret': apiSecret, 'content-type': 'application/json' },
          ...(method === 'POST' ? { payload: '[]' } : {}),
        });
        assert.equal(r.statusCode, 404);
        assert.equal(
          (r.json() as { error: { code: string } }).error.code,
          'VIGIL_ERR_NIGHTSCOUT_NO_TREATMENTS',
        );
      }
      for (const path of [
        '/nightscout/cgm-r/api/v1/profile.json',
        '/nightscout/cgm-r/api/v2/entries',
        '/nightscout/cgm-r',
        '/nightscout',
        '/nightscout/cgm-r/api/v1/entries/sgv/extra',
      ]) {
        const r = await t.inject({ method: 'GET', url: path, headers: { 'api-secret': apiSecret } });
        assert.ok(r.statusCode >= 400, `${path}: ${r.statusCode}`);
        assert.doesNotMatch(String(r.headers['content-type']), /html/, path);
        assert.ok((r.json() as { error: { code: string } }).error.code, path);
      }
    });
  });
}
