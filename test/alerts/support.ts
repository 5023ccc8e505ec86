import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/config.ts';
import type { Detection } from '../../src/core/detection.ts';
import { startVigil, type Vigil } from '../../src/server.ts';
import type { Sql } from '../../src/store/database.ts';

export function firing(over: Partial<Detection> = {}): Detection {
  return {
    patientId: 'pat-1',
    conditionKey: 'threshold:59408-5:low',
    rule: 'threshold',
    state: 'firing',
    severity: 'high',
    at: '2026-03-02T09:00:00Z',
    summary: 'SpO2 86 % below 88 %',
    evidence: ['obs-1'],
    ...over,
  };
}

type Participant = { role: Array<Record<string, unknown>>; member: { reference: string } };

async function putCareTeam(
  sql: Sql,
  id: string,
  patientId: string,
  participant: Participant[],
): Promise<void> {
  const content = {
    resourceType: 'CareTeam',
    id,
    status: 'active',
    subject: { reference: `Patient/${patientId}` },
    participant,
  };
  await sql.query(
    `insert into fhir_resource (resource_type, id, version_id, last_updated, content) values ('CareTeam', $1, 1, now(), $2::jsonb)
     on conflict (resource_type, id) do update set content = excluded.content`,
    [id, JSON.stringify(content)],
  );
}

/** A CareTeam for the patient with a nurse and a clinician, stored as the FHIR module stores it. */
export async function seedCareTeam(sql: Sql, patientId = 'pat-1', id = 'team-1'): Promise<void> {
  await putCareTeam(sql, id, patientId, [
    { role: [{ coding: [{ code: 'nurse' }] }], member: { reference: 'Practitioner/nurse-1' } },
    { role: [{ text: 'Clinician' }], member: { reference: 'Practitioner/doc-1' } },
  ]);
}

/**
 * A CareTeam whose one practitioner, `doc-1`, holds the nurse, clinician and on-call roles: the first
 * tier of the default policies reaches them in working hours and after hours alike.
 */
export async function seedAllHoursTeam(sql: Sql, patientId = 'pat-1', id = 'team-1'): Promise<void> {
  await putCareTeam(sql, id, patientId, [
    {
      role: [{ coding: [{ code: 'nurse' }, { code: 'clinician' }, { code: 'on-call' }] }],
      member: { reference: 'Practitioner/doc-1' },
    },
  ]);
}

export const adminPassword = 'a-long-test-password';

/**
 * A whole Vigil in this process (ephemeral ports, a temporary data directory) with the care team of
 * `seedCareTeam`; `stop` also removes the directory.
 */
export async function startWithCareTeam(
  prefix: string,
): Promise<{ vigil: Vigil; stop: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const vigil = await startVigil(
    loadConfig({
      VIGIL_HTTP_PORT: '0',
      VIGIL_MQTT_PORT: '0',
      VIGIL_LOG_LEVEL: 'silent',
      VIGIL_ADMIN_PASSWORD: adminPassword,
      VIGIL_DATA_DIR: dir,
    }),
    { print: () => {} },
  );
  await seedCareTeam(vigil.db);
  return {
    vigil,
    stop: async () => {
      await vigil.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The access token of a password sign-in (throws when refused). */
export async function signIn(vigil: Vigil, username: string, password: string): Promise<string> {
  const r = await vigil.app.inject({ method: 'POST', url: '/auth/token', payload: { username, password } });
  if (r.statusCode !== 200) throw new Error(`sign-in ${username}: ${r.statusCode} ${r.body}`);
  return r.json().access_token as string;
}

export interface Received {
  body: string;
  headers: IncomingMessage['headers'];
}

/** A local webhook receiver on an ephemeral port; `failFirst` answers 503 that many times first. */
export async function webhookReceiver(failFirst = 0): Promise<{
  url: string;
  received: Received[];
  attempts: () => number;
  close: () => Promise<void>;
  server: Server;
}> {
  const received: Received[] = [];
  let n = 0;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      n++;
      if (n <= failFirst) {
        res.writeHead(503).end();
        return;
      }
      received.push({ body, headers: req.headers });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    attempts: () => n,
    server,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

export async function until<T>(
  fn: () => T | undefined | Promise<T | undefined>,
  what: string,
  timeoutMs = 20_000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
