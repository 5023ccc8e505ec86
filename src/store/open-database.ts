import type { Database } from './database.ts';
import { PgliteDatabase } from './pglite/pglite-database.ts';
import { PostgresDatabase } from './postgres/postgres-database.ts';

/** Chooses the adapter: a PostgreSQL server when a URL is given, else PGlite in dataDir. */
export async function openDatabase(opts: {
  databaseUrl?: string | undefined;
  dataDir?: string;
}): Promise<Database> {
  if (opts.databaseUrl) return PostgresDatabase.open(opts.databaseUrl);
  return PgliteDatabase.open(opts.dataDir);
}
