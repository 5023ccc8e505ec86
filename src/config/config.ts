import { isIP } from 'node:net';
import { isAbsolute, resolve } from 'node:path';
import { VigilError } from '../core/errors.ts';
import { DEFAULT_FHIR_NAMESPACE } from '../core/fhir-namespace.ts';

/**
 * One typed configuration, validated at boot from VIGIL_* variables (defaults < VIGIL_* variables).
 * The first bad value ends the start with a one-line message naming the variable.
 * Every variable is listed, with its default, in `.env.example` (a test keeps the two in step).
 */
export interface OidcConfig {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** IdP group → Vigil roles (VIGIL_OIDC_GROUP_ROLES=icu-nurses=nurse,cardiology=clinician,it=admin). */
  groupRoles: Record<string, string[]>;
  groupsClaim: string;
  /** Claim naming the person's FHIR Practitioner id (care-team membership), if the IdP sends one. */
  practitionerClaim: string | undefined;
}

export interface Config {
  httpHost: string;
  httpPort: number;
  /** Embedded MQTT broker port (0 = any free port); null = no embedded broker ('off'). */
  mqttPort: number | null;
  mqttHost: string;
  dataDir: string;
  /** PostgreSQL server; when unset the embedded PGlite in dataDir is used. */
  databaseUrl: string | undefined;
  /** External MQTT broker; when set Vigil subscribes to it instead of embedding one. */
  mqttUrl: string | undefined;
  /** Client id of Vigil's persistent session on the external broker (one per deployment). */
  mqttClientId: string;
  /**
   * This worker's own part of its client id on the external broker (stable across restarts, unique
   * among the deployment's ingest workers); undefined = the host name (role ingest) or none (role all).
   */
  mqttWorkerId: string | undefined;
  /**
   * How Vigil subscribes on the external broker: `shared` ($share/<client id>/…, workers split the
   * stream) or `plain` (one subscriber; Mosquitto restores it from persistence after a restart).
   */
  mqttSubscription: 'shared' | 'plain';
  /** QoS 1 messages the external broker may have in flight to this worker (MQTT 5 Receive Maximum). */
  mqttReceiveMaximum: number;
  /** Admin client of the broker's dynamic-security plugin: when set, Vigil provisions device credentials there. */
  mqttDynsecUsername: string | undefined;
  mqttDynsecPassword: string | undefined;
  natsUrl: string | undefined;
  /**
   * Deployment prefix of every NATS name (subjects `<prefix>.readings.<p>`, stream
   * `<PREFIX>_READINGS`, consumers): deployments sharing one NATS server never meet.
   */
  natsPrefix: string;
  /** Detect workers: a partition lease not renewed for this long moves to another worker, ms. */
  detectLeaseMs: number;
  adminPassword: string | undefined;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Largest accepted payload (MQTT message or HTTP body), bytes. */
  maxPayloadBytes: number;
  /** Ingest batch commit: at most this many readings per transaction … */
  ingestBatchSize: number;
  /** … or this many milliseconds of waiting for more, whichever comes first. */
  ingestBatchWaitMs: number;
  /** Glucose unit for stored readings unless a patient's program says otherwise. */
  glucoseUnit: 'mg/dL' | 'mmol/L';
  /** Public base URL (used in FHIR links); default derived from the HTTP host and port. */
  publicUrl: string | undefined;
  /**
   * The base of Vigil's own FHIR code systems, identifier systems and extensions as this deployment
   * shows them (core/fhir-namespace.ts; stored data always uses the default). No trailing slash.
   */
  fhirNamespace: string;
  /**
   * PostgreSQL server: longest wait for one query or transaction (a pooled connection, connecting,
   * the answer), ms; past it the caller gets VIGIL_ERR_STORE_UNAVAILABLE (503, Retry-After).
   */
  databaseTimeoutMs: number;
  /** Longest `/ready` waits for the store and broker checks before answering 503, ms. */
  readyTimeoutMs: number;
  /** How long SIGTERM may take before the process gives up waiting, ms. */
  shutdownTimeoutMs: number;
  /** Worker role when scaled out: all (default), ingest, detect, api. */
  role: 'all' | 'ingest' | 'detect' | 'api';
  /** TLS for HTTP and MQTT (mqtts) when both are set: PEM file paths. */
  tlsCertFile: string | undefined;
  tlsKeyFile: string | undefined;
  /** Browser origins allowed to call the API cross-origin (CORS); none by default. */
  corsOrigins: string[];
  /** Break-glass access (docs/break-glass.md): a grant's default and longest duration, minutes. */
  breakGlass: { defaultMinutes: number; maxMinutes: number };
  /** HL7 v2 (IHE PCD-01) MLLP listener port (0 = any free port); null = no listener (default). */
  mllpPort: number | null;
  mllpHost: string;
  /** Source addresses / CIDR ranges allowed to connect over MLLP; empty = any. */
  mllpAllow: string[];
  /** MLLP acknowledgement codes: original AA/AE/AR (default) or enhanced CA/CE/CR. */
  mllpAckMode: 'original' | 'enhanced';
  /** MSH-3 sending applications whose HL7 v2 ADT messages are applied; empty = ADT refused (default). */
  adtSenders: string[];
  /**
   * Demos and tests: every alert notification is also appended as a JSON line to this file (the
   * recording notifier, an outbox channel like a pager gateway). Unset: off.
   */
  notifyFile: string | undefined;
  /** E-mail notifications over SMTP (smtp://user:pass@host:587 or smtps://…:465); unset: off. */
  smtpUrl: string | undefined;
  /** Sender address of notification e-mail; required with the SMTP URL. */
  smtpFrom: string | undefined;
  /** SMS gateway (`twilio`: Twilio-compatible Messages API base URL; `json`: a neutral JSON gateway); unset: off. */
  sms:
    | { kind: 'twilio' | 'json'; url: string; account: string | undefined; token: string; from: string }
    | undefined;
  /**
   * Web Push contact (VAPID `sub`): a mailto: or https: URL push services can reach the operator at.
   * Default: mailto: the SMTP sender, else VIGIL_PUBLIC_URL when it is https; none = Web Push off.
   */
  pushSubject: string | undefined;
  /** Staff sign-in through the hospital's OpenID Connect provider (docs/oidc.md); undefined = off. */
  oidc: OidcConfig | undefined;
  /** SCIM 2.0 provisioning (docs/scim.md): IdP group display name → Vigil roles (VIGIL_SCIM_GROUP_ROLES). */
  scimGroupRoles: Record<string, string[]>;
  /** Outbound dead-man's switch (signed status pings); undefined = off. */
  watchdog: { url: string; secret: string; intervalMs: number } | undefined;
  /** The key that seals secrets at rest (base64 of 32 bytes); never logged. */
  secretsKey: string | undefined;
  /** A file holding that key; default `<dataDir>-keys/secrets.key`, created at first start. */
  secretsKeyFile: string | undefined;
  /** `vigil edge`: the centre this hub forwards to (docs/edge.md); undefined = not configured. */
  edge: EdgeConfig | undefined;
  /** RTLS zone smoothing (docs/equipment.md#smoothing); durations in ms. */
  rtls: { minSightings: number; dwellMs: number; marginDb: number; windowMs: number };
}

