import { isSealed, sealSecret } from '../core/secret-box.ts';
import type { Database } from './database.ts';

/** Every column that holds a secret in the clear when unsealed, with the purpose it is sealed for. */
export const secretColumns = [
  { table: 'app_user', key: 'id', column: 'totp_secret', purpose: 'totp' },
  { table: 'app_user', key: 'id', column: 'totp_pending_secret', purpose: 'totp' },
  { table: 'webhook_subscription', key: 'id', column: 'secret', purpose: 'webhook' },
  { table: 'server_key', key: 'name', column: 'value', purpose: 'server_key' },
] as const;

/**
 * Seals values written before secrets were sealed (or while no key was configured), once, at start.
 * Returns how many values were sealed.
 */
export async function sealLegacySecrets(db: Database): Promise<number> {
  let sealed = 0;
  for (const c of secretColumns) {
    const rows = await db.query<{ k: string; v: string }>(
      `select ${c.key}::text as k, ${c.column} as v from ${c.table} where ${c.column} is not null and ${c.column} not like 'enc:v1:%'`,
    );
    for (const r of rows) {
      if (isSealed(r.v)) continue;
      await db.query(
        `update ${c.table} set ${c.column} = $2 where ${c.key}::text = $1 and ${c.column} = $3`,
        [r.k, sealSecret(db, r.v, c.purpose), r.v],
      );
      sealed++;
    }
  }
  return sealed;
}
