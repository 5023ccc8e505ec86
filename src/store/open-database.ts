import type { Database } from './database.ts';
import { PgliteWorkerDatabase } from './pglite/pglite-worker-database.ts';
import { PostgresDatabase } from './postgres/postgres-database.ts';

/**
 * Chooses the adapter: a PostgreSQL server when a URL is given, else PGlite in dataDir, run on a
 * worker thread so the database engine does not share the event loop with MQTT and HTTP.
 */
export async function openDatabase(opts: {
  databaseUrl?: string | undefined;
  dataDir?: string;
  /** PostgreSQL server: bound on every query / transaction (VIGIL_DATABASE_TIMEOUT_MS). */
  timeoutMs?: number;
}): Promise<Database> {
  if (opts.databaseUrl)
    return PostgresDatabase.open(
      opts.databaseUrl,
      opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs },
    );
  return PgliteWorkerDatabase.open(opts.dataDir);
}
