import type { Database, Sql } from './database.ts';

/** The regulatory record of a device model (validated by src/devices/device-models.ts). */
export interface DeviceModel {
  id: string;
  manufacturer: string;
  model: string;
  deviceKind: string | null;
  udiDi: string | null;
  fdaClass: 'I' | 'II' | 'III' | null;
  fdaPathway: '510k' | 'de-novo' | 'pma' | 'exempt' | null;
  fdaNumber: string | null;
  euMdrClass: 'I' | 'IIa' | 'IIb' | 'III' | null;
  ceNotifiedBody: string | null;
  softwareVersion: string | null;
  sbomUrl: string | null;
  /** The manufacturer's end of support (security updates), YYYY-MM-DD. */
  endOfSupport: string | null;
  notes: string | null;
}

export interface StoredDeviceModel extends DeviceModel {
  version: number;
  createdAt: string;
  updatedAt: string;
}

export interface Advisory {
  modelId: string;
  kind: 'recall' | 'advisory' | 'field-safety-notice';
  reference: string;
  title: string;
  issuedOn: string;
  status: 'open' | 'closed';
  closedOn: string | null;
  url: string | null;
  affectedVersions: string | null;
}

export interface StoredAdvisory extends Advisory {
  id: string;
  source: 'manual' | 'csv';
  createdAt: string;
  updatedAt: string;
}

const iso = (d: unknown): string => (d instanceof Date ? d.toISOString() : String(d));
/** A `date` column as YYYY-MM-DD (PGlite and postgres.js both return a Date at UTC midnight). */
const day = (d: unknown): string | null =>
  d == null ? null : d instanceof Date ? d.toISOString().slice(0, 10) : String(d).slice(0, 10);

const modelColumns = `id, manufacturer, model, device_kind, udi_di, fda_class, fda_pathway, fda_number, eu_mdr_class,
  ce_notified_body, software_version, sbom_url, end_of_support, notes, version, created_at, updated_at`;

function toModel(r: Record<string, unknown>): StoredDeviceModel {
  return {
    id: r['id'] as string,
    manufacturer: r['manufacturer'] as string,
    model: r['model'] as string,
    deviceKind: (r['device_kind'] as string | null) ?? null,
    udiDi: (r['udi_di'] as string | null) ?? null,
    fdaClass: (r['fda_class'] as DeviceModel['fdaClass']) ?? null,
    fdaPathway: (r['fda_pathway'] as DeviceModel['fdaPathway']) ?? null,
    fdaNumber: (r['fda_number'] as string | null) ?? null,
    euMdrClass: (r['eu_mdr_class'] as DeviceModel['euMdrClass']) ?? null,
    ceNotifiedBody: (r['ce_notified_body'] as string | null) ?? null,
    softwareVersion: (r['software_version'] as string | null) ?? null,
    sbomUrl: (r['sbom_url'] as string | null) ?? null,
    endOfSupport: day(r['end_of_support']),
    notes: (r['notes'] as string | null) ?? null,
    version: Number(r['version']),
    createdAt: iso(r['created_at']),
    updatedAt: iso(r['updated_at']),
  };
}

const advisoryColumns = `id, model_id, kind, reference, title, issued_on, status, closed_on, url, affected_versions, source,
  created_at, updated_at`;

function toAdvisory(r: Record<string, unknown>): StoredAdvisory {
  return {
    id: r['id'] as string,
    modelId: r['model_id'] as string,
    kind: r['kind'] as Advisory['kind'],
    reference: r['reference'] as string,
    title: r['title'] as string,
    issuedOn: day(r['issued_on']) as string,
    status: r['status'] as Advisory['status'],
    closedOn: day(r['closed_on']),
    url: (r['url'] as string | null) ?? null,
    affectedVersions: (r['affected_versions'] as string | null) ?? null,
    source: r['source'] as StoredAdvisory['source'],
    createdAt: iso(r['created_at']),
    updatedAt: iso(r['updated_at']),
  };
}

