import { createHash, randomBytes } from 'node:crypto';
import type { Clock } from '../core/clock.ts';
import { VigilError } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import type { Database } from '../store/database.ts';
import { hashPassword, randomPassword } from './passwords.ts';

/** Roles the IdP may give over SCIM: staff only (patients are invited, devices registered). */
export const scimRoles: ReadonlySet<string> = new Set(['admin', 'clinician', 'nurse', 'privacy']);

export interface ScimUserRecord {
  id: string;
  userName: string;
  displayName: string | null;
  active: boolean;
  externalId: string | null;
  /** The roles the IdP sent in User.roles. */
  scimRoles: string[];
  /** The account's roles in force: User.roles and those of its mapped groups. */
  roles: string[];
  practitionerId: string | null;
  created: string;
  lastModified: string;
}

export interface ScimUserInput {
  userName: string;
  displayName: string | null;
  active: boolean;
  externalId: string | null;
  roles: string[];
  /** The enterprise extension's employeeNumber: resolved to a Practitioner (id or identifier). */
  employeeNumber: string | null;
}

export interface ScimGroupRecord {
  id: string;
  displayName: string;
  externalId: string | null;
  members: Array<{ value: string; display: string }>;
  created: string;
  lastModified: string;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const iso = (v: string | Date) => new Date(v).toISOString();
const conflict = (what: string) => new VigilError('VIGIL_ERR_SCIM_UNIQUENESS', what, 409);
const notFound = (what: string) => new VigilError('VIGIL_ERR_SCIM_NOT_FOUND', what, 404);

interface UserRow {
  id: string;
  username: string;
  display_name: string | null;
  disabled: boolean;
  scim_external_id: string | null;
  scim_roles: string[];
  roles: string[];
  practitioner_id: string | null;
  created_at: string | Date;
  updated_at: string | Date;
}

/**
 * The staff directory as the hospital's identity provider keeps it over SCIM 2.0 (RFC 7643/7644;
 * the protocol itself is SCIMMY's, in src/api/routes/scim.ts). Only accounts SCIM created are
 * visible to SCIM and changed by it: local accounts (the first administrator, service accounts)
 * and patients are never touched. A person's roles are the staff roles in their User.roles plus
 * those of their groups mapped by VIGIL_SCIM_GROUP_ROLES; deactivating or deleting them ends their
 * sessions at once. They sign in through the IdP (OpenID Connect): SCIM accounts have no password.
 */
export class ScimDirectory {
  readonly #db: Database;
  readonly #clock: Clock;
  readonly #groupRoles: Record<string, string[]>;
  readonly #endSessions: (userId: string, reason: string) => Promise<unknown>;

  constructor(o: {
    db: Database;
    clock: Clock;
    groupRoles: Record<string, string[]>;
    endSessions: (userId: string, reason: string) => Promise<unknown>;
  }) {
    this.#db = o.db;
    this.#clock = o.clock;
    this.#groupRoles = o.groupRoles;
    this.#endSessions = o.endSessions;
  }

  #now(): string {
    return new Date(this.#clock.now()).toISOString();
  }

  // ── bearer tokens ──────────────────────────────────────────────────────────────────────────────
  async createToken(name: string): Promise<{ id: string; name: string; token: string; createdAt: string }> {
    const id = newId();
    const token = `vscim_${randomBytes(32).toString('base64url')}`;
    const createdAt = this.#now();
    await this.#db.query(
      'insert into scim_token (id, name, token_hash, created_at) values ($1, $2, $3, $4)',
      [id, name, sha256(token), createdAt],
    );
    return { id, name, token, createdAt };
  }

