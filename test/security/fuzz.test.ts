import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { call, type Harness, seedWorld, startSecured, type World } from './support.ts';

/** A small deterministic PRNG (mulberry32): a failing case can be replayed from its seed. */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)] as T;
  return { next, int, pick };
}

type R = ReturnType<typeof rng>;

const nasty = [
  '',
  ' ',
  '\u0000',
  '\ud800',
  '💉',
  '../../etc/passwd',
  '%00',
  `\${jndi:ldap://x}`,
  "' or 1=1 --",
  '<script>',
  'a'.repeat(5000),
  '-1',
  '1e309',
  'NaN',
];

function value(r: R, depth = 0): unknown {
  switch (r.int(depth > 3 ? 5 : 8)) {
    case 0:
      return r.pick(nasty);
    case 1:
      return r.int(2) ? r.next() * 1e12 - 5e11 : r.pick([0, -0, Number.MAX_SAFE_INTEGER, 1e308]);
    case 2:
      return r.int(2) === 1;
    case 3:
      return null;
    case 4:
      return Array.from({ length: r.int(4) }, () => r.pick(nasty));
    case 5:
      return Array.from({ length: r.int(5) }, () => value(r, depth + 1));
    default: {
      const o: Record<string, unknown> = {};
      const keys = [
        'username',
        'password',
        'grant_type',
        'refresh_token',
        'client_id',
        'client_secret',
        'scope',
        'totp',
        'token',
        '__proto__',
        'constructor',
        'messageId',
        'time',
        'type',
        'value',
        'unit',
        'components',
        'readings',
        'purpose',
        'decision',
      ];
      // defineProperty: a literal "__proto__" key (what a hostile JSON body carries), not a prototype change.
      for (let i = r.int(6); i > 0; i--) {
        Object.defineProperty(o, r.pick(keys), {
          value: value(r, depth + 1),
          enumerable: true,
          configurable: true,
          writable: true,
        });
      }
      return o;
    }
  }
}

function body(r: R): { payload: string | Buffer; contentType: string | undefined } {
  const kind = r.int(6);
  const ct = r.pick([
    'application/json',
    'application/x-www-form-urlencoded',
    'text/plain',
    'application/octet-stream',
    'application/json; charset=utf-16',
    'multipart/form-data; boundary=x',
    undefined,
  ]);
  if (kind === 0)
    return { payload: Buffer.from(Array.from({ length: r.int(300) }, () => r.int(256))), contentType: ct };
  if (kind === 1) return { payload: JSON.stringify(value(r)).slice(0, r.int(200) + 1), contentType: ct }; // truncated JSON
  if (kind === 2)
    return {
      payload: new URLSearchParams({
        grant_type: JSON.stringify(value(r)),
        username: JSON.stringify(value(r)),
        password: JSON.stringify(value(r)),
      }).toString(),
      contentType: ct,
    };
  if (kind === 3) return { payload: `${'['.repeat(r.int(2000))}`, contentType: 'application/json' };
  return { payload: JSON.stringify(value(r)), contentType: ct };
}

function headers(r: R, validToken: string): Record<string, string> {
  const h: Record<string, string> = {};
  switch (r.int(6)) {
    case 0:
      h['authorization'] = `Bearer ${validToken}`;
      break;
    case 1:
      h['authorization'] = r.pick([
        'Bearer',
        'Bearer ',
        'Basic ',
        'Basic !!!',
        `Basic ${Buffer.from(':').toString('base64')}`,
        `Bearer ${'x'.repeat(5000)}`,
        'Bearer a.b.c',
        'Digest x',
      ]);
      break;
    case 2:
      h['authorization'] = `Bearer ${validToken.slice(0, r.int(validToken.length))}`;
      break;
    default:
      break;
  }
  if (r.int(4) === 0) h['x-request-id'] = r.pick(['../x', 'a'.repeat(200), 'ok-id', '\t']);
  if (r.int(4) === 0) h['origin'] = r.pick(['null', 'https://evil.example', 'file://']);
  return h;
}

describe('fuzz: random bodies and headers against the auth and ingest parsers', () => {
  let h: Harness;
  let w: World;
  before(async () => {
    h = await startSecured();
    w = await seedWorld(h.vigil);
  });
  after(async () => h?.close());

  const cases = 250;
  for (const [name, path, token] of [
    ['sign-in', '/auth/token', () => ''],
    ['OAuth2 token endpoint', '/auth/oauth2/token', () => ''],
    ['revocation', '/auth/revoke', () => w.tokens.admin],
    ['TOTP activation', '/auth/mfa/totp/activate', () => w.tokens.nurse],
    ['HTTP ingest (JSON)', '/ingest/v1/readings', () => w.deviceSecrets.own],
    ['HTTP ingest (GATT)', '/ingest/v1/gatt/2A35', () => w.deviceSecrets.own],
    ['consent', '/api/v1/patients/pat-own/consents', () => w.tokens.admin],
  ] as const) {
    test(`${name}: ${cases} random requests, never a 5xx, always a coded error`, async () => {
      const r = rng(0x5eed + path.length);
      const failures: string[] = [];
      for (let i = 0; i < cases; i++) {
        const b = body(r);
        const res = await h.vigil.app.inject({
          method: 'POST',
          url: path,
          payload: b.payload,
          headers: { ...(b.contentType ? { 'content-type': b.contentType } : {}), ...headers(r, token()) },
        });
        if (res.statusCode >= 500) failures.push(`#${i}: ${res.statusCode} ${res.body.slice(0, 200)}`);
        else if (res.statusCode >= 400) {
          let coded = false;
          try {
            const j = res.json() as {
              error?: { code?: string } | string;
              code?: string;
              results?: Array<{ reason?: string }>;
            };
            // Management API {error:{code}}, OAuth2 {error, code}, ingest {results:[{reason}]}.
            coded =
              typeof j.error === 'object'
                ? /^VIGIL_ERR_/.test(j.error.code ?? '')
                : typeof j.error === 'string'
                  ? /^VIGIL_ERR_/.test(j.code ?? '')
                  : (j.results ?? []).length > 0 &&
                    (j.results ?? []).every((x) => /^VIGIL_ERR_/.test(x.reason ?? ''));
          } catch {
            coded = false;
          }
          if (!coded) failures.push(`#${i}: ${res.statusCode} uncoded ${res.body.slice(0, 200)}`);
        }
      }
      assert.deepEqual(failures, []);
    });
  }

  test('the server is still healthy and the audit chain intact after the fuzzing', async () => {
    assert.equal((await call(h.vigil, 'GET', '/health')).status, 200);
    assert.equal((await h.vigil.ctx.security.audit.verifyChain()).ok, true);
  });
});
