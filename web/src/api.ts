/**
 * The dashboard's only door to Vigil: same-origin fetch with the bearer token in a header (never in
 * a URL), refresh on expiry, and the live alert feed over a WebSocket that authenticates with its
 * subprotocol. The access token lives in memory; the refresh token in sessionStorage (this tab
 * only), so a reload keeps the shift going and closing the tab signs out.
 */

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

export async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const send = () =>
    fetch(path, {
      method,
      headers: {
        ...(accessToken ? { authorization: `Bearer ${accessToken}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        accept: 'application/json',
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      cache: 'no-store',
    });
  let res = await send();
  if (res.status === 401 && (await refresh())) res = await send();
  if (res.status === 401) {
    accessToken = null;
    for (const l of signedOutListeners) l();
  }
  if (!res.ok) throw await errorOf(res);
  return (await res.json()) as T;
}

export const get = <T>(path: string) => request<T>('GET', path);
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

export type Severity = 'info' | 'low' | 'medium' | 'high' | 'critical';
export type AlertState = 'open' | 'acknowledged' | 'snoozed' | 'escalated' | 'resolved';

export interface Alert {
  id: string;
  patientId: string;
  conditionKey: string;
  rule: string;
  severity: Severity;
  state: AlertState;
  summary: string;
  raisedAt: string;
  lastDetectionAt?: string;
  acknowledgedAt?: string | null;
  acknowledgedBy?: string | null;
  snoozedUntil?: string | null;
  resolvedAt?: string | null;
  resolution?: string | null;
  escalationTier?: number;
  deviceId?: string | null;
}

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

export type LiveMessage =
  | { type: 'ready'; scope: string }
  | { type: 'alert'; alert: Alert; event: { type: string; at: string; toState: string } }
  | { type: 'error'; error: { code: string; message: string } };

export interface DeviceState {
  id: string;
  kind: string;
  manufacturer: string | null;
  model: string | null;
  firmware: string | null;
  battery: number | null;
  lastSeen: string | null;
  online: boolean;
  revoked: boolean;
  patientId: string | null;
  patientName?: string | null;
}

export interface LatestVital {
  value: number | null;
  components?: Record<string, number>;
  unit: string;
  at: string;
}

export type VitalKey = 'hr' | 'spo2' | 'rr' | 'temp' | 'bp' | 'weight' | 'glucose' | 'news2';

export interface WorklistPatient {
  patientId: string;
  name: string;
  age: number | null;
  gender: string | null;
  programs: string[];
  careTeams: Array<{ id: string; name: string }>;
  rank: number;
  acuity: number;
  unackedSeverity: Severity | null;
  ackedSeverity: Severity | null;
  openAlerts: number;
  topAlert: { id: string; severity: Severity; state: AlertState; summary: string; raisedAt: string } | null;
  news2: { total: number; band: string; source: 'stored' | 'computed'; at: string | null } | null;
  dataGap: boolean;
  gapMinutes: number;
  lastReadingAt: string | null;
  latest: Partial<Record<VitalKey, LatestVital>>;
  trends: Partial<Record<'hr' | 'spo2' | 'sbp' | 'glucose' | 'rr', Array<[number, number]>>>;
  devices: DeviceState[];
}

export interface Worklist {
  generatedAt: string;
  total: number;
  filters: { programs: string[]; careTeams: string[] };
  patients: WorklistPatient[];
}

export interface Threshold {
  value: number;
  direction: 'above' | 'below';
  severity: string;
  label: string;
  component?: string;
}

export interface PatientSummary {
  patient: { id: string; name: string; birthDate: string | null; gender: string | null };
  programs: string[];
  careTeams: Array<{ id: string; name: string }>;
  settings: { spo2Scale: 1 | 2; onOxygen: boolean };
  devices: DeviceState[];
  thresholds: Partial<Record<VitalKey, Threshold[]>>;
  hasCgm: boolean;
  current: {
    news2: { total: number; band: string; source: 'stored' | 'computed'; at: string | null } | null;
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

export interface AgpSlot {
  minute: number;
  n: number;
  p5: number | null;
  p25: number | null;
  p50: number | null;
  p75: number | null;
  p95: number | null;
}

export interface Agp {
  days: number;
  timeZone: string;
  cadenceMinutes: number;
  profile: AgpSlot[];
  metrics: {
    readings: number;
    mean: number | null;
    sd: number | null;
    cv: number | null;
    gmi: number | null;
    inRange: number | null;
    below70: number | null;
    below54: number | null;
    above180: number | null;
    above250: number | null;
    expected: number;
    sufficiency: number;
    daysWithData: number;
    periodDays: number;
    sufficient: boolean;
  };
}