export interface EdgeConfig {
  /** The centre's base URL (https; http only on loopback). */
  centreUrl: string;
  /** This hub's device id at the centre (a device of kind `gateway`). */
  gatewayId: string;
  /** Its secret, issued by the centre when the gateway was registered; never logged. */
  gatewaySecret: string;
  /** Bound of the store-and-forward queue (rows); past it continuous readings are summarised. */
  queueMaxRows: number;
  /** Records per forward request. */
  batchSize: number;
  /** Longest wait between retries while the uplink is down, ms. */
  retryMaxMs: number;
  /** Health report (queue depth, uplink, clock) at least this often, ms. */
  healthIntervalMs: number;
  /** A reading of a device and code within this many seconds of the previous one is continuous data. */
  continuousSeconds: number;
  /**
   * Less traffic: continuous readings are held this long on the hub, then sent as per-minute
   * summaries, except those within `alertWindowMs` of an alert of their patient (sent in full).
   * 0 = off: everything is sent at full resolution.
   */
  summaryAfterMs: number;
  /** Full resolution kept around every alert (before its start, after its end), ms. */
  alertWindowMs: number;
  /** Provisioning (devices, assignments, patients, monitoring) pulled from the centre this often, ms. */
  syncIntervalMs: number;
}

type Env = Record<string, string | undefined>;

