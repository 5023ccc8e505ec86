import { createHash, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../core/clock.ts';
import { VigilError } from '../core/errors.ts';
import { newSecret } from '../core/ids.ts';
import type { Database } from '../store/database.ts';
import { isValidScope } from './scopes.ts';

export interface OAuthClient {
  id: string;
  name: string;
  scopes: string[];
  createdAt: string;
  rotatedAt: string | null;
  revokedAt: string | null;
}

export const clientIdPattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
// Client secrets are 256-bit random values (like device secrets): SHA-256 is enough to store them.
const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

function toClient(r: Record<string, unknown>): OAuthClient {
  const iso = (v: unknown) => (v ? new Date(v as string).toISOString() : null);
  return {
    id: r['id'] as string,
    name: r['name'] as string,
    scopes: (r['scopes'] as string[]) ?? [],
    createdAt: iso(r['created_at']) as string,
    rotatedAt: iso(r['rotated_at']),
    revokedAt: iso(r['revoked_at']),
  };
}

/** Integrations (an EHR, an analytics job) as OAuth2 clients with SMART system scopes. */
export class OAuthClientService {
  readonly #db: Database;
  readonly #clock: Clock;

  constructor(db: Database, clock: Clock) {
    this.#db = db;
    this.#clock = clock;
  }

  static validateScopes(scopes: string[]): void {
    const bad = scopes.filter((s) => !isValidScope(s));
    if (bad.length || scopes.length === 0) {
      throw new VigilError(
        'VIGIL_ERR_AUTH_INVALID_SCOPE',
        `scopes must be SMART system scopes such as system/Observation.read (bad: ${bad.join(' ') || 'none given'})`,
        400,
      );
    }
  }

  async register(
    id: string,
    name: string,
    scopes: string[],
  ): Promise<{ client: OAuthClient; secret: string }> {
    if (!clientIdPattern.test(id))
      throw new VigilError('VIGIL_ERR_AUTH_INVALID_CLIENT_ID', 'client id: 1–64 letters, digits, . _ -', 400);
    OAuthClientService.validateScopes(scopes);
    const secret = `vgc_${newSecret(32)}`;
    const rows = await this.#db.query(
      `insert into oauth_client (id, name, secret_hash, scopes, created_at) values ($1, $2, $3, $4::jsonb, $5)
       on conflict (id) do nothing returning *`,
      [id, name, sha256(secret), JSON.stringify(scopes), new Date(this.#clock.now()).toISOString()],
    );
    if (!rows[0])
      throw new VigilError('VIGIL_ERR_AUTH_CLIENT_EXISTS', `integration ${id} already exists`, 409);
    return { client: toClient(rows[0]), secret };
  }

  async list(): Promise<OAuthClient[]> {
    return (await this.#db.query(`select * from oauth_client where kind = 'integration' order by id`)).map(
      toClient,
    );
  }

  async get(id: string): Promise<OAuthClient | undefined> {
    const r = (await this.#db.query('select * from oauth_client where id = $1', [id]))[0];
    return r ? toClient(r) : undefined;
  }

  async rotate(id: string): Promise<{ secret: string }> {
    const secret = `vgc_${newSecret(32)}`;
    const rows = await this.#db.query(
      'update oauth_client set secret_hash = $2, rotated_at = $3 where id = $1 and revoked_at is null returning id',
      [id, sha256(secret), new Date(this.#clock.now()).toISOString()],
    );
    if (!rows[0]) throw new VigilError('VIGIL_ERR_AUTH_CLIENT_NOT_FOUND', `no active integration ${id}`, 404);
    return { secret };
  }

  async revoke(id: string): Promise<void> {
    const rows = await this.#db.query(
      'update oauth_client set revoked_at = coalesce(revoked_at, $2) where id = $1 returning id',
      [id, new Date(this.#clock.now()).toISOString()],
    );
    if (!rows[0]) throw new VigilError('VIGIL_ERR_AUTH_CLIENT_NOT_FOUND', `no integration ${id}`, 404);
  }

  /** The client when id and secret match an active client. */
  async authenticate(id: string, secret: string): Promise<OAuthClient | undefined> {
    const r = (
      await this.#db.query(`select * from oauth_client where id = $1 and kind = 'integration'`, [id])
    )[0];
    if (!r || r['revoked_at'] || typeof r['secret_hash'] !== 'string') return undefined;
    const a = Buffer.from(sha256(secret), 'hex');
    const b = Buffer.from(r['secret_hash'] as string, 'hex');
    return a.length === b.length && timingSafeEqual(a, b) ? toClient(r) : undefined;
  }

  /** Per-request check: a token of a revoked (or rotated-after-issue) client stops working at once. */
  async isActive(id: string, issuedAtSeconds: number | undefined): Promise<boolean> {
    const r = (
      await this.#db.query<{ revoked_at: Date | null; rotated_at: Date | null }>(
        'select revoked_at, rotated_at from oauth_client where id = $1',
        [id],
      )
    )[0];
    if (!r || r.revoked_at) return false;
    if (r.rotated_at && (issuedAtSeconds ?? 0) < Math.floor(new Date(r.rotated_at).getTime() / 1000))
      return false;
    return true;
  }
}
