import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { isVigilError } from '../core/errors.ts';
import { clientVariables, configVariables, loadConfig } from './config.ts';

const failsWith = (env: Record<string, string>, pattern: RegExp) =>
  assert.throws(
    () => loadConfig(env, '/srv'),
    (e: unknown) =>
      isVigilError(e) &&
      e.code.startsWith('VIGIL_ERR_CONFIG_') &&
      pattern.test(e.message) &&
      !e.message.includes('\n'),
  );

describe('config', () => {
  it('defaults start the embedded platform: PGlite in ./data, MQTT 1883, HTTP 8080', () => {
    const c = loadConfig({}, '/srv');
    assert.equal(c.dataDir, '/srv/data');
    assert.equal(c.mqttPort, 1883);
    assert.equal(c.httpPort, 8080);
    assert.equal(c.databaseUrl, undefined);
    assert.equal(c.mqttUrl, undefined);
    assert.equal(c.adminPassword, undefined);
  });

  it('reads every setting from VIGIL_* variables', () => {
    const c = loadConfig(
      {
        VIGIL_HTTP_PORT: '9000',
        VIGIL_MQTT_PORT: 'off',
        VIGIL_DATA_DIR: '/var/lib/vigil',
        VIGIL_DATABASE_URL: 'postgres://vigil@db:5432/vigil',
        VIGIL_MQTT_URL: 'mqtt://broker:1883',
        VIGIL_NATS_URL: 'nats://nats:4222',
        VIGIL_LOG_LEVEL: 'warn',
        VIGIL_GLUCOSE_UNIT: 'mmol/L',
      },
      '/srv',
    );
    assert.equal(c.httpPort, 9000);
    assert.equal(c.mqttPort, null);
    assert.equal(c.dataDir, '/var/lib/vigil');
    assert.equal(c.databaseUrl, 'postgres://vigil@db:5432/vigil');
    assert.equal(c.mqttUrl, 'mqtt://broker:1883');
    assert.equal(c.natsUrl, 'nats://nats:4222');
    assert.equal(c.logLevel, 'warn');
    assert.equal(c.glucoseUnit, 'mmol/L');
  });

  it('refuses bad values with one line naming the variable', () => {
    failsWith(
      { VIGIL_HTTP_PORT: 'abc' },
      /^VIGIL_HTTP_PORT="abc" is invalid: expected an integer from 0 to 65535$/,
    );
    failsWith({ VIGIL_HTTP_PORT: '70000' }, /VIGIL_HTTP_PORT/);
    failsWith({ VIGIL_LOG_LEVEL: 'loud' }, /VIGIL_LOG_LEVEL="loud" is invalid: expected one of fatal/);
    failsWith({ VIGIL_DATABASE_URL: 'mysql://x' }, /VIGIL_DATABASE_URL.*postgres:/);
    failsWith({ VIGIL_ADMIN_PASSWORD: 'short' }, /VIGIL_ADMIN_PASSWORD.*at least 12 characters/);
    failsWith({ VIGIL_HTP_PORT: '1' }, /VIGIL_HTP_PORT is not a Vigil setting/);
    failsWith({ VIGIL_TLS_CERT_FILE: '/x.pem' }, /VIGIL_TLS_CERT_FILE/);
  });

  it('never echoes a password or a database URL (they may hold secrets) in the error', () => {
    assert.throws(
      () => loadConfig({ VIGIL_ADMIN_PASSWORD: 'tiny' }),
      (e: Error) => !e.message.includes('tiny'),
    );
    assert.throws(
      () => loadConfig({ VIGIL_DATABASE_URL: 'not a url secret123' }),
      (e: Error) => !e.message.includes('secret123'),
    );
  });

  it('.env.example lists every setting, and only real ones', () => {
    const text = readFileSync(new URL('../../.env.example', import.meta.url), 'utf8');
    const listed = new Set([...text.matchAll(/^#?\s*(VIGIL_[A-Z_]+)=/gm)].map((m) => m[1]));
    assert.deepEqual([...listed].sort(), [...configVariables, ...clientVariables].sort());
  });

  it('.env.example shows each setting’s real default', () => {
    const text = readFileSync(new URL('../../.env.example', import.meta.url), 'utf8');
    const base = { VIGIL_ADMIN_PASSWORD: 'a-long-enough-password' };
    const defaults = loadConfig(base);
    for (const [, name, value] of text.matchAll(/^(VIGIL_[A-Z_]+)=(.+)$/gm)) {
      if (!name || !(configVariables as readonly string[]).includes(name) || name === 'VIGIL_ADMIN_PASSWORD')
        continue;
      assert.deepEqual(loadConfig({ ...base, [name]: value }), defaults, `${name}=${value} is the default`);
    }
  });
});

describe('OpenID Connect staff sign-in settings', () => {
  const base = {
    VIGIL_ADMIN_PASSWORD: 'a-long-enough-password',
    VIGIL_OIDC_ISSUER: 'https://idp.example/realms/staff/',
    VIGIL_OIDC_CLIENT_ID: 'vigil',
    VIGIL_OIDC_CLIENT_SECRET: 'secret-from-the-idp',
    VIGIL_OIDC_GROUP_ROLES: 'icu-nurses=nurse, cardiology=clinician,cardiology=admin',
  };
  it('maps groups to roles; off without an issuer', () => {
    const c = loadConfig(base, '/srv');
    assert.equal(c.oidc?.issuer, 'https://idp.example/realms/staff');
    assert.deepEqual(c.oidc?.groupRoles, { 'icu-nurses': ['nurse'], cardiology: ['clinician', 'admin'] });
    assert.equal(c.oidc?.groupsClaim, 'groups');
    assert.equal(loadConfig({ VIGIL_ADMIN_PASSWORD: 'a-long-enough-password' }, '/srv').oidc, undefined);
  });
  it('refuses http issuers off loopback, unknown roles, a missing secret and an empty mapping', () => {
    failsWith({ ...base, VIGIL_OIDC_ISSUER: 'http://idp.example' }, /VIGIL_OIDC_ISSUER/);
    failsWith({ ...base, VIGIL_OIDC_GROUP_ROLES: 'x=patient' }, /VIGIL_OIDC_GROUP_ROLES/);
    failsWith({ ...base, VIGIL_OIDC_GROUP_ROLES: '' }, /VIGIL_OIDC_GROUP_ROLES/);
    failsWith({ ...base, VIGIL_OIDC_CLIENT_SECRET: '' }, /VIGIL_OIDC_CLIENT_SECRET/);
  });
});

describe('edge gateway settings (vigil edge)', () => {
  const edge = {
    VIGIL_EDGE_CENTRE_URL: 'https://vigil.example-hospital.org/',
    VIGIL_EDGE_GATEWAY_ID: 'ward-7-hub',
    VIGIL_EDGE_GATEWAY_SECRET: 'a-gateway-secret-of-some-length',
  };

  it('off unless the centre is named; defaults otherwise', () => {
    assert.equal(loadConfig({}, '/srv').edge, undefined);
    const c = loadConfig(edge, '/srv').edge;
    assert.deepEqual(c, {
      centreUrl: 'https://vigil.example-hospital.org',
      gatewayId: 'ward-7-hub',
      gatewaySecret: 'a-gateway-secret-of-some-length',
      queueMaxRows: 2_000_000,
      batchSize: 500,
      retryMaxMs: 60_000,
      healthIntervalMs: 30_000,
      continuousSeconds: 60,
      summaryAfterMs: 0,
      alertWindowMs: 300_000,
      syncIntervalMs: 300_000,
    });
  });

  it('the gateway secret travels only over https (http on loopback only)', () => {
    failsWith(
      { ...edge, VIGIL_EDGE_CENTRE_URL: 'http://vigil.example-hospital.org' },
      /VIGIL_EDGE_CENTRE_URL.*https/,
    );
    assert.equal(
      loadConfig({ ...edge, VIGIL_EDGE_CENTRE_URL: 'http://127.0.0.1:8080' }, '/srv').edge?.centreUrl,
      'http://127.0.0.1:8080',
    );
  });

  it('needs the gateway id and secret, and a hold longer than the alert window', () => {
    failsWith({ VIGIL_EDGE_CENTRE_URL: edge.VIGIL_EDGE_CENTRE_URL }, /VIGIL_EDGE_GATEWAY_ID/);
    failsWith({ VIGIL_EDGE_GATEWAY_ID: 'ward-7-hub' }, /VIGIL_EDGE_CENTRE_URL/);
    failsWith({ ...edge, VIGIL_EDGE_GATEWAY_SECRET: 'short' }, /VIGIL_EDGE_GATEWAY_SECRET="<redacted>"/);
    failsWith(
      { ...edge, VIGIL_EDGE_SUMMARY_AFTER_MINUTES: '5' },
      /VIGIL_EDGE_SUMMARY_AFTER_MINUTES.*ALERT_WINDOW/,
    );
    assert.equal(
      loadConfig({ ...edge, VIGIL_EDGE_SUMMARY_AFTER_MINUTES: '10' }, '/srv').edge?.summaryAfterMs,
      600_000,
    );
  });
});
