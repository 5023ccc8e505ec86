import assert from 'node:assert/strict';
import { it } from 'node:test';
import { FakeClock } from '../../src/core/clock.ts';
import { createLogger } from '../../src/core/logger.ts';
import type { Reading } from '../../src/core/reading.ts';
import { ServiceHealth } from '../../src/pipeline/service-health.ts';
import type { Database } from '../../src/store/database.ts';
import { describeEachDatabase } from '../support/databases.ts';

const log = createLogger('silent');
const reading = (received: number, patientId: string | null = 'pat-1') =>
  ({ received: new Date(received).toISOString(), patientId, transport: 'mqtt' }) as Reading;

/**
 * The deployment's monitoring status from every process's heartbeat, in event time (a fake clock):
 * ok while detection keeps up, delayed when committed readings wait, stopped when no detector beats.
 */
describeEachDatabase('service health', (factory) => {
  let opened: Promise<Database> | undefined;
  const make = async () => {
    opened ??= factory.open();
    const db = await opened;
    await db.query('delete from service_heartbeat');
    const clock = new FakeClock('2026-12-01T10:00:00Z');
    const proc = (role: string, instance = role) =>
      new ServiceHealth({ db, clock, log, instance, role, beatMs: 5_000, delayMs: 60_000 });
    return { db, clock, proc };
  };

  it('unknown before any process reports; ok while one process keeps up', async () => {
    const { clock, proc } = await make();
    const all = proc('all');
    assert.equal((await all.status()).state, 'unknown');
    all.onCommitted([reading(clock.now())]);
    all.onEvaluated({ readings: [reading(clock.now())] });
    await all.beat();
    const s = await all.status();
    assert.equal(s.state, 'ok');
    assert.equal(s.since, null);
    assert.deepEqual(
      s.processes.map((p) => [p.role, p.alive]),
      [['all', true]],
    );
  });

  it('delayed since the newest evaluated reading when commits run more than the delay ahead', async () => {
    const { clock, proc } = await make();
    const ingest = proc('ingest');
    const detect = proc('detect');
    const evaluatedAt = clock.now();
    ingest.onCommitted([reading(clock.now())]);
    detect.onEvaluated({ readings: [reading(evaluatedAt)] });
    await Promise.all([ingest.beat(), detect.beat()]);
    assert.equal((await ingest.status()).state, 'ok');
    // Ingest goes on for 61 s; detection evaluates nothing newer (it beats: it is alive but behind).
    clock.advance(61_000);
    ingest.onCommitted([reading(clock.now())]);
    await Promise.all([ingest.beat(), detect.beat()]);
    const s = await ingest.status();
    assert.equal(s.state, 'delayed');
    assert.equal(s.since, new Date(evaluatedAt).toISOString());
    assert.match(s.message, /not yet checked/);
    // 59 s behind is within the delay.
    detect.onEvaluated({ readings: [reading(clock.now() - 59_000)] });
    await detect.beat();
    assert.equal((await ingest.status()).state, 'ok');
  });

  it('stopped when readings are committed and no detector has beaten within the stale time', async () => {
    const { clock, proc } = await make();
    const ingest = proc('ingest');
    const detect = proc('detect');
    ingest.onCommitted([reading(clock.now())]);
    detect.onEvaluated({ readings: [reading(clock.now())] });
    await Promise.all([ingest.beat(), detect.beat()]);
    const lastDetectBeat = new Date(clock.now()).toISOString();
    clock.advance(detect.staleMs + 1);
    await ingest.beat();
    const s = await ingest.status();
    assert.equal(s.state, 'stopped');
    assert.equal(s.since, lastDetectBeat);
    assert.match(s.message, /not checked by the rules/);
    // A second detect worker that beats brings it back (it then has to catch up: delayed, not ok).
    const other = proc('detect', 'detect-2');
    await other.beat();
    assert.notEqual((await ingest.status()).state, 'stopped');
  });

  it('unattributed and derived readings are not waited for (detection evaluates them only once attributed)', async () => {
    const { clock, proc } = await make();
    const all = proc('all');
    all.onCommitted([
      reading(clock.now(), null),
      { ...reading(clock.now()), transport: 'derived' } as Reading,
    ]);
    await all.beat();
    clock.advance(120_000);
    all.onCommitted([reading(clock.now(), null)]);
    await all.beat();
    assert.equal((await all.status()).state, 'ok');
  });

  it('a dead process’s last commit does not keep the status delayed once a new process runs', async () => {
    const { clock, proc } = await make();
    const old = proc('all', 'all-old');
    old.onCommitted([reading(clock.now())]);
    await old.beat();
    clock.advance(old.staleMs + 120_000);
    const fresh = proc('all', 'all-new');
    await fresh.beat();
    assert.equal((await fresh.status()).state, 'ok');
  });

  it('no readings at all is not a delay (silence is the missing-data rules’ job)', async () => {
    const { clock, proc } = await make();
    const all = proc('all');
    await all.beat();
    clock.advance(3_600_000);
    await all.beat();
    assert.equal((await all.status()).state, 'ok');
  });
});
