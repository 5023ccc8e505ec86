import { randomBytes } from 'node:crypto';
import { after, describe } from 'node:test';
import postgres from 'postgres';
import type { Database } from '../../src/store/database.ts';
import { migrate } from '../../src/store/migrate.ts';
import { PgliteDatabase } from '../../src/store/pglite/pglite-database.ts';
import { PostgresDatabase } from '../../src/store/postgres/postgres-database.ts';

export const testDatabaseUrl = process.env['VIGIL_TEST_DATABASE_URL'] || undefined;

/**
 * A fresh PostgreSQL database for this test run on the server named by VIGIL_TEST_DATABASE_URL,
 * dropped when the run ends. Returns its URL.
 */
export async function createFreshPostgresDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  if (!testDatabaseUrl) throw new Error('VIGIL_TEST_DATABASE_URL is not set');
  const name = `vigil_test_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const admin = postgres(testDatabaseUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  const u = new URL(testDatabaseUrl);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    drop: async () => {
      const a = postgres(testDatabaseUrl, { max: 1, onnotice: () => {} });
      await a.unsafe(`drop database if exists ${name} with (force)`);
      await a.end();
    },
  };
}

export interface DatabaseFactory {
  kind: 'pglite' | 'postgres';
  /** A migrated, empty database. */
  open(): Promise<Database>;
}

/**
 * Runs the same suite against every adapter: PGlite always; PostgreSQL when VIGIL_TEST_DATABASE_URL
 * is set (skipped with a clear message otherwise).
 */
export function describeEachDatabase(name: string, suite: (factory: DatabaseFactory) => void): void {
  describe(`${name} [pglite]`, () => {
    const opened: Database[] = [];
    after(async () => {
      for (const d of opened) await d.close();
    });
    suite({
      kind: 'pglite',
      open: async () => {
        const db = await PgliteDatabase.open();
        opened.push(db);
        await migrate(db);
        return db;
      },
    });
  });
  describe(`${name} [postgres]`, {
    skip: testDatabaseUrl ? false : 'VIGIL_TEST_DATABASE_URL is not set: PostgreSQL contract tests skipped',
  }, () => {
    const cleanups: Array<() => Promise<void>> = [];
    after(async () => {
      for (const c of cleanups.reverse()) await c();
    });
    suite({
      kind: 'postgres',
      open: async () => {
        const fresh = await createFreshPostgresDatabase();
        const db = await PostgresDatabase.open(fresh.url, { max: 4 });
        cleanups.push(fresh.drop, () => db.close());
        await migrate(db);
        return db;
      },
    });
  });
}
