import { type BenchResult, fmt } from './harness.ts';
import { type LoadResult, registerDevices, sleep, startMqttLoad, startServer } from './support.ts';

/**
 * Sustained ingest over MQTT QoS 1 from 1,000 connected devices into PGlite and into PostgreSQL:
 * saturation readings/s, latency at the goal rate and at a rate the server sustains, server CPU per
 * reading, memory per idle connected device. The load runs in its own process (bench/mqtt-load.ts).
 */
interface Run {
  nDevices: number;
  perDeviceKb: number;
  saturation: LoadResult;
  saturation8: LoadResult;
  cpuUsPerReading: number;
  atGoal: LoadResult;
  goal: number;
  atHalf: LoadResult;
  stored: number;
}

async function run(backend: 'pglite' | 'postgres', opts: { quick: boolean; large: boolean }): Promise<Run> {
  const nDevices = 1_000;
  const seconds = opts.quick ? 5 : 15;
  const goal = backend === 'pglite' ? 25_000 : 50_000;
  let databaseUrl: string | undefined;
  let drop: (() => Promise<void>) | undefined;
  if (backend === 'postgres') {
    const { createFreshPostgresDatabase } = await import('../test/support/databases.ts');
    const fresh = await createFreshPostgresDatabase();
    databaseUrl = fresh.url;
    drop = fresh.drop;
  }
  const server = await startServer(databaseUrl ? { databaseUrl } : {});
  const load = startMqttLoad();
  try {
    const devices = await registerDevices(server, `bench-${backend}`, nDevices);
    await sleep(1000);
    const rssBefore = server.rssBytes();
    await load.connect(server.mqttPort, devices);
    await sleep(2000);
    const perDeviceKb = (server.rssBytes() - rssBefore) / nDevices / 1024;

    // 1. saturation: every device keeps 2 publishes in flight (closed loop), then 8
    const cpu0 = server.cpuSeconds();
    const saturation = await load.run({ window: 2, warmupS: 3, seconds });
    const cpuUsPerReading = ((server.cpuSeconds() - cpu0) * 1e6) / saturation.ackedTotal;
    const saturation8 = await load.run({ window: 8, warmupS: 3, seconds });
    // 2. open loop at half the saturation rate: the latency of a server that is not overloaded
    const atHalf = await load.run({
      rate: Math.max(100, Math.round(saturation.rate / 2)),
      warmupS: 2,
      seconds,
    });
    // 3. open loop at the goal rate (last: beyond capacity it leaves a backlog behind)
    const atGoal = await load.run({ rate: goal, warmupS: 2, seconds });
    const metrics = await fetch(`${server.url}/metrics`).then((r) => r.text());
    const stored = Number(/vigil_readings_accepted_total\{transport="mqtt"\} (\d+)/.exec(metrics)?.[1] ?? 0);
    return { nDevices, perDeviceKb, saturation, saturation8, cpuUsPerReading, atGoal, goal, atHalf, stored };
  } finally {
    await load.close();
    await server.stop();
    await drop?.();
  }
}

function figures(name: string, r: Run, goalP99 = 50): BenchResult['figures'] {
  return [
    {
      metric: `${name}: saturation readings/s (${r.nDevices} devices, QoS 1, 2 in flight each)`,
      value: fmt(r.saturation.rate, 0),
      goal: `≥ ${fmt(r.goal, 0)}`,
      met: r.saturation.rate >= r.goal,
    },
    {
      metric: `${name}: readings/s with 8 in flight per device (8,000 in all)`,
      value: `${fmt(r.saturation8.rate, 0)} (p99 ${fmt(r.saturation8.p99, 0)} ms)`,
    },
    {
      metric: `${name}: server CPU per reading (both threads, at saturation)`,
      value: `${fmt(r.cpuUsPerReading, 0)} µs`,
    },
    {
      metric: `${name}: offered ${fmt(r.goal, 0)}/s (open loop) → acknowledged/s`,
      value: fmt(r.atGoal.rate, 0),
      goal: `≥ ${fmt(r.goal, 0)}`,
      met: r.atGoal.rate >= r.goal * 0.98,
    },
    {
      metric: `${name}: publish→PUBACK p50 / p99 at ${fmt(r.goal, 0)}/s offered`,
      value: `${fmt(r.atGoal.p50, 1)} / ${fmt(r.atGoal.p99, 1)} ms`,
      goal: `p99 < ${goalP99} ms`,
      met: r.atGoal.p99 < goalP99,
    },
    {
      metric: `${name}: publish→PUBACK p50 / p99 at ${fmt(r.atHalf.rate, 0)}/s (half of saturation)`,
      value: `${fmt(r.atHalf.p50, 1)} / ${fmt(r.atHalf.p99, 1)} ms`,
    },
  ];
}

export default async function (opts: { quick: boolean; large: boolean }): Promise<BenchResult> {
  const pg = await run('pglite', opts);
  const hasPg = Boolean(process.env['VIGIL_TEST_DATABASE_URL']);
  const ps = hasPg ? await run('postgres', opts) : undefined;
  const list: BenchResult['figures'] = [
    ...figures('PGlite', pg),
    {
      metric: `memory per idle connected device (${pg.nDevices} devices)`,
      value: `${fmt(pg.perDeviceKb, 1)} KB`,
      goal: '< 16 KB',
      met: pg.perDeviceKb < 16,
    },
  ];
  if (ps) list.push(...figures('PostgreSQL', ps));
  const secs = opts.quick ? 5 : 15;
  return {
    title: 'Ingest over MQTT QoS 1',
    method:
      `A real \`vigil start\` process (embedded Aedes broker; PGlite on its worker thread, or PostgreSQL) and, in a separate process on the same 2-core machine, a load generator that speaks MQTT 3.1.1 itself over ${pg.nDevices} TCP connections (bench/mqtt-load.ts: CONNECT with each registered device's own credential, PUBLISH QoS 1, PUBACK; no client library, so the load takes as little of the shared cores as possible — its CPU share is in the notes). Each message is one native JSON heart-rate reading with a message id. ` +
      `Three runs of ${secs} s after a warm-up: (1) saturation — every device keeps 2 publishes in flight, readings/s = PUBACKs received per second (then again with 8 in flight); (2) open loop at half the saturation rate; (3) open loop at the goal rate. Open loop: messages scheduled evenly over the devices, each device keeps at most 4 in flight (more wait on the device), latency measured from each message's scheduled send time, so a server that falls behind shows it. A PUBACK is sent only after the reading's group commit. ` +
      'Server CPU per reading: user + system time of the server process (all threads, from /proc) during the saturation run divided by the readings acknowledged. Memory per device: server RSS with all devices connected and idle minus before they connected, divided by the number of devices. PostgreSQL: the local server (fresh database per run), when VIGIL_TEST_DATABASE_URL is set.',
    figures: list,
    notes:
      `Load generator CPU (of one core) at saturation: PGlite run ${fmt(pg.saturation.loadCpuPercent, 0)} %${ps ? `, PostgreSQL run ${fmt(ps.saturation.loadCpuPercent, 0)} %` : ''}. ` +
      `Stored by the server during the runs: PGlite ${pg.stored.toLocaleString('en-US')}${ps ? `, PostgreSQL ${ps.stored.toLocaleString('en-US')}` : ''}. ` +
      'The machine was shared with other test runs, so throughput and latency figures are noisy (load average often above 8 on 2 cores); server CPU per reading is the steadier figure to compare changes with.',
  };
}
