import type { Database } from './database.ts';

export interface UserRow {
  id: string;
  username: string;
  passwordHash: string;
  roles: string[];
  displayName: string | null;
  practitionerId: string | null;
  patientId: string | null;
  disabled: boolean;
}

function toUser(r: Record<string, unknown>): UserRow {
  return {
    id: r['id'] as string,
    username: r['username'] as string,
    passwordHash: r['password_hash'] as string,
    roles: (r['roles'] as string[]) ?? [],
    displayName: (r['display_name'] as string | null) ?? null,
    practitionerId: (r['practitioner_id'] as string | null) ?? null,
    patientId: (r['patient_id'] as string | null) ?? null,
    disabled: Boolean(r['disabled']),
  };
}

/** People's accounts (passwords stored as argon2id hashes only). */
export class UserRepository {
  readonly #db: Database;
  constructor(db: Database) {
    this.#db = db;
  }

  async count(): Promise<number> {
    const rows = await this.#db.query<{ n: number }>('select count(*)::int as n from app_user');
    return rows[0]?.n ?? 0;
  }

  async byUsername(username: string): Promise<UserRow | undefined> {
    const rows = await this.#db.query('select * from app_user where username = $1', [username]);
    return rows[0] ? toUser(rows[0]) : undefined;
  }

  async byId(id: string): Promise<UserRow | undefined> {
    if (!/^[0-9a-f-]{36}$/i.test(id)) return undefined;
    const rows = await this.#db.query('select * from app_user where id = $1', [id]);
    return rows[0] ? toUser(rows[0]) : undefined;
  }

  /** Inserts unless the username exists; returns whether it was created. */
  async insert(u: Omit<UserRow, 'disabled'>): Promise<boolean> {
    const rows = await this.#db.query(
      `insert into app_user (id, username, password_hash, roles, display_name, practitioner_id, patient_id)
       values ($1, $2, $3, $4::jsonb, $5, $6, $7) on conflict (username) do nothing returning id`,
      [
        u.id,
        u.username,
        u.passwordHash,
        JSON.stringify(u.roles),
        u.displayName,
        u.practitionerId,
        u.patientId,
      ],
    );
    return rows.length === 1;
  }

  async setPassword(id: string, hash: string): Promise<void> {
    await this.#db.query('update app_user set password_hash = $2, updated_at = now() where id = $1', [
      id,
      hash,
    ]);
  }

  async list(): Promise<UserRow[]> {
    const rows = await this.#db.query('select * from app_user order by username');
    return rows.map(toUser);
  }
}
