import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/config.ts';
import { startVigil, type Vigil } from '../../src/server.ts';

/** Seeding through the real APIs (FHIR, users, devices, HTTP ingest), shared by API tests, e2e and bench. */

export const PROGRAM_SYSTEM = 'https://vigil.example.org/fhir/CodeSystem/monitoring-program';
export const ADMIN_PASSWORD = 'a-long-test-password';

export interface Running {
  vigil: Vigil;
  url: string;
  admin: string;
  stop(): Promise<void>;
}

export async function startTestVigil(env: Record<string, string> = {}): Promise<Running> {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-dash-'));
  const vigil = await startVigil(
    loadConfig({
      VIGIL_HTTP_PORT: '0',
      VIGIL_MQTT_PORT: '0',
      VIGIL_HTTP_HOST: '127.0.0.1',
      VIGIL_LOG_LEVEL: 'silent',
      VIGIL_ADMIN_PASSWORD: ADMIN_PASSWORD,
      VIGIL_DATA_DIR: dir,
      ...env,
    }),
    { print: () => {} },
  );
  const url = `http://127.0.0.1:${vigil.httpPort}`;
  const admin = await signIn(url, 'admin', ADMIN_PASSWORD);
  return {
    vigil,
    url,
    admin,
    async stop() {
      await vigil.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function api<T = Record<string, unknown>>(
  url: string,
  token: string | undefined,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined
        ? { 'content-type': path.startsWith('/fhir') ? 'application/fhir+json' : 'application/json' }
        : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, body: parsed as T };
}

export async function must<T = Record<string, unknown>>(
  url: string,
  token: string | undefined,
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  const r = await api<T>(url, token, method, path, body);
  if (r.status >= 300) throw new Error(`${method} ${path} → ${r.status}: ${JSON.stringify(r.body)}`);
  return r.body;
}

export async function signIn(url: string, username: string, password: string): Promise<string> {
  const r = await must<{ access_token: string }>(url, undefined, 'POST', '/auth/token', {
    username,
    password,
  });
  return r.access_token;
}

/** A Practitioner and a staff account linked to it. */
export async function addStaff(
  url: string,
  admin: string,
  username: string,
  role: 'clinician' | 'nurse',
  name: { given: string; family: string },
  password: string,
): Promise<{ practitionerId: string }> {
  const pr = await must<{ id: string }>(url, admin, 'POST', '/fhir/Practitioner', {
    resourceType: 'Practitioner',
    active: true,
    name: [{ family: name.family, given: [name.given] }],
  });
  await must(url, admin, 'POST', '/api/v1/users', {
    username,
    roles: [role],
    displayName: `${name.given} ${name.family}`,
    practitionerId: pr.id,
    password,
  });
  return { practitionerId: pr.id };
}

export async function addPatient(
  url: string,
  admin: string,
  p: { given: string; family: string; birthDate?: string; gender?: string; program: string; team?: string },
  practitionerIds: string[],
): Promise<string> {
  const patient = await must<{ id: string }>(url, admin, 'POST', '/fhir/Patient', {
    resourceType: 'Patient',
    active: true,
    name: [{ use: 'official', family: p.family, given: [p.given] }],
    gender: p.gender ?? 'unknown',
    birthDate: p.birthDate ?? '1950-01-01',
  });
  await must(url, admin, 'POST', '/fhir/CareTeam', {
    resourceType: 'CareTeam',
    status: 'active',
    name: p.team ?? `${p.program} remote monitoring`,
    category: [{ coding: [{ system: PROGRAM_SYSTEM, code: p.program }] }],
    subject: { reference: `Patient/${patient.id}` },
    participant: practitionerIds.map((id) => ({ member: { reference: `Practitioner/${id}` } })),
  });
  return patient.id;
}

export async function addDevice(
  url: string,
  admin: string,
  d: { id: string; kind: string; firmware?: string; model?: string; manufacturer?: string },
  patientId: string,
  assignFrom: number,
): Promise<string> {
  const reg = await must<{ secret: string }>(url, admin, 'POST', '/api/v1/devices', {
    id: d.id,
    kind: d.kind,
    firmware: d.firmware ?? '1.4.2',
    model: d.model ?? 'Vigil test device',
    manufacturer: d.manufacturer ?? 'Acme Medical',
  });
  await must(url, admin, 'POST', `/api/v1/devices/${d.id}/assignments`, {
    patientId,
    start: new Date(assignFrom).toISOString(),
  });
  return reg.secret;
}

/** HTTP ingest as the device, with its secret as bearer credential. */
export async function push(url: string, secret: string, readings: object[]): Promise<void> {
  for (let i = 0; i < readings.length; i += 500) {
    const res = await fetch(`${url}/ingest/v1/readings`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ readings: readings.slice(i, i + 500) }),
    });
    const body = (await res.json()) as { results?: Array<{ status: string; reason?: unknown }> };
    const bad = (body.results ?? []).filter((r) => r.status === 'rejected');
    if (res.status >= 300 || bad.length)
      throw new Error(`ingest → ${res.status}: ${JSON.stringify(bad.slice(0, 3))}`);
  }
}

export interface Vitals {
  hr: number;
  spo2: number;
  rr: number;
  temp: number;
  sys: number;
  dia: number;
}

/** One set of bedside vitals at `t` in native JSON (battery included as device status). */
export function vitalSet(t: number, v: Vitals, battery = 80): object[] {
  const time = new Date(t).toISOString();
  const id = (k: string) => `${k}-${t}`;
  return [
    { messageId: id('hr'), time, type: 'heart-rate', value: v.hr, unit: '/min', battery },
    { messageId: id('spo2'), time, type: 'spo2', value: v.spo2, unit: '%' },
    { messageId: id('rr'), time, type: 'respiratory-rate', value: v.rr, unit: '/min' },
    { messageId: id('temp'), time, type: 'temperature', value: v.temp, unit: 'Cel' },
    {
      messageId: id('bp'),
      time,
      type: 'blood-pressure',
      unit: 'mmHg',
      components: { systolic: v.sys, diastolic: v.dia },
    },
  ];
}