export const configVariables = [
  'VIGIL_HTTP_HOST',
  'VIGIL_HTTP_PORT',
  'VIGIL_MQTT_HOST',
  'VIGIL_MQTT_PORT',
  'VIGIL_DATA_DIR',
  'VIGIL_DATABASE_URL',
  'VIGIL_MQTT_URL',
  'VIGIL_MQTT_CLIENT_ID',
  'VIGIL_MQTT_WORKER_ID',
  'VIGIL_MQTT_RECEIVE_MAXIMUM',
  'VIGIL_MQTT_SUBSCRIPTION',
  'VIGIL_MQTT_DYNSEC_USERNAME',
  'VIGIL_MQTT_DYNSEC_PASSWORD',
  'VIGIL_NATS_URL',
  'VIGIL_NATS_PREFIX',
  'VIGIL_DETECT_LEASE_MS',
  'VIGIL_ADMIN_PASSWORD',
  'VIGIL_LOG_LEVEL',
  'VIGIL_MAX_PAYLOAD_BYTES',
  'VIGIL_INGEST_BATCH_SIZE',
  'VIGIL_INGEST_BATCH_WAIT_MS',
  'VIGIL_GLUCOSE_UNIT',
  'VIGIL_PUBLIC_URL',
  'VIGIL_FHIR_NAMESPACE',
  'VIGIL_SHUTDOWN_TIMEOUT_MS',
  'VIGIL_DATABASE_TIMEOUT_MS',
  'VIGIL_READY_TIMEOUT_MS',
  'VIGIL_ROLE',
  'VIGIL_TLS_CERT_FILE',
  'VIGIL_TLS_KEY_FILE',
  'VIGIL_CORS_ORIGINS',
  'VIGIL_BREAK_GLASS_MINUTES',
  'VIGIL_BREAK_GLASS_MAX_MINUTES',
  'VIGIL_SCIM_GROUP_ROLES',
  'VIGIL_MLLP_PORT',
  'VIGIL_MLLP_HOST',
  'VIGIL_MLLP_ALLOW',
  'VIGIL_MLLP_ACK_MODE',
  'VIGIL_ADT_SENDERS',
  'VIGIL_NOTIFY_FILE',
  'VIGIL_SMTP_URL',
  'VIGIL_SMTP_FROM',
  'VIGIL_SMS_GATEWAY',
  'VIGIL_SMS_URL',
  'VIGIL_SMS_ACCOUNT',
  'VIGIL_SMS_TOKEN',
  'VIGIL_SMS_FROM',
  'VIGIL_PUSH_SUBJECT',
  'VIGIL_SECRETS_KEY',
  'VIGIL_SECRETS_KEY_FILE',
  'VIGIL_WATCHDOG_URL',
  'VIGIL_WATCHDOG_SECRET',
  'VIGIL_WATCHDOG_INTERVAL_SECONDS',
  'VIGIL_OIDC_ISSUER',
  'VIGIL_OIDC_CLIENT_ID',
  'VIGIL_OIDC_CLIENT_SECRET',
  'VIGIL_OIDC_GROUP_ROLES',
  'VIGIL_OIDC_GROUPS_CLAIM',
  'VIGIL_OIDC_PRACTITIONER_CLAIM',
  'VIGIL_EDGE_CENTRE_URL',
  'VIGIL_EDGE_GATEWAY_ID',
  'VIGIL_EDGE_GATEWAY_SECRET',
  'VIGIL_EDGE_QUEUE_MAX_ROWS',
  'VIGIL_EDGE_BATCH_SIZE',
  'VIGIL_EDGE_RETRY_MAX_SECONDS',
  'VIGIL_EDGE_HEALTH_INTERVAL_SECONDS',
  'VIGIL_EDGE_CONTINUOUS_SECONDS',
  'VIGIL_EDGE_SUMMARY_AFTER_MINUTES',
  'VIGIL_EDGE_ALERT_WINDOW_MINUTES',
  'VIGIL_EDGE_SYNC_SECONDS',
  'VIGIL_RTLS_MIN_SIGHTINGS',
  'VIGIL_RTLS_DWELL_SECONDS',
  'VIGIL_RTLS_MARGIN_DB',
  'VIGIL_RTLS_WINDOW_SECONDS',
] as const;

