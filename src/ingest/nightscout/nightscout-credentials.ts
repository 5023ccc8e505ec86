import { createHash, timingSafeEqual } from 'node:crypto';
import type { Database } from '../../store/database.ts';

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');
const sha1 = (s: string) => createHash('sha1').update(s, 'utf8').digest('hex');

/** What Nightscout uploaders send as `api-secret`: the hex SHA-1 of the secret. */
export function nightscoutApiSecret(secret: string): string {
  return sha1(secret);
}

/**
 * Nightscout API-secret verifiers (docs/adr/0006): SHA-256(SHA-1(device secret)), bound to the
 * device credential in force when issued. A stolen table cannot be replayed as an `api-secret`
 * (the header needs the SHA-1 itself), and rotation or revocation of the device secret disables it.
 */
export class NightscoutCredentials {
  readonly #db: Database;
  constructor(db: Database) {
    this.#db = db;
  }

  /** Stores the verifier for a device's current secret (call right after issuing that secret). */
  async issue(deviceId: string, secret: string): Promise<void> {
    await this.#db.query(
      `insert into nightscout_credential (device_id, api_secret_verifier, device_secret_hash)
       values ($1, $2, $3)
       on conflict (device_id) do update set api_secret_verifier = excluded.api_secret_verifier,
         device_secret_hash = excluded.device_secret_hash, issued_at = now()`,
      [deviceId, sha256(sha1(secret)), sha256(secret)],
    );
  }

  /** Whether `apiSecret` (hex SHA-1, any case) is the device's current Nightscout secret. */
  async verify(deviceId: string, apiSecret: string): Promise<boolean> {
    const presented = apiSecret.trim().toLowerCase();
    if (!/^[0-9a-f]{40}$/.test(presented)) return false;
    const rows = await this.#db.query<{
      verifier: string;
      bound: string;
      current: string | null;
      revoked: boolean;
    }>(
      `select n.api_secret_verifier as verifier, n.device_secret_hash as bound, d.secret_hash as current,
              d.revoked_at is not null as revoked
       from nightscout_credential n join device d on d.id = n.device_id where n.device_id = $1`,
      [deviceId],
    );
    const r = rows[0];
    const a = Buffer.from(sha256(presented), 'hex');
    const b = Buffer.from(r?.verifier ?? '0'.repeat(64), 'hex');
    const match = a.length === b.length && timingSafeEqual(a, b);
    return Boolean(r && match && !r.revoked && r.current !== null && r.current === r.bound);
  }
}
