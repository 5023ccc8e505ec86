import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { adminToken, call, type Harness, startSecured } from './support.ts';

const openssl = ['/usr/bin/openssl', '/bin/openssl'].find((p) => existsSync(p));

function httpsGet(url: string, ca: Buffer): Promise<{ status: number; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, method: 'GET' }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('TLS for HTTP and MQTT (mqtts) with a configured certificate', {
  skip: openssl ? false : 'openssl is not installed',
}, () => {
  let h: Harness;
  let certDir: string;
  let cert: Buffer;

  before(async () => {
    certDir = mkdtempSync(join(tmpdir(), 'vigil-tls-'));
    execFileSync(
      openssl as string,
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost,IP:127.0.0.1',
        '-keyout',
        join(certDir, 'key.pem'),
        '-out',
        join(certDir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    cert = readFileSync(join(certDir, 'cert.pem'));
    h = await startSecured({
      env: { VIGIL_TLS_CERT_FILE: join(certDir, 'cert.pem'), VIGIL_TLS_KEY_FILE: join(certDir, 'key.pem') },
    });
  });
  after(async () => {
    await h?.close();
    rmSync(certDir, { recursive: true, force: true });
  });

  test('HTTPS serves the API; the public URL says https; HSTS is sent', async () => {
    assert.match(h.vigil.httpUrl, /^https:\/\//);
    const r = await httpsGet(`https://127.0.0.1:${h.vigil.httpPort}/health`, cert);
    assert.equal(r.status, 200);
    assert.match(String(r.headers['strict-transport-security']), /max-age=/);
  });

  test('plain HTTP on the TLS port gets no answer from the API', async () => {
    const res = await fetch(`http://127.0.0.1:${h.vigil.httpPort}/health`).then(
      (x) => x.status,
      () => 'refused',
    );
    assert.notEqual(res, 200);
  });

  test('mqtts: a device publishes over TLS with mosquitto_pub; a wrong secret is still refused', {
    skip: existsSync('/usr/bin/mosquitto_pub') ? false : 'no mosquitto_pub',
  }, async () => {
    const admin = await adminToken(h.vigil);
    const reg = await call(h.vigil, 'POST', '/api/v1/devices', {
      token: admin,
      body: { id: 'tls-dev', kind: 'scale' },
    });
    const secret = reg.json()['secret'] as string;
    const pub = (password: string) =>
      new Promise<number>((resolve) =>
        execFile(
          '/usr/bin/mosquitto_pub',
          [
            '-h',
            '127.0.0.1',
            '-p',
            String(h.vigil.mqttPort),
            '--cafile',
            join(certDir, 'cert.pem'),
            '-u',
            'tls-dev',
            '-P',
            password,
            '-q',
            '1',
            '-t',
            'devices/tls-dev/readings',
            '-m',
            JSON.stringify({
              messageId: `t-${password.length}`,
              time: '2026-01-01T00:00:00Z',
              type: 'body-weight',
              value: 70,
              unit: 'kg',
            }),
          ],
          { timeout: 10_000 },
          (err) => resolve(err ? ((err as { code?: number }).code ?? 1) : 0),
        ),
      );
    assert.equal(await pub(secret), 0);
    assert.notEqual(await pub(`${secret}x`), 0);
    const n = (
      await h.vigil.db.query<{ n: number }>(
        `select count(*)::int as n from observation where device_id = 'tls-dev'`,
      )
    )[0]?.n;
    assert.equal(n, 1);
  });
});
