import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { systemClock } from '../../src/core/clock.ts';
import { newId } from '../../src/core/ids.ts';
import { createLogger } from '../../src/core/logger.ts';
import type { Reading } from '../../src/core/reading.ts';
import { Forwarder } from '../../src/edge/forwarder.ts';
import { EdgeOutbox, enqueueReadings } from '../../src/edge/outbox.ts';
import type { ForwardRequest } from '../../src/edge/wire.ts';
import type { Database } from '../../src/store/database.ts';
import { migrate } from '../../src/store/migrate.ts';
import { openDatabase } from '../../src/store/open-database.ts';
import { tempDir } from '../support/process.ts';

const base = Date.UTC(2026, 0, 1, 10, 0, 0);
const reading = (deviceId: string, s: number, value: number | null = 96): Reading => ({
  id: newId(),
  deviceId,
  patientId: 'p-1',
  code: '59408-5',
  codings: [],
  category: 'vital-signs',
  value,
  unit: '%',
  components: [],
  effective: new Date(base + s * 1000).toISOString(),
  received: new Date(base + s * 1000).toISOString(),
  flags: [],
  idempotencyKey: `${deviceId}|m:${s}|59408-5`,
  transport: 'mqtt',
  profile: 'native-json',
});

/** The hub's store-and-forward queue on its embedded database, and the forwarder against a stand-in centre. */
describe('edge store-and-forward queue', () => {
  let db: Database;
  let outbox: EdgeOutbox;
  before(async () => {
    db = await openDatabase({ dataDir: tempDir('vigil-edge-outbox-') });
    await migrate(db);
    outbox = new EdgeOutbox(db);
  });
  after(async () => {
    await db?.close();
  });
  const clear = () => db.exec('delete from edge_outbox; delete from edge_state; delete from alert');

  it('queues readings in the transaction that stores them: a rollback queues nothing', async () => {
    await clear();
    await db
      .transaction(async (sql) => {
        await enqueueReadings(sql, [reading('oxi', 0)], () => 'keep');
        throw new Error('the commit failed');
      })
      .catch(() => {});
    assert.equal((await outbox.stats()).depth, 0);
    const rs = [reading('oxi', 1), reading('cuff', 1), reading('oxi', 2)];
    await db.transaction((sql) => enqueueReadings(sql, rs, () => 'keep'));
    await db.transaction((sql) => enqueueReadings(sql, [rs[0] as Reading], () => 'keep')); // once per reading
    const peeked = await outbox.peek(10);
    assert.deepEqual(
      peeked.map((r) => (r.kind === 'reading' ? r.reading.id : '')),
      rs.map((r) => r.id),
    );
    await outbox.settle(
      [peeked[0]?.seq as number],
      [{ seq: peeked[1]?.seq as number, code: 'VIGIL_ERR_EDGE_BAD_RECORD' }],
    );
    const left = await outbox.peek(10);
    assert.deepEqual(
      left.map((r) => r.seq),
      [peeked[2]?.seq],
    );
    const stats = await outbox.stats();
    assert.equal(stats.depth, 1);
    assert.equal(stats.rejected, 1);
  });

  it('when full: the oldest continuous readings become per-minute summaries, counted; spot readings stay', async () => {
    await clear();
    const spot = [
      reading('cuff', 0),
      reading('cuff', 600),
      reading('scale', 0),
      reading('scale', 900),
      reading('cuff', 1200),
    ];
    const dense = [
      ...Array.from({ length: 14 }, (_, i) => reading('oxi-a', 1 + i)),
      reading('oxi-a', 20, null), // no value: cannot be summarised, dropped and counted
      ...Array.from({ length: 15 }, (_, i) => reading('oxi-b', 1 + i, 90 + i)),
    ];
    await db.transaction((sql) => enqueueReadings(sql, spot, () => 'keep'));
    await db.transaction((sql) => enqueueReadings(sql, dense, () => 'continuous'));
    assert.equal((await outbox.stats()).depth, 35);
    assert.equal(await outbox.enforceBound(100), 0); // under the bound: nothing happens
    assert.equal(await outbox.enforceBound(10), 30);
    const left = await outbox.peek(100);
    const readings = left
      .filter((r) => r.kind === 'reading')
      .map((r) => (r.kind === 'reading' ? r.reading.id : ''));
    assert.deepEqual(
      readings,
      spot.map((r) => r.id),
    );
    const summaries = left.flatMap((r) => (r.kind === 'summary' ? [r.summary] : []));
    assert.deepEqual(summaries.map((s) => [s.deviceId, s.n, s.min, s.max]).sort(), [
      ['oxi-a', 14, 96, 96],
      ['oxi-b', 15, 90, 104],
    ]);
    const stats = await outbox.stats();
    assert.equal(stats.summarisedReadings, 29);
    assert.equal(stats.droppedReadings, 1);
    // only keep records left: the queue may pass its bound rather than drop one of them
    assert.equal(await outbox.enforceBound(2), 0);
    assert.equal((await outbox.stats()).depth, 7);
  });

  it('less traffic: held continuous readings go up as summaries, those in an alert’s window in full', async () => {
    await clear();
    const early = Array.from({ length: 10 }, (_, i) => reading('oxi', i, 95 + (i % 3)));
    const near = Array.from({ length: 10 }, (_, i) => reading('oxi', 1200 + i, 89));
    const panel = reading('oxi', 5, null);
    const other = { ...reading('oxi-2', 1201, 97), patientId: 'p-2' }; // another patient: no alert of theirs
    await db.transaction((sql) =>
      enqueueReadings(sql, [...early, ...near, panel, other], () => 'continuous'),
    );
    const iso = (s: number) => new Date(base + s * 1000).toISOString();
    await db.query(
      `insert into alert (id, patient_id, condition_key, rule, severity, state, summary, evidence, raised_at,
         last_detection_at, created_at, updated_at, resolved_at, version)
       values ($1, 'p-1', 'hypoxaemia', 'hypoxaemia', 'critical', 'resolved', 'SpO2 low', '[]'::jsonb, $2, $2, $2, $2, $3, 2)`,
      [newId(), iso(1205), iso(1230)],
    );
    // still on hold: nothing happens, and nothing continuous is peeked
    assert.equal(await outbox.summariseHeld(new Date(Date.now() - 3600_000).toISOString(), 60_000), 0);
    assert.deepEqual(await outbox.peek(100, { keepOnly: true }), []);
    assert.equal(await outbox.summariseHeld(new Date(Date.now() + 1000).toISOString(), 60_000), 11);
    const sent = await outbox.peek(100, { keepOnly: true });
    const ids = sent.flatMap((r) => (r.kind === 'reading' ? [r.reading.id] : []));
    assert.deepEqual(ids, [...near.map((r) => r.id), panel.id]);
    const summaries = sent.flatMap((r) => (r.kind === 'summary' ? [r.summary] : []));
    assert.deepEqual(summaries.map((x) => [x.deviceId, x.minute.slice(11, 16), x.n, x.min, x.max]).sort(), [
      ['oxi', '10:00', 10, 95, 97],
      ['oxi-2', '10:20', 1, 97, 97],
    ]);
    assert.equal((await outbox.stats()).summarisedReadings, 11);
  });

  it('queues every alert version once, and keeps the readings an alert cites', async () => {
    await clear();
    const rs = [reading('oxi', 1), reading('oxi', 2)];
    await db.transaction((sql) => enqueueReadings(sql, rs, () => 'continuous'));
    const id = newId();
    const now = new Date().toISOString();
    await db.query(
      `insert into alert (id, patient_id, condition_key, rule, severity, state, summary, evidence, raised_at,
         last_detection_at, created_at, updated_at, version)
       values ($1, 'p-1', 'hypoxaemia', 'hypoxaemia', 'critical', 'open', 'SpO2 low', $2::jsonb, $3, $3, $3, $3, 1)`,
      [id, JSON.stringify([rs[1]?.id]), now],
    );
    assert.equal(await outbox.sweepAlerts(), 1);
    assert.equal(await outbox.sweepAlerts(), 0);
    await db.query(`update alert set state = 'resolved', version = 2, updated_at = $2 where id = $1`, [
      id,
      new Date(Date.now() + 1000).toISOString(),
    ]);
    assert.equal(await outbox.sweepAlerts(), 1);
    const alerts = (await outbox.peek(10)).flatMap((r) => (r.kind === 'alert' ? [r.alert] : []));
    assert.deepEqual(
      alerts.map((a) => [a.id, a.version, a.state, a.severity]),
      [
        [id, 1, 'open', 'critical'],
        [id, 2, 'resolved', 'critical'],
      ],
    );
    const classes = await db.query<{ ref_id: string; class: string }>(
      `select ref_id, class from edge_outbox where kind = 'reading' order by seq`,
    );
    assert.deepEqual(
      classes.map((c) => c.class),
      ['continuous', 'keep'],
    );
  });

  it('the forwarder retries through an outage and delivers every record once, in commit order', async () => {
    await clear();
    const rs = Array.from({ length: 23 }, (_, i) => reading(i % 2 ? 'oxi' : 'cuff', i));
    for (const r of rs) await db.transaction((sql) => enqueueReadings(sql, [r], () => 'keep'));
    let failuresLeft = 3;
    const delivered: string[] = [];
    const requests: number[] = [];
    const server: Server = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => {
        body += d.toString();
      });
      req.on('end', () => {
        const fr = JSON.parse(body) as ForwardRequest;
        assert.equal(req.headers.authorization, 'Bearer a-gateway-secret-of-some-length');
        requests.push(fr.records.length);
        if (failuresLeft-- > 0) {
          res.writeHead(503, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: { code: 'VIGIL_ERR_STORE_UNAVAILABLE', message: 'down' } }));
          return;
        }
        for (const r of fr.records) if (r.kind === 'reading') delivered.push(r.reading.id);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            receivedAt: new Date().toISOString(),
            results: fr.records.map((r) => ({ seq: r.seq, status: 'stored' })),
          }),
        );
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const f = new Forwarder({
      outbox,
      centreUrl: `http://127.0.0.1:${port}`,
      gatewayId: 'hub-1',
      gatewaySecret: 'a-gateway-secret-of-some-length',
      batchSize: 5,
      queueMaxRows: 1000,
      retryMaxMs: 100,
      retryMinMs: 20,
      healthIntervalMs: 60_000,
      clock: systemClock,
      log: createLogger('silent'),
    });
    f.start();
    try {
      for (let i = 0; i < 400 && delivered.length < rs.length; i++)
        await new Promise((r) => setTimeout(r, 25));
      assert.deepEqual(
        delivered,
        rs.map((r) => r.id),
      );
      assert.ok(requests.length >= 3 + Math.ceil(rs.length / 5));
      assert.equal(f.status.uplink, 'up');
      // the last answer is settled just after the stand-in centre saw its records
      let depth = -1;
      for (let i = 0; i < 200 && depth !== 0; i++) {
        depth = (await outbox.stats()).depth;
        if (depth !== 0) await new Promise((r) => setTimeout(r, 25));
      }
      assert.equal(depth, 0);
      assert.equal(delivered.length, rs.length); // and nothing sent twice meanwhile
    } finally {
      await f.stop();
      await new Promise((r) => server.close(r));
    }
  });
});
