import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';
import { call, type Harness, seedWorld, startSecured, type World } from '../security/support.ts';
import { registerClient } from '../smart/support.ts';
import { CHROMIUM, launchChromium } from '../support/chromium.ts';

/**
 * SMART's own JavaScript client (`fhirclient`, the SMART Health IT library) in real Chromium against
 * a running Vigil: a standalone patient launch (the clinician picks the patient) and an EHR launch
 * (a launch context made through Vigil's API). The app is served from another origin, as SMART
 * apps are: discovery, the token endpoint and the FHIR API are reached across origins (CORS).
 */

const root = fileURLToPath(new URL('../../', import.meta.url));
const skip = existsSync(CHROMIUM)
  ? false
  : `${CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium) to run the SMART browser test`;

const launchHtml = `<!doctype html><meta charset="utf-8"><title>launch</title><script src="/fhir-client.js"></script>
<script>
  FHIR.oauth2.authorize({
    clientId: 'browser-app',
    scope: new URL(location.href).searchParams.get('scope') || 'launch openid fhirUser patient/*.rs',
    redirectUri: 'index.html',
  }).catch((e) => { document.title = 'error'; document.body.textContent = String(e); });
</script>`;

const indexHtml = `<!doctype html><meta charset="utf-8"><title>app</title><script src="/fhir-client.js"></script>
<pre id="result"></pre>
<script>
  FHIR.oauth2.ready().then(async (client) => {
    const patient = await client.patient.read();
    const bundle = await client.request('Observation?patient=' + client.patient.id);
    const other = await client.request('Patient/pat-other').then(() => 'allowed', (e) => 'refused ' + (e.status || e.message));
    const out = {
      patient: patient.id,
      observations: (bundle.entry || []).map((e) => e.resource.subject && e.resource.subject.reference),
      fhirUser: client.getFhirUser(),
      scope: client.state.tokenResponse.scope,
      other,
    };
    const pre = document.getElementById('result');
    pre.textContent = JSON.stringify(out);
    pre.dataset.done = '1';
  }).catch((e) => {
    const pre = document.getElementById('result');
    pre.textContent = JSON.stringify({ error: String(e && e.message || e) });
    pre.dataset.done = '1';
  });
</script>`;

describe('SMART App Launch with fhirclient in Chromium', { skip }, () => {
  let h: Harness;
  let w: World;
  let app: Server;
  let appOrigin: string;
  let context: BrowserContext;
  let page: Page;
  let profileDir: string;

  before(async () => {
    h = await startSecured();
    w = await seedWorld(h.vigil);
    const clientJs = readFileSync(join(root, 'node_modules', 'fhirclient', 'build', 'fhir-client.js'));
    app = createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://app').pathname;
      const body =
        path === '/fhir-client.js'
          ? clientJs
          : path === '/launch.html'
            ? launchHtml
            : path === '/index.html'
              ? indexHtml
              : undefined;
      if (body === undefined) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, {
        'content-type': path.endsWith('.js') ? 'text/javascript' : 'text/html; charset=utf-8',
      });
      res.end(body);
    });
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
    appOrigin = `http://127.0.0.1:${(app.address() as AddressInfo).port}`;
    await registerClient(h.vigil, {
      id: 'browser-app',
      name: 'Vitals Viewer',
      kind: 'public',
      redirectUris: [`${appOrigin}/index.html`],
      launchUrl: `${appOrigin}/launch.html`,
      scopes: ['launch', 'launch/patient', 'openid', 'fhirUser', 'patient/*.rs'],
    });
    profileDir = mkdtempSync(join(tmpdir(), 'vigil-smart-chromium-'));
    context = await launchChromium(profileDir);
    page = await context.newPage();
  });

  after(async () => {
    await context?.close();
    if (profileDir) rmSync(profileDir, { recursive: true, force: true });
    await new Promise((r) => app?.close(r));
    await h?.close();
  });

  const signInAndAllow = async (patient?: string) => {
    await page.waitForSelector('#sign-in', { timeout: 20_000 });
    await page.fill('#username', 'clin');
    await page.fill('#password', w.users.clinician.password);
    await page.click('#sign-in');
    await page.waitForSelector('#allow', { timeout: 20_000 });
    const consent = await page.content();
    if (patient) await page.check(`input[name="patient"][value="${patient}"]`);
    await page.click('#allow');
    await page.waitForSelector('#result[data-done]', { timeout: 30_000 });
    const result = JSON.parse((await page.textContent('#result')) ?? '{}') as Record<string, unknown>;
    return { consent, result };
  };

  it('standalone patient launch: sign-in, consent with a patient picker, then FHIR reads of that patient', async () => {
    const iss = `${h.vigil.httpUrl}/fhir`;
    await page.goto(
      `${appOrigin}/launch.html?iss=${encodeURIComponent(iss)}&scope=${encodeURIComponent('launch/patient openid fhirUser patient/*.rs')}`,
    );
    const { consent, result } = await signInAndAllow(w.own);
    assert.match(consent, /Vitals Viewer/);
    assert.match(consent, /patient\/\*\.rs/);
    assert.equal(result['error'], undefined, JSON.stringify(result));
    assert.equal(result['patient'], w.own);
    const obs = result['observations'] as string[];
    assert.ok(obs.length > 0 && obs.every((s) => s === `Patient/${w.own}`), JSON.stringify(obs));
    assert.equal(result['fhirUser'], 'Practitioner/pr-clin');
    assert.match(String(result['other']), /refused 403/);
  });

  it('EHR launch: a launch context from Vigil opens the app on its patient without a picker', async () => {
    const clin = await call(h.vigil, 'POST', '/auth/token', {
      body: { username: 'clin', password: w.users.clinician.password },
    });
    const r = await fetch(new URL('/api/v1/smart/launch', h.vigil.httpUrl), {
      method: 'POST',
      headers: {
        authorization: `Bearer ${clin.json()['access_token'] as string}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ patientId: w.own, clientId: 'browser-app' }),
    });
    assert.equal(r.status, 201);
    const { launchUrl } = (await r.json()) as { launchUrl: string };
    assert.ok(launchUrl.startsWith(`${appOrigin}/launch.html?iss=`));
    await page.goto(launchUrl);
    const { consent, result } = await signInAndAllow();
    assert.doesNotMatch(consent, /type="radio"/);
    assert.equal(result['error'], undefined, JSON.stringify(result));
    assert.equal(result['patient'], w.own);
    assert.match(String(result['scope']), /launch/);
    assert.ok((result['observations'] as string[]).length > 0);
  });
});