const modelValues = (m: DeviceModel) => [
  m.id,
  m.manufacturer,
  m.model,
  m.deviceKind,
  m.udiDi,
  m.fdaClass,
  m.fdaPathway,
  m.fdaNumber,
  m.euMdrClass,
  m.ceNotifiedBody,
  m.softwareVersion,
  m.sbomUrl,
  m.endOfSupport,
  m.notes,
];

/** The device-model catalogue, its recalls and advisories, and which model each device is. */
export class DeviceModelRepository {
  readonly #db: Database;
  constructor(db: Database) {
    this.#db = db;
  }

  /**
   * Creates or replaces a model (a replacement that changes nothing keeps its version). Returns the
   * stored model and whether it was new.
   */
  async upsert(m: DeviceModel, sql: Sql = this.#db): Promise<{ model: StoredDeviceModel; created: boolean }> {
    const before = await this.get(m.id, sql);
    if (before && sameModel(before, m)) return { model: before, created: false };
    const rows = await sql.query(
      `insert into device_model (id, manufacturer, model, device_kind, udi_di, fda_class, fda_pathway, fda_number,
         eu_mdr_class, ce_notified_body, software_version, sbom_url, end_of_support, notes)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::date, $14)
       on conflict (id) do update set manufacturer = excluded.manufacturer, model = excluded.model,
         device_kind = excluded.device_kind, udi_di = excluded.udi_di, fda_class = excluded.fda_class,
         fda_pathway = excluded.fda_pathway, fda_number = excluded.fda_number, eu_mdr_class = excluded.eu_mdr_class,
         ce_notified_body = excluded.ce_notified_body, software_version = excluded.software_version,
         sbom_url = excluded.sbom_url, end_of_support = excluded.end_of_support, notes = excluded.notes,
         version = device_model.version + 1, updated_at = now()
       returning ${modelColumns}`,
      modelValues(m),
    );
    return { model: toModel(rows[0]!), created: !before };
  }

  async get(id: string, sql: Sql = this.#db): Promise<StoredDeviceModel | undefined> {
    const rows = await sql.query(`select ${modelColumns} from device_model where id = $1`, [id]);
    return rows[0] ? toModel(rows[0]) : undefined;
  }

  async getMany(ids: readonly string[], sql: Sql = this.#db): Promise<StoredDeviceModel[]> {
    if (!ids.length) return [];
    const rows = await sql.query(
      `select ${modelColumns} from device_model where id = any($1::text[]) order by id`,
      [ids],
    );
    return rows.map(toModel);
  }

  /** The model holding a UDI-DI, if any. */
  async byUdiDi(udiDi: string, sql: Sql = this.#db): Promise<StoredDeviceModel | undefined> {
    const rows = await sql.query(`select ${modelColumns} from device_model where udi_di = $1`, [udiDi]);
    return rows[0] ? toModel(rows[0]) : undefined;
  }

  async list(
    opts: { manufacturer?: string; limit?: number; offset?: number } = {},
    sql: Sql = this.#db,
  ): Promise<StoredDeviceModel[]> {
    const rows = await sql.query(
      `select ${modelColumns} from device_model where ($1::text is null or manufacturer ilike $1)
       order by id limit $2 offset $3`,
      [opts.manufacturer ?? null, opts.limit ?? 1000, opts.offset ?? 0],
    );
    return rows.map(toModel);
  }

  /** Search for the FHIR view: by id, UDI-DI, manufacturer or model prefix. */
  async search(
    where: { ids?: string[]; udiDis?: string[]; manufacturer?: string; model?: string },
    page: { count: number; offset: number },
    sql: Sql,
  ): Promise<{ models: StoredDeviceModel[]; total: number }> {
    const cond = `($1::text[] is null or id = any($1::text[])) and ($2::text[] is null or udi_di = any($2::text[]))
      and ($3::text is null or manufacturer ilike $3) and ($4::text is null or model ilike $4)`;
    const esc = (s: string) => `${s.replace(/[%_\\]/g, '\\$&')}%`;
    const params = [
      where.ids ?? null,
      where.udiDis ?? null,
      where.manufacturer === undefined ? null : esc(where.manufacturer),
      where.model === undefined ? null : esc(where.model),
    ];
    const total = await sql.query<{ n: number }>(
      `select count(*)::int as n from device_model where ${cond}`,
      params,
    );
    const rows = await sql.query(
      `select ${modelColumns} from device_model where ${cond} order by id limit $5 offset $6`,
      [...params, page.count, page.offset],
    );
    return { models: rows.map(toModel), total: total[0]?.n ?? 0 };
  }

