/**
 * Nightscout API v1 reads for follower apps (Nightwatch, xDrip+ follower, Nightscout clients), per
 * device, authenticated like uploads (api-secret = SHA-1 of the device secret, or the bearer
 * credential — the hook of the upload plugin this registers into):
 *
 *   GET /nightscout/{deviceId}/api/v1/entries[.json]          newest first, `count` (default 10)
 *   GET /nightscout/{deviceId}/api/v1/entries/{spec}[.json]   spec = sgv | mbg | current | an entry id
 *   GET|POST /nightscout/{deviceId}/api/v1/treatments[.json]  404, coded: Vigil stores no treatments
 *
 * `find[...]` as the v1 swagger (corpora api-v1-swagger.yaml) defines it, for the fields Vigil
 * keeps: `find[date][$gte|$gt|$lte|$lt]=<epoch ms>`, `find[dateString][…]=<ISO 8601>`,
 * `find[sgv][…]`/`find[mbg][…]=<mg/dL>`, `find[type]=sgv|mbg`, `find[_id]=`; a plain
 * `find[field]=v` is equality. Any other field or operator is refused (400), never ignored.
 * Entries are rendered from the device's glucose readings: `sgv` (interstitial, 99504-3 /
 * 105272-9) and `mbg` (capillary, 41653-7 / 14743-9), in mg/dL as Nightscout's entries are.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { VigilError } from '../../core/errors.ts';
import type { Reading } from '../../core/reading.ts';
import { convertGlucose } from '../../normalize/units.ts';
import { readingColumns, rowToReading } from '../../store/observation-repository.ts';
import type { ApiContext } from '../context.ts';

const sgvCodes = ['99504-3', '105272-9'];
const mbgCodes = ['41653-7', '14743-9'];
const maxCount = 10_000;
const NOISE: Readonly<Record<string, number>> = { clean: 1, light: 2, medium: 3, heavy: 4 };
const ops: Record<string, string> = { $gte: '>=', $gt: '>', $lte: '<=', $lt: '<', $eq: '=' };
const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface NightscoutEntry {
  _id: string;
  type: 'sgv' | 'mbg';
  date: number;
  dateString: string;
  sysTime: string;
  device: string;
  sgv?: number;
  mbg?: number;
  direction?: string;
  noise?: number;
}

function badQuery(message: string): VigilError {
  return new VigilError('VIGIL_ERR_NIGHTSCOUT_BAD_QUERY', message, 400);
}

function mgdl(r: Reading): number | undefined {
  if (r.original && /^mg\/dl$/i.test(r.original.unit)) return Math.round(r.original.value);
  if (r.value === null || !r.unit) return undefined;
  return Math.round(convertGlucose(r.value, r.unit, 'mg/dL'));
}

/** A stored glucose reading as a Nightscout v1 entry. */
export function toEntry(r: Reading): NightscoutEntry {
  const type = sgvCodes.includes(r.code) ? 'sgv' : 'mbg';
  const t = Date.parse(r.effective);
  const iso = new Date(t).toISOString();
  const e: NightscoutEntry = { _id: r.id, type, date: t, dateString: iso, sysTime: iso, device: r.deviceId };
  let value = mgdl(r);
  for (const note of r.notes ?? []) {
    const trend = /^trend: (.+)$/.exec(note);
    if (trend?.[1]) e.direction = trend[1];
    const noise = /^noise: (.+)$/.exec(note);
    if (noise?.[1]) e.noise = NOISE[noise[1]] ?? (Number(noise[1]) || undefined);
    // A Dexcom error code (sgv below 39) is kept as a reading without a value: give the code back.
    const code = /^CGM error code (\d+)/.exec(note);
    if (code?.[1] && value === undefined) value = Number(code[1]);
  }
  if (value !== undefined) e[type] = value;
  return e;
}

interface Query {
  conds: string[];
  params: unknown[];
  count: number;
}

