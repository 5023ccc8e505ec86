import type { Device } from '@medplum/fhirtypes';
import type { Sql } from '../../store/database.ts';
import {
  Params,
  pointDateSql,
  type SearchFilter,
  type SearchOptions,
} from '../../store/fhir-search-filter.ts';
import type { Stored } from './resource-store.ts';

export const DEVICE_ID_SYSTEM = 'urn:vigil:device-id';
export const DEVICE_IDENTIFIER_SYSTEM = 'urn:vigil:device-identifier';
export const DEVICE_KIND_SYSTEM = 'urn:vigil:device-kind';
const MDC = 'urn:iso:std:iso:11073:10101';

/** PHD device specialization codes (clinical-reference §3.2, "Device type codes"). */
const mdcByKind: Record<string, { code: string; display: string }> = {
  'blood-pressure-cuff': { code: '528391', display: 'MDC_DEV_SPEC_PROFILE_BP' },
  'pulse-oximeter': { code: '528388', display: 'MDC_DEV_SPEC_PROFILE_PULS_OXIM' },
  scale: { code: '528399', display: 'MDC_DEV_SPEC_PROFILE_SCALE' },
  'glucose-meter': { code: '528401', display: 'MDC_DEV_SPEC_PROFILE_GLUCOSE' },
  thermometer: { code: '528392', display: 'MDC_DEV_SPEC_PROFILE_TEMP' },
};
const kindByMdc = new Map(Object.entries(mdcByKind).map(([k, v]) => [v.code, k]));

const iso = (d: unknown) => (d instanceof Date ? d.toISOString() : String(d));

const select = `select d.id, d.identifier, d.kind, d.manufacturer, d.model, d.serial, d.firmware, d.revoked_at, d.updated_at, d.model_id, a.patient_id
  from device d left join lateral (
    select patient_id from device_assignment a
    where a.device_id = d.id and a.period_start <= now() and (a.period_end is null or a.period_end > now())
    order by a.period_start desc limit 1
  ) a on true`;

/** A registry device as FHIR Device (version 1 at its last registry change). */
export function registryDevice(r: Record<string, unknown>): Stored {
  const id = r['id'] as string;
  const kind = r['kind'] as string;
  const lastUpdated = iso(r['updated_at']);
  const mdc = mdcByKind[kind];
  const identifier: NonNullable<Device['identifier']> = [{ system: DEVICE_ID_SYSTEM, value: id }];
  if (r['identifier'])
    identifier.push({ system: DEVICE_IDENTIFIER_SYSTEM, value: r['identifier'] as string });
  const device: Device = {
    resourceType: 'Device',
    id,
    meta: { versionId: '1', lastUpdated },
    identifier,
    status: r['revoked_at'] ? 'inactive' : 'active',
    ...(r['manufacturer'] ? { manufacturer: r['manufacturer'] as string } : {}),
    ...(r['serial'] ? { serialNumber: r['serial'] as string } : {}),
    ...(r['model'] ? { modelNumber: r['model'] as string } : {}),
    type: {
      coding: [...(mdc ? [{ system: MDC, ...mdc }] : []), { system: DEVICE_KIND_SYSTEM, code: kind }],
      text: kind,
    },
    ...(r['firmware'] ? { version: [{ type: { text: 'firmware' }, value: r['firmware'] as string }] } : {}),
    ...(r['patient_id'] ? { patient: { reference: `Patient/${r['patient_id'] as string}` } } : {}),
    // the catalogue model (regulatory record) this device is
    ...(r['model_id'] ? { definition: { reference: `DeviceDefinition/${r['model_id'] as string}` } } : {}),
  };
  return { resource: device, versionId: 1, lastUpdated };
}

/** Read-only FHIR view of the device registry (device, device_assignment). */
export class RegistryDeviceView {
  async get(sql: Sql, id: string): Promise<Stored | undefined> {
    const rows = await sql.query(`${select} where d.id = $1`, [id]);
    return rows[0] ? registryDevice(rows[0]) : undefined;
  }