  /** Creates or updates the advisory of (model, reference). */
  async upsertAdvisory(
    a: Advisory,
    id: string,
    source: 'manual' | 'csv',
    sql: Sql = this.#db,
  ): Promise<{ advisory: StoredAdvisory; created: boolean }> {
    const before = await sql.query<{ id: string }>(
      'select id from device_model_advisory where model_id = $1 and reference = $2',
      [a.modelId, a.reference],
    );
    const rows = await sql.query(
      `insert into device_model_advisory (id, model_id, kind, reference, title, issued_on, status, closed_on, url,
         affected_versions, source)
       values ($1, $2, $3, $4, $5, $6::date, $7, $8::date, $9, $10, $11)
       on conflict (model_id, reference) do update set kind = excluded.kind, title = excluded.title,
         issued_on = excluded.issued_on, status = excluded.status, closed_on = excluded.closed_on, url = excluded.url,
         affected_versions = excluded.affected_versions, updated_at = now()
       returning ${advisoryColumns}`,
      [
        id,
        a.modelId,
        a.kind,
        a.reference,
        a.title,
        a.issuedOn,
        a.status,
        a.closedOn,
        a.url,
        a.affectedVersions,
        source,
      ],
    );
    return { advisory: toAdvisory(rows[0]!), created: before.length === 0 };
  }

  async advisories(modelId: string, sql: Sql = this.#db): Promise<StoredAdvisory[]> {
    const rows = await sql.query(
      `select ${advisoryColumns} from device_model_advisory where model_id = $1 order by issued_on desc, reference`,
      [modelId],
    );
    return rows.map(toAdvisory);
  }

  async openAdvisories(sql: Sql = this.#db): Promise<StoredAdvisory[]> {
    const rows = await sql.query(
      `select ${advisoryColumns} from device_model_advisory where status = 'open' order by model_id, issued_on desc`,
    );
    return rows.map(toAdvisory);
  }

  async closeAdvisory(
    modelId: string,
    id: string,
    closedOn: string,
    sql: Sql = this.#db,
  ): Promise<StoredAdvisory | undefined> {
    const rows = await sql.query(
      `update device_model_advisory set status = 'closed', closed_on = $3::date, updated_at = now()
       where model_id = $1 and id = $2 returning ${advisoryColumns}`,
      [modelId, id, closedOn],
    );
    return rows[0] ? toAdvisory(rows[0]) : undefined;
  }

  /** Points a device at its model (null: none). False when the device does not exist. */
  async setDeviceModel(deviceId: string, modelId: string | null, sql: Sql = this.#db): Promise<boolean> {
    const rows = await sql.query(
      'update device set model_id = $2, updated_at = now() where id = $1 returning id',
      [deviceId, modelId],
    );
    return rows.length === 1;
  }

  /** Every registered device with its model (for the findings). */
  async fleet(
    sql: Sql = this.#db,
  ): Promise<Array<{ id: string; kind: string; modelId: string | null; revoked: boolean }>> {
    const rows = await sql.query<{ id: string; kind: string; model_id: string | null; revoked_at: unknown }>(
      'select id, kind, model_id, revoked_at from device order by id',
    );
    return rows.map((r) => ({ id: r.id, kind: r.kind, modelId: r.model_id, revoked: r.revoked_at != null }));
  }

  /** The devices of a model. */
  async devicesOf(modelId: string, sql: Sql = this.#db): Promise<string[]> {
    const rows = await sql.query<{ id: string }>('select id from device where model_id = $1 order by id', [
      modelId,
    ]);
    return rows.map((r) => r.id);
  }
}

function sameModel(a: DeviceModel, b: DeviceModel): boolean {
  const va = modelValues(a);
  const vb = modelValues(b);
  return va.every((v, i) => (v ?? null) === (vb[i] ?? null));
}
