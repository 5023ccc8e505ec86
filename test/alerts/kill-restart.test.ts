import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { verifyWebhook } from '../../src/alerts/webhook.ts';
import { until, webhookReceiver } from './support.ts';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const node = join(repo, 'node_modules/.bin/node');
const password = 'kill-nine-test-password';

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

function startProcess(
  dataDir: string,
  httpPort: number,
  mqttPort: number,
): { child: ChildProcess; output: () => string } {
  let output = '';
  const child = spawn(node, [join(repo, 'bin/vigil.js'), 'start'], {
    cwd: repo,
    env: {
      PATH: process.env['PATH'] ?? '',
      HOME: dataDir,
      VIGIL_HTTP_HOST: '127.0.0.1',
      VIGIL_HTTP_PORT: String(httpPort),
      VIGIL_MQTT_HOST: '127.0.0.1',
      VIGIL_MQTT_PORT: String(mqttPort),
      VIGIL_DATA_DIR: dataDir,
      VIGIL_ADMIN_PASSWORD: password,
      VIGIL_LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d) => {
    output += d;
  });
  child.stderr?.on('data', (d) => {
    output += d;
  });
  return { child, output: () => output };
}

async function ready(base: string, proc: { child: ChildProcess; output: () => string }): Promise<void> {
  await until(
    async () => {
      if (proc.child.exitCode !== null) throw new Error(`vigil exited early:\n${proc.output()}`);
      try {
        return (await fetch(`${base}/health`)).ok || undefined;
      } catch {
        return undefined;
      }
    },
    'vigil to answer /health',
    110_000, // a loaded CI machine can take long to start a process
  );
}

async function api<T>(
  base: string,
  token: string | undefined,
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const json = (await res.json()) as T;
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

describe('escalation survives kill -9', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'vigil-kill9-'));
  const children: ChildProcess[] = [];
  after(() => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('a pending escalation and an undelivered notification happen after SIGKILL and restart', {
    timeout: 240_000,
  }, async () => {
    const receiver = await webhookReceiver();
    try {
      const [httpPort, mqttPort] = [await freePort(), await freePort()];
      const base = `http://127.0.0.1:${httpPort}`;
      const first = startProcess(dataDir, httpPort, mqttPort);
      children.push(first.child);
      await ready(base, first);

      const { access_token: token } = await api<{ access_token: string }>(
        base,
        undefined,
        'POST',
        '/auth/token',
        { username: 'admin', password },
      );
      const { secret } = await api<{ secret: string }>(base, token, 'POST', '/api/v1/alerts/webhooks', {
        url: receiver.url,
      });
      await api(base, token, 'PUT', '/api/v1/alerts/policies/critical', {
        workingHours: { days: [1, 2, 3, 4, 5, 6, 7], start: '00:00', end: '23:59' },
        workingHoursTiers: [
          { name: 'nurse', roles: ['nurse'], ackWithinSeconds: 4 },
          { name: 'clinician', roles: ['clinician'] },
        ],
        afterHoursTiers: [
          { name: 'nurse', roles: ['nurse'], ackWithinSeconds: 4 },
          { name: 'clinician', roles: ['clinician'] },
        ],
      });
      const { alert } = await api<{ alert: { id: string } }>(base, token, 'POST', '/api/v1/alerts', {
        patientId: 'pat-k9',
        severity: 'critical',
        summary: 'kill -9 test',
      });
      const before = await api<{ alert: { escalationTier: number }; timers: Array<{ kind: string }> }>(
        base,
        token,
        'GET',
        `/api/v1/alerts/${alert.id}`,
      );
      assert.equal(before.alert.escalationTier, 0);
      assert.deepEqual(
        before.timers.map((t) => t.kind),
        ['escalate'],
        'an escalation is pending when the process dies',
      );

      first.child.kill('SIGKILL');
      await new Promise((r) => first.child.once('exit', r));
      assert.equal(first.child.signalCode, 'SIGKILL');

      const second = startProcess(dataDir, httpPort, mqttPort);
      children.push(second.child);
      await ready(base, second);

      const escalated = await until(
        () =>
          receiver.received
            .map((r) => ({ r, n: JSON.parse(r.body) }))
            .find((x) => x.n.reason === 'escalated' && x.n.alert.id === alert.id),
        'the escalation webhook after restart',
        60_000,
      );
      assert.equal(escalated.n.tierName, 'clinician');
      assert.equal(
        verifyWebhook(
          escalated.r.body,
          escalated.r.headers['vigil-signature'] as string,
          secret,
          Math.floor(Date.now() / 1000),
        ).ok,
        true,
      );
      // The first notification, queued in the outbox before the kill, is delivered too.
      await until(
        () => receiver.received.find((r) => JSON.parse(r.body).reason === 'raised'),
        'the raised notification',
        90_000, // if the kill hit mid-send, the claim's 60 s lease must pass first
      );

      const { access_token: token2 } = await api<{ access_token: string }>(
        base,
        undefined,
        'POST',
        '/auth/token',
        { username: 'admin', password },
      );
      const afterRestart = await api<{
        alert: { state: string; escalationTier: number };
        timeline: Array<{ type: string; actor: { kind: string } }>;
      }>(base, token2, 'GET', `/api/v1/alerts/${alert.id}`);
      assert.equal(afterRestart.alert.state, 'escalated');
      assert.equal(afterRestart.alert.escalationTier, 1);
      assert.deepEqual(
        afterRestart.timeline.filter((e) => e.type === 'escalated').map((e) => e.actor.kind),
        ['system'],
      );
      second.child.kill('SIGTERM');
      await new Promise((r) => second.child.once('exit', r));
    } finally {
      await receiver.close();
    }
  });
});
