import { type Database, toJsonParam } from './database.ts';

export interface StoredTemplate {
  name: string;
  version: number;
  spec: unknown;
  createdAt: string;
  createdBy: string | null;
}

export interface TemplateAssignment {
  id: string;
  template: string;
  /** Pinned version; null follows the newest. */
  version: number | null;
  deviceId: string | null;
  deviceModel: string | null;
  createdAt: string;
}

const iso = (d: unknown) => (d instanceof Date ? d.toISOString() : String(d));

function toTemplate(r: Record<string, unknown>): StoredTemplate {
  const spec = r['spec'];
  return {
    name: r['name'] as string,
    version: Number(r['version']),
    spec: typeof spec === 'string' ? JSON.parse(spec) : spec,
    createdAt: iso(r['created_at']),
    createdBy: (r['created_by'] as string | null) ?? null,
  };
}

function toAssignment(r: Record<string, unknown>): TemplateAssignment {
  return {
    id: r['id'] as string,
    template: r['template'] as string,
    version: r['version'] == null ? null : Number(r['version']),
    deviceId: (r['device_id'] as string | null) ?? null,
    deviceModel: (r['device_model'] as string | null) ?? null,
    createdAt: iso(r['created_at']),
  };
}

/** Vendor mapping templates (immutable versions) and their assignments to devices and models. */
export class VendorTemplateRepository {
  readonly #db: Database;
  constructor(db: Database) {
    this.#db = db;
  }

  /** Stores the next version of `name` (1 for a new template); returns it. */
  async addVersion(name: string, spec: unknown, createdBy: string | null): Promise<StoredTemplate> {
    return this.#db.transaction(async (sql) => {
      // one writer per name at a time: concurrent creates get consecutive versions
      await sql.query('select pg_advisory_xact_lock(hashtext($1))', [`vendor_template:${name}`]);
      const rows = await sql.query(
        `insert into vendor_template (name, version, spec, created_by)
         select $1, coalesce(max(version), 0) + 1, $2::jsonb, $3 from vendor_template where name = $1
         returning *`,
        [name, toJsonParam(spec), createdBy],
      );
      return toTemplate(rows[0] as Record<string, unknown>);
    });
  }

  async get(name: string, version?: number): Promise<StoredTemplate | undefined> {
    const rows =
      version === undefined
        ? await this.#db.query(
            'select * from vendor_template where name = $1 order by version desc limit 1',
            [name],
          )
        : await this.#db.query('select * from vendor_template where name = $1 and version = $2', [
            name,
            version,
          ]);
    return rows[0] ? toTemplate(rows[0]) : undefined;
  }

  async versions(
    name: string,
  ): Promise<Array<{ version: number; createdAt: string; createdBy: string | null }>> {
    const rows = await this.#db.query<{ version: number; created_at: Date; created_by: string | null }>(
      'select version, created_at, created_by from vendor_template where name = $1 order by version',
      [name],
    );
    return rows.map((r) => ({
      version: Number(r.version),
      createdAt: iso(r.created_at),
      createdBy: r.created_by,
    }));
  }

  /** The newest version of every template. */
  async list(): Promise<StoredTemplate[]> {
    const rows = await this.#db.query(
      `select distinct on (name) * from vendor_template order by name, version desc`,
    );
    return rows.map(toTemplate);
  }

  async assign(a: {
    id: string;
    template: string;
    version: number | null;
    deviceId: string | null;
    deviceModel: string | null;
    createdBy: string | null;
  }): Promise<TemplateAssignment> {
    const rows = await this.#db.query(
      `insert into vendor_template_assignment (id, template, version, device_id, device_model, created_by)
       values ($1, $2, $3, $4, $5, $6)
       on conflict do nothing
       returning *`,
      [a.id, a.template, a.version, a.deviceId, a.deviceModel, a.createdBy],
    );
    if (rows[0]) return toAssignment(rows[0]);
    // already assigned to that device / model: the new pin replaces the old one
    const updated = await this.#db.query(
      `update vendor_template_assignment set version = $3
       where template = $1 and ${a.deviceId !== null ? 'device_id' : 'device_model'} = $2
       returning *`,
      [a.template, a.deviceId ?? a.deviceModel, a.version],
    );
    return toAssignment(updated[0] as Record<string, unknown>);
  }

  async assignments(template: string): Promise<TemplateAssignment[]> {
    const rows = await this.#db.query(
      'select * from vendor_template_assignment where template = $1 order by created_at, id',
      [template],
    );
    return rows.map(toAssignment);
  }

  async unassign(template: string, id: string): Promise<boolean> {
    if (!/^[0-9a-f-]{36}$/i.test(id)) return false;
    const rows = await this.#db.query(
      'delete from vendor_template_assignment where template = $1 and id = $2 returning id',
      [template, id],
    );
    return rows.length > 0;
  }

  /**
   * The template version a device sends through: its own assignment, else its model's; the pinned
   * version or the newest. Undefined when the template is not assigned to the device.
   */
  async forDevice(deviceId: string, template: string): Promise<StoredTemplate | 'unassigned' | undefined> {
    const rows = await this.#db.query<{ version: number | null; own: boolean }>(
      `select a.version, a.device_id is not null as own
       from vendor_template_assignment a
       left join device d on d.id = $1
       where a.template = $2 and (a.device_id = $1 or (a.device_model is not null and a.device_model = d.model))
       order by own desc limit 1`,
      [deviceId, template],
    );
    const a = rows[0];
    if (!a) return (await this.get(template)) ? 'unassigned' : undefined;
    return this.get(template, a.version ?? undefined);
  }
}
