import { type ChildProcess, fork, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const p = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(p));
    });
  });
}

export interface BenchServer {
  proc: ChildProcess;
  url: string;
  mqttPort: number;
  token: string;
  rssBytes(): number;
  /** CPU time (user + system) the server process has used, in seconds. */
  cpuSeconds(): number;
  stop(): Promise<void>;
}

const adminPassword = 'bench-admin-password-1';

/** A real `vigil start` process for a benchmark (PGlite in a temp dir, or the PostgreSQL URL given). */
export async function startServer(
  opts: { databaseUrl?: string; dataDir?: string; env?: Record<string, string> } = {},
): Promise<BenchServer> {
  const httpPort = await freePort();
  const mqttPort = await freePort();
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env))
    if (v !== undefined && !k.startsWith('VIGIL_')) env[k] = v;
  Object.assign(env, {
    VIGIL_HTTP_PORT: String(httpPort),
    VIGIL_HTTP_HOST: '127.0.0.1',
    VIGIL_MQTT_PORT: String(mqttPort),
    VIGIL_MQTT_HOST: '127.0.0.1',
    VIGIL_DATA_DIR: opts.dataDir ?? mkdtempSync(join(tmpdir(), 'vigil-bench-')),
    VIGIL_LOG_LEVEL: 'warn',
    VIGIL_ADMIN_PASSWORD: adminPassword,
    ...(opts.databaseUrl ? { VIGIL_DATABASE_URL: opts.databaseUrl } : {}),
    ...opts.env,
  });
  const proc = spawn(
    process.execPath,
    [join(process.env['VIGIL_BENCH_ROOT'] ?? root, 'bin/vigil.js'), 'start'],
    { env, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise<void>((resolve, reject) => {
    let out = '';
    proc.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('Vigil is running')) resolve();
    });
    proc.on('exit', (c) => reject(new Error(`vigil exited ${c}: ${out}`)));
  });
  const url = `http://127.0.0.1:${httpPort}`;
  const res = await fetch(`${url}/auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password: adminPassword }),
  });
  const token = ((await res.json()) as { access_token: string }).access_token;
  return {
    proc,
    url,
    mqttPort,
    token,
    rssBytes: () => {
      const status = readFileSync(`/proc/${proc.pid}/status`, 'utf8');
      const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
      return kb * 1024;
    },
    cpuSeconds: () => {
      const stat = readFileSync(`/proc/${proc.pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (100/s)
    },
    stop: async () => {
      const exited = new Promise((r) => proc.on('exit', r));
      proc.kill('SIGTERM');
      await exited;
    },
  };
}

export async function registerDevices(
  server: BenchServer,
  prefix: string,
  n: number,
  kind = 'wearable',
): Promise<Array<{ id: string; secret: string }>> {
  const out: Array<{ id: string; secret: string }> = [];
  const batch = 20;
  for (let i = 0; i < n; i += batch) {
    const ids = Array.from({ length: Math.min(batch, n - i) }, (_, j) => `${prefix}-${i + j}`);
    const got = await Promise.all(
      ids.map(async (id) => {
        const r = await fetch(`${server.url}/api/v1/devices`, {
          method: 'POST',
          headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ id, kind }),
        });
        if (r.status !== 201) throw new Error(`register ${id}: ${r.status} ${await r.text()}`);
        return { id, secret: ((await r.json()) as { secret: string }).secret };
      }),
    );
    out.push(...got);
  }
  return out;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface LoadResult {
  acked: number;
  rate: number;
  p50: number;
  p99: number;
  max: number;
  loadCpuPercent: number;
  unacked: number;
  refused: number;
  ackedTotal: number;
}

/** The MQTT load generator (bench/mqtt-load.ts) in its own process. */
export function startMqttLoad() {
  const child = fork(join(root, 'bench/mqtt-load.ts'), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    execArgv: [],
  });
  const ask = <T>(msg: Record<string, unknown>): Promise<T> =>
    new Promise((resolve, reject) => {
      const onMsg = (m: { error?: string } & T) => {
        child.off('exit', onExit);
        if (m.error) reject(new Error(m.error));
        else resolve(m);
      };
      const onExit = (c: number) => reject(new Error(`load generator exited ${c}`));
      child.once('message', onMsg as (m: unknown) => void);
      child.once('exit', onExit);
      child.send(msg);
    });
  return {
    connect: (port: number, devices: Array<{ id: string; secret: string }>, keepalive = 300) =>
      ask<{ connected: number }>({ cmd: 'connect', port, devices, keepalive }),
    run: async (o: { rate?: number; window?: number; warmupS: number; seconds: number }) =>
      (await ask<{ result: LoadResult }>({ cmd: 'run', ...o })).result,
    close: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.send({ cmd: 'close' });
      }),
  };
}

export interface HttpLoadResult {
  readingsPerS: number;
  requestsPerS: number;
  p50: number;
  p99: number;
  failed: number;
  loadCpuPercent: number;
}

/** One HTTP ingest load run (bench/http-load.ts) in its own process. */
export function runHttpLoad(o: {
  url: string;
  devices: Array<{ id: string; secret: string }>;
  concurrency: number;
  batch: number;
  warmupS: number;
  seconds: number;
}): Promise<HttpLoadResult> {
  const child = fork(join(root, 'bench/http-load.ts'), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    execArgv: [],
  });
  return new Promise((resolve, reject) => {
    child.once('message', (m: { result?: HttpLoadResult; error?: string }) => {
      child.send({ cmd: 'close' });
      if (m.result) resolve(m.result);
      else reject(new Error(m.error ?? 'http load failed'));
    });
    child.once('exit', (c) => reject(new Error(`http load exited ${c}`)));
    child.send({ cmd: 'run', ...o });
  });
}

/**
 * Registers many devices straight in the database, before the server starts (the management API's
 * rate limit would make 10,000 registrations take minutes). Same credentials as the API issues.
 */
export async function seedDevices(
  where: { dataDir?: string; databaseUrl?: string },
  prefix: string,
  n: number,
): Promise<Array<{ id: string; secret: string }>> {
  const { openDatabase } = await import('../src/store/open-database.ts');
  const { migrate } = await import('../src/store/migrate.ts');
  const { issueDeviceSecret } = await import('../src/devices/device-credentials.ts');
  const db = await openDatabase({ databaseUrl: where.databaseUrl, dataDir: where.dataDir ?? '' });
  try {
    await migrate(db);
    const out: Array<{ id: string; secret: string }> = [];
    for (let i = 0; i < n; i += 1000) {
      const rows = Array.from({ length: Math.min(1000, n - i) }, (_, j) => {
        const { secret, hash } = issueDeviceSecret();
        out.push({ id: `${prefix}-${i + j}`, secret });
        return { id: `${prefix}-${i + j}`, hash };
      });
      await db.query(
        `insert into device (id, kind, secret_hash, credential_issued_at)
         select x.id, 'wearable', x.hash, now() from jsonb_to_recordset($1::jsonb) as x(id text, hash text)`,
        [JSON.stringify(rows)],
      );
    }
    return out;
  } finally {
    await db.close();
  }
}

export const newDataDir = () => mkdtempSync(join(tmpdir(), 'vigil-bench-'));
