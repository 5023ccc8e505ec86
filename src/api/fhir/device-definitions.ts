import type { DeviceDefinition, Resource } from '@medplum/fhirtypes';
import type { Sql } from '../../store/database.ts';
import type { StoredAdvisory, StoredDeviceModel } from '../../store/device-model-repository.ts';
import { DeviceModelRepository } from '../../store/device-model-repository.ts';
import { Params, type SearchFilter, type SearchOptions } from '../../store/fhir-search-filter.ts';
import { DEVICE_KIND_SYSTEM } from './device-registry.ts';
import { badRequest, methodNotAllowed } from './outcomes.ts';
import type { Found, HistoryEntry, Stored, TypeStore } from './resource-store.ts';

export const DEVICE_MODEL_ID_SYSTEM = 'urn:vigil:device-model-id';
export const DEVICE_MODEL_PROPERTY_SYSTEM = 'urn:vigil:device-model-property';
/**
 * UDI issuing agencies and the FDA jurisdiction as FHIR R4 names them (the UDI mapping of the Device
 * resource; unverified against a registry beyond the R4 specification text): a numeric DI is a GS1
 * GTIN, anything else is taken for HIBCC.
 */
export const GS1_DI = 'http://hl7.org/fhir/NamingSystem/gs1-di';
export const HIBCC_DI = 'http://hl7.org/fhir/NamingSystem/hibcc-dI';
export const FDA_UDI = 'http://hl7.org/fhir/NamingSystem/fda-udi';

const issuer = (udiDi: string) => (/^\d+$/.test(udiDi) ? GS1_DI : HIBCC_DI);

const property = (code: string, display: string, value: string) => ({
  type: { coding: [{ system: DEVICE_MODEL_PROPERTY_SYSTEM, code, display }] },
  valueCode: [{ text: value }],
});

/** A catalogue model as FHIR R4 DeviceDefinition (the regulatory record in `property`). */
export function deviceDefinition(m: StoredDeviceModel, open: readonly StoredAdvisory[]): DeviceDefinition {
  const props = [
    ...(m.fdaClass ? [property('fda-class', 'FDA device class', m.fdaClass)] : []),
    ...(m.fdaPathway ? [property('fda-pathway', 'FDA premarket pathway', m.fdaPathway)] : []),
    ...(m.fdaNumber ? [property('fda-number', 'FDA 510(k), De Novo or PMA number', m.fdaNumber)] : []),
    ...(m.euMdrClass ? [property('eu-mdr-class', 'EU MDR class', m.euMdrClass)] : []),
    ...(m.ceNotifiedBody ? [property('ce-notified-body', 'CE notified body number', m.ceNotifiedBody)] : []),
    ...(m.sbomUrl ? [property('sbom', 'Software bill of materials', m.sbomUrl)] : []),
    ...(m.endOfSupport ? [property('end-of-support', 'End of support', m.endOfSupport)] : []),
    ...open.map((a) => property(`open-${a.kind}`, `Open ${a.kind}`, `${a.reference}: ${a.title}`)),
  ];
  return {
    resourceType: 'DeviceDefinition',
    id: m.id,
    meta: { versionId: String(m.version), lastUpdated: m.updatedAt },
    identifier: [
      { system: DEVICE_MODEL_ID_SYSTEM, value: m.id },
      ...(m.udiDi ? [{ system: issuer(m.udiDi), value: m.udiDi }] : []),
    ],
    ...(m.udiDi
      ? {
          udiDeviceIdentifier: [
            { deviceIdentifier: m.udiDi, issuer: issuer(m.udiDi), jurisdiction: FDA_UDI },
          ],
        }
      : {}),
    manufacturerString: m.manufacturer,
    deviceName: [{ name: m.model, type: 'model-name' }],
    modelNumber: m.model,
    ...(m.deviceKind
      ? { type: { coding: [{ system: DEVICE_KIND_SYSTEM, code: m.deviceKind }], text: m.deviceKind } }
      : {}),
    ...(m.softwareVersion ? { version: [m.softwareVersion] } : {}),
    ...(props.length ? { property: props } : {}),
    ...(m.notes ? { note: [{ text: m.notes }] } : {}),
  };
}

/**
 * Read-only FHIR view of the device-model catalogue (written through /api/v1/device-models):
 * `_id`, `identifier` (the model id, or the UDI-DI with its issuer's system) and `type` (device kind).
 */
export class DeviceDefinitionView implements TypeStore {
  // every call passes the request's own sql (its transaction), never the repository's database
  readonly #repo = new DeviceModelRepository(undefined as never);

  async #render(sql: Sql, models: StoredDeviceModel[]): Promise<Stored[]> {
    const out: Stored[] = [];
    for (const m of models) {
      const open = (await this.#repo.advisories(m.id, sql)).filter((a) => a.status === 'open');
      out.push({
        resource: deviceDefinition(m, open) as Resource,
        versionId: m.version,
        lastUpdated: m.updatedAt,
      });
    }
    return out;
  }

