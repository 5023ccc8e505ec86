import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Principal } from '../../src/auth/token-service.ts';
import { loadConfig } from '../../src/config/config.ts';
import { startVigil, type Vigil } from '../../src/server.ts';

export const corpora = new URL('../../../shared/corpora/', import.meta.url);
export const r4Example = (name: string) =>
  JSON.parse(readFileSync(new URL(`fhir-r4-examples/package/${name}`, corpora), 'utf8'));
export const phdExample = (name: string) =>
  JSON.parse(readFileSync(new URL(`fhir-phd-ig-examples/${name}`, corpora), 'utf8'));

export interface FhirHarness {
  vigil: Vigil;
  token(p?: Partial<Principal>): Promise<string>;
  /** app.inject with a bearer token (admin unless given) and FHIR JSON. */
  call(
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<{ status: number; json: any; headers: Record<string, unknown>; text: string }>;
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
      VIGIL_LOG_LEVEL: 'silent',
      VIGIL_ADMIN_PASSWORD: 'fhir-test-password-123',
      VIGIL_DATA_DIR: dir,
    }),
    { print: () => {} },
  );
  const token = async (p: Partial<Principal> = {}) =>
    (await vigil.ctx.tokens.issue({ kind: 'user', id: 'test-admin', roles: ['admin'], scopes: [], ...p }))
      .token;
  const admin = await token();
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
