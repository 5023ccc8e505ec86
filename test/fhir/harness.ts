import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import type { Principal } from '../../src/auth/token-service.ts';
import { loadConfig } from '../../src/config/config.ts';
import { startVigil, type Vigil } from '../../src/server.ts';
import { createFreshPostgresDatabase, testDatabaseUrl } from '../support/databases.ts';

export const corpora = new URL('../../test/corpora/', import.meta.url);
export const r4Example = (name: string) =>
  JSON.parse(readFileSync(new URL(`fhir-r4-examples/package/${name}`, corpora), 'utf8'));
export const phdExample = (name: string) =>
  JSON.parse(readFileSync(new URL(`fhir-phd-ig-examples/${name}`, corpora), 'utf8'));

/**
 * Minimal valid resources of each writable type, to stand in as the target of a reference (Vigil
 * refuses a reference to a local resource that is not stored).
 */
const stubs: Record<string, Record<string, unknown>> = {
  Patient: {},
  Practitioner: {},
  PractitionerRole: {},
  Organization: {},
  CareTeam: {},
  Device: {},
  DeviceMetric: { type: { text: 'stand-in' }, category: 'measurement' },
  Group: { type: 'person', actual: true },
  Consent: { status: 'active', scope: { text: 'stand-in' }, category: [{ text: 'stand-in' }] },
  Encounter: { status: 'finished', class: { code: 'AMB' } },
  QuestionnaireResponse: { status: 'completed' },
};

/** The local references of a resource (not inside contained or a Bundle) as [type, id]. */
export function localReferences(resource: unknown): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const walk = (n: unknown, top: boolean) => {
    if (Array.isArray(n)) {
      for (const x of n) walk(x, top);
      return;
    }
    if (!n || typeof n !== 'object') return;
    for (const [k, v] of Object.entries(n)) {
      if (k === 'contained') continue;
      if (k === 'reference' && typeof v === 'string') {
        const m = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})$/.exec(v);
        if (m) out.push([m[1] as string, m[2] as string]);
      } else walk(v, top);
    }
  };
  if ((resource as { resourceType?: string })?.resourceType !== 'Bundle') walk(resource, true);
  return out;
}

/** PUTs a stand-in for each local reference target of `resource` that stubs know (not Observations). */
export async function ensureTargets(h: FhirHarness, resource: unknown): Promise<void> {
  for (const [type, id] of localReferences(resource)) {
    const stub = stubs[type];
    if (!stub) continue;
    const r = await h.call('PUT', `/fhir/${type}/${id}`, { resourceType: type, id, ...stub });
    if (r.status >= 300) throw new Error(`stand-in ${type}/${id}: ${r.status} ${r.text}`);
  }
}

/** Parsed FHIR JSON in tests (shape asserted by the tests themselves). */
// biome-ignore lint/suspicious/noExplicitAny: test assertions walk arbitrary FHIR JSON
export type Json = any;

const adminPassword = 'fhir-test-password-123';

export interface FhirHarness {
  vigil: Vigil;
  token(p?: Partial<Principal>): Promise<string>;
  /** app.inject with a bearer token (admin unless given) and FHIR JSON. */
  call(
    method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH',
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<{ status: number; json: Json; headers: Record<string, unknown>; text: string }>;
  close(): Promise<void>;
}

/**
 * Runs a suite against a full Vigil on PGlite and, when VIGIL_TEST_DATABASE_URL is set, on a fresh
 * PostgreSQL database (skipped with a message otherwise). `get()` is the suite's harness.
 */
export function describeEachFhir(
  name: string,
  suite: (get: () => FhirHarness, kind: 'pglite' | 'postgres') => void,
  env: Record<string, string> = {},
): void {
  for (const kind of ['pglite', 'postgres'] as const) {
    const skip =
      kind === 'postgres' && !testDatabaseUrl
        ? 'VIGIL_TEST_DATABASE_URL is not set: PostgreSQL run skipped'
        : false;
    describe(`${name} [${kind}]`, { skip }, () => {
      let h: FhirHarness | undefined;
      let drop: (() => Promise<void>) | undefined;
      before(async () => {
        if (kind === 'postgres') {
          const fresh = await createFreshPostgresDatabase();
          drop = fresh.drop;
          h = await startFhir({ ...env, VIGIL_DATABASE_URL: fresh.url });
        } else h = await startFhir(env);
      });
      after(async () => {
        await h?.close();
        await drop?.();
      });
      suite(() => h as FhirHarness, kind);
    });
  }
}

/** A full Vigil (embedded PGlite in a temp dir unless `env` names a database, ephemeral ports) with the FHIR API. */
export async function startFhir(env: Record<string, string> = {}): Promise<FhirHarness> {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-fhir-'));
  const vigil = await startVigil(
    loadConfig({
      VIGIL_HTTP_PORT: '0',
      VIGIL_MQTT_PORT: '0',
      VIGIL_HTTP_HOST: '127.0.0.1',
      VIGIL_LOG_LEVEL: process.env['FHIR_TEST_LOG'] ?? 'silent',
      VIGIL_ADMIN_PASSWORD: adminPassword,
      VIGIL_DATA_DIR: dir,
      ...env,
    }),
    { print: () => {} },
  );
  const inject = async (
    method: string,
    url: string,
    payload: unknown,
    headers: Record<string, string> = {},
  ) => {
    const r = await vigil.app.inject({
      method: method as 'POST',
      url,
      headers: { 'content-type': 'application/json', ...headers },
      payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
    });
    if (r.statusCode >= 300) throw new Error(`${method} ${url}: ${r.statusCode} ${r.body}`);
    return JSON.parse(r.body);
  };
  const signIn = async (username: string, password: string) =>
    (await inject('POST', '/auth/token', { username, password })).access_token as string;
  const admin = await signIn('admin', adminPassword);
  let n = 0;
  /** A real principal: the admin, a user with roles (and a patient link), or an integration with scopes. */
  const token = async (p: Partial<Principal> = {}) => {
    if (p.kind === 'integration') {
      const id = `int-${++n}`;
      const c = await inject(
        'POST',
        '/api/v1/integrations',
        { id, name: id, scopes: p.scopes ?? [] },
        { authorization: `Bearer ${admin}` },
      );
      const r = await vigil.app.inject({
        method: 'POST',
        url: '/auth/oauth2/token',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: `grant_type=client_credentials&client_id=${id}&client_secret=${encodeURIComponent(c.client_secret)}`,
      });
      return JSON.parse(r.body).access_token as string;
    }
    if (!p.roles) return admin;
    const username = `user-${++n}`;
    const u = await inject(
      'POST',
      '/api/v1/users',
      {
        username,
        roles: p.roles,
        ...(p.patientId ? { patientId: p.patientId } : {}),
        ...(p.practitionerId ? { practitionerId: p.practitionerId } : {}),
      },
      { authorization: `Bearer ${admin}` },
    );
    return signIn(username, u.password);
  };
  return {
    vigil,
    token,
    async call(method, path, body, headers = {}) {
      const res = await vigil.app.inject({
        method,
        url: path,
        headers: {
          authorization: `Bearer ${admin}`,
          ...(body !== undefined ? { 'content-type': 'application/fhir+json' } : {}),
          ...headers,
        },
        ...(body !== undefined ? { payload: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
      });
      let json: unknown;
      try {
        json = res.body ? JSON.parse(res.body) : undefined;
      } catch {
        json = undefined;
      }
      return { status: res.statusCode, json, headers: res.headers, text: res.body };
    },
    async close() {
      await vigil.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
