import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SignJWT } from 'jose';
import {
  type Access,
  type MatrixRole,
  type RouteCase,
  roles,
  routeMatrix,
  type Target,
} from './route-matrix.ts';
import {
  adminPassword,
  call,
  clientToken,
  type Harness,
  seedWorld,
  signIn,
  startSecured,
  type World,
} from './support.ts';

/**
 * Every route × every role × own/other patient: each allow and each deny is proven against the
 * running server. Allowed = not refused for access (it may still be 4xx for its input: 404 for a
 * ghost id, 409, 400); denied = 401/403 with an access error code. An allowed call to a route that
 * touches patient data must leave an audit record; a 403 must leave a security-alert record.
 */
const accessCode =
  /^VIGIL_ERR_(AUTH_(REQUIRED|TOKEN_\w+|FORBIDDEN|NOT_IN_CARE_TEAM|SCOPE|MFA_ENROLLMENT_REQUIRED)|CONSENT_DENIED|INGEST_(AUTH_REQUIRED|BAD_CREDENTIAL)|[A-Z]+_FORBIDDEN)$/;

function expected(access: Access | undefined, t: Target): boolean {
  return access === 'all' || (access === 'own' && t === 'own');
}

describe('access matrix', () => {
  let h: Harness;
  let w: World & { alerts: Record<Target, string> };
  let n = 0;

  before(async () => {
    h = await startSecured();
    const world = await seedWorld(h.vigil);
    const alerts = {} as Record<Target, string>;
    for (const t of ['own', 'other'] as const) {
      const r = await call(h.vigil, 'POST', '/api/v1/alerts', {
        token: world.tokens.admin,
        body: {
          patientId: t === 'own' ? world.own : world.other,
          severity: 'high',
          summary: 'matrix fixture',
        },
      });
      alerts[t] = r.status === 201 ? (r.json()['alert'] as { id: string }).id : 'no-alert';
    }
    w = { ...world, alerts };
  });
  after(async () => h?.close());

  async function freshToken(role: MatrixRole): Promise<string | undefined> {
    switch (role) {
      case 'admin':
        return (await signIn(h.vigil, 'admin', adminPassword)).access_token;
      case 'clinician':
        return (await signIn(h.vigil, 'clin', w.users.clinician.password)).access_token;
      case 'nurse':
        return (await signIn(h.vigil, 'nurse', w.users.nurse.password)).access_token;
      case 'patient':
        return (await signIn(h.vigil, 'pat', w.users.patient.password)).access_token;
      case 'integration':
        return clientToken(h.vigil, w.integration.id, w.integration.secret);
      case 'device':
        return w.deviceSecrets.own;
      case 'anonymous':
        return undefined;
    }
  }

  test('every registered route has a row in the matrix (and every row a route)', () => {
    const registered = new Set(h.vigil.app.vigilRoutes.map((r) => `${r.method} ${r.url}`));
    const table = new Set(routeMatrix.map((c) => `${c.method} ${c.url}`));
    const missing = [...registered].filter((r) => {
      if (table.has(r)) return false;
      return !(r.startsWith('HEAD ') && table.has(`GET ${r.slice(5)}`));
    });
    assert.deepEqual(
      missing,
      [],
      `routes without an access rule in test/security/route-matrix.ts:\n  ${missing.join('\n  ')}`,
    );
    const stale = [...table].filter((r) => !registered.has(r));
    assert.deepEqual(stale, [], `matrix rows for routes that no longer exist:\n  ${stale.join('\n  ')}`);
  });

  async function run(c: RouteCase, method: string): Promise<string[]> {
    const problems: string[] = [];
    const targets: Target[] = c.patientScoped ? ['own', 'other'] : ['own'];
    for (const role of roles) {
      for (const t of targets) {
        n += 1;
        const token = c.endsSessions
          ? await freshToken(role)
          : role === 'anonymous'
            ? undefined
            : w.tokens[role as keyof World['tokens']];
        const requestId = `mx-${n}`;
        const body = method === 'HEAD' || method === 'GET' ? undefined : c.body?.(w, t, n);
        const r = await call(h.vigil, method, c.path?.(w, t, n) ?? c.url, {
          token,
          ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
          headers: {
            'x-request-id': requestId,
            ...(body !== undefined && typeof body !== 'string' ? { 'content-type': 'application/json' } : {}),
            ...c.headers,
          },
        });
        let code = '';
        let fhirRefusal = false;
        try {
          const j = r.json() as {
            error?: { code?: string } | string;
            code?: string;
            resourceType?: string;
            issue?: Array<{ code?: string }>;
          };
          code = typeof j.error === 'object' ? (j.error.code ?? '') : (j.code ?? '');
          // The FHIR API refuses with an OperationOutcome whose issue code is login / forbidden / security.
          fhirRefusal =
            j.resourceType === 'OperationOutcome' &&
            ['login', 'forbidden', 'security'].includes(j.issue?.[0]?.code ?? '');
        } catch {
          /* not JSON (metrics, NDJSON, HEAD) */
        }
        const denied =
          (r.status === 401 || r.status === 403) &&
          (method === 'HEAD' || fhirRefusal || accessCode.test(code));
        const want = expected(c.access[role], t);
        const label = `${role}${c.patientScoped ? `/${t}` : ''}`;
        if (r.status >= 500) problems.push(`${label}: server error ${r.status} ${r.body.slice(0, 200)}`);
        else if (want && denied) problems.push(`${label}: expected allowed, got ${r.status} ${code}`);
        else if (!want && !denied) problems.push(`${label}: expected denied, got ${r.status} ${code}`);
        if (r.status === 403 || (want && c.phi && r.status < 400)) {
          await h.vigil.ctx.security.audit.flush();
          const rows = await h.vigil.db.query<{ n: number }>(
            `select count(*)::int as n from audit_event where content::text like $1`,
            [`%"${requestId}"%`],
          );
          if ((rows[0]?.n ?? 0) === 0)
            problems.push(`${label}: ${r.status === 403 ? 'denial' : 'patient data access'} not audited`);
        }
      }
    }
    if (c.endsSessions) {
      for (const role of ['admin', 'clinician', 'nurse', 'patient', 'integration'] as const)
        w.tokens[role] = (await freshToken(role)) as string;
    }
    return problems;
  }

  for (const c of routeMatrix) {
    if (c.separately) continue;
    const methods = c.method === 'GET' ? ['GET', 'HEAD'] : [c.method];
    for (const m of methods) {
      test(`${m} ${c.url}`, c.todo ? { todo: c.todo } : {}, async () => {
        const problems = await run(c, m);
        assert.deepEqual(problems, [], `${m} ${c.url}:\n  ${problems.join('\n  ')}`);
      });
    }
  }

  test('live feed (WebSocket): staff are admitted, everyone else is closed with 4401/4403', async () => {
    const url = h.vigil.httpUrl.replace(/^http/, 'ws');
    const outcome = (token: string | undefined) =>
      new Promise<'open' | number>((resolve) => {
        const ws = new WebSocket(
          `${url}/api/v1/live`,
          token ? ['vigil.v1', `vigil.bearer.${token}`] : ['vigil.v1'],
        );
        const timer = setTimeout(() => {
          ws.close();
          resolve('open');
        }, 1500);
        ws.addEventListener('open', () => {
          if (!token) ws.send(JSON.stringify({ type: 'auth', token: '' }));
        });
        ws.addEventListener('close', (e) => {
          clearTimeout(timer);
          resolve(e.code);
        });
      });
    const live = routeMatrix.find((c) => c.url === '/api/v1/live');
    const problems: string[] = [];
    for (const role of roles) {
      const token = role === 'anonymous' ? undefined : w.tokens[role as keyof World['tokens']];
      const got = await outcome(token);
      const want = expected(live?.access[role], 'own');
      if (want && got !== 'open') problems.push(`${role}: expected admitted, closed ${got}`);
      if (!want && got === 'open') problems.push(`${role}: expected refused, stayed open`);
    }
    assert.deepEqual(problems, []);
    // A signed-out session's token no longer opens the feed.
    const signedOut = await freshToken('clinician');
    await call(h.vigil, 'POST', '/auth/logout', { token: signedOut });
    assert.notEqual(await outcome(signedOut), 'open');
  });

  test('a clinician listing a device sees only readings of patients in their care teams', async () => {
    const other = await call(h.vigil, 'GET', `/api/v1/devices/${w.devices.other}/readings`, {
      token: w.tokens.clinician,
    });
    assert.equal(other.status, 200);
    assert.deepEqual(other.json()['readings'], []);
    const own = await call(h.vigil, 'GET', `/api/v1/devices/${w.devices.own}/readings`, {
      token: w.tokens.clinician,
    });
    assert.ok((own.json()['readings'] as unknown[]).length >= 1);
  });
  test("a clinician reads no other team's device assignment (and so no patient id of theirs)", async () => {
    for (const role of ['clinician', 'nurse'] as const) {
      for (const url of [
        `/api/v1/devices/${w.devices.other}/assignments`,
        `/api/v1/devices/${w.devices.other}`,
      ]) {
        const r = await call(h.vigil, 'GET', url, { token: w.tokens[role] });
        assert.ok(r.status === 200 || r.status === 403 || r.status === 404, `${role} ${url}: ${r.status}`);
        assert.doesNotMatch(r.body, new RegExp(w.other), `${role} ${url} reveals the other team's patient`);
      }
      const own = await call(h.vigil, 'GET', `/api/v1/devices/${w.devices.own}/assignments`, {
        token: w.tokens[role],
      });
      assert.equal(own.status, 200);
      assert.deepEqual(
        (own.json()['assignments'] as Array<{ patientId: string }>).map((a) => a.patientId),
        [w.own],
      );
    }
    const admin = await call(h.vigil, 'GET', `/api/v1/devices/${w.devices.other}/assignments`, {
      token: w.tokens.admin,
    });
    assert.deepEqual(
      (admin.json()['assignments'] as Array<{ patientId: string }>).map((a) => a.patientId),
      [w.other],
    );
  });

  test('a correctly signed token whose token id, session id or subject is not a UUID is refused with 401', async () => {
    const key = (
      await h.vigil.db.query<{ value: string }>(`select value from server_key where name = 'jwt-hs256'`)
    )[0]?.value as string;
    const now = Math.floor(Date.now() / 1000);
    const sign = (claims: Record<string, unknown>, jti: string, sub: string) =>
      new SignJWT({ kind: 'user', roles: ['admin'], scope: '', ...claims })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setIssuer('vigil')
        .setAudience('vigil-api')
        .setSubject(sub)
        .setJti(jti)
        .setIssuedAt(now)
        .setExpirationTime(now + 600)
        .sign(Buffer.from(key, 'base64'));
    const session = (
      await h.vigil.db.query<{ id: string; user_id: string }>('select id, user_id from auth_session limit 1')
    )[0] as { id: string; user_id: string };
    const uuid = '0190a0a0-0000-7000-8000-000000000001';
    const cases: Record<string, string> = {
      'token id not a UUID': await sign({ sid: session.id }, 'not-a-uuid', session.user_id),
      'session id not a UUID': await sign({ sid: "x'; select 1; --" }, uuid, session.user_id),
      'subject not a UUID': await sign({ sid: session.id }, uuid, 'admin'),
      'session id not a string': await sign({ sid: 42 }, uuid, session.user_id),
    };
    for (const [name, token] of Object.entries(cases)) {
      for (const url of ['/api/v1/users', '/fhir/Patient']) {
        const r = await call(h.vigil, 'GET', url, { token });
        assert.equal(r.status, 401, `${name} at ${url}: ${r.status} ${r.body.slice(0, 200)}`);
      }
    }
  });
});
