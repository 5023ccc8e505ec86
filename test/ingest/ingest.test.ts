import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testDatabaseUrl } from '../support/databases.ts';
import { type InProcess, insertPatient, startInProcess } from '../support/in-process.ts';

type Result = { index: number; status: string; ids?: string[]; reason?: string; deadLetterId?: string };
type IngestAnswer = { accepted: number; duplicate: number; rejected: number; results: Result[] };

for (const backend of ['pglite', 'postgres'] as const) {
  describe(`ingest over HTTP [${backend}]`, {
    skip:
      backend === 'postgres' && !testDatabaseUrl
        ? 'VIGIL_TEST_DATABASE_URL is not set: PostgreSQL run skipped'
        : false,
  }, () => {
    let t: InProcess;
    let secret: string;
    const post = (body: unknown, auth = secret) =>
      t.inject({
        method: 'POST',
        url: '/ingest/v1/readings',
        headers: { authorization: `Bearer ${auth}`, 'content-type': 'application/json' },
        payload: typeof body === 'string' ? body : JSON.stringify(body),
      });

    before(async () => {
      t = await startInProcess({ postgres: backend === 'postgres' });
      const r = await t.inject({
        method: 'POST',
        url: '/api/v1/devices',
        headers: { authorization: `Bearer ${await t.token()}` },
        payload: { id: 'bp-1', kind: 'blood-pressure-cuff' },
      });
      assert.equal(r.statusCode, 201);
      secret = (r.json() as { secret: string }).secret;
    });
    after(async () => t?.stop());

    it('answers per reading: accepted, duplicate (with the original id), rejected with a reason code', async () => {
      const batch = {
        readings: [
          { messageId: 'm-1', time: '2026-02-01T08:00:00Z', type: 'heart-rate', value: 64, unit: '/min' },
          { messageId: 'm-1', time: '2026-02-01T08:00:00Z', type: 'heart-rate', value: 64, unit: '/min' },
          { time: '2026-02-01T08:01:00Z', type: 'heart-rate', value: 900, unit: '/min' },
          { time: '2026-02-01T08:02:00Z', type: 'heart-rate', value: 'fast', unit: '/min' },
          {
            time: '2026-02-01T08:03:00+01:00',
            type: 'blood-pressure',
            components: { systolic: 131, diastolic: 84 },
            unit: 'mm[Hg]',
          },
        ],
      };
      const r = await post(batch);
      assert.equal(r.statusCode, 200);
      const a = r.json() as IngestAnswer;
      assert.deepEqual(
        a.results.map((x) => x.status),
        ['accepted', 'duplicate', 'rejected', 'rejected', 'accepted'],
        'the same reading twice in one batch: accepted once, then duplicate',
      );
      assert.deepEqual(a.results[1]?.ids, a.results[0]?.ids, 'the duplicate answers with the original id');
      assert.equal(a.accepted, 2);
      assert.equal(a.duplicate, 1);
      assert.equal(a.results[2]?.reason, 'VIGIL_ERR_INGEST_IMPLAUSIBLE_VALUE');
      assert.match(a.results[3]?.reason ?? '', /^VIGIL_ERR_INGEST_/);

      const again = (await post(batch)).json() as IngestAnswer;
      assert.equal(again.results[0]?.status, 'duplicate');
      assert.deepEqual(again.results[0]?.ids, a.results[0]?.ids, 'a redelivery answers with the stored id');
      assert.equal(
        again.results[4]?.status,
        'duplicate',
        'no message id: device + code + device time is the key',
      );

      const stored = await t.vigil.db.query<{ n: number }>(
        `select count(*)::int as n from observation where device_id = 'bp-1'`,
      );
      assert.equal(stored[0]?.n, 2, 'nothing duplicated');
      const bp = await t.vigil.db.query<{ effective: Date }>(
        `select effective from observation where code = '85354-9'`,
      );
      assert.equal(bp[0]?.effective.toISOString(), '2026-02-01T07:03:00.000Z', 'device time kept, in UTC');
    });

    it('keeps every refused payload as a dead letter that can be listed and replayed', async () => {
      const r = await post('{"readings": [ {"time": ');
      assert.equal(r.statusCode, 400);
      const a = r.json() as IngestAnswer;
      assert.equal(a.results[0]?.reason, 'VIGIL_ERR_INGEST_MALFORMED_JSON');
      const token = await t.token();
      const list = await t.inject({
        method: 'GET',
        url: '/api/v1/dead-letters?deviceId=bp-1',
        headers: { authorization: `Bearer ${token}` },
      });
      const letters = (
        list.json() as { deadLetters: Array<{ id: string; reasonCode: string; transport: string }> }
      ).deadLetters;
      const mine = letters.find((l) => l.id === a.results[0]?.deadLetterId);
      assert.equal(mine?.reasonCode, 'VIGIL_ERR_INGEST_MALFORMED_JSON');
      assert.equal(mine?.transport, 'http');
      const one = await t.inject({
        method: 'GET',
        url: `/api/v1/dead-letters/${mine?.id}`,
        headers: { authorization: `Bearer ${token}` },
      });
      assert.equal((one.json() as { payloadText: string }).payloadText, '{"readings": [ {"time": ');
      const replay = await t.inject({
        method: 'POST',
        url: `/api/v1/dead-letters/${mine?.id}/replay`,
        headers: { authorization: `Bearer ${token}` },
      });
      assert.equal(replay.statusCode, 200);
      assert.equal(
        (replay.json() as { results: Result[] }).results[0]?.status,
        'rejected',
        'still malformed on replay',
      );
    });

    it('replays a dead letter through the profile it arrived as (GATT bytes are not re-read as JSON)', async () => {
      const token = await t.token();
      const r = await t.inject({
        method: 'POST',
        url: '/ingest/v1/gatt/2A35',
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/octet-stream' },
        payload: Buffer.from('1E8A0058', 'hex'), // truncated Blood Pressure Measurement
      });
      const a = r.json() as IngestAnswer;
      assert.equal(a.results[0]?.reason, 'VIGIL_ERR_INGEST_TRUNCATED_GATT');
      const replay = await t.inject({
        method: 'POST',
        url: `/api/v1/dead-letters/${a.results[0]?.deadLetterId}/replay`,
        headers: { authorization: `Bearer ${token}` },
      });
      assert.equal(
        (replay.json() as { results: Result[] }).results[0]?.reason,
        'VIGIL_ERR_INGEST_TRUNCATED_GATT',
      );
    });

    it('refuses an unknown credential, a revoked one at once, and an oversize body, each with a code', async () => {
      const bad = await post({ readings: [] }, 'vgd_not-a-real-secret');
      assert.equal(bad.statusCode, 401);
      assert.equal((bad.json() as { error: { code: string } }).error.code, 'VIGIL_ERR_INGEST_BAD_CREDENTIAL');
      const big = await post({
        readings: [
          {
            time: '2026-02-01T08:00:00Z',
            type: 'heart-rate',
            value: 60,
            unit: '/min',
            notes: ['x'.repeat(300_000)],
          },
        ],
      });
      assert.equal(big.statusCode, 413);
      assert.equal((big.json() as { error: { code: string } }).error.code, 'VIGIL_ERR_INGEST_OVERSIZE');

      const token = await t.token();
      const reg = await t.inject({
        method: 'POST',
        url: '/api/v1/devices',
        headers: { authorization: `Bearer ${token}` },
        payload: { id: 'rev-1', kind: 'scale' },
      });
      const s = (reg.json() as { secret: string }).secret;
      const ok = await post({ time: '2026-02-01T08:00:00Z', type: 'weight', value: 80, unit: 'kg' }, s);
      assert.equal(ok.statusCode, 200);
      await t.inject({
        method: 'POST',
        url: '/api/v1/devices/rev-1/revoke',
        headers: { authorization: `Bearer ${token}` },
      });
      const after = await post({ time: '2026-02-01T08:05:00Z', type: 'weight', value: 80, unit: 'kg' }, s);
      assert.equal(after.statusCode, 401);
    });

    it('attributes a reading to the patient the device was assigned to at the reading’s own time; unassigned readings wait, then are attributed', async () => {
      const token = await t.token();
      const h = { authorization: `Bearer ${token}` };
      await insertPatient(t.vigil, 'pat-a');
      await insertPatient(t.vigil, 'pat-b');
      const reg = await t.inject({
        method: 'POST',
        url: '/api/v1/devices',
        headers: h,
        payload: { id: 'scale-9', kind: 'scale' },
      });
      const s = (reg.json() as { secret: string }).secret;
      const w = (time: string, value: number) => post({ time, type: 'weight', value, unit: 'kg' }, s);

      await w('2026-03-01T07:00:00Z', 70); // before any assignment
      const a1 = await t.inject({
        method: 'POST',
        url: '/api/v1/devices/scale-9/assignments',
        headers: h,
        payload: { patientId: 'pat-a', start: '2026-03-02T00:00:00Z', end: '2026-03-05T00:00:00Z' },
      });
      assert.equal(a1.statusCode, 201);
      const a2 = await t.inject({
        method: 'POST',
        url: '/api/v1/devices/scale-9/assignments',
        headers: h,
        payload: { patientId: 'pat-b', start: '2026-03-05T00:00:00Z' },
      });
      assert.equal(a2.statusCode, 201);
      const overlap = await t.inject({
        method: 'POST',
        url: '/api/v1/devices/scale-9/assignments',
        headers: h,
        payload: { patientId: 'pat-a', start: '2026-03-03T00:00:00Z', end: '2026-03-04T00:00:00Z' },
      });
      assert.equal(overlap.statusCode, 409);
      const missing = await t.inject({
        method: 'POST',
        url: '/api/v1/devices/scale-9/assignments',
        headers: h,
        payload: { patientId: 'nobody' },
      });
      assert.equal(missing.statusCode, 404);

      await w('2026-03-03T07:00:00Z', 71);
      await w('2026-03-06T07:00:00Z', 72);
      const rows = await t.vigil.db.query<{ value: number; patient_id: string | null }>(
        `select value, patient_id from observation where device_id = 'scale-9' order by effective`,
      );
      assert.deepEqual(
        rows.map((r) => [r.value, r.patient_id]),
        [
          [70, null],
          [71, 'pat-a'],
          [72, 'pat-b'],
        ],
      );

      const late = await t.inject({
        method: 'POST',
        url: '/api/v1/devices/scale-9/assignments',
        headers: h,
        payload: { patientId: 'pat-a', start: '2026-02-28T00:00:00Z', end: '2026-03-02T00:00:00Z' },
      });
      assert.equal(late.statusCode, 201);
      assert.equal((late.json() as { attributedReadings: number }).attributedReadings, 1);
      const first = await t.vigil.db.query<{ patient_id: string }>(
        `select patient_id from observation where device_id = 'scale-9' and value = 70`,
      );
      assert.equal(first[0]?.patient_id, 'pat-a');
    });

    it('commits concurrent requests in groups and loses none', async () => {
      const n = 300;
      const answers = await Promise.all(
        Array.from({ length: n }, (_, i) =>
          post({
            messageId: `c-${i}`,
            time: new Date(Date.UTC(2026, 3, 1, 0, 0, i)).toISOString(),
            type: 'heart-rate',
            value: 60 + (i % 30),
            unit: '/min',
          }),
        ),
      );
      assert.ok(answers.every((a) => a.statusCode === 200 && (a.json() as IngestAnswer).accepted === 1));
      const rows = await t.vigil.db.query<{ n: number }>(
        `select count(*)::int as n from observation where idem_key like 'bp-1|m:c-%'`,
      );
      assert.equal(rows[0]?.n, n);
    });

    it('writes no patient data and no secrets to the logs', () => {
      const logs = t.logs();
      assert.ok(logs.length > 0, 'something was logged');
      assert.ok(!logs.includes(secret), 'device secret never logged');
      assert.ok(!logs.includes(testAdminPasswordForCheck()), 'admin password never logged');
      assert.ok(!/"value":\s*(64|900|131)/.test(logs), 'no reading values');
      assert.ok(!logs.includes('pat-a') || !/"patient(Id)?":"pat-a"/.test(logs), 'no patient ids as fields');
    });
  });
}

function testAdminPasswordForCheck(): string {
  return 'a-long-test-password';
}
