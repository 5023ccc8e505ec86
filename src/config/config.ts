import { isIP } from 'node:net';
import { isAbsolute, resolve } from 'node:path';
import { VigilError } from '../core/errors.ts';

/**
 * One typed configuration, validated at boot from VIGIL_* variables (defaults < VIGIL_* variables).
 * The first bad value ends the start with a one-line message naming the variable.
 * Every variable is listed, with its default, in `.env.example` (a test keeps the two in step).
 */
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
  natsUrl: string | undefined;
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
  /** How long SIGTERM may take before the process gives up waiting, ms. */
  shutdownTimeoutMs: number;
  /** Worker role when scaled out: all (default), ingest, detect, api. */
  role: 'all' | 'ingest' | 'detect' | 'api';
  /** TLS for HTTP and MQTT (mqtts) when both are set: PEM file paths. */
  tlsCertFile: string | undefined;
  tlsKeyFile: string | undefined;
  /** Browser origins allowed to call the API cross-origin (CORS); none by default. */
  corsOrigins: string[];
  /** HL7 v2 (IHE PCD-01) MLLP listener port (0 = any free port); null = no listener (default). */
  mllpPort: number | null;
  mllpHost: string;
  /** Source addresses / CIDR ranges allowed to connect over MLLP; empty = any. */
  mllpAllow: string[];
  /** MLLP acknowledgement codes: original AA/AE/AR (default) or enhanced CA/CE/CR. */
  mllpAckMode: 'original' | 'enhanced';
  /**
   * Demos and tests: every alert notification is also appended as a JSON line to this file (the
   * recording notifier, an outbox channel like a pager gateway). Unset: off.
   */
  notifyFile: string | undefined;
  /**
   * Dead-man's switch: every `heartbeatIntervalSeconds` each worker POSTs a signed heartbeat to this
   * URL; an external watchdog alarms when they stop (docs/operations.md). Unset: off.
   */
  heartbeatUrl: string | undefined;
  /** HMAC key of the heartbeat signature (Vigil-Signature, like webhooks); required with the URL. */
  heartbeatSecret: string | undefined;
  heartbeatIntervalSeconds: number;
  /** E-mail notifications over SMTP (smtp://user:pass@host:587 or smtps://…:465); unset: off. */
  smtpUrl: string | undefined;
  /** Sender address of notification e-mail; required with the SMTP URL. */
  smtpFrom: string | undefined;
  /** SMS gateway (`twilio`: Twilio-compatible Messages API base URL; `json`: a neutral JSON gateway); unset: off. */
  sms:
    | { kind: 'twilio' | 'json'; url: string; account: string | undefined; token: string; from: string }
    | undefined;
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
  'VIGIL_NATS_URL',
  'VIGIL_ADMIN_PASSWORD',
  'VIGIL_LOG_LEVEL',
  'VIGIL_MAX_PAYLOAD_BYTES',
  'VIGIL_INGEST_BATCH_SIZE',
  'VIGIL_INGEST_BATCH_WAIT_MS',
  'VIGIL_GLUCOSE_UNIT',
  'VIGIL_PUBLIC_URL',
  'VIGIL_SHUTDOWN_TIMEOUT_MS',
  'VIGIL_ROLE',
  'VIGIL_TLS_CERT_FILE',
  'VIGIL_TLS_KEY_FILE',
  'VIGIL_CORS_ORIGINS',
  'VIGIL_MLLP_PORT',
  'VIGIL_MLLP_HOST',
  'VIGIL_MLLP_ALLOW',
  'VIGIL_MLLP_ACK_MODE',
  'VIGIL_NOTIFY_FILE',
  'VIGIL_HEARTBEAT_URL',
  'VIGIL_HEARTBEAT_SECRET',
  'VIGIL_HEARTBEAT_INTERVAL_S',
  'VIGIL_SMTP_URL',
  'VIGIL_SMTP_FROM',
  'VIGIL_SMS_GATEWAY',
  'VIGIL_SMS_URL',
  'VIGIL_SMS_ACCOUNT',
  'VIGIL_SMS_TOKEN',
  'VIGIL_SMS_FROM',
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

function heartbeat(env: Env) {
  const heartbeatUrl = url(env, 'VIGIL_HEARTBEAT_URL', ['https:', 'http:']);
  const heartbeatSecret = env['VIGIL_HEARTBEAT_SECRET'] || undefined;
  if (heartbeatUrl && (!heartbeatSecret || heartbeatSecret.length < 16))
    bad(
      'VIGIL_HEARTBEAT_SECRET',
      '<redacted>',
      'a secret of 16 or more characters (set with VIGIL_HEARTBEAT_URL)',
    );
  return {
    heartbeatUrl,
    heartbeatSecret,
    heartbeatIntervalSeconds: int(env, 'VIGIL_HEARTBEAT_INTERVAL_S', 60, 5, 3600),
  };
}

function clientId(env: Env): string {
  const raw = env['VIGIL_MQTT_CLIENT_ID'];
  if (raw === undefined || raw === '') return 'vigil-ingest';
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(raw)) bad('VIGIL_MQTT_CLIENT_ID', raw, '1–64 letters, digits, . _ -');
  return raw;
}

/** Comma-separated IPv4/IPv6 addresses or CIDR ranges. */
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
    natsUrl: url(env, 'VIGIL_NATS_URL', ['nats:', 'tls:']),
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
    shutdownTimeoutMs: int(env, 'VIGIL_SHUTDOWN_TIMEOUT_MS', 8000, 100, 60_000),
    role: oneOf(env, 'VIGIL_ROLE', 'all', ['all', 'ingest', 'detect', 'api']),
    tlsCertFile,
    tlsKeyFile,
    corsOrigins,
    mllpPort:
      (env['VIGIL_MLLP_PORT'] ?? 'off') === 'off' ? null : int(env, 'VIGIL_MLLP_PORT', 2575, 0, 65535),
    mllpHost: env['VIGIL_MLLP_HOST'] || '0.0.0.0',
    mllpAllow: mllpAllow(env),
    mllpAckMode: oneOf(env, 'VIGIL_MLLP_ACK_MODE', 'original', ['original', 'enhanced']),
    notifyFile: env['VIGIL_NOTIFY_FILE'] ? resolve(cwd, env['VIGIL_NOTIFY_FILE']) : undefined,
    ...heartbeat(env),
    ...smtp(env),
    sms: sms(env),
  };
}