  async listTokens(): Promise<
    Array<{
      id: string;
      name: string;
      createdAt: string;
      lastUsedAt: string | null;
      revokedAt: string | null;
    }>
  > {
    const rows = await this.#db.query<{
      id: string;
      name: string;
      created_at: string | Date;
      last_used_at: string | Date | null;
      revoked_at: string | Date | null;
    }>('select id, name, created_at, last_used_at, revoked_at from scim_token order by created_at');
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      createdAt: iso(r.created_at),
      lastUsedAt: r.last_used_at ? iso(r.last_used_at) : null,
      revokedAt: r.revoked_at ? iso(r.revoked_at) : null,
    }));
  }

  async revokeToken(id: string): Promise<boolean> {
    const rows = await this.#db.query(
      'update scim_token set revoked_at = $2 where id = $1 and revoked_at is null returning id',
      [id, this.#now()],
    );
    return rows.length > 0;
  }

  /** The token's client, or undefined (unknown or revoked). */
  async authenticate(token: string): Promise<{ id: string; name: string } | undefined> {
    if (!token.startsWith('vscim_') || token.length > 200) return undefined;
    const rows = await this.#db.query<{ id: string; name: string }>(
      `update scim_token set last_used_at = $2 where token_hash = $1 and revoked_at is null returning id, name`,
      [sha256(token), this.#now()],
    );
    return rows[0];
  }

  // ── users ──────────────────────────────────────────────────────────────────────────────────────
  async listUsers(): Promise<ScimUserRecord[]> {
    const rows = await this.#db.query<UserRow>(
      `select * from app_user where provisioned_by = 'scim' and scim_deleted_at is null order by created_at, id`,
    );
    return rows.map(toUser);
  }

  async getUser(id: string): Promise<ScimUserRecord> {
    const rows = await this.#db.query<UserRow>(
      `select * from app_user where id::text = $1 and provisioned_by = 'scim' and scim_deleted_at is null`,
      [id],
    );
    if (!rows[0]) throw notFound(`no user ${id}`);
    return toUser(rows[0]);
  }

  async createUser(u: ScimUserInput): Promise<ScimUserRecord> {
    const now = this.#now();
    const practitionerId = await this.#practitioner(u.employeeNumber);
    // A user deleted over SCIM and provisioned again keeps their account (and its audit trail).
    const revived = await this.#db.query<{ id: string }>(
      `update app_user set scim_deleted_at = null, display_name = $2, disabled = $3, scim_external_id = $4,
              scim_roles = $5::jsonb, practitioner_id = $6, updated_at = $7
        where username = $1 and provisioned_by = 'scim' and scim_deleted_at is not null returning id`,
      [u.userName, u.displayName, !u.active, u.externalId, JSON.stringify(u.roles), practitionerId, now],
    );
    let id = revived[0]?.id;
    if (!id) {
      id = newId();
      const rows = await this.#db.query(
        `insert into app_user (id, username, password_hash, roles, display_name, practitioner_id, disabled,
                               provisioned_by, scim_external_id, scim_roles, created_at, updated_at)
         values ($1, $2, $3, '[]'::jsonb, $4, $5, $6, 'scim', $7, $8::jsonb, $9, $9)
         on conflict (username) do nothing returning id`,
        [
          id,
          u.userName,
          // No password: they sign in through the IdP. A random, never-shown one keeps the column's rule.
          await hashPassword(randomPassword()),
          u.displayName,
          practitionerId,
          !u.active,
          u.externalId,
          JSON.stringify(u.roles),
          now,
        ],
      );
      if (!rows[0]) throw conflict(`userName ${u.userName} is taken`);
    }
    await this.#recomputeRoles([id]);
    return this.getUser(id);
  }

  async replaceUser(id: string, u: ScimUserInput): Promise<ScimUserRecord> {
    const before = await this.getUser(id);
    const practitionerId = await this.#practitioner(u.employeeNumber);
    const taken = await this.#db.query('select 1 from app_user where username = $1 and id::text <> $2', [
      u.userName,
      id,
    ]);
    if (taken.length > 0) throw conflict(`userName ${u.userName} is taken`);
    await this.#db.query(
      `update app_user set username = $2, display_name = $3, disabled = $4, scim_external_id = $5,
              scim_roles = $6::jsonb, practitioner_id = coalesce($7, practitioner_id), updated_at = $8
        where id::text = $1`,
      [
        id,
        u.userName,
        u.displayName,
        !u.active,
        u.externalId,
        JSON.stringify(u.roles),
        practitionerId,
        this.#now(),
      ],
    );
    await this.#recomputeRoles([id]);
    const after = await this.getUser(id);
    if (before.active && !after.active) await this.#endSessions(id, 'scim-deactivated');
    else if (!sameSet(before.roles, after.roles)) await this.#endSessions(id, 'scim-roles-changed');
    return after;
  }

  async deleteUser(id: string): Promise<void> {
    await this.getUser(id);
    await this.#db.query(
      `update app_user set scim_deleted_at = $2, disabled = true, updated_at = $2 where id::text = $1`,
      [id, this.#now()],
    );
    await this.#db.query('delete from scim_group_member where user_id::text = $1', [id]);
    await this.#endSessions(id, 'scim-deleted');
  }

  // ── groups ─────────────────────────────────────────────────────────────────────────────────────
  async listGroups(): Promise<ScimGroupRecord[]> {
    const rows = await this.#db.query<{ id: string }>('select id from scim_group order by created_at, id');
    return Promise.all(rows.map((r) => this.getGroup(r.id)));
  }

  async getGroup(id: string): Promise<ScimGroupRecord> {
    const rows = await this.#db.query<{
      id: string;
      display_name: string;
      external_id: string | null;
      created_at: string | Date;
      updated_at: string | Date;
    }>('select * from scim_group where id::text = $1', [id]);
    const g = rows[0];
    if (!g) throw notFound(`no group ${id}`);
    const members = await this.#db.query<{ id: string; username: string }>(
      `select u.id, u.username from scim_group_member m join app_user u on u.id = m.user_id
        where m.group_id::text = $1 order by u.username`,
      [id],
    );
    return {
      id: g.id,
      displayName: g.display_name,
      externalId: g.external_id,
      members: members.map((m) => ({ value: m.id, display: m.username })),
      created: iso(g.created_at),
      lastModified: iso(g.updated_at),
    };
  }

  async createGroup(g: {
    displayName: string;
    externalId: string | null;
    members: string[];
  }): Promise<ScimGroupRecord> {
    const id = newId();
    const now = this.#now();
    const rows = await this.#db.query(
      `insert into scim_group (id, display_name, external_id, created_at, updated_at) values ($1, $2, $3, $4, $4)
       on conflict (display_name) do nothing returning id`,
      [id, g.displayName, g.externalId, now],
    );
    if (!rows[0]) throw conflict(`a group named ${g.displayName} exists`);
    await this.#setMembers(id, g.members);
    return this.getGroup(id);
  }

  async replaceGroup(
    id: string,
    g: { displayName: string; externalId: string | null; members: string[] },
  ): Promise<ScimGroupRecord> {
    const before = await this.getGroup(id);
    const taken = await this.#db.query(
      'select 1 from scim_group where display_name = $1 and id::text <> $2',
      [g.displayName, id],
    );
    if (taken.length > 0) throw conflict(`a group named ${g.displayName} exists`);
    await this.#db.query(
      'update scim_group set display_name = $2, external_id = $3, updated_at = $4 where id::text = $1',
      [id, g.displayName, g.externalId, this.#now()],
    );
    await this.#setMembers(
      id,
      g.members,
      before.members.map((m) => m.value),
    );
    return this.getGroup(id);
  }

  async deleteGroup(id: string): Promise<void> {
    const before = await this.getGroup(id);
    await this.#db.query('delete from scim_group where id::text = $1', [id]);
    await this.#afterMembershipChange(before.members.map((m) => m.value));
  }

  async #setMembers(groupId: string, members: string[], previous: string[] = []): Promise<void> {
    const known = await this.#db.query<{ id: string }>(
      `select id::text as id from app_user where id::text = any($1::text[]) and provisioned_by = 'scim'
          and scim_deleted_at is null`,
      [members],
    );
    const ids = new Set(known.map((k) => k.id));
    const unknown = members.filter((m) => !ids.has(m));
    if (unknown.length > 0)
      throw new VigilError('VIGIL_ERR_SCIM_INVALID_VALUE', `no user ${unknown[0]} for a group member`, 400);
    await this.#db.query('delete from scim_group_member where group_id::text = $1', [groupId]);
    for (const m of ids)
      await this.#db.query('insert into scim_group_member (group_id, user_id) values ($1::uuid, $2::uuid)', [
        groupId,
        m,
      ]);
    await this.#afterMembershipChange([...new Set([...previous, ...ids])]);
  }

  /** Roles follow a membership change; a person who lost a role signs in again. */
  async #afterMembershipChange(userIds: string[]): Promise<void> {
    const before = new Map<string, string[]>();
    for (const id of userIds) before.set(id, (await this.getUser(id).catch(() => undefined))?.roles ?? []);
    await this.#recomputeRoles(userIds);
    for (const id of userIds) {
      const after = (await this.getUser(id).catch(() => undefined))?.roles ?? [];
      if (!sameSet(before.get(id) ?? [], after)) await this.#endSessions(id, 'scim-roles-changed');
    }
  }

  async #recomputeRoles(userIds: string[]): Promise<void> {
    for (const id of userIds) {
      const rows = await this.#db.query<{ scim_roles: string[]; groups: string[] | null }>(
        `select u.scim_roles, (select array_agg(g.display_name) from scim_group_member m
                                 join scim_group g on g.id = m.group_id where m.user_id = u.id) as groups
           from app_user u where u.id::text = $1 and u.provisioned_by = 'scim'`,
        [id],
      );
      const r = rows[0];
      if (!r) continue;
      const roles = new Set(r.scim_roles.filter((x) => scimRoles.has(x)));
      for (const g of r.groups ?? []) for (const role of this.#groupRoles[g] ?? []) roles.add(role);
      await this.#db.query('update app_user set roles = $2::jsonb where id::text = $1', [
        id,
        JSON.stringify([...roles].sort()),
      ]);
    }
  }

  /** employeeNumber → a Practitioner: its id, or the one with that identifier value. */
  async #practitioner(employeeNumber: string | null): Promise<string | null> {
    if (!employeeNumber) return null;
    const rows = await this.#db.query<{ id: string }>(
      `select id from fhir_resource where resource_type = 'Practitioner' and not deleted
          and (id = $1 or content -> 'identifier' @> $2::jsonb) order by (id = $1) desc limit 1`,
      [employeeNumber, JSON.stringify([{ value: employeeNumber }])],
    );
    return rows[0]?.id ?? null;
  }
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

function toUser(r: UserRow): ScimUserRecord {
  return {
    id: r.id,
    userName: r.username,
    displayName: r.display_name,
    active: !r.disabled,
    externalId: r.scim_external_id,
    scimRoles: r.scim_roles ?? [],
    roles: r.roles ?? [],
    practitionerId: r.practitioner_id,
    created: iso(r.created_at),
    lastModified: iso(r.updated_at),
  };
}
