/**
 * HTTP ingest load generator for bench/ingest-http.bench.ts, run as its own process (`fork`):
 * `concurrency` keep-alive connections, each posting batches of `batch` native JSON readings to
 * /ingest/v1/readings with a device's own secret as bearer, the next request after the answer.
 * Messages (IPC): {cmd:'run', url, devices, concurrency, batch, warmupS, seconds} → {result}.
 */
import { randomBytes } from 'node:crypto';
import { Agent, request } from 'node:http';

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

async function run(o: {
  url: string;
  devices: Array<{ id: string; secret: string }>;
  concurrency: number;
  batch: number;
  warmupS: number;
  seconds: number;
}) {
  const url = new URL('/ingest/v1/readings', o.url);
  const agent = new Agent({ keepAlive: true, maxSockets: o.concurrency });
  const base = Date.now() - 24 * 3600_000;
  let stop = false;
  let measuring = false;
  let readings = 0;
  let requests = 0;
  let failed = 0;
  const latencies: number[] = [];
  const post = (body: string, secret: string) =>
    new Promise<number>((resolve, reject) => {
      const req = request(
        url,
        {
          method: 'POST',
          agent,
          headers: {
            authorization: `Bearer ${secret}`,
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
          },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  // each run its own message ids: a rerun against the same database is not judged a duplicate
  const runId = randomBytes(4).toString('hex');
  const loop = async (w: number) => {
    const d = o.devices[w % o.devices.length] as { id: string; secret: string };
    let seq = 0;
    while (!stop) {
      const items = [];
      for (let i = 0; i < o.batch; i++) {
        const n = seq++;
        items.push({
          messageId: `${runId}-w${w}-${n}`,
          time: new Date(base + n * 1000 + w).toISOString(),
          type: 'heart-rate',
          value: 60 + (n % 40),
          unit: '/min',
        });
      }
      const t0 = performance.now();
      const status = await post(JSON.stringify({ readings: items }), d.secret).catch(() => 0);
      if (status !== 200) failed++;
      if (measuring && status === 200) {
        latencies.push(performance.now() - t0);
        readings += o.batch;
        requests++;
      }
    }
  };
  const loops = Array.from({ length: o.concurrency }, (_, w) => loop(w));
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  await sleep(o.warmupS * 1000);
  measuring = true;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await sleep(o.seconds * 1000);
  measuring = false;
  const elapsed = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  stop = true;
  await Promise.all(loops);
  agent.destroy();
  const sorted = Float64Array.from(latencies).sort();
  return {
    readingsPerS: readings / elapsed,
    requestsPerS: requests / elapsed,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    failed,
    loadCpuPercent: ((cpu.user + cpu.system) / 1000 / (elapsed * 1000)) * 100,
  };
}

process.on('message', (m: { cmd: string } & Record<string, unknown>) => {
  if (m.cmd === 'run')
    run(m as unknown as Parameters<typeof run>[0]).then(
      (result) => process.send?.({ result }),
      (e: Error) => process.send?.({ error: e.message }),
    );
  else if (m.cmd === 'close') process.exit(0);
});