  async getMany(sql: Sql, ids: readonly string[]): Promise<Stored[]> {
    if (!ids.length) return [];
    const rows = await sql.query(`${select} where d.id = any($1::text[])`, [ids]);
    return rows.map(registryDevice);
  }

  async search(
    sql: Sql,
    filters: readonly SearchFilter[],
    opts: SearchOptions,
    nowMs: number,
  ): Promise<{ stored: Stored[]; total?: number }> {
    const params = new Params();
    const where = filters.map((f) => filterSql(f, params, nowMs));
    const whereSql = where.length ? `where ${where.join(' and ')}` : '';
    if (opts.countOnly) {
      const rows = await sql.query<{ n: number }>(
        `select count(*)::int as n from (${select} ${whereSql}) x`,
        params.values,
      );
      return { stored: [], total: rows[0]?.n ?? 0 };
    }
    const rows = await sql.query(
      `${select} ${whereSql} order by d.id limit ${params.add(opts.count)} offset ${params.add(opts.offset)}`,
      params.values,
    );
    return { stored: rows.map(registryDevice) };
  }
}

function filterSql(f: SearchFilter, params: Params, nowMs: number): string {
  switch (f.kind) {
    case 'id':
      return `d.id = any(${params.add(f.values)}::text[])`;
    case 'lastUpdated':
      return `(${f.values.map((v) => pointDateSql('d.updated_at', v, params, nowMs)).join(' or ')})`;
    case 'token': {
      let conds: string[] = [];
      if (f.param === 'identifier') {
        conds = f.values.map((v) => {
          if (v.code === undefined)
            return v.system === DEVICE_ID_SYSTEM || v.system === DEVICE_IDENTIFIER_SYSTEM ? 'true' : 'false';
          if (v.system === DEVICE_ID_SYSTEM) return `d.id = ${params.add(v.code)}`;
          if (v.system === DEVICE_IDENTIFIER_SYSTEM) return `d.identifier = ${params.add(v.code)}`;
          if (v.system === undefined) {
            const c = params.add(v.code);
            return `(d.id = ${c} or d.identifier = ${c})`;
          }
          return 'false';
        });
      } else if (f.param === 'type') {
        const kinds = f.values.flatMap((v) => {
          if (v.code === undefined) return [];
          if (v.system === MDC) return kindByMdc.get(v.code) ?? [];
          if (v.system === DEVICE_KIND_SYSTEM || v.system === undefined)
            return [v.code, ...(kindByMdc.get(v.code) ?? [])];
          return [];
        });
        conds = [kinds.length ? `d.kind = any(${params.add(kinds)}::text[])` : 'false'];
      } else conds = ['false'];
      const sqlText = `(${conds.join(' or ')})`;
      return f.not ? `not ${sqlText}` : sqlText;
    }
    case 'reference': {
      if (f.param !== 'patient') return 'false';
      const ids = f.values
        .filter((v) => !v.includes('/') || v.startsWith('Patient/'))
        .map((v) => v.replace('Patient/', ''));
      return ids.length ? `a.patient_id = any(${params.add(ids)}::text[])` : 'false';
    }
    case 'string': {
      const col = f.param === 'manufacturer' ? 'd.manufacturer' : f.param === 'model' ? 'd.model' : undefined;
      if (!col) return 'false';
      const conds = f.values.map((v) => {
        const esc = v.replace(/[%_\\]/g, '\\$&');
        if (f.mode === 'exact') return `${col} = ${params.add(v)}`;
        return `${col} ilike ${params.add(f.mode === 'contains' ? `%${esc}%` : `${esc}%`)}`;
      });
      return `(${conds.join(' or ')})`;
    }
    case 'date':
    case 'quantity':
    case 'composite':
    case 'missing':
    case 'tokenText':
    case 'referenceIdentifier':
      return 'false'; // refused by the parser for Device (storeKind view)
    case 'notPatients':
      return f.ids.length
        ? `(a.patient_id is null or a.patient_id <> all(${params.add(f.ids)}::text[]))`
        : 'true';
    default:
      return exhaustive(f);
  }
}

function exhaustive(x: never): never {
  throw new Error(`unhandled filter ${JSON.stringify(x)}`);
}
