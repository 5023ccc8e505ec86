import assert from 'node:assert/strict';
import { it } from 'node:test';
import { EngineStateRepository } from '../../src/store/engine-state-repository.ts';
import { PartitionLeaseRepository } from '../../src/store/partition-lease-repository.ts';
import { describeEachDatabase } from '../support/databases.ts';

const STREAM = 'stream-created-1';

describeEachDatabase('partition leases of detect workers', (factory) => {
  it('one owner at a time; a new epoch fences the previous owner out of checkpoints and state', async () => {
    const db = await factory.open();
    const leases = new PartitionLeaseRepository(db, 'test');
    const states = new EngineStateRepository(db);
    await leases.ensurePartitions(2);

    const a = await leases.claim('worker-a', 0, 60_000, STREAM);
    assert.ok(a, 'a free partition is claimed');
    assert.equal(a.evaluatedSeq, 0);
    assert.equal(await leases.claim('worker-b', 0, 60_000, STREAM), undefined, 'held by a: b cannot claim');

    // a checkpoints at sequence 7 with a patient's state, in one transaction
    const held = await db.transaction(async (tx) => {
      const ok = await leases.checkpoint(tx, 'worker-a', new Map([[0, a.epoch]]), new Map([[0, 7]]), STREAM);
      if (ok.has(0))
        await states.saveIn(tx, [{ patientId: 'p-a', state: { by: 'a' } }], new Date().toISOString());
      return ok;
    });
    assert.deepEqual([...held], [0]);

    // a hands over: b claims and resumes after a's checkpoint
    await leases.release('worker-a', new Map([[0, a.epoch]]));
    const b = await leases.claim('worker-b', 0, 60_000, STREAM);
    assert.ok(b);
    assert.equal(b.evaluatedSeq, 7, "b resumes after a's checkpoint");
    assert.ok(b.epoch > a.epoch, 'a new epoch');

    // a (paused, unaware) tries to write: fenced, nothing of it is stored
    const stale = await leases.checkpoint(db, 'worker-a', new Map([[0, a.epoch]]), new Map([[0, 9]]), STREAM);
    assert.equal(stale.size, 0, 'the previous owner is fenced');
    assert.equal(
      (await leases.renew('worker-a', new Map([[0, a.epoch]]), 60_000)).size,
      0,
      'nor can it renew',
    );
    const rows = await db.query<{ evaluated_seq: string | number; owner: string }>(
      `select evaluated_seq, owner from detect_partition where prefix = 'test' and partition = 0`,
    );
    assert.equal(Number(rows[0]?.evaluated_seq), 7);
    assert.equal(rows[0]?.owner, 'worker-b');

    // a checkpoint of a re-created stream does not apply
    await leases.release('worker-b', new Map([[0, b.epoch]]));
    const c = await leases.claim('worker-c', 0, 60_000, 'stream-created-2');
    assert.equal(c?.evaluatedSeq, 0);
    assert.equal(c?.fresh, true);
  });

  it('a lease that is not renewed runs out and another worker takes the partition', async () => {
    const db = await factory.open();
    const leases = new PartitionLeaseRepository(db, 'test');
    await leases.ensurePartitions(1);
    const a = await leases.claim('worker-a', 0, 1, STREAM); // 1 ms lease: worker a "dies"
    assert.ok(a);
    let b: Awaited<ReturnType<PartitionLeaseRepository['claim']>>;
    do {
      await new Promise((r) => setTimeout(r, 5));
      b = await leases.claim('worker-b', 0, 60_000, STREAM);
    } while (!b);
    assert.ok(b.epoch > a.epoch);
    const live = await leases.heartbeat('worker-b', 60_000);
    assert.deepEqual(live, ['worker-b']);
  });
});