function parseQuery(url: string, spec: string | undefined): Query {
  const q = new URLSearchParams(url.includes('?') ? url.slice(url.indexOf('?') + 1) : '');
  const conds: string[] = [];
  const params: unknown[] = [];
  const add = (sql: string, v: unknown) => {
    params.push(v);
    conds.push(sql.replace('?', `$${params.length + 1}`)); // $1 is the device id
  };
  let count = 10;
  const c = q.get('count');
  if (c !== null) {
    const n = Number(c);
    if (!Number.isInteger(n) || n < 1) throw badQuery('count must be a positive integer');
    count = Math.min(n, maxCount);
  }
  let types: string[] | undefined;
  const type = (t: string) => {
    if (t === 'sgv') return sgvCodes;
    if (t === 'mbg') return mbgCodes;
    throw badQuery(`entry type '${t}' is not kept by Vigil (sgv, mbg)`);
  };
  if (spec !== undefined) {
    if (spec === 'current') count = 1;
    else if (uuid.test(spec)) add('id = ?::uuid', spec);
    else types = type(spec);
  }
  for (const [key, value] of q) {
    if (key === 'count' || key === 'token' || key === 'secret') continue;
    const m = /^find\[(\w+)\](?:\[(\$\w+)\])?$/.exec(key);
    if (!m?.[1]) {
      if (key.startsWith('find')) throw badQuery(`cannot read the query parameter '${key}'`);
      continue; // other Nightscout parameters (e.g. `rr`) do not filter
    }
    const field = m[1];
    const op = m[2] ?? '$eq';
    const sqlOp = ops[op];
    if (!sqlOp) throw badQuery(`operator ${op} is not supported (${Object.keys(ops).join(', ')})`);
    switch (field) {
      case 'date': {
        const ms = Number(value);
        if (!Number.isFinite(ms)) throw badQuery('find[date] takes epoch milliseconds');
        add(`effective ${sqlOp} ?::timestamptz`, new Date(ms).toISOString());
        break;
      }
      case 'dateString': {
        const ms = Date.parse(value);
        if (!Number.isFinite(ms)) throw badQuery('find[dateString] takes an ISO 8601 date');
        // Nightscout compares the strings; a date-only value means the start of that day (UTC).
        add(`effective ${sqlOp} ?::timestamptz`, new Date(ms).toISOString());
        break;
      }
      case 'sgv':
      case 'mbg': {
        const v = Number(value);
        if (!Number.isFinite(v)) throw badQuery(`find[${field}] takes a number (mg/dL)`);
        types = type(field);
        // Compared in mg/dL as the entry shows it: the original mg/dL value when the reading was
        // converted to the program unit, else the stored value (mmol/L × the glucose factor).
        add(
          `round(coalesce(case when lower(data->'original'->>'unit') = 'mg/dl' then (data->'original'->>'value')::double precision end,
             case when unit = 'mmol/L' then value * ${convertGlucose(1, 'mmol/L', 'mg/dL')} else value end)) ${sqlOp} ?::double precision`,
          v,
        );
        break;
      }
      case 'type':
        if (op !== '$eq') throw badQuery('find[type] takes a value');
        types = type(value);
        break;
      case '_id':
        if (op !== '$eq' || !uuid.test(value)) throw badQuery('find[_id] takes an entry id');
        add('id = ?::uuid', value);
        break;
      default:
        throw badQuery(`find[${field}] is not supported (date, dateString, sgv, mbg, type, _id)`);
    }
  }
  add('code = any(?::text[])', types ?? [...sgvCodes, ...mbgCodes]);
  return { conds, params, count };
}

export async function nightscoutReadRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const base = '/nightscout/:deviceId/api/v1';
  // A follower reading entries reads patient data: one audit record per patient, agent = device.
  const config = { audit: { entity: 'Observation', subtype: 'search-type' } };

  const entries = async (request: FastifyRequest) => {
    const deviceId = request.nightscoutDevice as string;
    const raw = (request.params as { spec?: string }).spec;
    const spec = raw?.replace(/\.json$/, '');
    const q = parseQuery(request.url, spec);
    const rows = await ctx.db.query<Record<string, unknown>>(
      `select ${readingColumns} from observation where device_id = $1 ${q.conds.map((c) => `and ${c}`).join(' ')}
       order by effective desc, id desc limit ${q.count}`,
      [deviceId, ...q.params],
    );
    const readings = rows.map(rowToReading);
    request.auditPatientIds = [...new Set(readings.map((r) => r.patientId))];
    return readings.map(toEntry);
  };
  app.get(`${base}/entries`, { config }, entries);
  app.get(`${base}/entries.json`, { config }, entries);
  app.get(`${base}/entries/:spec`, { config }, entries);

  const treatments = async (_request: FastifyRequest, reply: FastifyReply) =>
    reply.status(404).send({
      error: {
        code: 'VIGIL_ERR_NIGHTSCOUT_NO_TREATMENTS',
        message:
          'Vigil keeps no Nightscout treatments (insulin, carbs, notes); entries are at /api/v1/entries',
      },
    });
  for (const url of [`${base}/treatments`, `${base}/treatments.json`]) {
    app.get(url, treatments);
    app.post(url, treatments);
  }
}
