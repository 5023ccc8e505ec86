import { createHash } from 'node:crypto';
import type { Database } from './database.ts';

export interface LorawanIntegration {
  id: string;
  network: 'chirpstack' | 'tts';
  name: string;
  createdAt: string;
  revokedAt: string | null;
}

export interface LorawanCodec {
  model: string;
  version: number;
  source: string;
  template: string | null;
  createdAt: string;
  createdBy: string | null;
}

export interface LorawanDevice {
  id: string;
  model: string | null;
  active: boolean;
}

const iso = (d: unknown) => (d instanceof Date ? d.toISOString() : d == null ? null : String(d));
const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

function toIntegration(r: Record<string, unknown>): LorawanIntegration {
  return {
    id: r['id'] as string,
    network: r['network'] as 'chirpstack' | 'tts',
    name: r['name'] as string,
    createdAt: iso(r['created_at']) as string,
    revokedAt: iso(r['revoked_at']),
  };
}

function toCodec(r: Record<string, unknown>): LorawanCodec {
  return {
    model: r['model'] as string,
    version: Number(r['version']),
    source: r['source'] as string,
    template: (r['template'] as string | null) ?? null,
    createdAt: iso(r['created_at']) as string,
    createdBy: (r['created_by'] as string | null) ?? null,
  };
}

/** LoRaWAN integrations (their secrets stored as SHA-256 only) and versioned payload codecs per model. */
export class LorawanRepository {
  readonly #db: Database;
  constructor(db: Database) {
    this.#db = db;
  }

  async createIntegration(i: { id: string; network: 'chirpstack' | 'tts'; name: string; secret: string }) {
    const rows = await this.#db.query(
      `insert into lorawan_integration (id, network, name, secret_hash) values ($1, $2, $3, $4) returning *`,
      [i.id, i.network, i.name, sha256(i.secret)],
    );
    return toIntegration(rows[0] as Record<string, unknown>);
  }

  async listIntegrations(): Promise<LorawanIntegration[]> {
    const rows = await this.#db.query(`select * from lorawan_integration order by created_at, id`);
    return rows.map((r) => toIntegration(r as Record<string, unknown>));
  }

  /** The active integration whose id and secret match, or undefined. */
  async authenticate(id: string, secret: string): Promise<LorawanIntegration | undefined> {
    const rows = await this.#db.query(
      `select * from lorawan_integration where id = $1 and secret_hash = $2 and revoked_at is null`,
      [id, sha256(secret)],
    );
    return rows[0] ? toIntegration(rows[0] as Record<string, unknown>) : undefined;
  }

  async revokeIntegration(id: string): Promise<boolean> {
    const rows = await this.#db.query(
      `update lorawan_integration set revoked_at = coalesce(revoked_at, now()) where id = $1 returning id`,
      [id],
    );
    return rows.length > 0;
  }

  async putCodec(c: { model: string; source: string; template: string | null; createdBy: string | null }) {
    const rows = await this.#db.query(
      `insert into lorawan_codec (model, version, source, template, created_by)
       values ($1, coalesce((select max(version) from lorawan_codec where model = $1), 0) + 1, $2, $3, $4)
       returning *`,
      [c.model, c.source, c.template, c.createdBy],
    );
    return toCodec(rows[0] as Record<string, unknown>);
  }

  /** The newest version of the model's codec (or a given version). */
  async codec(model: string, version?: number): Promise<LorawanCodec | undefined> {
    const rows = await this.#db.query(
      version === undefined
        ? `select * from lorawan_codec where model = $1 order by version desc limit 1`
        : `select * from lorawan_codec where model = $1 and version = $2`,
      version === undefined ? [model] : [model, version],
    );
    return rows[0] ? toCodec(rows[0] as Record<string, unknown>) : undefined;
  }

  async listCodecs(): Promise<Omit<LorawanCodec, 'source'>[]> {
    const rows = await this.#db.query(
      `select distinct on (model) model, version, template, created_at, created_by, '' as source
       from lorawan_codec order by model, version desc`,
    );
    return rows.map((r) => {
      const { source: _s, ...rest } = toCodec(r as Record<string, unknown>);
      return rest;
    });
  }

  /** Devices registered with this EUI-64 as their identifier (compared without separators and case). */
  async devicesByEui(devEui: string): Promise<LorawanDevice[]> {
    const rows = await this.#db.query<{ id: string; model: string | null; revoked: boolean }>(
      `select id, model, revoked_at is not null as revoked from device
       where upper(replace(replace(identifier, '-', ''), ':', '')) = $1 order by id`,
      [devEui],
    );
    return rows.map((r) => ({ id: r.id, model: r.model, active: !r.revoked }));
  }
}
