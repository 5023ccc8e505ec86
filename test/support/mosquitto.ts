import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort, tempDir } from './process.ts';

/** The Mosquitto binary on PATH (Debian: /usr/sbin/mosquitto), or undefined. */
export function mosquittoBinary(): string | undefined {
  for (const dir of [...(process.env['PATH'] ?? '').split(':'), '/usr/sbin', '/usr/local/sbin']) {
    const p = join(dir, 'mosquitto');
    if (dir && existsSync(p)) return p;
  }
  return undefined;
}

export const mosquittoSkip = mosquittoBinary()
  ? false
  : 'mosquitto is not installed (Debian: apt-get install mosquitto): tests with their own broker skipped';

/** The dynamic-security plugin of the Debian package, if present. */
export function dynsecPlugin(): string | undefined {
  for (const p of [
    '/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so',
    '/usr/lib/aarch64-linux-gnu/mosquitto_dynamic_security.so',
    '/usr/lib/mosquitto_dynamic_security.so',
    '/usr/local/lib/mosquitto_dynamic_security.so',
  ]) {
    if (existsSync(p)) return p;
  }
  try {
    const out = execFileSync('dpkg', ['-L', 'mosquitto'], { encoding: 'utf8' });
    return out.split('\n').find((l) => l.endsWith('mosquitto_dynamic_security.so'));
  } catch {
    return undefined;
  }
}

export interface Mosquitto {
  port: number;
  url: string;
  dir: string;
  /** The persistence file. */
  dbPath: string;
  log: () => string;
  pid: () => number | undefined;
  /** kill -9 (no save on the way out). */
  kill9(): Promise<void>;
  /** Starts the broker again on the same port and persistence directory. */
  restart(): Promise<void>;
  /**
   * Makes the broker write its in-memory database (SIGUSR1) and resolves once a save that *started
   * after this call* is on disk: everything the broker held when it was called is then persisted.
   */
  saveNow(): Promise<void>;
  stop(): Promise<void>;
  /** Dynamic security: the admin client created at init. */
  admin?: { username: string; password: string };
}

export interface MosquittoOptions {
  /** Extra lines for mosquitto.conf (after the generated ones). */
  extra?: string[];
  /** Port to listen on (default: a free one). */
  port?: number;
  /** Load the dynamic-security plugin with a fresh configuration and a random admin password. */
  dynsec?: boolean;
}

/**
 * A Mosquitto of the test's own: free port on loopback, persistence in a temp directory saved on
 * every change (`autosave_on_changes true`, `autosave_interval 1`), no queue limit.
 */
export async function startMosquitto(opts: MosquittoOptions = {}): Promise<Mosquitto> {
  const bin = mosquittoBinary();
  if (!bin) throw new Error('mosquitto is not installed');
  const dir = tempDir('vigil-mosquitto-');
  const port = opts.port ?? (await freePort());
  const lines = [
    `listener ${port} 127.0.0.1`,
    `user ${userInfo().username}`,
    'persistence true',
    `persistence_location ${dir}/`,
    'autosave_on_changes true',
    'autosave_interval 1',
    'max_queued_messages 0',
    'max_inflight_messages 1000',
    'log_dest stdout',
    'log_type error',
    'log_type warning',
    'log_type notice',
    'log_type information',
  ];
  let admin: { username: string; password: string } | undefined;
  if (opts.dynsec) {
    const plugin = dynsecPlugin();
    if (!plugin) throw new Error('the dynamic-security plugin of mosquitto is not installed');
    admin = { username: 'vigil-admin', password: randomBytes(18).toString('base64url') };
    const file = join(dir, 'dynamic-security.json');
    execFileSync('mosquitto_ctrl', ['dynsec', 'init', file, admin.username, admin.password], {
      stdio: 'ignore',
    });
    lines.push('allow_anonymous false', `plugin ${plugin}`, `plugin_opt_config_file ${file}`);
  } else {
    lines.push('allow_anonymous true');
  }
  lines.push(...(opts.extra ?? []));
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(conf, `${lines.join('\n')}\n`);
  let proc: ChildProcess | undefined;
  let log = '';
  const launch = async () => {
    const p = spawn(bin, ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
    proc = p;
    p.stdout?.on('data', (d) => {
      log += d.toString();
    });
    p.stderr?.on('data', (d) => {
      log += d.toString();
    });
    for (let i = 0; i < 100; i++) {
      if (await portOpen(port)) return;
      if (p.exitCode !== null) throw new Error(`mosquitto exited: ${log}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`mosquitto did not listen on ${port}: ${log}`);
  };
  const kill = async (signal: NodeJS.Signals) => {
    const p = proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill(signal);
    await exited;
  };
  await launch();
  const dbPath = join(dir, 'mosquitto.db');
  const fileStamp = (): string | undefined => {
    try {
      const s = statSync(dbPath, { bigint: true });
      return `${s.ino}:${s.mtimeNs}:${s.size}`;
    } catch {
      return undefined;
    }
  };
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    dir,
    dbPath,
    log: () => log,
    pid: () => proc?.pid,
    kill9: () => kill('SIGKILL'),
    restart: launch,
    async saveNow() {
      // A save that was under way when called may not hold everything; the next one, which starts
      // after it ended, does. So: wait for two new files.
      for (let round = 0; round < 2; round++) {
        const before = fileStamp();
        proc?.kill('SIGUSR1');
        for (let i = 0; i < 400 && fileStamp() === before; i++) await new Promise((r) => setTimeout(r, 5));
        if (fileStamp() === before) throw new Error('mosquitto did not save its database');
      }
    },
    stop: () => kill('SIGTERM'),
    ...(admin ? { admin } : {}),
  };
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ port, host: '127.0.0.1' });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
