import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/config.ts';
import type { Clock } from '../../src/core/clock.ts';
import { startVigil, type Vigil } from '../../src/server.ts';

export const adminPassword = 'a-long-test-password';

export async function startTestVigil(
  opts: { clock?: Clock; env?: Record<string, string> } = {},
): Promise<Vigil> {
  const dataDir = mkdtempSync(join(tmpdir(), 'vigil-pipeline-'));
  return startVigil(
    loadConfig({
      VIGIL_HTTP_PORT: '0',
      VIGIL_MQTT_PORT: '0',
      VIGIL_HTTP_HOST: '127.0.0.1',
      VIGIL_MQTT_HOST: '127.0.0.1',
      VIGIL_LOG_LEVEL: 'silent',
      VIGIL_ADMIN_PASSWORD: adminPassword,
      VIGIL_DATA_DIR: dataDir,
      ...opts.env,
    }),
    { print: () => {}, ...(opts.clock ? { clock: opts.clock } : {}) },
  );
}

export async function signIn(url: string, password = adminPassword, username = 'admin'): Promise<string> {
  const res = await fetch(`${url}/auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  if (!res.ok) throw new Error(`sign-in failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { access_token: string }).access_token;
}

// biome-ignore lint/suspicious/noExplicitAny: a test helper reading loosely typed JSON answers
export async function call<T = any>(
  url: string,
  token: string,
  method: string,
  path: string,
  body?: unknown,
  contentType = 'application/json',
): Promise<{ status: number; body: T }> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body !== undefined ? { 'content-type': contentType } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    /* not JSON */
  }
  return { status: res.status, body: parsed as T };
}

/** Polls until `probe` returns a value (not undefined) or the deadline passes (then throws with `what`). */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 15_000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