/** Settings of the `vigil` CLI as a client of a running server (not server configuration). */
export const clientVariables = ['VIGIL_URL', 'VIGIL_TOKEN', 'VIGIL_CLI_HOME'] as const;

function bad(name: string, value: string, expected: string): never {
  throw new VigilError(
    'VIGIL_ERR_CONFIG_INVALID',
    `${name}=${JSON.stringify(value)} is invalid: expected ${expected}`,
    1,
    {
      variable: name,
    },
  );
}

function int(env: Env, name: string, def: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  if (!/^\d+$/.test(raw.trim())) bad(name, raw, `an integer from ${min} to ${max}`);
  const n = Number(raw);
  if (n < min || n > max) bad(name, raw, `an integer from ${min} to ${max}`);
  return n;
}

function oneOf<T extends string>(env: Env, name: string, def: T, allowed: readonly T[]): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  if (!(allowed as readonly string[]).includes(raw)) bad(name, raw, `one of ${allowed.join(', ')}`);
  return raw as T;
}

function url(env: Env, name: string, protocols: string[]): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return bad(name, '<redacted>', `a URL (${protocols.join(', ')})`);
  }
  if (!protocols.includes(u.protocol)) bad(name, u.protocol, `a URL with scheme ${protocols.join(', ')}`);
  return raw;
}

function sms(env: Env): Config['sms'] {
  const smsUrl = url(env, 'VIGIL_SMS_URL', ['https:', 'http:']);
  if (!smsUrl) return undefined;
  const kind = oneOf(env, 'VIGIL_SMS_GATEWAY', 'twilio', ['twilio', 'json']);
  const token = env['VIGIL_SMS_TOKEN'] || '';
  const from = env['VIGIL_SMS_FROM'] || '';
  const account = env['VIGIL_SMS_ACCOUNT'] || undefined;
  if (!token) bad('VIGIL_SMS_TOKEN', '', 'the gateway token (set with VIGIL_SMS_URL)');
  if (!from) bad('VIGIL_SMS_FROM', '', 'the sender number or id (set with VIGIL_SMS_URL)');
  if (kind === 'twilio' && !account)
    bad('VIGIL_SMS_ACCOUNT', '', 'the account id of the Twilio-compatible API');
  return { kind, url: smsUrl, account, token, from };
}

function smtp(env: Env) {
  const smtpUrl = url(env, 'VIGIL_SMTP_URL', ['smtp:', 'smtps:']);
  const smtpFrom = env['VIGIL_SMTP_FROM'] || undefined;
  if (smtpUrl && !(smtpFrom && /^[^\s@<>]+@[^\s@<>]+$/.test(smtpFrom)))
    bad('VIGIL_SMTP_FROM', smtpFrom ?? '', 'the sender e-mail address (set with VIGIL_SMTP_URL)');
  return { smtpUrl, smtpFrom };
}

function pushSubject(
  env: Env,
  smtpFrom: string | undefined,
  publicUrl: string | undefined,
): string | undefined {
  const raw = env['VIGIL_PUSH_SUBJECT'];
  if (raw) {
    if (!/^mailto:[^\s@<>]+@[^\s@<>]+$/.test(raw) && url(env, 'VIGIL_PUSH_SUBJECT', ['https:']) === undefined)
      bad('VIGIL_PUSH_SUBJECT', raw, 'a mailto: address or an https: URL');
    return raw;
  }
  if (smtpFrom) return `mailto:${smtpFrom}`;
  return publicUrl?.startsWith('https://') ? publicUrl : undefined;
}

function clientId(env: Env): string {
  const raw = env['VIGIL_MQTT_CLIENT_ID'];
  if (raw === undefined || raw === '') return 'vigil-ingest';
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(raw)) bad('VIGIL_MQTT_CLIENT_ID', raw, '1–64 letters, digits, . _ -');
  return raw;
}

