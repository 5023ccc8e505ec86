import { type BenchResult, fmt } from './harness.ts';
import { newDataDir, seedDevices, sleep, startMqttLoad, startServer } from './support.ts';

/**
 * Memory per connected, idle MQTT device at 1,000 and at 10,000 devices (PGlite server), each with
 * its own credential and a 300 s keepalive. The connections come from bench/mqtt-load.ts in its own
 * process.
 */
export default async function (opts: { quick: boolean; large: boolean }): Promise<BenchResult> {
  const total = opts.quick ? 5_000 : 10_000;
  const first = 1_000;
  const dataDir = newDataDir();
  const devices = await seedDevices({ dataDir }, 'conn', total);
  const server = await startServer({ dataDir });
  const load = startMqttLoad();
  try {
    await sleep(2000);
    const rss0 = server.rssBytes();
    await load.connect(server.mqttPort, devices.slice(0, first));
    await sleep(3000);
    const rss1 = server.rssBytes();
    await load.connect(server.mqttPort, devices.slice(first));
    await sleep(3000);
    const rss2 = server.rssBytes();
    const metrics = await fetch(`${server.url}/metrics`).then((r) => r.text());
    const connected = Number(/vigil_mqtt_clients(?:\{[^}]*\})? (\d+)/.exec(metrics)?.[1] ?? Number.NaN);
    const kb = (bytes: number, n: number) => bytes / n / 1024;
    const at1k = kb(rss1 - rss0, first);
    const atAll = kb(rss2 - rss0, total);
    const marginal = kb(rss2 - rss1, total - first);
    return {
      title: 'Memory per connected MQTT device',
      method: `A real \`vigil start\` process (PGlite) with ${fmt(total, 0)} registered devices (credentials issued as the API does, written to the database before the start); a separate process (bench/mqtt-load.ts) connects ${fmt(first, 0)} of them over MQTT 3.1.1 (own credential each, keepalive 300 s, no subscriptions), then the other ${fmt(total - first, 0)}. Server RSS from /proc 3 s after each step, minus the RSS before any device connected, divided by the number connected; "marginal" is the RSS growth from ${fmt(first, 0)} to ${fmt(total, 0)} devices divided by the ${fmt(total - first, 0)} added (it leaves out the one-off growth of the V8 heap when the first connections arrive).`,
      figures: [
        {
          metric: `per device, ${fmt(first, 0)} connected`,
          value: `${fmt(at1k, 1)} KB`,
          goal: '< 16 KB',
          met: at1k < 16,
        },
        {
          metric: `per device, ${fmt(total, 0)} connected`,
          value: `${fmt(atAll, 1)} KB`,
          goal: '< 16 KB',
          met: atAll < 16,
        },
        {
          metric: `marginal per device, ${fmt(first, 0)} → ${fmt(total, 0)}`,
          value: `${fmt(marginal, 1)} KB`,
        },
        { metric: 'server RSS with all connected', value: `${fmt(rss2 / 2 ** 20, 0)} MiB` },
      ],
      notes: `Connected according to the server's vigil_mqtt_clients gauge: ${fmt(connected, 0)}. RSS includes heap not yet collected; no GC is forced in the server.`,
    };
  } finally {
    await load.close();
    await server.stop();
  }
}
