import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Role } from '../../src/auth/token-service.ts';
import { loadConfig } from '../../src/config/config.ts';
import type { Clock } from '../../src/core/clock.ts';
import { startVigil, type Vigil } from '../../src/server.ts';

export const adminPassword = 'test-admin-password-9f3k';

export interface Harness {
  vigil: Vigil;
  dir: string;
  close(): Promise<void>;
}

export async function startSecured(
  opts: { clock?: Clock; env?: Record<string, string> } = {},
): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-sec-'));
  const vigil = await startVigil(
    loadConfig({
      VIGIL_HTTP_PORT: '0',
      VIGIL_HTTP_HOST: '127.0.0.1',
      VIGIL_MQTT_PORT: '0',
      VIGIL_MQTT_HOST: '127.0.0.1',
      VIGIL_LOG_LEVEL: 'silent',
      VIGIL_ADMIN_PASSWORD: adminPassword,
      VIGIL_DATA_DIR: dir,
      ...opts.env,
    }),
    { print: () => {}, ...(opts.clock ? { clock: opts.clock } : {}) },
  );
  return {
    vigil,
    dir,
    async close() {
      await vigil.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface Reply {
  status: number;
  json: () => Record<string, unknown>;
  body: string;
  headers: Record<string, unknown>;
}

export async function call(
  vigil: Vigil,
  method: string,
  url: string,
  opts: { token?: string | undefined; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const r = await vigil.app.inject({
    method: method as 'GET',
    url,
    headers: { ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}), ...opts.headers },
    ...(opts.body !== undefined ? { payload: opts.body as string } : {}),
  });
  return {
    status: r.statusCode,
    json: () => r.json() as Record<string, unknown>,
    body: r.body,
    headers: r.headers,
  };
}

export async function signIn(
  vigil: Vigil,
  username: string,
  password: string,
  totp?: string,
): Promise<Record<string, string>> {
  const r = await call(vigil, 'POST', '/auth/token', {
    body: { username, password, ...(totp ? { totp } : {}) },
  });
  if (r.status !== 200) throw new Error(`sign-in of ${username} failed: ${r.status} ${r.body}`);
  return r.json() as Record<string, string>;
}

export async function adminToken(vigil: Vigil): Promise<string> {
  return (await signIn(vigil, 'admin', adminPassword)).access_token as string;
}

/** FHIR resources written straight into the store (the FHIR API is another module's). */
export async function putResource(
  vigil: Vigil,
  resource: { resourceType: string; id: string } & Record<string, unknown>,
): Promise<void> {
  await vigil.db.query(
    `insert into fhir_resource (resource_type, id, version_id, last_updated, content) values ($1, $2, 1, now(), $3::jsonb)
     on conflict (resource_type, id) do update set content = $3::jsonb, version_id = fhir_resource.version_id + 1`,
    [resource.resourceType, resource.id, JSON.stringify(resource)],
  );
}

export async function createUser(
  vigil: Vigil,
  admin: string,
  username: string,
  roles: Role[],
  links: { practitionerId?: string; patientId?: string } = {},
): Promise<{ id: string; password: string }> {
  const r = await call(vigil, 'POST', '/api/v1/users', { token: admin, body: { username, roles, ...links } });
  if (r.status !== 201) throw new Error(`create user ${username}: ${r.status} ${r.body}`);
  const j = r.json() as { user: { id: string }; password: string };
  return { id: j.user.id, password: j.password };
}

/**
 * Two patients (own = in the care team of the clinician and nurse, consents to sharing; other =
 * in nobody's team, refuses sharing with integrations), their devices and a reading each, and one
 * signed-in principal per role.
 */
export interface World {
  own: string;
  other: string;
  tokens: Record<'admin' | 'clinician' | 'nurse' | 'patient' | 'integration' | 'device', string>;
  devices: { own: string; other: string };
  deviceSecrets: { own: string; other: string };
  readings: { own: string; other: string };
  users: Record<'clinician' | 'nurse' | 'patient', { id: string; password: string }>;
  integration: { id: string; secret: string };
}

export async function seedWorld(vigil: Vigil): Promise<World> {
  const admin = await adminToken(vigil);
  const own = 'pat-own';
  const other = 'pat-other';
  for (const id of [own, other]) await putResource(vigil, { resourceType: 'Patient', id, active: true });
  for (const id of ['pr-clin', 'pr-nurse', 'pr-elsewhere'])
    await putResource(vigil, { resourceType: 'Practitioner', id });
  await putResource(vigil, {
    resourceType: 'CareTeam',
    id: 'team-own',
    status: 'active',
    subject: { reference: `Patient/${own}` },
    participant: [
      { member: { reference: 'Practitioner/pr-clin' } },
      { member: { reference: 'Practitioner/pr-nurse' } },
    ],
  });
  await putResource(vigil, {
    resourceType: 'CareTeam',
    id: 'team-other',
    status: 'active',
    subject: { reference: `Patient/${other}` },
    participant: [{ member: { reference: 'Practitioner/pr-elsewhere' } }],
  });
  const users = {
    clinician: await createUser(vigil, admin, 'clin', ['clinician'], { practitionerId: 'pr-clin' }),
    nurse: await createUser(vigil, admin, 'nurse', ['nurse'], { practitionerId: 'pr-nurse' }),
    patient: await createUser(vigil, admin, 'pat', ['patient'], { patientId: own }),
  };
  const secrets: Record<string, string> = {};
  const readings: Record<string, string> = {};
  for (const [key, patient] of [
    ['own', own],
    ['other', other],
  ] as const) {
    const id = `dev-${key}`;
    const reg = await call(vigil, 'POST', '/api/v1/devices', {
      token: admin,
      body: { id, kind: 'pulse-oximeter' },
    });
    if (reg.status !== 201) throw new Error(`register ${id}: ${reg.body}`);
    secrets[key] = (reg.json() as { secret: string }).secret;
    const asg = await call(vigil, 'POST', `/api/v1/devices/${id}/assignments`, {
      token: admin,
      body: { patientId: patient, start: '2020-01-01T00:00:00Z' },
    });
    if (asg.status !== 201) throw new Error(`assign ${id}: ${asg.body}`);
    const ing = await call(vigil, 'POST', '/ingest/v1/readings', {
      token: secrets[key],
      body: {
        messageId: `m-${key}`,
        time: '2026-01-01T10:00:00Z',
        type: 'heart-rate',
        value: 72,
        unit: '/min',
      },
    });
    const result = (ing.json() as { results: Array<{ status: string; ids?: string[] }> }).results[0];
    const readingId = result?.ids?.[0];
    if (ing.status !== 200 || result?.status !== 'accepted' || !readingId)
      throw new Error(`ingest ${id}: ${ing.body}`);
    readings[key] = readingId;
  }
  // The other patient refuses sharing with integrations.
  const refusal = await call(vigil, 'POST', `/api/v1/patients/${other}/consents`, {
    token: admin,
    body: { purpose: 'integration-sharing', decision: 'deny' },
  });
  if (refusal.status !== 201) throw new Error(`consent: ${refusal.body}`);
  const client = await call(vigil, 'POST', '/api/v1/integrations', {
    token: admin,
    body: { id: 'ehr', name: 'Hospital EHR', scopes: ['system/*.read'] },
  });
  if (client.status !== 201) throw new Error(`integration: ${client.body}`);
  const integration = { id: 'ehr', secret: (client.json() as { client_secret: string }).client_secret };
  const tokens = {
    admin,
    clinician: (await signIn(vigil, 'clin', users.clinician.password)).access_token as string,
    nurse: (await signIn(vigil, 'nurse', users.nurse.password)).access_token as string,
    patient: (await signIn(vigil, 'pat', users.patient.password)).access_token as string,
    integration: await clientToken(vigil, integration.id, integration.secret),
    device: secrets['own'] as string,
  };
  return {
    own,
    other,
    tokens,
    devices: { own: 'dev-own', other: 'dev-other' },
    deviceSecrets: { own: secrets['own'] as string, other: secrets['other'] as string },
    readings: { own: readings['own'] as string, other: readings['other'] as string },
    users,
    integration,
  };
}

export async function clientToken(vigil: Vigil, id: string, secret: string, scope?: string): Promise<string> {
  const cc = await call(vigil, 'POST', '/auth/oauth2/token', {
    body: `grant_type=client_credentials&client_id=${id}&client_secret=${encodeURIComponent(secret)}${scope ? `&scope=${encodeURIComponent(scope)}` : ''}`,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  if (cc.status !== 200) throw new Error(`client credentials: ${cc.body}`);
  return (cc.json() as { access_token: string }).access_token;
}