function workerId(env: Env): string | undefined {
  const raw = env['VIGIL_MQTT_WORKER_ID'];
  if (raw === undefined || raw === '') return undefined;
  if (!/^[A-Za-z0-9._-]{1,40}$/.test(raw)) bad('VIGIL_MQTT_WORKER_ID', raw, '1–40 letters, digits, . _ -');
  return raw;
}

function dynsec(env: Env): {
  mqttDynsecUsername: string | undefined;
  mqttDynsecPassword: string | undefined;
} {
  const user = env['VIGIL_MQTT_DYNSEC_USERNAME'] || undefined;
  const password = env['VIGIL_MQTT_DYNSEC_PASSWORD'] || undefined;
  if (user && !password) bad('VIGIL_MQTT_DYNSEC_PASSWORD', '', 'the password of VIGIL_MQTT_DYNSEC_USERNAME');
  if (password && !user)
    bad('VIGIL_MQTT_DYNSEC_USERNAME', '', 'the admin client of the dynamic-security plugin');
  if (password && password.length < 12)
    bad('VIGIL_MQTT_DYNSEC_PASSWORD', '<redacted>', 'at least 12 characters');
  if (user && !env['VIGIL_MQTT_URL'])
    bad('VIGIL_MQTT_DYNSEC_USERNAME', user, 'set together with VIGIL_MQTT_URL');
  return { mqttDynsecUsername: user, mqttDynsecPassword: password };
}

/** Comma-separated IPv4/IPv6 addresses or CIDR ranges. */
/** A NATS subject token that also makes a stream name: lower-case letters, digits, `-`, `_`. */
function natsPrefix(env: Env): string {
  const v = env['VIGIL_NATS_PREFIX'] || 'vigil';
  if (!/^[a-z0-9][a-z0-9_-]{0,31}$/.test(v))
    bad('VIGIL_NATS_PREFIX', v, 'lower-case letters, digits, - or _ (at most 32), e.g. vigil or ward-a');
  return v;
}

function mllpAllow(env: Env): string[] {
  const entries = (str(env, 'VIGIL_MLLP_ALLOW') ?? '')
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
  for (const e of entries) {
    const [addr = '', prefix] = e.split('/');
    const family = isIP(addr);
    const max = family === 6 ? 128 : 32;
    if (!family || (prefix !== undefined && (!/^\d+$/.test(prefix) || Number(prefix) > max))) {
      bad('VIGIL_MLLP_ALLOW', e, 'comma-separated IP addresses or CIDR ranges such as 10.1.0.0/16');
    }
  }
  return entries;
}

function str(env: Env, name: string): string | undefined {
  const raw = env[name];
  return raw === undefined || raw === '' ? undefined : raw;
}

