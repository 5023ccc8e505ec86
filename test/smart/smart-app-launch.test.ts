import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createRemoteJWKSet, exportJWK, generateKeyPair, jwtVerify, SignJWT } from 'jose';
import { totpCode } from '../../src/auth/totp.ts';
import { adminToken, call, type Harness, seedWorld, startSecured, type World } from '../security/support.ts';
import { createFreshPostgresDatabase, testDatabaseUrl } from '../support/databases.ts';
import { authorizeOverHttp, fhirGet, formFields, pkce, registerClient, tokenRequest } from './support.ts';

const appRedirect = 'http://127.0.0.1:9/app/callback';

for (const store of ['pglite', ...(testDatabaseUrl ? ['postgres'] : [])])
  describe(`SMART App Launch 2 and Backend Services (${store})`, () => {
    let h: Harness;
    let drop: (() => Promise<void>) | undefined;
    let w: World;
    let fhirBase: string;
    let jwksServer: Server;
    let jwksUrl: string;
    let rsKey: CryptoKey;
    let esKey: CryptoKey;
    let otherEsKey: CryptoKey;
    let served = { keys: [] as unknown[] };

    before(async () => {
      let env: Record<string, string> = {};
      if (store === 'postgres') {
        const fresh = await createFreshPostgresDatabase();
        env = { VIGIL_DATABASE_URL: fresh.url };
        drop = fresh.drop;
      }
      h = await startSecured({ env });
      w = await seedWorld(h.vigil);
      fhirBase = `${h.vigil.httpUrl}/fhir`;
      await registerClient(h.vigil, {
        id: 'growth-chart',
        name: 'Growth Chart',
        kind: 'public',
        redirectUris: [appRedirect],
        scopes: [
          'openid',
          'fhirUser',
          'launch',
          'launch/patient',
          'offline_access',
          'patient/*.rs',
          'user/Observation.rs',
        ],
      });
      // Backend services: one client with an inline JWKS (ES384), one with a JWKS URL on loopback (RS384).
      const es = await generateKeyPair('ES384', { extractable: true });
      esKey = es.privateKey;
      otherEsKey = (await generateKeyPair('ES384')).privateKey;
      await registerClient(h.vigil, {
        id: 'analytics',
        name: 'Analytics',
        kind: 'backend',
        scopes: ['system/Observation.rs', 'system/Patient.rs'],
        jwks: { keys: [{ ...(await exportJWK(es.publicKey)), kid: 'es-1', alg: 'ES384' }] },
      });
      const rs = await generateKeyPair('RS384', { extractable: true });
      rsKey = rs.privateKey;
      served = { keys: [{ ...(await exportJWK(rs.publicKey)), kid: 'rs-1', alg: 'RS384' }] };
      jwksServer = createServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
        res.end(JSON.stringify(served));
      });
      await new Promise<void>((r) => jwksServer.listen(0, '127.0.0.1', r));
      jwksUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/jwks.json`;
      await registerClient(h.vigil, {
        id: 'registry-job',
        name: 'Registry job',
        kind: 'backend',
        scopes: ['system/*.rs'],
        jwksUri: jwksUrl,
      });
    });
    after(async () => {
      await new Promise((r) => jwksServer.close(r));
      await h.close();
      await drop?.();
    });

    const baseQuery = (over: Record<string, string> = {}) => {
      const p = pkce();
      return {
        verifier: p.verifier,
        query: {
          response_type: 'code',
          client_id: 'growth-chart',
          redirect_uri: appRedirect,
          scope: 'openid fhirUser launch/patient patient/*.rs offline_access',
          state: `st-${Math.random().toString(36).slice(2)}`,
          aud: fhirBase,
          code_challenge: p.challenge,
          code_challenge_method: 'S256',
          ...over,
        },
      };
    };
    const clinician = () => ({ username: 'clin', password: w.users.clinician.password });

    const exchange = (code: string, verifier: string, over: Record<string, string> = {}) =>
      tokenRequest(h.vigil, {
        grant_type: 'authorization_code',
        code,
        redirect_uri: appRedirect,
        client_id: 'growth-chart',
        code_verifier: verifier,
        ...over,
      });

    test('discovery: /.well-known/smart-configuration at the root and under /fhir, JSON whatever Accept says', async () => {
      for (const path of ['/.well-known/smart-configuration', '/fhir/.well-known/smart-configuration']) {
        const r = await fetch(new URL(path, h.vigil.httpUrl), { headers: { accept: 'text/html' } });
        assert.equal(r.status, 200, path);
        assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
        const c = (await r.json()) as Record<string, unknown>;
        for (const k of ['authorization_endpoint', 'token_endpoint', 'jwks_uri', 'issuer'])
          assert.match(String(c[k]), /^http:\/\/127\.0\.0\.1:\d+(\/|$)/, `${k} absolute`);
        assert.deepEqual(c['code_challenge_methods_supported'], ['S256']);
        assert.ok((c['grant_types_supported'] as string[]).includes('authorization_code'));
        assert.ok((c['grant_types_supported'] as string[]).includes('client_credentials'));
        assert.ok((c['token_endpoint_auth_methods_supported'] as string[]).includes('private_key_jwt'));
        for (const cap of [
          'launch-ehr',
          'launch-standalone',
          'sso-openid-connect',
          'permission-v2',
          'client-confidential-asymmetric',
        ])
          assert.ok((c['capabilities'] as string[]).includes(cap), cap);
        assert.ok(Array.isArray(c['scopes_supported']) && Array.isArray(c['response_types_supported']));
      }
      // CORS: the discovery documents for any origin.
      const cors = await fetch(new URL('/.well-known/smart-configuration', h.vigil.httpUrl), {
        headers: { origin: 'https://any-app.example' },
      });
      assert.equal(cors.headers.get('access-control-allow-origin'), 'https://any-app.example');
    });

    test('metadata is public and names the OAuth endpoints (oauth-uris) and the SMART-on-FHIR service', async () => {
      const r = await fhirGet(h.vigil, 'metadata');
      assert.equal(r.status, 200);
      const sec = (r.json['rest'] as Array<{ security: Record<string, unknown> }>)[0]?.security as {
        extension: Array<{ url: string; extension: Array<{ url: string; valueUri: string }> }>;
        service: Array<{ coding: Array<{ code: string }> }>;
      };
      const oauth = sec.extension.find(
        (e) => e.url === 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris',
      );
      assert.equal(
        oauth?.extension.find((e) => e.url === 'token')?.valueUri,
        `${h.vigil.httpUrl}/oauth/token`,
      );
      assert.equal(
        oauth?.extension.find((e) => e.url === 'authorize')?.valueUri,
        `${h.vigil.httpUrl}/oauth/authorize`,
      );
      assert.equal(sec.service[0]?.coding[0]?.code, 'SMART-on-FHIR');
      assert.equal((await fhirGet(h.vigil, 'Patient')).status, 401, 'everything else still needs a token');
    });

    test('standalone launch: clinician picks a patient; patient/ scopes limit to that patient; id_token signed with the published key', async () => {
      const { query, verifier } = baseQuery();
      const r = await authorizeOverHttp(h.vigil, query, clinician(), { patient: w.own });
      assert.equal(r.location.origin + r.location.pathname, appRedirect);
      assert.equal(r.location.searchParams.get('state'), query.state, 'state echoed');
      assert.match(r.consentHtml ?? '', /Growth Chart/);
      assert.match(r.consentHtml ?? '', /patient\/\*\.rs/);
      assert.doesNotMatch(
        r.consentHtml ?? '',
        new RegExp(`value="${w.other}"`),
        'picker lists care-team patients only',
      );
      const code = r.location.searchParams.get('code') as string;
      const t = await exchange(code, verifier);
      assert.equal(t.status, 200, JSON.stringify(t.json));
      assert.equal(t.json['token_type'], 'Bearer');
      assert.equal(t.json['patient'], w.own);
      assert.match(String(t.json['scope']), /patient\/\*\.rs/);
      assert.equal(t.headers.get('cache-control'), 'no-store');
      assert.equal(t.headers.get('pragma'), 'no-cache');
      assert.ok(typeof t.json['refresh_token'] === 'string', 'offline_access → refresh token');
      const jwks = createRemoteJWKSet(new URL(`${h.vigil.httpUrl}/oauth/jwks`));
      const { payload } = await jwtVerify(String(t.json['id_token']), jwks, {
        issuer: h.vigil.httpUrl,
        audience: 'growth-chart',
      });
      assert.equal(payload['fhirUser'], `${fhirBase}/Practitioner/pr-clin`);
      const token = String(t.json['access_token']);
      const own = await fhirGet(h.vigil, `Observation/${w.readings.own}`, token);
      assert.equal(own.status, 200);
      const search = await fhirGet(h.vigil, 'Observation', token);
      const subjects = (
        (search.json['entry'] as Array<{ resource: { subject?: { reference: string } } }>) ?? []
      ).map((e) => e.resource.subject?.reference);
      assert.ok(
        subjects.length > 0 && subjects.every((s) => s === `Patient/${w.own}`),
        JSON.stringify(subjects),
      );
      const other = await fhirGet(h.vigil, `Patient/${w.other}`, token);
      assert.equal(other.status, 403);
      // The app's token is for the FHIR API only.
      const mgmt = await call(h.vigil, 'GET', '/api/v1/users', { token });
      assert.equal(mgmt.status, 401);
      // Every token issue is audited.
      const audit = await call(h.vigil, 'GET', '/api/v1/audit?subtype=smart-token', {
        token: await adminToken(h.vigil),
      });
      assert.ok(
        ((audit.json()['events'] ?? audit.json()['entries'] ?? []) as unknown[]).length > 0,
        audit.body,
      );
    });

    test('a patient user gets their own record; patient scopes never reach another patient', async () => {
      const { query, verifier } = baseQuery({
        scope: 'launch/patient patient/Observation.rs patient/Patient.read',
      });
      const r = await authorizeOverHttp(h.vigil, query, {
        username: 'pat',
        password: w.users.patient.password,
      });
      const t = await exchange(r.location.searchParams.get('code') as string, verifier);
      assert.equal(t.json['patient'], w.own);
      const token = String(t.json['access_token']);
      assert.equal((await fhirGet(h.vigil, `Patient/${w.own}`, token)).status, 200);
      assert.equal((await fhirGet(h.vigil, `Observation/${w.readings.other}`, token)).status, 403);
      assert.equal((await fhirGet(h.vigil, 'CareTeam', token)).status, 403, 'no scope for CareTeam');
    });

    test('user/ scopes: what the user may see, and only the types named', async () => {
      const { query, verifier } = baseQuery({ scope: 'user/Observation.rs' });
      const r = await authorizeOverHttp(h.vigil, query, clinician());
      const t = await exchange(r.location.searchParams.get('code') as string, verifier);
      assert.equal(t.json['patient'], undefined);
      const token = String(t.json['access_token']);
      assert.equal((await fhirGet(h.vigil, `Observation/${w.readings.own}`, token)).status, 200);
      assert.equal(
        (await fhirGet(h.vigil, `Observation/${w.readings.other}`, token)).status,
        403,
        'not in care team',
      );
      assert.equal((await fhirGet(h.vigil, `Patient/${w.own}`, token)).status, 403, 'no Patient scope');
    });

    test('EHR launch: a launch context made by the clinician fixes the patient', async () => {
      const clin = await call(h.vigil, 'POST', '/auth/token', {
        body: { username: 'clin', password: w.users.clinician.password },
      });
      const launchRes = await fetch(new URL('/api/v1/smart/launch', h.vigil.httpUrl), {
        method: 'POST',
        headers: {
          authorization: `Bearer ${clin.json()['access_token'] as string}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify({ patientId: w.own, clientId: 'growth-chart' }),
      });
      assert.equal(launchRes.status, 201);
      const denied = await call(h.vigil, 'POST', '/api/v1/smart/launch', {
        token: clin.json()['access_token'] as string,
        body: { patientId: w.other },
      });
      assert.equal(denied.status, 403, 'no launch for a patient outside the care team');
      const { launch, iss } = (await launchRes.json()) as { launch: string; iss: string };
      assert.equal(iss, fhirBase);
      const { query, verifier } = baseQuery({
        scope: 'launch openid fhirUser patient/Observation.rs',
        launch,
        aud: iss,
      });
      const r = await authorizeOverHttp(h.vigil, query, clinician());
      assert.doesNotMatch(r.consentHtml ?? '', /type="radio"/, 'no picker in an EHR launch');
      const t = await exchange(r.location.searchParams.get('code') as string, verifier);
      assert.equal(t.status, 200);
      assert.equal(t.json['patient'], w.own);
      assert.equal(t.json['refresh_token'], undefined, 'no offline_access, no refresh token');
    });

    test('refusals at the authorization endpoint: PKCE plain, no challenge, wrong redirect URI, wrong aud, unknown client', async () => {
      const plain = await authorizeOverHttp(
        h.vigil,
        baseQuery({ code_challenge_method: 'plain' }).query,
        clinician(),
      );
      assert.equal(plain.location.searchParams.get('error'), 'invalid_request');
      assert.match(plain.location.searchParams.get('error_description') ?? '', /S256/);
      assert.ok(plain.location.searchParams.get('state'), 'state echoed on errors');
      const none = await authorizeOverHttp(h.vigil, baseQuery({ code_challenge: '' }).query, clinician());
      assert.equal(none.location.searchParams.get('error'), 'invalid_request');
      const aud = await authorizeOverHttp(
        h.vigil,
        baseQuery({ aud: 'https://evil.example/fhir' }).query,
        clinician(),
      );
      assert.equal(aud.location.searchParams.get('error'), 'invalid_request');
      assert.match(aud.location.searchParams.get('error_description') ?? '', /aud/);
      for (const bad of [
        { redirect_uri: 'http://127.0.0.1:9/app/callback/other' },
        { redirect_uri: 'http://127.0.0.1:9/app/callback?x=1' },
        { client_id: 'nobody' },
      ] as Array<Record<string, string>>) {
        const u = new URL('/oauth/authorize', h.vigil.httpUrl);
        for (const [k, v] of Object.entries(baseQuery(bad).query)) u.searchParams.set(k, v);
        const r = await fetch(u, { redirect: 'manual' });
        assert.equal(r.status, 400, JSON.stringify(bad));
        assert.equal(r.headers.get('location'), null, 'never redirected to an unregistered URI');
      }
      const launch = await authorizeOverHttp(
        h.vigil,
        baseQuery({ scope: 'launch patient/*.rs', launch: 'made-up' }).query,
        clinician(),
      );
      assert.equal(launch.location.searchParams.get('error'), 'invalid_request');
    });

    test('refusals at the token endpoint: wrong verifier, other redirect URI, reused code (and its session revoked)', async () => {
      const a = baseQuery();
      const r = await authorizeOverHttp(h.vigil, a.query, clinician(), { patient: w.own });
      const code = r.location.searchParams.get('code') as string;
      const wrong = await exchange(code, pkce().verifier);
      assert.equal(wrong.status, 400);
      assert.equal(wrong.json['error'], 'invalid_grant');
      // The code was spent by that attempt; a new one for the next checks.
      const b = baseQuery();
      const r2 = await authorizeOverHttp(h.vigil, b.query, clinician(), { patient: w.own });
      const code2 = r2.location.searchParams.get('code') as string;
      const redirect = await exchange(code2, b.verifier, { redirect_uri: `${appRedirect}x` });
      assert.equal(redirect.json['error'], 'invalid_grant');
      const c = baseQuery();
      const r3 = await authorizeOverHttp(h.vigil, c.query, clinician(), { patient: w.own });
      const code3 = r3.location.searchParams.get('code') as string;
      const ok = await exchange(code3, c.verifier);
      assert.equal(ok.status, 200);
      const again = await exchange(code3, c.verifier);
      assert.equal(again.json['error'], 'invalid_grant');
      assert.equal(
        (await fhirGet(h.vigil, `Observation/${w.readings.own}`, String(ok.json['access_token']))).status,
        401,
        'tokens of a reused code are revoked',
      );
      const noClient = await tokenRequest(h.vigil, {
        grant_type: 'authorization_code',
        code: 'x',
        redirect_uri: appRedirect,
        code_verifier: c.verifier,
      });
      assert.equal(noClient.status, 401);
      assert.equal(noClient.json['error'], 'invalid_client');
    });

    test('offline_access: refresh tokens rotate; a rotated one presented again ends the session', async () => {
      const a = baseQuery();
      const r = await authorizeOverHttp(h.vigil, a.query, clinician(), { patient: w.own });
      const t = await exchange(r.location.searchParams.get('code') as string, a.verifier);
      const first = String(t.json['refresh_token']);
      const next = await tokenRequest(h.vigil, {
        grant_type: 'refresh_token',
        refresh_token: first,
        client_id: 'growth-chart',
      });
      assert.equal(next.status, 200, JSON.stringify(next.json));
      assert.notEqual(next.json['refresh_token'], first);
      assert.equal(next.json['patient'], w.own);
      assert.equal(
        (await fhirGet(h.vigil, `Observation/${w.readings.own}`, String(next.json['access_token']))).status,
        200,
      );
      assert.equal(
        (await fhirGet(h.vigil, `Observation/${w.readings.other}`, String(next.json['access_token']))).status,
        403,
        'refreshed token keeps the limits',
      );
      const reuse = await tokenRequest(h.vigil, {
        grant_type: 'refresh_token',
        refresh_token: first,
        client_id: 'growth-chart',
      });
      assert.equal(reuse.json['error'], 'invalid_grant');
      const after = await tokenRequest(h.vigil, {
        grant_type: 'refresh_token',
        refresh_token: String(next.json['refresh_token']),
        client_id: 'growth-chart',
      });
      assert.equal(after.json['error'], 'invalid_grant', 'the whole session was revoked');
    });

    test('authorization by POST (authorize-post); a user who denies sends the app access_denied with its state', async () => {
      const a = baseQuery();
      const post = await fetch(new URL('/oauth/authorize', h.vigil.httpUrl), {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(a.query).toString(),
      });
      assert.equal(post.status, 200);
      assert.match(await post.text(), /id="sign-in"/);
      const denied = await authorizeOverHttp(h.vigil, a.query, clinician(), { decision: 'deny' });
      assert.equal(denied.location.searchParams.get('error'), 'access_denied');
      assert.equal(denied.location.searchParams.get('state'), a.query.state);
      assert.equal(denied.location.searchParams.get('code'), null);
    });

    test('the sign-in page uses the account rules: wrong password refused, TOTP required and checked', async () => {
      const nurse = { username: 'nurse', password: w.users.nurse.password };
      const signIn = await call(h.vigil, 'POST', '/auth/token', { body: nurse });
      const token = signIn.json()['access_token'] as string;
      const enrol = await call(h.vigil, 'POST', '/auth/mfa/totp/enroll', { token });
      const secret = enrol.json()['secret'] as string;
      const act = await call(h.vigil, 'POST', '/auth/mfa/totp/activate', {
        token,
        body: { code: totpCode(secret, Date.now() - 30_000) },
      });
      assert.equal(act.status, 200, act.body);
      const a = baseQuery({ scope: 'user/Observation.rs' });
      const u = new URL('/oauth/authorize', h.vigil.httpUrl);
      for (const [k, v] of Object.entries(a.query)) u.searchParams.set(k, v);
      const page = await (await fetch(u)).text();
      const f = formFields(page);
      const post = (body: Record<string, string>) =>
        fetch(new URL(f.action, h.vigil.httpUrl), {
          method: 'POST',
          redirect: 'manual',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ ...f.fields, ...body }).toString(),
        });
      const wrong = await post({ username: 'nurse', password: 'not-the-password!' });
      assert.equal(wrong.status, 401);
      assert.match(await wrong.text(), /Wrong username or password/);
      const noCode = await post(nurse);
      assert.equal(noCode.status, 401);
      assert.match(await noCode.text(), /one-time code/);
      const ok = await post({ ...nurse, totp: totpCode(secret, Date.now()) });
      assert.equal(ok.status, 200);
      assert.match(await ok.text(), /id="allow"/);
    });

    test("signing out everywhere ends the app's session too", async () => {
      const a = baseQuery({ scope: 'user/Observation.rs offline_access' });
      const pw = { username: 'pat', password: w.users.patient.password };
      const r = await authorizeOverHttp(
        h.vigil,
        { ...a.query, scope: 'patient/Observation.rs offline_access' },
        pw,
      );
      const t = await exchange(r.location.searchParams.get('code') as string, a.verifier);
      const token = String(t.json['access_token']);
      assert.equal((await fhirGet(h.vigil, `Observation/${w.readings.own}`, token)).status, 200);
      const own = await call(h.vigil, 'POST', '/auth/token', { body: pw });
      await call(h.vigil, 'POST', '/auth/logout-all', { token: own.json()['access_token'] as string });
      assert.equal((await fhirGet(h.vigil, `Observation/${w.readings.own}`, token)).status, 401);
      const refresh = await tokenRequest(h.vigil, {
        grant_type: 'refresh_token',
        refresh_token: String(t.json['refresh_token']),
        client_id: 'growth-chart',
      });
      assert.equal(refresh.json['error'], 'invalid_grant');
    });

    const assertion = async (
      key: CryptoKey,
      alg: 'ES384' | 'RS384',
      kid: string,
      claims: { iss?: string; aud?: string; exp?: number; jti?: string } = {},
    ) => {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({})
        .setProtectedHeader({ alg, kid, typ: 'JWT' })
        .setIssuer(claims.iss ?? 'analytics')
        .setSubject(claims.iss ?? 'analytics')
        .setAudience(claims.aud ?? `${h.vigil.httpUrl}/oauth/token`)
        .setExpirationTime(claims.exp ?? now + 240)
        .setJti(claims.jti ?? crypto.randomUUID())
        .sign(key);
    };
    const backend = (clientAssertion: string, scope = 'system/Observation.rs') =>
      tokenRequest(h.vigil, {
        grant_type: 'client_credentials',
        scope,
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: clientAssertion,
      });

    test('backend services: ES384 against a registered JWKS; RS384 against a JWKS URL; the token is an integration', async () => {
      const t = await backend(await assertion(esKey, 'ES384', 'es-1'));
      assert.equal(t.status, 200, JSON.stringify(t.json));
      assert.ok(Number(t.json['expires_in']) <= 300);
      assert.equal(t.json['scope'], 'system/Observation.rs');
      assert.equal(t.json['refresh_token'], undefined);
      const token = String(t.json['access_token']);
      assert.equal((await fhirGet(h.vigil, `Observation/${w.readings.own}`, token)).status, 200);
      assert.equal(
        (await fhirGet(h.vigil, `Observation/${w.readings.other}`, token)).status,
        403,
        'consent refused',
      );
      assert.equal((await fhirGet(h.vigil, 'CareTeam', token)).status, 403, 'scope');
      const rs = await backend(
        await assertion(rsKey, 'RS384', 'rs-1', { iss: 'registry-job' }),
        'system/Patient.rs',
      );
      assert.equal(rs.status, 200, JSON.stringify(rs.json));
      const tooMuch = await backend(await assertion(esKey, 'ES384', 'es-1'), 'system/*.cruds');
      assert.equal(tooMuch.json['error'], 'invalid_scope');
    });

    test('backend services refusals: alg none, wrong aud, expired, exp beyond 5 minutes, reused jti, unknown key', async () => {
      const now = Math.floor(Date.now() / 1000);
      const unsigned = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT', kid: 'es-1' })).toString('base64url')}.${Buffer.from(
        JSON.stringify({
          iss: 'analytics',
          sub: 'analytics',
          aud: `${h.vigil.httpUrl}/oauth/token`,
          exp: now + 60,
          jti: 'n-1',
        }),
      ).toString('base64url')}.`;
      const cases: Array<[string, string, RegExp]> = [
        ['alg none', unsigned, /RS384 or ES384/],
        ['wrong aud', await assertion(esKey, 'ES384', 'es-1', { aud: `${fhirBase}` }), /aud/],
        ['expired', await assertion(esKey, 'ES384', 'es-1', { exp: now - 30 }), /expired/],
        ['exp > 5 min', await assertion(esKey, 'ES384', 'es-1', { exp: now + 600 }), /five minutes/],
        ['other key', await assertion(otherEsKey, 'ES384', 'es-1'), /signature/],
        ['unknown kid', await assertion(esKey, 'ES384', 'es-9'), /kid/],
      ];
      for (const [name, jwt, why] of cases) {
        const r = await backend(jwt);
        assert.equal(r.status, 401, name);
        assert.equal(r.json['error'], 'invalid_client', name);
        assert.match(String(r.json['error_description']), why, name);
      }
      const once = await assertion(esKey, 'ES384', 'es-1', { jti: 'only-once' });
      assert.equal((await backend(once)).status, 200);
      const replay = await backend(once);
      assert.equal(replay.status, 401);
      assert.match(String(replay.json['error_description']), /jti/);
      const persisted = await h.vigil.db.query(
        'select 1 from smart_assertion_jti where client_id = $1 and jti = $2',
        ['analytics', 'only-once'],
      );
      assert.equal(persisted.length, 1, 'jti kept in the database');
      const secretInstead = await tokenRequest(h.vigil, {
        grant_type: 'client_credentials',
        client_id: 'analytics',
      });
      assert.equal(secretInstead.json['error'], 'invalid_client');
    });

    test('a confidential app with keys: authorization code redeemed with a private_key_jwt assertion', async () => {
      const { privateKey, publicKey } = await generateKeyPair('RS384', { extractable: true });
      await registerClient(h.vigil, {
        id: 'keyed-app',
        name: 'Keyed',
        kind: 'confidential',
        redirectUris: [appRedirect],
        scopes: ['user/Observation.rs'],
        jwks: { keys: [{ ...(await exportJWK(publicKey)), kid: 'app-1' }] },
      });
      const a = baseQuery({ client_id: 'keyed-app', scope: 'user/Observation.rs' });
      const r = await authorizeOverHttp(h.vigil, a.query, clinician());
      const t = await tokenRequest(h.vigil, {
        grant_type: 'authorization_code',
        code: r.location.searchParams.get('code') as string,
        redirect_uri: appRedirect,
        code_verifier: a.verifier,
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: await assertion(privateKey, 'RS384', 'app-1', { iss: 'keyed-app' }),
      });
      assert.equal(t.status, 200, JSON.stringify(t.json));
      assert.equal(
        (await fhirGet(h.vigil, `Observation/${w.readings.own}`, String(t.json['access_token']))).status,
        200,
      );
      const cc = await backend(await assertion(privateKey, 'RS384', 'app-1', { iss: 'keyed-app' }));
      assert.equal(cc.json['error'], 'unauthorized_client', 'client_credentials is for backend clients');
    });

    test('client registration: admin only; validation; revocation stops the app at once', async () => {
      const asClin = await call(h.vigil, 'POST', '/api/v1/smart/clients', {
        token: w.tokens.clinician,
        body: { id: 'x', name: 'x', kind: 'public', redirectUris: [appRedirect], scopes: ['openid'] },
      });
      assert.equal(asClin.status, 403);
      const admin = await adminToken(h.vigil);
      const bad = await call(h.vigil, 'POST', '/api/v1/smart/clients', {
        token: admin,
        body: {
          id: 'bad',
          name: 'Bad',
          kind: 'public',
          redirectUris: ['http://evil.example/cb'],
          scopes: ['openid'],
        },
      });
      assert.equal(bad.status, 400, 'http redirect URIs only on loopback');
      const conf = await registerClient(h.vigil, {
        id: 'conf-app',
        name: 'Confidential',
        kind: 'confidential',
        redirectUris: [appRedirect],
        scopes: ['user/Observation.rs'],
      });
      assert.match(String(conf['client_secret']), /^vgc_/);
      const a = baseQuery({ client_id: 'conf-app', scope: 'user/Observation.rs' });
      const r = await authorizeOverHttp(h.vigil, a.query, clinician());
      const code = r.location.searchParams.get('code') as string;
      const noSecret = await exchange(code, a.verifier, { client_id: 'conf-app' });
      assert.equal(noSecret.json['error'], 'invalid_client');
      const b = baseQuery({ client_id: 'conf-app', scope: 'user/Observation.rs' });
      const r2 = await authorizeOverHttp(h.vigil, b.query, clinician());
      const basic = Buffer.from(`conf-app:${String(conf['client_secret'])}`).toString('base64');
      const t = await tokenRequest(
        h.vigil,
        {
          grant_type: 'authorization_code',
          code: r2.location.searchParams.get('code') as string,
          redirect_uri: appRedirect,
          code_verifier: b.verifier,
        },
        { authorization: `Basic ${basic}` },
      );
      assert.equal(t.status, 200, JSON.stringify(t.json));
      const token = String(t.json['access_token']);
      assert.equal((await fhirGet(h.vigil, `Observation/${w.readings.own}`, token)).status, 200);
      const rev = await call(h.vigil, 'POST', '/api/v1/smart/clients/conf-app/revoke', { token: admin });
      assert.equal(rev.status, 200);
      assert.equal((await fhirGet(h.vigil, `Observation/${w.readings.own}`, token)).status, 401);
      const list = await call(h.vigil, 'GET', '/api/v1/smart/clients', { token: admin });
      const ids = (list.json()['clients'] as Array<{ id: string }>).map((c) => c.id);
      assert.ok(ids.includes('growth-chart') && ids.includes('analytics'));
    });
  });
