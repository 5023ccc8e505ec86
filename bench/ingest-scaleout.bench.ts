import { readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { startMosquitto } from '../test/support/mosquitto.ts';
import { type BenchResult, fmt } from './harness.ts';
import { type BenchServer, registerDevices, sleep, startMqttLoad, startServer } from './support.ts';

/**
 * Scale-out ingest on PostgreSQL: one Vigil process with its embedded broker, then one and two
 * Vigil workers behind a Mosquitto of the bench's own (shared subscription, distinct client ids),
 * same run, same database server, same load. Throughput is what Vigil *stored* per second (its
 * accepted-readings counter), not the broker's PUBACKs to the load (the broker queues ahead of
 * Vigil). CPU per reading: Vigil processes, and the postgres processes (/proc), separately.
 */

function postgresCpuSeconds(): number {
  let ticks = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      if (comm !== 'postgres') continue;
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(f[11]) + Number(f[12]);
    } catch {}
  }
  return ticks / 100;
}

async function accepted(s: BenchServer): Promise<number> {
  const m = await fetch(`${s.url}/metrics`).then((r) => r.text());
  return Number(/vigil_readings_accepted_total\{transport="mqtt"\} (\d+)/.exec(m)?.[1] ?? 0);
}

interface Phase {
  name: string;
  rate: number;
  vigilUs: number;
  pgUs: number;
}

async function measure(
  name: string,
  servers: BenchServer[],
  run: () => Promise<unknown>,
  seconds: number,
): Promise<Phase> {
  const loadDone = run();
  await sleep(3000); // warm-up
  const a0 = (await Promise.all(servers.map(accepted))).reduce((x, y) => x + y, 0);
  const c0 = servers.reduce((x, s) => x + s.cpuSeconds(), 0);
  const p0 = postgresCpuSeconds();
  const t0 = performance.now();
  await sleep(seconds * 1000);
  const a1 = (await Promise.all(servers.map(accepted))).reduce((x, y) => x + y, 0);
  const c1 = servers.reduce((x, s) => x + s.cpuSeconds(), 0);
  const p1 = postgresCpuSeconds();
  const dt = (performance.now() - t0) / 1000;
  await loadDone;
  const n = Math.max(1, a1 - a0);
  return { name, rate: n / dt, vigilUs: ((c1 - c0) * 1e6) / n, pgUs: ((p1 - p0) * 1e6) / n };
}

export default async function (opts: { quick: boolean }): Promise<BenchResult> {
  if (!process.env['VIGIL_TEST_DATABASE_URL'])
    throw new Error('ingest-scaleout needs VIGIL_TEST_DATABASE_URL');
  const { createFreshPostgresDatabase } = await import('../test/support/databases.ts');
  const seconds = opts.quick ? 6 : 15;
  const nDevices = 200;
  const load0 = loadavg()[0] ?? 0;
  const fresh = await createFreshPostgresDatabase();
  // persistence on, saved by time (every 1800 s): the broker's own durability setting
  // (autosave_on_changes, docs/mqtt-broker.md) is measured separately, not here
  const broker = await startMosquitto({ extra: ['autosave_on_changes false', 'autosave_interval 1800'] });
  const phases: Phase[] = [];
  const load = startMqttLoad();
  try {
    // 1. embedded broker
    const embedded = await startServer({ databaseUrl: fresh.url });
    const devices = await registerDevices(embedded, 'scale', nDevices);
    // each phase its own devices: the load's message ids restart per run and would be duplicates
    const later = [
      await registerDevices(embedded, 'scale-w1', nDevices),
      await registerDevices(embedded, 'scale-w2', nDevices),
    ];
    await load.connect(embedded.mqttPort, devices);
    phases.push(
      await measure(
        'embedded broker, 1 process',
        [embedded],
        () => load.run({ window: 2, warmupS: 3, seconds }),
        seconds,
      ),
    );
    await load.close();
    await embedded.stop();
    // 2. one and two workers behind Mosquitto (the same process role, only the broker differs)
    for (const n of [1, 2]) {
      const workers: BenchServer[] = [];
      for (let i = 0; i < n; i++)
        workers.push(
          await startServer({
            databaseUrl: fresh.url,
            env: {
              VIGIL_MQTT_URL: broker.url,
              VIGIL_MQTT_SUBSCRIPTION: 'shared',
              VIGIL_MQTT_CLIENT_ID: `bench-${n}`,
              VIGIL_MQTT_WORKER_ID: `w${i}`,
            },
          }),
        );
      await sleep(1500);
      const l = startMqttLoad();
      await l.connect(broker.port, later[n - 1] as typeof devices);
      phases.push(
        await measure(
          `Mosquitto, ${n} worker${n > 1 ? 's' : ''}`,
          workers,
          () => l.run({ window: 2, warmupS: 3, seconds }),
          seconds,
        ),
      );
      await l.close();
      for (const w of workers) await w.stop();
    }
  } finally {
    await broker.stop();
    await fresh.drop();
  }
  const [emb, one, two] = phases as [Phase, Phase, Phase];
  const load1 = loadavg()[0] ?? 0;
  return {
    title: 'Scale-out ingest behind Mosquitto (PostgreSQL)',
    method:
      `Same run, same PostgreSQL server (fresh database), ${nDevices} devices from bench/mqtt-load.ts keeping 2 QoS 1 publishes in flight each: (1) one \`vigil start\` with its embedded broker; (2) one and (3) two \`vigil start\` processes subscribed to a Mosquitto 2.0 of the bench's own (shared subscription, distinct client ids; persistence saved by time, not on every change). ` +
      `Readings/s = Vigil's accepted-readings counter over ${seconds} s after a 3 s warm-up (with an external broker the load's PUBACKs come from the broker, which queues ahead of Vigil). CPU per reading from /proc: Vigil's processes, and all postgres processes on the machine (other users of that server count too). Load average ${fmt(load0, 1)} at the start, ${fmt(load1, 1)} at the end (2 shared cores).`,
    figures: [
      ...phases.map((p) => ({
        metric: `${p.name}: readings/s (µs CPU per reading: Vigil + PostgreSQL)`,
        value: `${fmt(p.rate, 0)} (${fmt(p.vigilUs, 0)} + ${fmt(p.pgUs, 0)})`,
      })),
      {
        metric: '1 worker behind Mosquitto / embedded-broker process',
        value: fmt(one.rate / emb.rate, 2),
        goal: '≥ 0.8',
        met: one.rate / emb.rate >= 0.8,
      },
      {
        metric: '2 workers / 1 worker',
        value: fmt(two.rate / one.rate, 2),
        goal: '≥ 1.0',
        met: two.rate / one.rate >= 1.0,
      },
    ],
    notes: `load average ${fmt(load0, 1)} → ${fmt(load1, 1)}; a machine this loaded makes every figure a lower bound`,
  };
}
