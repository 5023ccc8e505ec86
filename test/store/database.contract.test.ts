import assert from 'node:assert/strict';
import { it } from 'node:test';
import { listMigrations, migrate } from '../../src/store/migrate.ts';
import { describeEachDatabase } from '../support/databases.ts';

describeEachDatabase('Database port', (factory) => {
  it('applies every migration once and records it', async () => {
    const db = await factory.open();
    const names = (await db.query<{ name: string }>('select name from schema_migrations order by name')).map(
      (r) => r.name,
    );
    assert.deepEqual(
      names,
      listMigrations().map((m) => m.name),
    );
    assert.deepEqual(await migrate(db), [], 'a second run applies nothing');
  });

  it('round-trips parameters, JSON and timestamps the same way', async () => {
    const db = await factory.open();
    const [row] = await db.query<{ n: number; j: { a: number[] }; t: Date; s: string | null }>(
      'select $1::int as n, $2::jsonb as j, $3::timestamptz as t, $4::text as s',
      [42, JSON.stringify({ a: [1, 2] }), '2026-03-01T10:00:00.123Z', null],
    );
    assert.equal(row?.n, 42);
    assert.deepEqual(row?.j, { a: [1, 2] });
    assert.ok(row?.t instanceof Date);
    assert.equal(row?.t.toISOString(), '2026-03-01T10:00:00.123Z');
    assert.equal(row?.s, null);
  });

  it('commits a transaction that resolves and rolls back one that throws', async () => {
    const db = await factory.open();
    await db.exec('create table t (x int primary key)');
    await db.transaction(async (tx) => {
      await tx.query('insert into t values ($1)', [1]);
    });
    await assert.rejects(
      db.transaction(async (tx) => {
        await tx.query('insert into t values ($1)', [2]);
        throw new Error('boom');
      }),
      /boom/,
    );
    const rows = await db.query<{ x: number }>('select x from t order by x');
    assert.deepEqual(
      rows.map((r) => r.x),
      [1],
    );
  });

  it('refuses a duplicate idempotency key silently with on conflict do nothing', async () => {
    const db = await factory.open();
    const insert = `insert into observation (id, code, effective, received, idem_key)
      select * from jsonb_to_recordset($1::jsonb) as x(id uuid, code text, effective timestamptz, received timestamptz, idem_key text)
      on conflict (idem_key) do nothing returning id`;
    const rows = [
      {
        id: '01900000-0000-7000-8000-000000000001',
        code: '8867-4',
        effective: '2026-01-01T00:00:00Z',
        received: '2026-01-01T00:00:01Z',
        idem_key: 'k1',
      },
      {
        id: '01900000-0000-7000-8000-000000000002',
        code: '8867-4',
        effective: '2026-01-01T00:00:00Z',
        received: '2026-01-01T00:00:01Z',
        idem_key: 'k1',
      },
    ];
    const inserted = await db.query<{ id: string }>(insert, [JSON.stringify(rows)]);
    assert.equal(inserted.length, 1);
    const again = await db.query<{ id: string }>(insert, [JSON.stringify(rows)]);
    assert.equal(again.length, 0);
  });
});
