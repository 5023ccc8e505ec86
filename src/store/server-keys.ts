import { openSecret, sealSecret } from '../core/secret-box.ts';
import type { Sql } from './database.ts';

/**
 * A server key by name (table `server_key`, sealed at rest): created with `fresh()` the first time,
 * then the same value for every worker and every restart (insert … on conflict do nothing, then read,
 * so concurrent first starts agree on one key).
 */
export async function loadServerKey(db: Sql, name: string, fresh: () => string): Promise<string> {
  await db.query(`insert into server_key (name, value) values ($1, $2) on conflict (name) do nothing`, [
    name,
    sealSecret(db, fresh(), 'server_key'),
  ]);
  const rows = await db.query<{ value: string }>(`select value from server_key where name = $1`, [name]);
  const value = rows[0] ? openSecret(db, rows[0].value, 'server_key') : undefined;
  if (!value) throw new Error(`server key ${name} missing`);
  return value;
}
