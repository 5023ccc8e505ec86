import os from 'node:os';
import { createFhirServices } from '../src/api/fhir/http.ts';
import { route } from '../src/api/fhir/router.ts';
import type { FhirRequest } from '../src/api/fhir/types.ts';
import type { Principal } from '../src/auth/token-service.ts';
import { systemClock } from '../src/core/clock.ts';
import { createLogger } from '../src/core/logger.ts';
import type { Database } from '../src/store/database.ts';
import { migrate } from '../src/store/migrate.ts';
import { PgliteDatabase } from '../src/store/pglite/pglite-database.ts';
import { PostgresDatabase } from '../src/store/postgres/postgres-database.ts';
import { createFreshPostgresDatabase } from '../test/support/databases.ts';
import { type BenchResult, fmt, machineDescription, percentile } from './harness.ts';

const admin: Principal = { kind: 'user', id: 'bench', roles: ['admin'], scopes: [] };
const codes = ['8867-4', '2708-6', '9279-1', '8310-5', '29463-7'];

/** Ingest-shaped rows (resource null, rendered by normalize) in one statement per chunk. */
async function load(db: Database, patients: number, perPatient: number, budgetMs: number): Promise<number> {
  const chunk = Math.max(1, Math.floor(200_000 / perPatient));
  const deadline = performance.now() + budgetMs;
  let loaded = 0;
  for (let p0 = 0; p0 < patients && performance.now() < deadline; p0 += chunk) {
    await db.query(
      `insert into observation (id, patient_id, device_id, code, category, effective, received, value, unit, data, idem_key)
       select (lpad(to_hex(p), 12, '0') || lpad(to_hex(i), 20, '0'))::uuid,
              'pat-' || p, 'dev-' || p, (array['8867-4','2708-6','9279-1','8310-5','29463-7'])[1 + i % 5], 'vital-signs',
              timestamptz '2024-01-01' + (i * $4::int * interval '1 second'), timestamptz '2024-01-01' + (i * $4::int * interval '1 second'),
              60 + (i % 40), '/min',
              '{"transport":"mqtt","profile":"native-json","codings":[],"components":[],"flags":[]}'::jsonb,
              'bench:' || p || ':' || i
       from generate_series($1::int, $2::int) p, generate_series(0, $3::int - 1) i`,
      [p0, Math.min(patients, p0 + chunk) - 1, perPatient, Math.floor((60 * 86400) / perPatient)],
    );
    loaded = Math.min(patients, p0 + chunk);
  }
  await db.exec('analyze observation');
  return loaded;
}

async function timed(
  n: number,
  concurrency: number,
  fn: (i: number) => Promise<void>,
): Promise<{ ms: number[]; wall: number }> {
  const ms: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < n; i = next++) {
        const t = performance.now();
        await fn(i);
        ms.push(performance.now() - t);
      }
    }),
  );
  return { ms, wall: performance.now() - t0 };
}