  async read(sql: Sql, id: string): Promise<Found | undefined> {
    const [s] = await this.readMany(sql, [id]);
    return s ? { kind: 'found', stored: s } : undefined;
  }
  async readMany(sql: Sql, ids: readonly string[]): Promise<Stored[]> {
    return this.#render(sql, await this.#repo.getMany(ids, sql));
  }
  async vread(sql: Sql, id: string, versionId: number): Promise<Found | undefined> {
    const f = await this.read(sql, id);
    return f?.kind === 'found' && f.stored.versionId === versionId ? f : undefined;
  }
  /** Only the current version is kept. */
  async history(sql: Sql, id: string | undefined, opts: { count: number }): Promise<HistoryEntry[]> {
    const current =
      id !== undefined
        ? await this.readMany(sql, [id])
        : (await this.search(sql, [], { count: opts.count, offset: 0, sort: [], countOnly: false })).stored;
    return current.map((s) => ({
      id: s.resource.id as string,
      versionId: s.versionId,
      lastUpdated: s.lastUpdated,
      resource: s.resource,
    }));
  }
  async create(): Promise<never> {
    throw methodNotAllowed('DeviceDefinition is read-only through this API; use /api/v1/device-models');
  }
  async update(): Promise<never> {
    throw methodNotAllowed('DeviceDefinition is read-only through this API; use /api/v1/device-models');
  }
  async delete(): Promise<never> {
    throw methodNotAllowed('DeviceDefinition is read-only through this API; use /api/v1/device-models');
  }

  async search(
    sql: Sql,
    filters: readonly SearchFilter[],
    opts: SearchOptions,
  ): Promise<{ stored: Stored[]; total?: number }> {
    const params = new Params();
    const where = filters.map((f) => filterSql(f, params));
    const from = `device_model${where.length ? ` where ${where.join(' and ')}` : ''}`;
    if (opts.countOnly) {
      const rows = await sql.query<{ n: number }>(`select count(*)::int as n from ${from}`, params.values);
      return { stored: [], total: rows[0]?.n ?? 0 };
    }
    const rows = await sql.query<{ id: string }>(
      `select id from ${from} order by id limit ${params.add(opts.count)} offset ${params.add(opts.offset)}`,
      params.values,
    );
    return {
      stored: await this.readMany(
        sql,
        rows.map((r) => r.id),
      ),
    };
  }
}

function filterSql(f: SearchFilter, params: Params): string {
  switch (f.kind) {
    case 'id':
      return `id = any(${params.add(f.values)}::text[])`;
    case 'token': {
      let conds: string[];
      if (f.param === 'identifier')
        conds = f.values.map((v) => {
          if (v.code === undefined)
            return v.system === DEVICE_MODEL_ID_SYSTEM
              ? 'true'
              : v.system === GS1_DI || v.system === HIBCC_DI
                ? 'udi_di is not null'
                : 'false';
          if (v.system === DEVICE_MODEL_ID_SYSTEM) return `id = ${params.add(v.code)}`;
          if (v.system === GS1_DI || v.system === HIBCC_DI || v.system === undefined) {
            const c = params.add(v.code);
            return v.system === undefined ? `(id = ${c} or udi_di = ${c})` : `udi_di = ${c}`;
          }
          return 'false';
        });
      else if (f.param === 'type')
        conds = f.values.map((v) =>
          v.code !== undefined && (v.system === undefined || v.system === DEVICE_KIND_SYSTEM)
            ? `device_kind = ${params.add(v.code)}`
            : 'false',
        );
      else conds = ['false'];
      const sqlText = `(${conds.join(' or ')})`;
      return f.not ? `not ${sqlText}` : sqlText;
    }
    case 'notPatients':
      return 'true'; // a device model belongs to no patient
    case 'missing':
      // every model has an identifier (its catalogue id); the type is the device kind, when set
      if (f.param === 'identifier') return f.missing ? 'false' : 'true';
      if (f.param === 'type') return f.missing ? 'device_kind is null' : 'device_kind is not null';
      throw badRequest(`${f.param}:missing is not supported on DeviceDefinition`);
    case 'lastUpdated':
      throw badRequest('_lastUpdated is not supported on DeviceDefinition');
    case 'reference':
    case 'string':
    case 'date':
    case 'quantity':
    case 'composite':
    case 'tokenText':
    case 'referenceIdentifier':
      throw badRequest(`${f.param} is not supported on DeviceDefinition`);
    default:
      return exhaustive(f);
  }
}

function exhaustive(x: never): never {
  throw new Error(`unhandled filter ${JSON.stringify(x)}`);
}
