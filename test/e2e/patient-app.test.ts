import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';
import {
  addDevice,
  addPatient,
  addStaff,
  must,
  push,
  type Running,
  signIn as signInAs,
  startTestVigil,
} from '../dashboard/seed.ts';
import { CHROMIUM, launchChromium } from '../support/chromium.ts';

/**
 * The patient app in real Chromium at a phone's width: an invitation from the care team, the first
 * sign-in, the patient's own readings in plain words; the same in Spanish and in Arabic
 * (right-to-left, nothing wider than a 320 px screen); axe-core finds no serious or critical
 * accessibility violation on any screen. Screenshots: test-results/screenshots/patient-*.png.
 */
const root = fileURLToPath(new URL('../../', import.meta.url));
const shots = join(root, 'test-results', 'screenshots');
const axePath = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} not found: install Debian's chromium`;

async function axeSerious(page: Page): Promise<string[]> {
  await page.addScriptTag({ path: axePath });
  const violations = await page.evaluate(async () => {
    const r = await (
      window as unknown as {
        axe: {
          run: () => Promise<{ violations: Array<{ id: string; impact: string | null; nodes: unknown[] }> }>;
        };
      }
    ).axe.run();
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, n: v.nodes.length }));
  });
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}, ${v.n})`);
}

const overflow = (page: Page) =>
  page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);

describe('patient app in Chromium', { skip }, () => {
  let s: Running;
  let context: BrowserContext;
  let page: Page;
  let profileDir: string;
  let patientId: string;
  let inviteUrl: string;
  let cuffSecret: string;

  before(async () => {
    if (!existsSync(join(root, 'web', 'dist', 'patient', 'index.html')))
      execFileSync(join(root, 'node_modules', '.bin', 'vite'), ['build', 'web', '--logLevel', 'warn'], {
        cwd: root,
      });
    mkdirSync(shots, { recursive: true });
    s = await startTestVigil();
    const { practitionerId } = await addStaff(
      s.url,
      s.admin,
      'nurse.ortiz',
      'nurse',
      { given: 'Lucia', family: 'Ortiz' },
      'nurse-password-2026',
    );
    patientId = await addPatient(
      s.url,
      s.admin,
      { given: 'Maria', family: 'Garcia', program: 'hypertension' },
      [practitionerId],
    );
    // detection follows the patient's monitoring (the program's rules)
    await must(s.url, s.admin, 'PUT', `/api/v1/patients/${patientId}/monitoring`, {
      monitoring: { programs: ['hypertension'] },
      reason: 'home blood pressure monitoring',
    });
    const now = Date.now();
    const secret = await addDevice(
      s.url,
      s.admin,
      { id: 'cuff-maria', kind: 'blood-pressure-cuff' },
      patientId,
      now - 86_400_000,
    );
    cuffSecret = secret;
    await push(s.url, secret, [
      {
        messageId: 'bp-1',
        time: new Date(now - 3600_000).toISOString(),
        type: 'blood-pressure',
        unit: 'mmHg',
        components: { systolic: 142, diastolic: 91 },
      },
      {
        messageId: 'w-1',
        time: new Date(now - 3000_000).toISOString(),
        type: 'weight',
        value: 70,
        unit: 'kg',
      },
    ]);
    const inv = await must<{ url: string }>(
      s.url,
      s.admin,
      'POST',
      `/api/v1/patients/${patientId}/invitations`,
      {},
    );
    inviteUrl = inv.url.replace(/^https?:\/\/[^/]+/, s.url);
    profileDir = mkdtempSync(join(tmpdir(), 'vigil-patient-chromium-'));
    context = await launchChromium(profileDir, { locale: 'en-US' });
    page = context.pages()[0] ?? (await context.newPage());
    await page.setViewportSize({ width: 390, height: 844 });
  });
  after(async () => {
    await context?.close().catch(() => {});
    if (profileDir) rmSync(profileDir, { recursive: true, force: true });
    await s?.stop();
  });

  it('invitation → own account → own readings in plain words, with the safety notice', async () => {
    await page.goto(inviteUrl);
    await page.getByRole('heading', { name: 'Set up your account' }).waitFor();
    assert.deepEqual(await axeSerious(page), []);
    await page.getByLabel('Pick a user name').fill('maria.garcia');
    await page.getByLabel(/Pick a password/).fill('maria-password-2026');
    await page.screenshot({ path: join(shots, 'patient-01-invitation.png'), fullPage: true });
    await page.getByRole('button', { name: 'Make my account' }).click();
    await page.getByRole('heading', { name: 'Today' }).waitFor();
    await page.getByText('142/91 mmHg').waitFor();
    assert.ok(await page.getByText('blood pressure').first().isVisible());
    assert.ok(await page.getByText(/Do not use this app in an emergency/).isVisible());
    // who watches, from the care team's hours (the default critical-alert policy: weekdays 08:00–18:00 UTC)
    await page
      .getByText(/Your care team looks at your readings Monday to Friday, from 8:00\sAM to 6:00\sPM\./)
      .waitFor();
    assert.ok(await page.getByText(/very bad readings go to the nurse or doctor on call/).isVisible());
    assert.ok(await page.getByText('Nothing to do right now. Well done.').isVisible());
    assert.deepEqual(await axeSerious(page), [], 'today screen');
    await page.screenshot({ path: join(shots, 'patient-02-today-en.png'), fullPage: true });

    await page.getByRole('button', { name: 'My readings' }).click();
    await page.getByText('70 kg').waitFor();
    await page.getByLabel('Units').selectOption('us');
    await page.getByText('154.3 lb').waitFor();
    assert.deepEqual(await axeSerious(page), [], 'readings screen');
    await page.screenshot({ path: join(shots, 'patient-03-readings-en.png'), fullPage: true });
  });

  it('an out-of-range home reading asks for a repeat; the repeat closes the request; the clinician sees both readings', async () => {
    const now = Date.now();
    await push(s.url, cuffSecret, [
      {
        messageId: 'bp-crisis-1',
        time: new Date(now - 6 * 60_000).toISOString(),
        type: 'blood-pressure',
        unit: 'mmHg',
        components: { systolic: 186, diastolic: 124 },
      },
    ]);
    await page.getByRole('button', { name: 'Today' }).click();
    const request = page.getByText('Please measure your blood pressure again.');
    for (let i = 0; i < 40 && !(await request.isVisible()); i++) {
      await page.waitForTimeout(500);
      await page.reload();
      await page.getByRole('heading', { name: 'Today' }).waitFor();
    }
    await request.waitFor();
    assert.ok(await page.getByText(/Please do it by/).isVisible());
    assert.deepEqual(await axeSerious(page), [], 'today with a request');
    await page.screenshot({ path: join(shots, 'patient-02b-request.png'), fullPage: true });

    await push(s.url, cuffSecret, [
      {
        messageId: 'bp-crisis-2',
        time: new Date(now).toISOString(),
        type: 'blood-pressure',
        unit: 'mmHg',
        components: { systolic: 184, diastolic: 121 },
      },
    ]);
    const done = page.locator('[data-request-status="fulfilled"]');
    for (let i = 0; i < 40 && (await done.count()) === 0; i++) {
      await page.waitForTimeout(500);
      await page.reload();
      await page.getByRole('heading', { name: 'Today' }).waitFor();
    }
    await done.getByText('Done. Thank you.').waitFor();
    assert.equal(await page.getByText('Please do it by').count(), 0, 'no open request left');
    await page.screenshot({ path: join(shots, 'patient-02c-request-done.png'), fullPage: true });

    // the clinician's side: the confirmed crisis alert carries both readings
    const nurse = await signInAs(s.url, 'nurse.ortiz', 'nurse-password-2026');
    const alerts = await must<{ alerts: Array<{ rule: string; evidence: string[]; summary: string }> }>(
      s.url,
      nurse,
      'GET',
      `/api/v1/alerts?patient=${patientId}`,
    );
    const crisis = alerts.alerts.find((a) => a.rule === 'hypertensive-crisis');
    assert.ok(crisis, JSON.stringify(alerts.alerts.map((a) => a.rule)));
    assert.equal(crisis.evidence.length, 2, 'both readings are the evidence');
    assert.match(crisis.summary, /confirmed by a repeat/);
    const reqs = await must<{ measurementRequests: Array<{ status: string; fulfilledBy: string | null }> }>(
      s.url,
      nurse,
      'GET',
      `/api/v1/patients/${patientId}/measurement-requests`,
    );
    assert.deepEqual(
      reqs.measurementRequests.map((r) => [r.status, r.fulfilledBy !== null]),
      [['fulfilled', true]],
    );
  });

  it('types in a reading in lb, sees My devices with the fix for a silent scale, changes a consent, downloads a summary, asks for erasure', async () => {
    await page.getByRole('button', { name: 'My readings' }).click();
    await page.getByLabel('Units').selectOption('us');
    await page.getByRole('button', { name: 'Type in a reading' }).click();
    await page.getByLabel('What did you measure?').selectOption('weight');
    await page.getByLabel(/^Number/).fill('abc');
    await page.getByRole('button', { name: 'Save my reading' }).click();
    await page.getByText('Please type a number, like 120.').waitFor();
    await page.getByLabel(/^Number/).fill('2000');
    await page.getByRole('button', { name: 'Save my reading' }).click();
    await page.getByText('That number looks wrong.', { exact: false }).waitFor();
    assert.deepEqual(await axeSerious(page), [], 'entry form with an error');
    await page.screenshot({ path: join(shots, 'patient-08-entry-en.png'), fullPage: true });
    await page.getByLabel(/^Number/).fill('176.4');
    await page.getByRole('button', { name: 'Save my reading' }).click();
    await page.getByText('Saved. Thank you.', { exact: false }).waitFor();
    const mine = page.locator('li[data-entered="yes"]');
    await mine.getByText('176.4 lb').waitFor();
    assert.ok(await mine.getByText(/typed in by you/).isVisible());
    const stored = await s.vigil.db.query<{ value: number; patient_id: string; device_id: string }>(
      `select value, patient_id, device_id from observation where code = '29463-7' order by received desc limit 1`,
    );
    assert.equal(stored[0]?.patient_id, patientId);
    assert.equal(stored[0]?.device_id, `patient:${patientId}`);
    assert.ok(Math.abs((stored[0]?.value ?? 0) - 176.4 * 0.45359237) < 0.01, 'stored in kg');

    // a scale that has been silent three days, with a low battery
    await addDevice(
      s.url,
      s.admin,
      { id: 'scale-maria', kind: 'scale' },
      patientId,
      Date.now() - 7 * 86_400_000,
    );
    await s.vigil.db.query(
      `update device set last_seen = now() - interval '3 days', battery_percent = 12 where id = 'scale-maria'`,
    );
    await page.getByRole('button', { name: 'My devices' }).click();
    const scale = page.locator('[data-device-state="offline"]');
    await scale.getByText(/Your scale has not sent a reading since/).waitFor();
    assert.ok(await scale.getByText(/Keep it near your phone or hub/).isVisible());
    assert.ok(await scale.getByText('The battery is low.', { exact: false }).isVisible());
    assert.ok(await page.locator('[data-device-state="online"]').getByText('It is working.').isVisible());
    assert.deepEqual(await axeSerious(page), [], 'My devices');
    await page.screenshot({ path: join(shots, 'patient-09-devices-en.png'), fullPage: true });

    await page.getByRole('button', { name: 'My data' }).click();
    const research = page.locator('[data-consent="research"]');
    await research.waitFor();
    assert.equal(await research.getAttribute('data-permitted'), 'no', 'research needs a yes');
    await research.getByLabel('Yes').check();
    await page.locator('[data-consent="research"][data-permitted="yes"]').waitFor();
    const consents = await must<{ decisions: Record<string, { permitted: boolean; basis: string }> }>(
      s.url,
      s.admin,
      'GET',
      `/api/v1/patients/${patientId}/consents`,
    );
    assert.deepEqual(consents.decisions['research'], {
      ...consents.decisions['research'],
      permitted: true,
      basis: 'consent',
    });
    assert.deepEqual(await axeSerious(page), [], 'My data');

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Get a page I can read' }).click(),
    ]);
    const html = readFileSync(await download.path(), 'utf8');
    assert.match(html, /<h1>My health data<\/h1>/);
    assert.match(html, /176\.4 lb/);
    assert.match(html, /Use my readings for research: Yes/);
    assert.ok(!html.includes('<script'), 'a page to read, nothing that runs');

    await page.getByRole('button', { name: 'Ask to delete my data' }).click();
    await page.getByRole('button', { name: 'Yes, ask to delete my data' }).click();
    await page.locator('[data-erasure="open"]').waitFor();
    await page.screenshot({ path: join(shots, 'patient-10-data-en.png'), fullPage: true });
    const queue = await must<{ erasureRequests: Array<{ patientId: string; status: string }> }>(
      s.url,
      s.admin,
      'GET',
      '/api/v1/erasure-requests?status=open',
    );
    assert.deepEqual(
      queue.erasureRequests.map((r) => r.patientId),
      [patientId],
      'the administrator sees the request; nothing was deleted',
    );
    const still = await must<{ id: string }>(s.url, s.admin, 'GET', `/fhir/Patient/${patientId}`);
    assert.equal(still.id, patientId);
  });

  it('in Spanish and in Arabic (right to left, no horizontal overflow at 320 px), dates and numbers in the locale', async () => {
    await page.getByRole('button', { name: 'My readings' }).click();
    await page.getByLabel('Units').selectOption('us');
    await page.getByLabel('Language').selectOption('es');
    await page.getByRole('heading', { name: 'Mis mediciones' }).waitFor();
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'es');
    assert.ok(await page.getByText('154,3 lb').isVisible(), 'Spanish decimal comma');
    assert.deepEqual(await axeSerious(page), [], 'Spanish readings');
    await page.screenshot({ path: join(shots, 'patient-04-readings-es.png'), fullPage: true });

    await page.setViewportSize({ width: 320, height: 700 });
    await page.getByLabel('Idioma').selectOption('ar');
    await page.getByRole('heading', { name: 'قياساتي' }).waitFor();
    assert.equal(await page.evaluate(() => document.documentElement.dir), 'rtl');
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'ar');
    assert.ok((await overflow(page)) <= 0, `horizontal overflow ${await overflow(page)} px at 320 px`);
    await page.getByRole('button', { name: 'اليوم' }).click();
    await page.getByRole('heading', { name: 'اليوم' }).waitFor();
    assert.ok((await overflow(page)) <= 0, 'today in Arabic fits 320 px');
    assert.deepEqual(await axeSerious(page), [], 'Arabic today');
    await page.screenshot({ path: join(shots, 'patient-05-today-ar-320.png'), fullPage: true });

    await page.getByLabel('خط كبير').check();
    assert.ok((await overflow(page)) <= 0, 'large text fits 320 px');
    await page.screenshot({ path: join(shots, 'patient-06-today-ar-large.png'), fullPage: true });
    for (const [tab, shot] of [
      ['أجهزتي', 'patient-11-devices-ar-large.png'],
      ['بياناتي', 'patient-12-data-ar-large.png'],
    ] as const) {
      await page.getByRole('button', { name: tab }).click();
      await page.getByRole('heading', { name: tab, level: 1 }).waitFor();
      assert.ok((await overflow(page)) <= 0, `${tab} in Arabic, large text, fits 320 px`);
      assert.deepEqual(await axeSerious(page), [], `Arabic ${tab}`);
      await page.screenshot({ path: join(shots, shot), fullPage: true });
    }
    await page.getByRole('button', { name: 'قياساتي' }).click();
    await page.getByRole('button', { name: 'اكتب قراءة' }).click();
    assert.ok((await overflow(page)) <= 0, 'the entry form in Arabic fits 320 px');
    assert.deepEqual(await axeSerious(page), [], 'Arabic entry form');
    await page.screenshot({ path: join(shots, 'patient-13-entry-ar-large.png'), fullPage: true });
    await page.getByLabel('خط كبير').uncheck();
  });
  it('adds a passkey and signs in with it (Chromium virtual authenticator, user verified)', async () => {
    // WebAuthn needs a domain, not an IP address: the same server as http://localhost
    const origin = s.url.replace('127.0.0.1', 'localhost');
    const p = await context.newPage();
    await p.setViewportSize({ width: 390, height: 844 });
    const cdp = await context.newCDPSession(p);
    await cdp.send('WebAuthn.enable');
    await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2',
        transport: 'internal',
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
      },
    });
    await p.goto(`${origin}/patient/`);
    await p.getByLabel('Language').selectOption('en');
    await p.getByLabel('User name').fill('maria.garcia');
    await p.getByLabel('Password').fill('maria-password-2026');
    await p.getByRole('button', { name: 'Sign in', exact: true }).click();
    await p.getByRole('heading', { name: 'Today' }).waitFor();
    await p.getByRole('button', { name: 'Add a passkey to this phone' }).click();
    await p.getByText(/Next time you can sign in with this phone's lock/).waitFor();
    await p.getByRole('button', { name: 'Sign out' }).click();
    await p.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await p.getByRole('heading', { name: 'Today' }).waitFor();
    await p.getByText('184/121 mmHg').waitFor();
    await p.screenshot({ path: join(shots, 'patient-07-passkey-signed-in.png'), fullPage: true });
    const audit = await s.vigil.db.query<{ outcome: string }>(
      `select outcome from audit_event where subtype_code = 'login-passkey'`,
    );
    assert.deepEqual(
      audit.map((a) => a.outcome),
      ['0'],
      'one successful passkey sign-in audited',
    );
    await p.close();
  });
});