export default async function run(opts: { quick: boolean; large: boolean }): Promise<BenchResult> {
  const [wanted, perPatient] = opts.large ? [1000, 10_000] : opts.quick ? [50, 1000] : [200, 1000];
  let db: Database;
  let drop: (() => Promise<void>) | undefined;
  if (opts.large) {
    const fresh = await createFreshPostgresDatabase();
    db = await PostgresDatabase.open(fresh.url, { max: 16 });
    drop = fresh.drop;
  } else db = await PgliteDatabase.open();
  try {
    await migrate(db);
    const pgVersion =
      db.kind === 'postgres'
        ? String(
            (await db.query<{ v: string }>("select current_setting('server_version') as v"))[0]?.v ?? '',
          ).split(' ')[0]
        : '';
    const tLoad = performance.now();
    // The large load stops after 20 minutes (whole patients only); the method names what was loaded.
    const patients = await load(db, wanted, perPatient, 20 * 60_000);
    const loadS = (performance.now() - tLoad) / 1000;
    const svc = createFhirServices({ db, clock: systemClock, log: createLogger('silent') });
    const call = async (path: string, query = '', method: FhirRequest['method'] = 'GET', body?: unknown) => {
      const r = await route(
        {
          method,
          path,
          query: new URLSearchParams(query),
          headers: {},
          principal: admin,
          baseUrl: 'http://bench/fhir',
          ...(body ? { body } : {}),
        },
        svc,
      );
      if (r.status >= 400) throw new Error(`${path}?${query}: ${r.status} ${JSON.stringify(r.resource)}`);
      return r;
    };
    const n = opts.quick ? 200 : 1000;
    const loadAvg = os.loadavg()[0] ?? 0;
    const conc = db.kind === 'postgres' ? 16 : 4;
    const searchQ = (i: number) => {
      const day = 1 + (i % 20);
      return `patient=pat-${(i * 7919) % patients}&code=http://loinc.org|${codes[i % 5]}&date=ge2024-01-${String(day).padStart(2, '0')}&date=lt2024-02-${String(day).padStart(2, '0')}&_count=100`;
    };
    await timed(20, 1, (i) => call('Observation', searchQ(i)).then(() => {}));
    const serial = await timed(n, 1, (i) => call('Observation', searchQ(i)).then(() => {}));
    const parallel = await timed(n, conc, (i) => call('Observation', searchQ(i)).then(() => {}));
    const lastn = await timed(n, 1, (i) =>
      call('Observation/$lastn', `patient=pat-${(i * 31) % patients}&max=3`).then(() => {}),
    );
    const readIds = await db.query<{ id: string }>('select id from observation order by random() limit 200');
    const read = await timed(n, 1, (i) =>
      call(`Observation/${readIds[i % readIds.length]?.id}`).then(() => {}),
    );
    const body = {
      resourceType: 'Observation',
      status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
      subject: { reference: 'Patient/pat-1' },
      effectiveDateTime: '2024-03-01T10:00:00Z',
      valueQuantity: { value: 70, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
    };
    const creates = await timed(n, conc, () => call('Observation', '', 'POST', body).then(() => {}));
    const rows = patients * perPatient;
    const p = (xs: number[], q: number) => `${fmt(percentile(xs, q), 2)} ms`;
    return {
      title: 'FHIR search',
      method: `${fmt(rows, 0)} Observations (${patients} patients × ${perPatient} ingest readings, 5 codes, spread over 60 days) loaded into ${db.kind === 'postgres' ? `PostgreSQL ${pgVersion} (insert … select generate_series)` : 'embedded PGlite'} in ${fmt(loadS)} s${patients < wanted ? ` (${wanted} patients wanted; the load stopped at its 20-minute budget)` : ''}. Calls go through the FHIR handlers (router → store → SQL → rendered Bundle), not HTTP. Search: patient + LOINC code + one-month date range, first page of 100. ${n} calls each; concurrency ${conc} for the throughput rows. Load average when the calls began: ${fmt(loadAvg, 1)} (the machine is shared). Machine: ${machineDescription()}.`,
      figures: [
        {
          metric: 'search p50',
          value: p(serial.ms, 50),
          goal: '≤ 5 ms',
          met: percentile(serial.ms, 50) <= 5,
        },
        {
          metric: 'search p99',
          value: p(serial.ms, 99),
          goal: '≤ 50 ms',
          met: percentile(serial.ms, 99) <= 50,
        },
        {
          metric: `searches/s (concurrency ${conc})`,
          value: fmt((n / parallel.wall) * 1000, 0),
          goal: '≥ 1,000',
          met: (n / parallel.wall) * 1000 >= 1000,
        },
        {
          metric: '$lastn p99 (max=3, all codes)',
          value: p(lastn.ms, 99),
          goal: '≤ 20 ms',
          met: percentile(lastn.ms, 99) <= 20,
        },
        {
          metric: 'read by id p99',
          value: p(read.ms, 99),
          goal: '≤ 5 ms',
          met: percentile(read.ms, 99) <= 5,
        },
        { metric: `create Observation/s (concurrency ${conc})`, value: fmt((n / creates.wall) * 1000, 0) },
      ],
      notes:
        'A page of 100 is rendered from narrow rows by normalize (readingToObservation). Each row comes back packed as one JSON array (decoding 14 fields per row in the driver used to cost more than the query). The code search is disjoint branches merged with union all: ingest rows on the (patient_id, code, effective) index, FHIR-written rows on a partial GIN index over resource codings only (0110_fhir_codings; ingest rows carry no coding index — their extra codings are found through the code tables). PGlite is single-connection: its throughput row is bound by that one connection; the `large` run uses PostgreSQL with a pool. Other test runs shared this 2-core machine (load average often 8–12), so tail latencies (p99) are noisy. Throughput: on PGlite one search costs ~2 ms of the single connection, which caps it near 500/s whatever the concurrency; on PostgreSQL the database server and Node share the 2 cores (~1 ms of database time — planning ~0.4 ms, execution ~0.6 ms — plus the rendering per search), so 1,000 searches/s is out of reach on this machine; prepared statements (the store port has none yet) would save the planning. Before the 2026-11 rework (PGlite, 200k rows): search p50 8.7 ms, p99 40 ms, 94 searches/s, $lastn p99 16.9 ms, read p99 8.9 ms.',
    };
  } finally {
    await db.close();
    await drop?.();
  }
}