export function loadConfig(env: Env = process.env, cwd = process.cwd()): Config {
  for (const key of Object.keys(env)) {
    const known =
      (configVariables as readonly string[]).includes(key) ||
      (clientVariables as readonly string[]).includes(key);
    if (key.startsWith('VIGIL_') && !known && !key.startsWith('VIGIL_TEST_')) {
      throw new VigilError(
        'VIGIL_ERR_CONFIG_UNKNOWN',
        `${key} is not a Vigil setting (see .env.example)`,
        1,
        {
          variable: key,
        },
      );
    }
  }
  const adminPassword = str(env, 'VIGIL_ADMIN_PASSWORD');
  if (adminPassword !== undefined && adminPassword.length < 12) {
    bad('VIGIL_ADMIN_PASSWORD', '<redacted>', 'at least 12 characters');
  }
  const dataDir = env['VIGIL_DATA_DIR'] || './data';
  const tlsCertFile = str(env, 'VIGIL_TLS_CERT_FILE');
  const tlsKeyFile = str(env, 'VIGIL_TLS_KEY_FILE');
  if ((tlsCertFile === undefined) !== (tlsKeyFile === undefined)) {
    bad('VIGIL_TLS_CERT_FILE', tlsCertFile ?? '', 'to be set together with VIGIL_TLS_KEY_FILE');
  }
  const corsOrigins = (str(env, 'VIGIL_CORS_ORIGINS') ?? '')
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean);
  for (const o of corsOrigins) {
    let ok = false;
    try {
      const u = new URL(o);
      ok = (u.protocol === 'https:' || u.protocol === 'http:') && u.origin === o;
    } catch {}
    if (!ok)
      bad(
        'VIGIL_CORS_ORIGINS',
        o,
        'comma-separated origins such as https://dashboard.example.org (scheme, host, port; no path; no *)',
      );
  }
  return {
    httpHost: env['VIGIL_HTTP_HOST'] || '0.0.0.0',
    httpPort: int(env, 'VIGIL_HTTP_PORT', 8080, 0, 65535),
    mqttHost: env['VIGIL_MQTT_HOST'] || '0.0.0.0',
    mqttPort: env['VIGIL_MQTT_PORT'] === 'off' ? null : int(env, 'VIGIL_MQTT_PORT', 1883, 0, 65535),
    dataDir: isAbsolute(dataDir) ? dataDir : resolve(cwd, dataDir),
    databaseUrl: url(env, 'VIGIL_DATABASE_URL', ['postgres:', 'postgresql:']),
    mqttUrl: url(env, 'VIGIL_MQTT_URL', ['mqtt:', 'mqtts:', 'tcp:', 'ssl:', 'ws:', 'wss:']),
    mqttClientId: clientId(env),
    mqttWorkerId: workerId(env),
    mqttReceiveMaximum: int(env, 'VIGIL_MQTT_RECEIVE_MAXIMUM', 1000, 1, 65535),
    mqttSubscription: oneOf(
      env,
      'VIGIL_MQTT_SUBSCRIPTION',
      env['VIGIL_ROLE'] === 'ingest' ? 'shared' : 'plain',
      ['shared', 'plain'],
    ),
    ...dynsec(env),
    natsUrl: url(env, 'VIGIL_NATS_URL', ['nats:', 'tls:']),
    natsPrefix: natsPrefix(env),
    detectLeaseMs: int(env, 'VIGIL_DETECT_LEASE_MS', 10_000, 1000, 300_000),
    adminPassword,
    logLevel: oneOf(env, 'VIGIL_LOG_LEVEL', 'info', [
      'fatal',
      'error',
      'warn',
      'info',
      'debug',
      'trace',
      'silent',
    ]),
    maxPayloadBytes: int(env, 'VIGIL_MAX_PAYLOAD_BYTES', 256 * 1024, 1024, 64 * 1024 * 1024),
    ingestBatchSize: int(env, 'VIGIL_INGEST_BATCH_SIZE', 2000, 1, 100_000),
    ingestBatchWaitMs: int(env, 'VIGIL_INGEST_BATCH_WAIT_MS', 2, 0, 1000),
    glucoseUnit: oneOf(env, 'VIGIL_GLUCOSE_UNIT', 'mg/dL', ['mg/dL', 'mmol/L']),
    publicUrl: url(env, 'VIGIL_PUBLIC_URL', ['http:', 'https:']),
    fhirNamespace: (url(env, 'VIGIL_FHIR_NAMESPACE', ['http:', 'https:']) ?? DEFAULT_FHIR_NAMESPACE).replace(
      /\/+$/,
      '',
    ),
    shutdownTimeoutMs: int(env, 'VIGIL_SHUTDOWN_TIMEOUT_MS', 8000, 100, 60_000),
    databaseTimeoutMs: int(env, 'VIGIL_DATABASE_TIMEOUT_MS', 15_000, 50, 600_000),
    readyTimeoutMs: int(env, 'VIGIL_READY_TIMEOUT_MS', 2000, 50, 60_000),
    role: oneOf(env, 'VIGIL_ROLE', 'all', ['all', 'ingest', 'detect', 'api']),
    tlsCertFile,
    tlsKeyFile,
    corsOrigins,
    breakGlass: breakGlassConfig(env),
    mllpPort:
      (env['VIGIL_MLLP_PORT'] ?? 'off') === 'off' ? null : int(env, 'VIGIL_MLLP_PORT', 2575, 0, 65535),
    mllpHost: env['VIGIL_MLLP_HOST'] || '0.0.0.0',
    mllpAllow: mllpAllow(env),
    mllpAckMode: oneOf(env, 'VIGIL_MLLP_ACK_MODE', 'original', ['original', 'enhanced']),
    adtSenders: (str(env, 'VIGIL_ADT_SENDERS') ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    notifyFile: env['VIGIL_NOTIFY_FILE'] ? resolve(cwd, env['VIGIL_NOTIFY_FILE']) : undefined,
    ...smtp(env),
    pushSubject: pushSubject(env, smtp(env).smtpFrom, url(env, 'VIGIL_PUBLIC_URL', ['http:', 'https:'])),
    sms: sms(env),
    oidc: oidcConfig(env),
    scimGroupRoles: groupRolePairs(env, 'VIGIL_SCIM_GROUP_ROLES'),
    watchdog: watchdogConfig(env),
    secretsKey: str(env, 'VIGIL_SECRETS_KEY'),
    secretsKeyFile: env['VIGIL_SECRETS_KEY_FILE'] ? resolve(cwd, env['VIGIL_SECRETS_KEY_FILE']) : undefined,
    edge: edgeConfig(env),
    rtls: rtlsConfig(env),
  };
}

