import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Principal } from '../../src/auth/token-service.ts';
import { loadConfig } from '../../src/config/config.ts';
import { startVigil, type Vigil } from '../../src/server.ts';

export const corpora = new URL('../../test/corpora/', import.meta.url);
export const r4Example = (name: string) =>
  JSON.parse(readFileSync(new URL(`fhir-r4-examples/package/${name}`, corpora), 'utf8'));
export const phdExample = (name: string) =>
  JSON.parse(readFileSync(new URL(`fhir-phd-ig-examples/${name}`, corpora), 'utf8'));

/** Parsed FHIR JSON in tests (shape asserted by the tests themselves). */
// biome-ignore lint/suspicious/noExplicitAny: test assertions walk arbitrary FHIR JSON
export type Json = any;

const adminPassword = 'fhir-test-password-123';

export interface FhirHarness {
  vigil: Vigil;
  token(p?: Partial<Principal>): Promise<string>;
  /** app.inject with a bearer token (admin unless given) and FHIR JSON. */
  call(
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<{ status: number; json: Json; headers: Record<string, unknown>; text: string }>;
  close(): Promise<void>;
}

/** A full Vigil (embedded PGlite in a temp dir, ephemeral ports) with the FHIR API. */
export async function startFhir(): Promise<FhirHarness> {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-fhir-'));
  const vigil = await startVigil(
    loadConfig({
      VIGIL_HTTP_PORT: '0',
      VIGIL_MQTT_PORT: '0',
      VIGIL_HTTP_HOST: '127.0.0.1',
      VIGIL_LOG_LEVEL: process.env['FHIR_TEST_LOG'] ?? 'silent',
      VIGIL_ADMIN_PASSWORD: adminPassword,
      VIGIL_DATA_DIR: dir,
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
