import { type BenchResult, fmt } from './harness.ts';
import { type HttpLoadResult, registerDevices, runHttpLoad, startServer } from './support.ts';

/**
 * Device ingest over HTTP (POST /ingest/v1/readings with the device's bearer secret): readings/s
 * and acknowledge latency (the answer follows the commit), batches of 50 and single readings, into
 * PGlite and PostgreSQL. The load runs in its own process (bench/http-load.ts).
 */
async function run(backend: 'pglite' | 'postgres', opts: { quick: boolean; large: boolean }) {
  const seconds = opts.quick ? 5 : 15;
  let databaseUrl: string | undefined;
  let drop: (() => Promise<void>) | undefined;
  if (backend === 'postgres') {
    const { createFreshPostgresDatabase } = await import('../test/support/databases.ts');
    const fresh = await createFreshPostgresDatabase();
    databaseUrl = fresh.url;
    drop = fresh.drop;
  }
  const server = await startServer(databaseUrl ? { databaseUrl } : {});
  try {
    const devices = await registerDevices(server, `http-${backend}`, 100);
    const cpu0 = server.cpuSeconds();
    const batched = await runHttpLoad({
      url: server.url,
      devices,
      concurrency: 32,
      batch: 50,
      warmupS: 2,
      seconds,
    });
    const cpuBatched = server.cpuSeconds() - cpu0;
    const single = await runHttpLoad({
      url: server.url,
      devices,
      concurrency: 64,
      batch: 1,
      warmupS: 2,
      seconds,
    });
    return { batched, single, cpuUsPerReading: (cpuBatched * 1e6) / (batched.readingsPerS * (seconds + 2)) };
  } finally {
    await server.stop();
    await drop?.();
  }
}

function figures(
  name: string,
  r: { batched: HttpLoadResult; single: HttpLoadResult; cpuUsPerReading: number },
) {
  return [
    { metric: `${name}: readings/s, batches of 50 (32 connections)`, value: fmt(r.batched.readingsPerS, 0) },
    {
      metric: `${name}: acknowledge p50 / p99, batches of 50`,
      value: `${fmt(r.batched.p50, 1)} / ${fmt(r.batched.p99, 1)} ms`,
    },
    {
      metric: `${name}: server CPU per reading, batches of 50 (approx.)`,
      value: `${fmt(r.cpuUsPerReading, 0)} µs`,
    },
    {
      metric: `${name}: readings/s, one reading per request (64 connections)`,
      value: fmt(r.single.readingsPerS, 0),
    },
    {
      metric: `${name}: acknowledge p50 / p99, one reading per request`,
      value: `${fmt(r.single.p50, 1)} / ${fmt(r.single.p99, 1)} ms`,
    },
  ];
}

export default async function (opts: { quick: boolean; large: boolean }): Promise<BenchResult> {
  const pg = await run('pglite', opts);
  const ps = process.env['VIGIL_TEST_DATABASE_URL'] ? await run('postgres', opts) : undefined;
  const failed = pg.batched.failed + pg.single.failed + (ps ? ps.batched.failed + ps.single.failed : 0);
  return {
    title: 'Ingest over HTTP',
    method: `A real \`vigil start\` process and, in a separate process on the same 2-core machine, HTTP/1.1 keep-alive clients (bench/http-load.ts) posting native JSON heart-rate readings to \`POST /ingest/v1/readings\`, each request with one of 100 registered devices' own secret as bearer; each connection sends its next request when the answer arrives (closed loop). Two runs of ${opts.quick ? 5 : 15} s after a 2 s warm-up: batches of 50 readings over 32 connections, then one reading per request over 64 connections. The answer (per-reading results) is sent only after the group commit; latency is request sent → answer received. PostgreSQL: the local server (fresh database per run), when VIGIL_TEST_DATABASE_URL is set.`,
    figures: [...figures('PGlite', pg), ...(ps ? figures('PostgreSQL', ps) : [])],
    notes: `Requests not answered 200: ${failed}. Load generator CPU (of one core): PGlite batches ${fmt(pg.batched.loadCpuPercent, 0)} %, single ${fmt(pg.single.loadCpuPercent, 0)} %. The machine was shared with other test runs; figures are noisy. Each request's bearer secret is checked against a 5 s cache (a database lookup on a miss); per-request costs (HTTP parsing, rate limit, audit hook, JSON answer) weigh on the single-reading figure.`,
  };
}