function rtlsConfig(env: Env): Config['rtls'] {
  const minSightings = int(env, 'VIGIL_RTLS_MIN_SIGHTINGS', 3, 0, 100);
  const dwellSeconds = int(env, 'VIGIL_RTLS_DWELL_SECONDS', 30, 0, 3600);
  if (minSightings === 0 && dwellSeconds === 0)
    bad(
      'VIGIL_RTLS_MIN_SIGHTINGS',
      '0',
      'at least 1 while VIGIL_RTLS_DWELL_SECONDS is 0 (else nothing ever moves)',
    );
  return {
    minSightings,
    dwellMs: dwellSeconds * 1000,
    marginDb: int(env, 'VIGIL_RTLS_MARGIN_DB', 5, 0, 50),
    windowMs: 1000 * int(env, 'VIGIL_RTLS_WINDOW_SECONDS', 10, 1, 600),
  };
}

const loopbackHosts = ['localhost', '127.0.0.1', '[::1]', '::1'];

function edgeConfig(env: Env): EdgeConfig | undefined {
  const centreUrl = url(env, 'VIGIL_EDGE_CENTRE_URL', ['https:', 'http:']);
  const gatewayId = str(env, 'VIGIL_EDGE_GATEWAY_ID');
  const gatewaySecret = str(env, 'VIGIL_EDGE_GATEWAY_SECRET');
  if (!centreUrl) {
    if (gatewayId) bad('VIGIL_EDGE_CENTRE_URL', '', 'the centre URL (set with VIGIL_EDGE_GATEWAY_ID)');
    return undefined;
  }
  const u = new URL(centreUrl);
  if (u.protocol === 'http:' && !loopbackHosts.includes(u.hostname))
    bad(
      'VIGIL_EDGE_CENTRE_URL',
      centreUrl,
      'an https URL (http only on loopback): the gateway secret travels on it',
    );
  if (!gatewayId || !/^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/.test(gatewayId))
    bad('VIGIL_EDGE_GATEWAY_ID', gatewayId ?? '', 'the device id of this gateway at the centre');
  if (!gatewaySecret || gatewaySecret.length < 16)
    bad('VIGIL_EDGE_GATEWAY_SECRET', '<redacted>', 'the secret the centre issued for this gateway');
  const summaryAfter = int(env, 'VIGIL_EDGE_SUMMARY_AFTER_MINUTES', 0, 0, 1440);
  const alertWindow = int(env, 'VIGIL_EDGE_ALERT_WINDOW_MINUTES', 5, 0, 720);
  if (summaryAfter > 0 && summaryAfter <= alertWindow)
    bad(
      'VIGIL_EDGE_SUMMARY_AFTER_MINUTES',
      String(summaryAfter),
      `more than VIGIL_EDGE_ALERT_WINDOW_MINUTES (${alertWindow}): readings just before an alert must still be on hold when it fires`,
    );
  return {
    centreUrl: centreUrl.replace(/\/+$/, ''),
    gatewayId,
    gatewaySecret,
    queueMaxRows: int(env, 'VIGIL_EDGE_QUEUE_MAX_ROWS', 2_000_000, 100, 100_000_000),
    batchSize: int(env, 'VIGIL_EDGE_BATCH_SIZE', 500, 1, 5000),
    retryMaxMs: 1000 * int(env, 'VIGIL_EDGE_RETRY_MAX_SECONDS', 60, 1, 3600),
    healthIntervalMs: 1000 * int(env, 'VIGIL_EDGE_HEALTH_INTERVAL_SECONDS', 30, 1, 3600),
    continuousSeconds: int(env, 'VIGIL_EDGE_CONTINUOUS_SECONDS', 60, 1, 3600),
    summaryAfterMs: summaryAfter * 60_000,
    alertWindowMs: alertWindow * 60_000,
    syncIntervalMs: 1000 * int(env, 'VIGIL_EDGE_SYNC_SECONDS', 300, 1, 86_400),
  };
}

