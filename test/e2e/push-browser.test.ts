import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';
import { addStaff, type Running, startTestVigil } from '../dashboard/seed.ts';
import { CHROMIUM, launchChromium } from '../support/chromium.ts';

/**
 * The dashboard's side of Web Push in real Chromium: the "Notify me on this browser" control is
 * there when the server has Web Push, the service worker installs, and a push delivered to it (through
 * the DevTools protocol, as a push service would) becomes a notification with the Acknowledge action.
 * Subscribing itself needs the browser's own push service (Google's, for Chromium), which this
 * closed network cannot reach: that step is not tested here (docs/notifications.md).
 */
const root = fileURLToPath(new URL('../../', import.meta.url));
const shots = join(root, 'test-results', 'screenshots');
const PW = 'clinician-password-2026';
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} not found: install Debian's chromium`;

describe('Web Push in the dashboard (Chromium)', { skip }, () => {
  let s: Running;
  let context: BrowserContext;
  let page: Page;
  let profileDir: string;

  before(async () => {
    if (!existsSync(join(root, 'web', 'dist', 'push-sw.js')))
      execFileSync(join(root, 'node_modules', '.bin', 'vite'), ['build', 'web', '--logLevel', 'warn'], {
        cwd: root,
      });
    mkdirSync(shots, { recursive: true });
    s = await startTestVigil({ VIGIL_PUSH_SUBJECT: 'mailto:ops@hospital.example' });
    await addStaff(s.url, s.admin, 'dr.push', 'clinician', { given: 'Ana', family: 'Push' }, PW);
    profileDir = mkdtempSync(join(tmpdir(), 'vigil-push-chromium-'));
    context = await launchChromium(profileDir);
    await context.grantPermissions(['notifications'], { origin: s.url });
    page = context.pages()[0] ?? (await context.newPage());
  });
  after(async () => {
    await context?.close().catch(() => {});
    if (profileDir) rmSync(profileDir, { recursive: true, force: true });
    await s?.stop();
  });

  it('offers browser alerts, installs the service worker, and shows a pushed alert with Acknowledge and Open', async () => {
    await page.goto(`${s.url}/`);
    await page.getByLabel('Username').fill('dr.push');
    await page.getByLabel('Password').fill(PW);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Worklist' }).waitFor();
    const toggle = page.getByRole('button', { name: 'Notify me on this browser' });
    await toggle.waitFor();
    await page.screenshot({ path: join(shots, 'push-01-toggle.png') });

    // the worker the toggle registers (registered here directly: subscribing needs Google's push service)
    const scope = await page.evaluate(async () => {
      const reg = await navigator.serviceWorker.register('/push-sw.js', { scope: '/' });
      await navigator.serviceWorker.ready;
      return reg.scope;
    });
    assert.equal(scope, `${s.url}/`);
    const cdp = await context.newCDPSession(page);
    const registrations: Array<{ registrationId: string; scopeURL: string }> = [];
    cdp.on('ServiceWorker.workerRegistrationUpdated', (e: { registrations: typeof registrations }) => {
      registrations.push(...e.registrations);
    });
    const workerErrors: string[] = [];
    cdp.on('ServiceWorker.workerErrorReported', (e: { errorMessage: { errorMessage: string } }) =>
      workerErrors.push(e.errorMessage.errorMessage),
    );
    await cdp.send('ServiceWorker.enable');
    for (let i = 0; i < 50 && !registrations.some((r) => r.scopeURL === `${s.url}/`); i++)
      await new Promise((r) => setTimeout(r, 100));
    const reg = registrations.find((r) => r.scopeURL === `${s.url}/`);
    assert.ok(reg, 'the service worker registration is visible to DevTools');
    await cdp.send('ServiceWorker.deliverPushMessage', {
      origin: s.url,
      registrationId: reg.registrationId,
      data: JSON.stringify({
        v: 1,
        title: 'Vigil CRITICAL: SpO2 84 % below 88 %',
        body: 'SpO2 84 % below 88 %. Severity critical; raised (nurse, tier 1).',
        alertId: 'alert-1',
        severity: 'critical',
        path: '/alerts/alert-1',
        ackToken: 'a.b.c',
      }),
    });
    let shown: Array<{ title: string; actions: string[]; requireInteraction: boolean }> = [];
    for (let i = 0; i < 40 && shown.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 250));
      shown = await page.evaluate(async () => {
        const r = await navigator.serviceWorker.getRegistration('/');
        const ns = (await r?.getNotifications()) ?? [];
        return ns.map((n) => ({
          title: n.title,
          actions: ((n as Notification & { actions?: Array<{ action: string }> }).actions ?? []).map(
            (a) => a.action,
          ),
          requireInteraction: n.requireInteraction,
        }));
      });
    }
    assert.deepEqual(workerErrors, [], 'the service worker handled the push without an error');
    assert.deepEqual(shown, [
      { title: 'Vigil CRITICAL: SpO2 84 % below 88 %', actions: ['ack', 'open'], requireInteraction: true },
    ]);
  });
});
