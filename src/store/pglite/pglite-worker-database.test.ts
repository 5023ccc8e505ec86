import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PgliteWorkerDatabase } from './pglite-worker-database.ts';

describe('PgliteWorkerDatabase (PGlite on a worker thread)', () => {
  let db: PgliteWorkerDatabase;
  before(async () => {
    db = await PgliteWorkerDatabase.open();
    await db.exec('create table t (k text primary key, b bytea, at timestamptz)');
  });
  after(() => db.close());

  it('returns rows with dates and bytes as the in-thread adapter does', async () => {
    const rows = await db.query<{ n: number; at: Date; b: Uint8Array }>(
      "select 1::int as n, '2026-01-01T00:00:00Z'::timestamptz as at, $1::bytea as b",
      [Buffer.from('hi')],
    );
    assert.equal(rows[0]?.n, 1);
    assert.ok(rows[0]?.at instanceof Date);
    assert.equal(Buffer.from(rows[0]?.b ?? []).toString(), 'hi');
  });

  it('commits a transaction, rolls back on an error and keeps the SQLSTATE code', async () => {
    await db.transaction(async (sql) => {
      await sql.query('insert into t (k) values ($1)', ['a']);
    });
    await assert.rejects(
      db.transaction(async (sql) => {
        await sql.query('insert into t (k) values ($1)', ['b']);
        await sql.query('insert into t (k) values ($1)', ['a']);
      }),
      (e: { code?: string }) => e.code === '23505',
    );
    await assert.rejects(
      db.transaction(async (sql) => {
        await sql.query('insert into t (k) values ($1)', ['c']);
        throw new Error('application error');
      }),
      /application error/,
    );
    const keys = await db.query<{ k: string }>('select k from t order by k');
    assert.deepEqual(
      keys.map((r) => r.k),
      ['a'],
    );
  });

  it('runs statements sent together in one transaction, and a query outside waits for the commit', async () => {
    const tx = db.transaction(async (sql) => {
      await Promise.all([
        sql.query('insert into t (k) values ($1)', ['d']),
        sql.query('insert into t (k) values ($1)', ['e']),
      ]);
      await new Promise((r) => setTimeout(r, 30));
      return 'done';
    });
    const outside = db.query<{ n: number }>('select count(*)::int as n from t');
    assert.equal(await tx, 'done');
    assert.equal((await outside)[0]?.n, 3, 'the outside query saw the committed rows');
  });
});
