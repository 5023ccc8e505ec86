import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { VigilError } from '../core/errors.ts';
import type { Database } from './database.ts';

const migrationsDir = fileURLToPath(new URL('./migrations/', import.meta.url));

export interface Migration {
  name: string;
  sql: string;
}

/**
 * Numbered SQL files in store/migrations, shared by PGlite and PostgreSQL, applied in name order,
 * each in its own transaction, recorded in schema_migrations. Number ranges per module keep
 * parallel work apart: 00xx foundation and ingest, 01xx FHIR, 02xx security/audit/consent,
 * 03xx alerts, 04xx detection config, 05xx program.
 */
export function listMigrations(dir = migrationsDir): Migration[] {
  return readdirSync(dir)
    .filter((f) => /^\d{4}_[\w-]+\.sql$/.test(f))
    .sort()
    .map((name) => ({ name, sql: readFileSync(`${dir}/${name}`, 'utf8') }));
}

// migrations and the migration lock may rightly outlast the request timeout
const unbounded = { unbounded: true };

export async function migrate(db: Database, migrations = listMigrations()): Promise<string[]> {
  // A runtime role without CREATE on the schema (docs/operations.md) starts on an up-to-date
  // schema: `create table if not exists` would be refused even when the table exists.
  const [reg] = await db.query<{ t: string | null }>(`select to_regclass('schema_migrations')::text as t`);
  if (!reg?.t)
    await db.exec(
      `create table if not exists schema_migrations (name text primary key, applied_at timestamptz not null default now())`,
    );
  // One migrator at a time on a shared server (several workers may start together).
  if (db.kind === 'postgres') await db.query('select pg_advisory_lock(7426001)', [], unbounded);
  try {
    const done = new Set(
      (await db.query<{ name: string }>('select name from schema_migrations', [], unbounded)).map(
        (r) => r.name,
      ),
    );
    const applied: string[] = [];
    for (const m of migrations) {
      if (done.has(m.name)) continue;
      try {
        await db.transaction(async (tx) => {
          await tx.exec(m.sql);
          await tx.query('insert into schema_migrations (name) values ($1)', [m.name]);
        }, unbounded);
      } catch (e) {
        if ((e as { code?: string }).code === '42501')
          throw new VigilError(
            'VIGIL_ERR_CONFIG_MIGRATION_DENIED',
            `migration ${m.name} is pending and this database role may not change the schema: run \`vigil migrate\` with the migration role first`,
            1,
          );
        throw e;
      }
      applied.push(m.name);
    }
    return applied;
  } finally {
    if (db.kind === 'postgres') await db.query('select pg_advisory_unlock(7426001)', [], unbounded);
  }
}
