import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Reading } from '../core/reading.ts';
import type { Database, Sql } from '../store/database.ts';
import { BatchWriter, type WriteRequest } from './batch-writer.ts';

/** A database whose transactions just run the callback; commits are observed through the sink. */
const fakeDb = { transaction: <T>(fn: (tx: Sql) => Promise<T>) => fn({} as Sql) } as unknown as Database;

const reading = (id: string): Reading => ({ id, idempotencyKey: id, readings: [] }) as unknown as Reading;

const req = (...ids: string[]): WriteRequest => ({
  readings: ids.map(reading),
  deadLetters: [],
  statuses: [],
});

describe('BatchWriter (group commit)', () => {
  it('commits requests that arrive together in one transaction and resolves each only after it', async () => {
    const commits: string[][] = [];
    const w = new BatchWriter({
      db: fakeDb,
      maxBatch: 100,
      maxWaitMs: 5,
      sink: {
        async commit(_sql, batch) {
          commits.push(batch.readings.map((r) => r.id));
          return new Set(batch.readings.map((r) => r.id));
        },
      },
      onCommitted: () => {},
    });
    const outcomes = await Promise.all([w.write(req('a')), w.write(req('b', 'c')), w.write(req('d'))]);
    assert.deepEqual(commits, [['a', 'b', 'c', 'd']]);
    assert.ok(outcomes.every((o) => o.inserted.has('a') && o.inserted.has('d')));
    await w.close();
  });

  it('isolates a request that makes the group fail: the others still commit', async () => {
    const committed: string[] = [];
    const w = new BatchWriter({
      db: fakeDb,
      maxBatch: 100,
      maxWaitMs: 5,
      sink: {
        async commit(_sql, batch) {
          if (batch.readings.some((r) => r.id === 'poison')) throw new Error('invalid input');
          committed.push(...batch.readings.map((r) => r.id));
          return new Set(batch.readings.map((r) => r.id));
        },
      },
      onCommitted: () => {},
    });
    const results = await Promise.allSettled([w.write(req('a')), w.write(req('poison')), w.write(req('b'))]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'rejected', 'fulfilled'],
    );
    assert.deepEqual(committed.sort(), ['a', 'b']);
    await w.close();
  });

  it('refuses new work once closing, after committing what it had', async () => {
    let n = 0;
    const w = new BatchWriter({
      db: fakeDb,
      maxBatch: 100,
      maxWaitMs: 50,
      sink: {
        async commit(_sql, batch) {
          n += batch.readings.length;
          return new Set(batch.readings.map((r) => r.id));
        },
      },
      onCommitted: () => {},
    });
    const pending = w.write(req('x', 'y'));
    await w.close();
    await pending;
    assert.equal(n, 2, 'accepted work committed before close resolved');
    await assert.rejects(w.write(req('z')), /shutting down/);
  });

  it('with concurrency 2 keeps two transactions in flight, acks each after its own commit, delivers in order', async () => {
    const gates: Array<() => void> = [];
    const started: string[][] = [];
    const delivered: string[][] = [];
    const w = new BatchWriter({
      db: fakeDb,
      maxBatch: 2,
      maxWaitMs: 1,
      concurrency: 2,
      sink: {
        async commit(_sql, batch) {
          started.push(batch.readings.map((r) => r.id));
          await new Promise<void>((r) => gates.push(r));
          return new Set(batch.readings.map((r) => r.id));
        },
      },
      onCommitted: (rs) => delivered.push(rs.map((r) => r.id)),
    });
    const first = w.write(req('a', 'b'));
    const second = w.write(req('c', 'd'));
    const third = w.write(req('e', 'f'));
    while (started.length < 2) await new Promise((r) => setTimeout(r, 1));
    assert.deepEqual(
      started,
      [
        ['a', 'b'],
        ['c', 'd'],
      ],
      'two batches in flight, the third waits for a slot',
    );
    let secondDone = false;
    second.then(() => {
      secondDone = true;
    });
    gates[1]?.(); // the second transaction commits first
    await second;
    assert.ok(secondDone);
    assert.deepEqual(delivered, [], 'listeners wait for the earlier batch');
    gates[0]?.();
    await first;
    assert.deepEqual(delivered, [
      ['a', 'b'],
      ['c', 'd'],
    ]);
    while (started.length < 3) await new Promise((r) => setTimeout(r, 1));
    gates[2]?.();
    await third;
    assert.deepEqual(delivered, [
      ['a', 'b'],
      ['c', 'd'],
      ['e', 'f'],
    ]);
    await w.close();
  });
});
