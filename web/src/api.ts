/**
 * The dashboard's only door to Vigil: same-origin fetch with the bearer token in a header (never in
 * a URL), refresh on expiry, and the live alert feed over a WebSocket that authenticates with its
 * subprotocol. The access token lives in memory; the refresh token in sessionStorage (this tab
 * only), so a reload keeps the shift going and closing the tab signs out.
 */

import type { Alert, AlertState } from '../../src/alerts/alert.ts';
import type { Severity } from '../../src/core/severity.ts';
import type { AgpSlot, CgmMetrics } from '../../src/program/cgm-metrics.ts';
import type {
  DeviceState as FleetDevice,
  LatestVital,
  Threshold,
  WorklistRow,
} from '../../src/program/dashboard-data.ts';
import type { VitalKey } from '../../src/program/vitals.ts';

const REFRESH_KEY = 'vigil.refresh';

export interface Me {
  id: string;
  username: string | null;
  roles: string[];
  displayName?: string | null;
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

let accessToken: string | null = null;
let refreshing: Promise<boolean> | null = null;
const signedOutListeners = new Set<() => void>();

export function onSignedOut(l: () => void): () => void {
  signedOutListeners.add(l);
  return () => signedOutListeners.delete(l);
}

function storeTokens(t: { access_token: string; refresh_token?: string }): void {
  accessToken = t.access_token;
  if (t.refresh_token) sessionStorage.setItem(REFRESH_KEY, t.refresh_token);
}

async function errorOf(res: Response): Promise<ApiError> {
  let code = `HTTP_${res.status}`;
  let message = res.statusText || 'request failed';
  try {
    const body = (await res.json()) as {
      error?: { code?: string; message?: string } | string;
      error_description?: string;
      issue?: Array<{ diagnostics?: string }>;
    };
    if (typeof body.error === 'object' && body.error) {
      code = body.error.code ?? code;
      message = body.error.message ?? message;
    } else if (typeof body.error === 'string') {
      code = body.error;
      message = body.error_description ?? message;
    } else if (body.issue?.[0]?.diagnostics) message = body.issue[0].diagnostics;
  } catch {
    /* not JSON */
  }
  return new ApiError(res.status, code, message);
}

/** Signs in with the token pair another ceremony produced (a passkey sign-in). */
export async function signInWithTokens(path: string, body: unknown): Promise<void> {
  const res = await fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw await errorOf(res);
  storeTokens((await res.json()) as { access_token: string; refresh_token?: string });
}

export async function signIn(username: string, password: string, totp?: string): Promise<void> {
  const res = await fetch('/auth/token', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password, ...(totp ? { totp } : {}) }),
  });
  if (!res.ok) throw await errorOf(res);
  storeTokens((await res.json()) as { access_token: string; refresh_token?: string });
}

