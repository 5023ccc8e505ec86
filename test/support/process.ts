import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const vigilBin = join(repoRoot, 'bin/vigil.js');

/** A free TCP port on loopback (closed again before it is returned). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export function tempDir(prefix = 'vigil-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/**
 * Every process a test started: killed when the test file's process exits, so a test that fails
 * before its own cleanup cannot leave a server holding ports (and the test runner waiting on it).
 */
const started = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of started) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
});
/** How long a starting process may take to say it is running (a loaded CI machine is slow). */
const startTimeoutMs = 110_000;

export interface RunningVigil {
  proc: ChildProcess;
  httpUrl: string;
  httpPort: number;
  mqttPort: number;
  dataDir: string;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the exit code (and signal) when the process ends. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts a real `vigil start` process (the same command `npm start` runs) on free ports and waits
 * until it prints that it is running.
 */
export async function startVigilProcess(
  opts: {
    dataDir?: string;
    env?: Record<string, string>;
    httpPort?: number;
    mqttPort?: number;
    /** The `vigil` subcommand (default `start`; `edge` for an edge gateway). */
    command?: string;
  } = {},
): Promise<RunningVigil> {
  const dataDir = opts.dataDir ?? tempDir();
  const httpPort = opts.httpPort ?? (await freePort());
  const mqttPort = opts.mqttPort ?? (await freePort());
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env))
    if (v !== undefined && !k.startsWith('VIGIL_')) env[k] = v;
  Object.assign(env, {
    VIGIL_DATA_DIR: dataDir,
    VIGIL_HTTP_PORT: String(httpPort),
    VIGIL_HTTP_HOST: '127.0.0.1',
    VIGIL_MQTT_PORT: String(mqttPort),
    VIGIL_MQTT_HOST: '127.0.0.1',
    VIGIL_LOG_LEVEL: 'info',
    ...opts.env,
  });
  const proc = spawn(process.execPath, [vigilBin, opts.command ?? 'start'], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.add(proc);
  proc.once('exit', () => started.delete(proc));
  let out = '';
  let err = '';
  proc.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  proc.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.on('exit', (code, signal) => resolve({ code, signal })),
  );
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`vigil did not start within ${startTimeoutMs / 1000} s\n${out}\n${err}`));
    }, startTimeoutMs);
    const check = () => {
      if (out.includes('Vigil is running')) {
        clearTimeout(timer);
        // the admin password lines follow the URLs in the same write burst; give them a moment
        setTimeout(resolve, 200);
      }
    };
    proc.stdout?.on('data', check);
    exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`vigil exited with ${code} before it was running\n${out}\n${err}`));
    });
  });
  return {
    proc,
    httpUrl: `http://127.0.0.1:${httpPort}`,
    httpPort,
    mqttPort,
    dataDir,
    stdout: () => out,
    stderr: () => err,
    exited,
  };
}

/** The admin password printed once at first start. */
export function printedAdminPassword(stdout: string): string | undefined {
  const m = /shown only once[^\n]*\n\s+(\S+)/.exec(stdout);
  return m?.[1];
}

export async function adminToken(httpUrl: string, password: string): Promise<string> {
  const res = await fetch(`${httpUrl}/auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password }),
  });
  if (!res.ok) throw new Error(`sign-in failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { access_token: string }).access_token;
}

export async function api<T = unknown>(
  httpUrl: string,
  token: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  const res = await fetch(`${httpUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}
