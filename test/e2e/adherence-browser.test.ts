import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
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
  startTestVigil,
} from '../dashboard/seed.ts';
import { CHROMIUM, launchChromium } from '../support/chromium.ts';

/**
 * Medication adherence seen in Chromium: the dashboard patient page's adherence panel (a nurse) and
 * the patient app's "My medicines" (the patient, in English and Arabic). Screenshots:
 * test-results/screenshots/adherence-*.png.
 */
const root = fileURLToPath(new URL('../../', import.meta.url));
const shots = join(root, 'test-results', 'screenshots');
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} not found: install Debian's chromium`;
const ADHERENCE_DEVICE = 'https://vigil.example.org/fhir/StructureDefinition/adherence-device';

describe('medication adherence in Chromium', { skip }, () => {
  let s: Running;
  let context: BrowserContext;
  let page: Page;
  let profileDir: string;
  let patientId: string;
  let inviteUrl: string;

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
      'nurse.adeyemi',
      'nurse',
      { given: 'Tola', family: 'Adeyemi' },
      'nurse-password-2026',
    );
    patientId = await addPatient(s.url, s.admin, { given: 'Omar', family: 'Haddad', program: 'copd' }, [
      practitionerId,
    ]);
    await must(s.url, s.admin, 'PUT', `/api/v1/patients/${patientId}/monitoring`, {
      monitoring: { programs: ['copd'] },
      reason: 'COPD',
    });
    const now = Date.now();
    const blue = await addDevice(
      s.url,
      s.admin,
      { id: 'inh-blue', kind: 'smart-inhaler' },
      patientId,
      now - 3 * 86_400_000,
    );
    const brown = await addDevice(
      s.url,
      s.admin,
      { id: 'inh-brown', kind: 'smart-inhaler' },
      patientId,
      now - 3 * 86_400_000,
    );
    const link = (d: string) => [{ url: ADHERENCE_DEVICE, valueReference: { reference: `Device/${d}` } }];
    await must(s.url, s.admin, 'POST', '/fhir/MedicationRequest', {
      resourceType: 'MedicationRequest',
      status: 'active',
      intent: 'order',
      subject: { reference: `Patient/${patientId}` },
      medicationCodeableConcept: { text: 'Salbutamol inhaler' },
      dosageInstruction: [{ asNeededBoolean: true }],
      extension: link('inh-blue'),
    });
    // one dose every 6 hours, so that doses fall due whatever the time of the run
    const times = [0, 6, 12, 18].map((h) => `${String(h).padStart(2, '0')}:00:00`);
    await must(s.url, s.admin, 'POST', '/fhir/MedicationRequest', {
      resourceType: 'MedicationRequest',
      status: 'active',
      intent: 'order',
      subject: { reference: `Patient/${patientId}` },
      medicationCodeableConcept: { text: 'Fluticasone inhaler' },
      dosageInstruction: [{ timing: { repeat: { timeOfDay: times } } }],
      dispenseRequest: { validityPeriod: { start: new Date(now - 2 * 86_400_000).toISOString() } },
      extension: link('inh-brown'),
    });
    // the controller taken at every due time of yesterday, the reliever twice in the last hours
    const day = Math.floor(now / 86_400_000) * 86_400_000 - 86_400_000;
    await push(
      s.url,
      brown,
      [0, 6, 12, 18].map((h) => ({
        messageId: `b-${h}`,
        time: new Date(day + h * 3600_000 + 5 * 60_000).toISOString(),
        type: 'controller-inhaler',
        value: 2,
        unit: '{actuation}',
      })),
    );
    await push(s.url, blue, [
      {
        messageId: 'r-1',
        time: new Date(now - 2 * 3600_000).toISOString(),
        type: 'rescue-inhaler',
        value: 2,
        unit: '{actuation}',
      },
      {
        messageId: 'r-2',
        time: new Date(now - 3600_000).toISOString(),
        type: 'rescue-inhaler',
        value: 1,
        unit: '{actuation}',
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
    profileDir = mkdtempSync(join(tmpdir(), 'vigil-adherence-chromium-'));
    context = await launchChromium(profileDir, { locale: 'en-US' });
    page = context.pages()[0] ?? (await context.newPage());
  });
  after(async () => {
    await context?.close().catch(() => {});
    if (profileDir) rmSync(profileDir, { recursive: true, force: true });
    await s?.stop();
  });

  it('the dashboard patient page shows on-time doses and reliever uses per day', async () => {
    await page.setViewportSize({ width: 1440, height: 1000 });
    await page.goto(`${s.url}/`);
    await page.getByLabel('Username').fill('nurse.adeyemi');
    await page.getByLabel('Password').fill('nurse-password-2026');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('tr[data-patient-row] button.patient-link').first().click();
    const panel = page.locator('[data-panel="adherence"]');
    await panel.waitFor();
    await panel.getByText('Fluticasone inhaler').waitFor();
    const doses = await panel.locator('[data-doses]').innerText();
    assert.match(doses, /on time 4\/\d+/, doses);
    const uses = await panel.locator('[data-rescue-uses]').innerText();
    const total = [...uses.matchAll(/: (\d+)/g)].reduce((n, m) => n + Number(m[1]), 0);
    assert.equal(total, 2, uses);
    await page.screenshot({ path: join(shots, 'adherence-01-dashboard.png'), fullPage: true });
  });

  it('the patient app shows My medicines in plain words, in English and in Arabic', async () => {
    await context.clearCookies();
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(inviteUrl);
    await page.getByLabel('Pick a user name').fill('omar.haddad');
    await page.getByLabel(/Pick a password/).fill('omar-password-2026');
    await page.getByRole('button', { name: 'Make my account' }).click();
    await page.getByRole('heading', { name: 'My medicines' }).waitFor();
    assert.ok(await page.getByText(/This week you took 4 of \d+ doses on time\./).isVisible());
    const rescue = page.locator('[data-adherence="rescue"]');
    const text = await rescue.innerText();
    assert.match(text, /Salbutamol inhaler/);
    assert.match(text, /Times you used this inhaler today: [0-2]\./);
    assert.equal(await page.getByText(/actuations/).count(), 0, 'device events are not listed as readings');
    await page.screenshot({ path: join(shots, 'adherence-02-patient-en.png'), fullPage: true });
    await page.getByLabel('Language').selectOption('ar');
    await page.getByRole('heading', { name: 'أدويتي' }).waitFor();
    assert.equal(await page.evaluate(() => document.documentElement.dir), 'rtl');
    await page.screenshot({ path: join(shots, 'adherence-03-patient-ar.png'), fullPage: true });
  });
});
