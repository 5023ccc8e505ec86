/**
 * The simulator's own small HTTP client for Vigil's API (sim/ talks to Vigil only over the wire and
 * may not import cli/): sign in, find or create Patients and CareTeams (FHIR), register and assign
 * devices, post device readings. Errors carry the server's code; nothing patient-identifying is
 * logged.
 */
import { VigilError } from '../../core/errors.ts';

export interface ApiClientOptions {
  baseUrl: string;
  token?: string;
  fetch?: typeof fetch;
}

const FHIR_JSON = 'application/fhir+json';

export class SimApiClient {
  readonly baseUrl: string;
  token: string | undefined;
  readonly #fetch: typeof fetch;

  constructor(o: ApiClientOptions) {
    this.baseUrl = o.baseUrl.replace(/\/+$/, '');
    this.token = o.token;
    this.#fetch = o.fetch ?? fetch;
  }

  async signIn(username: string, password: string): Promise<void> {
    const r = await this.request<{ access_token: string }>(
      'POST',
      '/auth/token',
      { username, password },
      { auth: false },
    );
    this.token = r.access_token;
  }

  async request<T>(
    method: string,
    path: string,
    body?: unknown,
    o: { auth?: boolean | string; contentType?: string; ok404?: boolean; raw?: Uint8Array } = {},
  ): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json, application/fhir+json' };
    const bearer = typeof o.auth === 'string' ? o.auth : o.auth === false ? undefined : this.token;
    if (bearer) headers.authorization = `Bearer ${bearer}`;
    let payload: string | Uint8Array<ArrayBuffer> | undefined;
    if (o.raw) {
      payload = new Uint8Array(o.raw);
      headers['content-type'] = o.contentType ?? 'application/octet-stream';
    } else if (body !== undefined) {
      payload = typeof body === 'string' ? body : JSON.stringify(body);
      headers['content-type'] = o.contentType ?? 'application/json';
    }
    let res: Response;
    try {
      res = await this.#fetch(`${this.baseUrl}${path}`, {
        method,
        headers,
        ...(payload !== undefined ? { body: payload } : {}),
      });
    } catch (e) {
      throw new VigilError(
        'VIGIL_ERR_SIM_UNREACHABLE',
        `cannot reach Vigil at ${this.baseUrl}: ${(e as Error).message}`,
      );
    }
    const text = await res.text();
    const json = text ? safeJson(text) : undefined;
    if (res.status === 404 && o.ok404) return undefined as T;
    if (!res.ok) {
      const err = json as
        | { error?: { code?: string; message?: string }; issue?: { diagnostics?: string; code?: string }[] }
        | undefined;
      const message = err?.error?.message ?? err?.issue?.[0]?.diagnostics ?? text.slice(0, 200);
      throw new VigilError(
        err?.error?.code ?? `VIGIL_ERR_SIM_HTTP_${res.status}`,
        `${method} ${path.split('?')[0]} → ${res.status}: ${message}`,
        res.status,
      );
    }
    return json as T;
  }

  /** The id of the Patient with this identifier, creating it if absent. */
  async ensurePatient(
    resource: FhirResource & { identifier: { system: string; value: string }[] },
  ): Promise<string> {
    const id0 = resource.identifier[0] as { system: string; value: string };
    const bundle = await this.request<{ entry?: { resource?: { id?: string } }[] }>(
      'GET',
      `/fhir/Patient?identifier=${encodeURIComponent(`${id0.system}|${id0.value}`)}`,
    );
    const found = bundle?.entry?.[0]?.resource?.id;
    if (found) return found;
    const created = await this.request<{ id: string }>('POST', '/fhir/Patient', resource, {
      contentType: FHIR_JSON,
    });
    return created.id;
  }

  async create(resource: FhirResource): Promise<string> {
    const created = await this.request<{ id: string }>('POST', `/fhir/${resource.resourceType}`, resource, {
      contentType: FHIR_JSON,
    });
    return created.id;
  }

  async search(resourceType: string, query: string): Promise<FhirResource[]> {
    const b = await this.request<{ entry?: { resource: FhirResource }[] }>(
      'GET',
      `/fhir/${resourceType}?${query}`,
    );
    return (b?.entry ?? []).map((e) => e.resource);
  }

  /** Registers the device, or rotates its secret if it exists already (a rerun with the same seed). */
  async ensureDevice(d: {
    id: string;
    kind: string;
    manufacturer: string;
    model: string;
    serial: string;
  }): Promise<string> {
    try {
      const r = await this.request<{ secret: string }>('POST', '/api/v1/devices', d);
      return r.secret;
    } catch (e) {
      if (!(e instanceof VigilError) || (e.status !== 409 && !/EXISTS|CONFLICT|DUPLICATE/.test(e.code)))
        throw e;
      const r = await this.request<{ secret: string }>(
        'POST',
        `/api/v1/devices/${encodeURIComponent(d.id)}/rotate`,
      );
      return r.secret;
    }
  }

  async assign(deviceId: string, patientId: string, start: string): Promise<void> {
    const current = await this.request<{ assignments: { patientId: string; periodEnd: string | null }[] }>(
      'GET',
      `/api/v1/devices/${encodeURIComponent(deviceId)}/assignments`,
    );
    if (current.assignments.some((a) => a.patientId === patientId && a.periodEnd === null)) return;
    if (current.assignments.some((a) => a.periodEnd === null)) {
      await this.request('POST', `/api/v1/devices/${encodeURIComponent(deviceId)}/unassign`, {});
    }
    await this.request('POST', `/api/v1/devices/${encodeURIComponent(deviceId)}/assignments`, {
      patientId,
      start,
    });
  }

  /** HTTP ingest with the device's own secret; returns the per-reading summary. */
  async postReadings(
    secret: string,
    body: string,
  ): Promise<{ accepted: number; duplicate: number; rejected: number }> {
    return this.request('POST', '/ingest/v1/readings', body, {
      auth: secret,
      contentType: 'application/json',
    });
  }

  async postGatt(
    secret: string,
    characteristic: string,
    bytes: Uint8Array,
  ): Promise<{ accepted: number; duplicate: number; rejected: number }> {
    return this.request('POST', `/ingest/v1/gatt/${characteristic}`, undefined, { auth: secret, raw: bytes });
  }
}

export interface FhirResource {
  resourceType: string;
  id?: string;
  [key: string]: unknown;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