function watchdogConfig(env: Record<string, string | undefined>): Config['watchdog'] {
  const u = url(env, 'VIGIL_WATCHDOG_URL', ['https:', 'http:']);
  if (!u) return undefined;
  const secret = str(env, 'VIGIL_WATCHDOG_SECRET');
  if (!secret || secret.length < 16)
    return bad(
      'VIGIL_WATCHDOG_SECRET',
      '<redacted>',
      'a shared secret of at least 16 characters (with VIGIL_WATCHDOG_URL)',
    );
  return { url: u, secret, intervalMs: 1000 * int(env, 'VIGIL_WATCHDOG_INTERVAL_SECONDS', 60, 5, 3600) };
}

function breakGlassConfig(env: Env): Config['breakGlass'] {
  const maxMinutes = int(env, 'VIGIL_BREAK_GLASS_MAX_MINUTES', 240, 5, 720);
  const defaultMinutes = int(env, 'VIGIL_BREAK_GLASS_MINUTES', 60, 1, 720);
  if (defaultMinutes > maxMinutes)
    bad(
      'VIGIL_BREAK_GLASS_MINUTES',
      String(defaultMinutes),
      `at most VIGIL_BREAK_GLASS_MAX_MINUTES (${maxMinutes})`,
    );
  return { defaultMinutes, maxMinutes };
}

const staffRoles = new Set(['admin', 'clinician', 'nurse', 'privacy']);

/** `group=role` pairs (roles of staff only), as the IdP's groups map to Vigil roles. */
function groupRolePairs(env: Env, name: string): Record<string, string[]> {
  const groupRoles: Record<string, string[]> = {};
  for (const pair of (str(env, name) ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const i = pair.lastIndexOf('=');
    const group = pair.slice(0, i).trim();
    const role = pair.slice(i + 1).trim();
    if (i <= 0 || !staffRoles.has(role))
      bad(name, pair, 'group=role pairs, role one of admin, clinician, nurse, privacy');
    groupRoles[group] = [...new Set([...(groupRoles[group] ?? []), role])];
  }
  return groupRoles;
}

function oidcConfig(env: Record<string, string | undefined>): OidcConfig | undefined {
  const issuer = str(env, 'VIGIL_OIDC_ISSUER');
  if (!issuer) return undefined;
  const u = url(env, 'VIGIL_OIDC_ISSUER', ['https:', 'http:']) as string;
  const host = new URL(u).hostname;
  if (new URL(u).protocol === 'http:' && !['localhost', '127.0.0.1', '[::1]', '::1'].includes(host))
    bad('VIGIL_OIDC_ISSUER', issuer, 'an https URL (http only on loopback)');
  const clientId = str(env, 'VIGIL_OIDC_CLIENT_ID');
  const clientSecret = str(env, 'VIGIL_OIDC_CLIENT_SECRET');
  if (!clientId) bad('VIGIL_OIDC_CLIENT_ID', '', 'the client id registered at the identity provider');
  if (!clientSecret)
    bad('VIGIL_OIDC_CLIENT_SECRET', '', 'the client secret registered at the identity provider');
  const groupRoles = groupRolePairs(env, 'VIGIL_OIDC_GROUP_ROLES');
  if (Object.keys(groupRoles).length === 0)
    bad('VIGIL_OIDC_GROUP_ROLES', '', 'at least one group=role pair (no group, no access)');
  return {
    issuer: u.replace(/\/$/, ''),
    clientId,
    clientSecret,
    groupRoles,
    groupsClaim: str(env, 'VIGIL_OIDC_GROUPS_CLAIM') ?? 'groups',
    practitionerClaim: str(env, 'VIGIL_OIDC_PRACTITIONER_CLAIM'),
  };
}
