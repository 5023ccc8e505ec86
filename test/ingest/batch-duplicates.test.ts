import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testDatabaseUrl } from '../support/databases.ts';
import { type InProcess, startInProcess } from '../support/in-process.ts';

// Issue 13 item 6: inside one batch the same reading twice is "accepted" once and "duplicate" once,
// with the original id — within one request, and across messages committed in one group commit.
for (const backend of ['pglite', 'postgres'] as const) {
  describe(`duplicates inside one batch [${backend}]`, {
    skip: backend === 'postgres' && !testDatabaseUrl ? 'VIGIL_TEST_DATABASE_URL is not set' : false,
  }, () => {
    let t: InProcess;
    before(async () => {
      // a long batch window: messages sent together are committed in one transaction
      t = await startInProcess({
        postgres: backend === 'postgres',
        env: { VIGIL_INGEST_BATCH_WAIT_MS: '200', VIGIL_LOG_LEVEL: 'silent' },
      });
      const r = await t.inject({
        method: 'POST',
        url: '/api/v1/devices',
        headers: { authorization: `Bearer ${await t.token()}` },
        payload: { id: 'hr-dup', kind: 'pulse-oximeter' },
      });
      assert.equal(r.statusCode, 201);
    });
    after(async () => t?.stop());

    const reading = (messageId: string) =>
      Buffer.from(
        JSON.stringify({
          messageId,
          time: '2026-02-01T08:00:00Z',
          type: 'heart-rate',
          value: 64,
          unit: '/min',
        }),
      );

    it('two messages carrying the same reading in one group commit: accepted once, duplicate once', async () => {
      let batches = 0;
      t.vigil.onReadings(() => batches++);
      const env = (n: number) => ({
        transport: 'mqtt' as const,
        deviceId: 'hr-dup',
        format: 'json',
        payload: reading('g-1'),
        topic: 'devices/hr-dup/readings',
        receivedAt: Date.now() + n,
      });
      const [a, b] = await Promise.all([
        t.vigil.ctx.ingest.ingest(env(0)),
        t.vigil.ctx.ingest.ingest(env(1)),
      ]);
      assert.equal(batches, 1, 'both messages were committed in one group commit');
      const statuses = [a?.[0]?.status, b?.[0]?.status].sort();
      assert.deepEqual(statuses, ['accepted', 'duplicate']);
      const ids = (r: typeof a) => (r?.[0] && r[0].status !== 'rejected' ? r[0].ids : []);
      assert.deepEqual(ids(a), ids(b), 'the duplicate names the original id');
      const rows = await t.vigil.db.query<{ id: string }>(
        `select id::text from observation where device_id = 'hr-dup' and idem_key like '%m:g-1%'`,
      );
      assert.deepEqual(
        rows.map((r) => r.id),
        ids(a),
      );
    });

    it('three copies in one request after a stored one: every copy is a duplicate of the stored id', async () => {
      const first = await t.vigil.ctx.ingest.ingest({
        transport: 'http',
        deviceId: 'hr-dup',
        format: 'json',
        payload: reading('g-2'),
        receivedAt: Date.now(),
      });
      assert.equal(first[0]?.status, 'accepted');
      const one = JSON.parse(reading('g-2').toString()) as unknown;
      const fresh = JSON.parse(reading('g-3').toString()) as unknown;
      const again = await t.vigil.ctx.ingest.ingest({
        transport: 'http',
        deviceId: 'hr-dup',
        format: 'json',
        payload: Buffer.from(JSON.stringify([one, fresh, one, fresh])),
        receivedAt: Date.now(),
      });
      assert.deepEqual(
        again.map((r) => r.status),
        ['duplicate', 'accepted', 'duplicate', 'duplicate'],
      );
      const idOf = (i: number) => {
        const r = again[i];
        return r && r.status !== 'rejected' ? r.ids : [];
      };
      assert.deepEqual(idOf(0), first[0]?.status === 'accepted' ? first[0].ids : ['?']);
      assert.deepEqual(idOf(3), idOf(1));
    });
  });
}