async function refresh(): Promise<boolean> {
  const rt = sessionStorage.getItem(REFRESH_KEY);
  if (!rt) return false;
  refreshing ??= (async () => {
    try {
      const res = await fetch('/auth/token', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ grant_type: 'refresh_token', refresh_token: rt }),
      });
      if (!res.ok) {
        sessionStorage.removeItem(REFRESH_KEY);
        return false;
      }
      storeTokens((await res.json()) as { access_token: string; refresh_token?: string });
      return true;
    } catch {
      return false;
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

/** Resume a session after a reload (refresh token in this tab's sessionStorage). */
export async function resume(): Promise<boolean> {
  return accessToken ? true : refresh();
}

export async function signOut(): Promise<void> {
  const token = accessToken;
  accessToken = null;
  sessionStorage.removeItem(REFRESH_KEY);
  if (token) {
    await fetch('/auth/logout', { method: 'POST', headers: { authorization: `Bearer ${token}` } }).catch(
      () => {},
    );
  }
  for (const l of signedOutListeners) l();
}

async function send(method: string, path: string, body: unknown, accept: string): Promise<Response> {
  const once = () =>
    fetch(path, {
      method,
      headers: {
        ...(accessToken ? { authorization: `Bearer ${accessToken}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        accept,
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      cache: 'no-store',
    });
  let res = await once();
  if (res.status === 401 && (await refresh())) res = await once();
  if (res.status === 401) {
    accessToken = null;
    for (const l of signedOutListeners) l();
  }
  if (!res.ok) throw await errorOf(res);
  return res;
}

export async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await send(method, path, body, 'application/json');
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

/** A GET whose answer is text (an NDJSON export), with the same sign-in handling as `request`. */
export async function getText(path: string, accept = '*/*'): Promise<string> {
  return (await send('GET', path, undefined, accept)).text();
}

export const get = <T>(path: string) => request<T>('GET', path);

/** Fetches a file with the bearer token (never in the URL) and saves it under `filename`. */
export async function download(path: string, filename: string): Promise<void> {
  const send = () =>
    fetch(path, {
      headers: accessToken ? { authorization: `Bearer ${accessToken}` } : {},
      cache: 'no-store',
    });
  let res = await send();
  if (res.status === 401 && (await refresh())) res = await send();
  if (!res.ok) throw await errorOf(res);
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
export const post = <T>(path: string, body: unknown = {}) => request<T>('POST', path, body);

/** Build a query string from defined values (never patient identifiers in the page URL: this is for API calls only). */
export function qs(params: Record<string, string | number | undefined | null>): string {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params))
    if (v !== undefined && v !== null && v !== '') u.set(k, String(v));
  const s = u.toString();
  return s ? `?${s}` : '';
}

export type LiveState = 'connecting' | 'live' | 'offline';

/**
 * The live alert feed. Reconnects with backoff; `onState` tells the UI whether it is live (when
 * not, the views keep polling). The token travels in the Sec-WebSocket-Protocol header.
 */
export function connectLive(
  onMessage: (m: LiveMessage) => void,
  onState: (s: LiveState) => void,
): () => void {
  let ws: WebSocket | null = null;
  let closed = false;
  let delay = 1000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const open = async () => {
    if (closed) return;
    if (!accessToken && !(await refresh())) {
      onState('offline');
      return;
    }
    onState('connecting');
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    ws = new WebSocket(`${proto}//${location.host}/api/v1/live`, ['vigil.v1', `vigil.bearer.${accessToken}`]);
    ws.onmessage = (e) => {
      try {
        const m = JSON.parse(String(e.data)) as LiveMessage;
        if (m.type === 'ready') {
          delay = 1000;
          onState('live');
        }
        onMessage(m);
      } catch {
        /* ignore */
      }
    };
    ws.onclose = (e) => {
      onState('offline');
      if (closed) return;
      if (e.code === 4401) void refresh();
      timer = setTimeout(open, delay);
      delay = Math.min(30_000, delay * 2);
    };
  };
  void open();
  return () => {
    closed = true;
    if (timer) clearTimeout(timer);
    ws?.close();
  };
}

// ── API types ─────────────────────────────────────────────────────────────────────────────

// The shapes the server defines come from its modules (type-only imports: nothing is bundled).
export type { AgpSlot, Alert, AlertState, CgmMetrics, LatestVital, Severity, Threshold, VitalKey };

export interface AlertEvent {
  id: string;
  at: string;
  type: string;
  actor?: { kind: string; id: string; name?: string | null };
  actorName?: string | null;
  fromState: string | null;
  toState: string;
  note: string | null;
}

/** GET /api/v1/status: is monitoring working for the whole deployment. */
export interface MonitoringStatus {
  state: 'ok' | 'delayed' | 'stopped' | 'unknown';
  since: string | null;
  message: string;
  checkedAt: string;
}

export type LiveMessage =
  | { type: 'ready'; scope: string }
  | { type: 'monitoring'; status: MonitoringStatus }
  | { type: 'alert'; alert: Alert; event: { type: string; at: string; toState: string } }
  | { type: 'error'; error: { code: string; message: string } };

/** A device as GET /api/v1/dashboard/devices lists it (with its patient's name when visible). */
export interface DeviceState extends FleetDevice {
  patientName?: string | null;
}

/** An edge hub of GET /api/v1/gateways with the health it last reported (docs/edge.md). */
export interface Gateway {
  id: string;
  lastSeen: string | null;
  clockOffsetSeconds: number | null;
  health: {
    queueDepth: number;
    oldestQueuedAt: string | null;
    uplink: 'up' | 'down' | 'starting';
    clockOffsetSeconds: number | null;
    summarisedReadings: number;
    droppedReadings: number;
    rejectedRecords: number;
    diskFreeBytes?: number | null;
    diskTotalBytes?: number | null;
    provisioningVersion?: string | null;
    provisionedAt?: string | null;
    reportedAt: string;
  } | null;
  /** The devices linked behind it. */
  devices: string[];
}

/** A device of GET /api/v1/device-models/findings: why its model needs a look (docs/device-models.md). */
export interface DeviceFinding {
  deviceId: string;
  modelId: string | null;
  reasons: Array<
    'no-model' | 'no-fda-clearance' | 'no-eu-certificate' | 'end-of-support' | 'open-recall' | 'open-advisory'
  >;
  advisories: Array<{ kind: string; reference: string; title: string; issuedOn: string }>;
  endOfSupport: string | null;
}

export type WorklistPatient = WorklistRow;

export interface Worklist {
  generatedAt: string;
  total: number;
  filters: { programs: string[]; careTeams: string[] };
  patients: WorklistPatient[];
}

export interface PatientSummary {
  patient: {
    id: string;
    name: string;
    identifier: { label: string; value: string };
    birthDate: string | null;
    gender: string | null;
  };
  programs: string[];
  careTeams: Array<{ id: string; name: string }>;
  settings: { spo2Scale: 1 | 2; onOxygen: boolean };
  devices: DeviceState[];
  thresholds: Partial<Record<VitalKey, Threshold[]>>;
  hasCgm: boolean;
  current: {
    news2: WorklistRow['news2'];
    latest: Partial<Record<VitalKey, LatestVital>>;
    lastReadingAt: string | null;
    dataGap: boolean;
  };
}

export interface Series {
  vital: VitalKey;
  label: string;
  unit: string;
  bucketSeconds: number;
  keys: string[];
  columns: Record<string, Array<number | null>>;
  derived?: string;
}

export interface Agp {
  days: number;
  timeZone: string;
  cadenceMinutes: number;
  profile: AgpSlot[];
  metrics: CgmMetrics;
  /** Intervals left out of the profile and figures (suspected compression lows judged artefacts). */
  excluded: Array<{ from: string; to: string; reason: 'compression-low' }>;
}
