import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { freePort, tempDir, vigilBin } from '../support/process.ts';

/**
 * bin/vigil.js started by an older Node re-spawns itself on the pinned Node 24. A kill -9 of that
 * launcher must not leave the server behind holding the ports and the data directory.
 */
function olderNode(): { cmd: string; args: string[] } {
  for (const candidate of ['/usr/bin/node', '/usr/local/bin/node']) {
    if (!existsSync(candidate)) continue;
    try {
      const v = execFileSync(candidate, ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim();
      if (Number(v.split('.')[0]) < 24) return { cmd: candidate, args: [] };
    } catch {
      /* not runnable */
    }
  }
  // No older Node here: the pinned one, told it is Node 20 (the launcher decides on process.versions).
  const fake = "Object.defineProperty(process.versions,'node',{value:'20.0.0'})";
  return { cmd: process.execPath, args: ['--import', `data:text/javascript,${encodeURIComponent(fake)}`] };
}

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z/.test(stat); // a zombie has exited
  } catch {
    return false;
  }
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

test('kill -9 of the launcher stops the re-spawned server and frees its ports', {
  skip: process.platform !== 'linux',
}, async () => {
  const dataDir = tempDir('vigil-launcher-');
  const httpPort = await freePort();
  const mqttPort = await freePort();
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
    VIGIL_ADMIN_PASSWORD: 'launcher-test-password-1',
  });
  const node = olderNode();
  const launcher = spawn(node.cmd, [...node.args, vigilBin, 'start'], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  launcher.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  launcher.stderr?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const launcherGone = new Promise<void>((resolve) => launcher.on('exit', () => resolve()));
  try {
    for (let i = 0; i < 1200 && !out.includes('Vigil is running'); i++)
      await new Promise((r) => setTimeout(r, 50));
    assert.match(out, /Vigil is running/, out);
    const [server] = childrenOf(launcher.pid as number);
    assert.ok(server, 'the launcher re-spawned the server as its child');
    assert.ok(alive(server));
    assert.equal(await portFree(httpPort), false, 'the server holds its HTTP port');

    launcher.kill('SIGKILL');
    await launcherGone;
    for (let i = 0; i < 600 && alive(server); i++) await new Promise((r) => setTimeout(r, 50));
    const orphan = alive(server);
    if (orphan) process.kill(server, 'SIGKILL');
    assert.equal(orphan, false, 'the server outlived its launcher');
    assert.equal(await portFree(httpPort), true, 'HTTP port free');
    assert.equal(await portFree(mqttPort), true, 'MQTT port free');
  } finally {
    if (launcher.exitCode === null && launcher.signalCode === null) launcher.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  }
});
