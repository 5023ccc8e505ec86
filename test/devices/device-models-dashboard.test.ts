import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { addStaff, must, type Running, startTestVigil } from '../dashboard/seed.ts';
import {
  buildDashboardIfStale,
  chromiumSkip,
  type DashboardBrowser,
  openDashboardBrowser,
  screenshotsDir,
  signInToDashboard,
} from '../support/chromium.ts';

/**
 * The Devices page in real Chromium shows each device's regulatory findings from the device-model
 * catalogue, and filters to them. Screenshot: test-results/screenshots/11-devices-regulatory.png.
 */

const shots = screenshotsDir;
const NURSE_PW = 'nurse-password-2026';
const skip = chromiumSkip;

describe('Devices page: regulatory findings in Chromium', { skip }, () => {
  let s: Running;
  let page: Page;
  let browser: DashboardBrowser | undefined;

  before(async () => {
    buildDashboardIfStale();
    s = await startTestVigil();
    await addStaff(s.url, s.admin, 'nurse.reg', 'nurse', { given: 'Sam', family: 'Reyes' }, NURSE_PW);
    await must(s.url, s.admin, 'POST', '/api/v1/device-models', {
      id: 'acme-bp-200',
      manufacturer: 'Acme Medical',
      model: 'BP-200',
      udiDi: '00614141999996',
      fdaClass: 'II',
      fdaPathway: '510k',
      fdaNumber: 'K201234',
      euMdrClass: 'IIa',
      ceNotifiedBody: '0123',
      endOfSupport: '2999-12-31',
    });
    await must(s.url, s.admin, 'POST', '/api/v1/device-models', {
      id: 'old-ox',
      manufacturer: 'Nova',
      model: 'OX-1',
      fdaPathway: '510k',
      fdaNumber: 'K190001',
      euMdrClass: 'I',
      endOfSupport: '2001-03-31',
    });
    await must(s.url, s.admin, 'POST', '/api/v1/device-models/acme-bp-200/advisories', {
      kind: 'recall',
      reference: 'Z-0421-2026',
      title: 'Cuff valve may not deflate',
      issuedOn: '2026-03-02',
    });
    for (const [id, kind, model] of [
      ['cuff-reg', 'blood-pressure-cuff', 'acme-bp-200'],
      ['ox-reg', 'pulse-oximeter', 'old-ox'],
      ['scale-reg', 'scale', null],
    ] as const) {
      await must(s.url, s.admin, 'POST', '/api/v1/devices', { id, kind });
      if (model) await must(s.url, s.admin, 'PUT', `/api/v1/devices/${id}/model`, { modelId: model });
    }
    browser = await openDashboardBrowser();
    page = browser.page;
  });

  after(async () => {
    await browser?.close();
    await s?.stop();
  });

  it('a nurse sees each device’s findings and filters to them', async () => {
    await signInToDashboard(page, `${s.url}/`, 'nurse.reg', NURSE_PW);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name: 'Devices' }).click();
    await page.getByRole('heading', { name: 'Devices' }).waitFor();
    await page.getByText('3 with regulatory findings').waitFor();
    const cell = (id: string) => page.locator(`td[data-regulatory="${id}"]`).textContent();
    assert.equal(await cell('cuff-reg'), 'Open recall');
    assert.equal(await cell('ox-reg'), 'End of support');
    assert.equal(await cell('scale-reg'), 'Model not in the register');
    const recall = page.locator('td[data-regulatory="cuff-reg"] .pill');
    assert.equal(await recall.getAttribute('title'), 'Z-0421-2026: Cuff valve may not deflate');
    await page.getByLabel('Show').selectOption('regulatory');
    assert.equal(await page.locator('tbody tr').count(), 3);
    await page.screenshot({ path: join(shots, '11-devices-regulatory.png'), fullPage: true });

    // closing the recall: the cuff's model is recorded and clean; the filter drops it
    const adv = await must<{ advisories: Array<{ id: string }> }>(
      s.url,
      s.admin,
      'GET',
      '/api/v1/device-models/acme-bp-200/advisories',
    );
    await must(
      s.url,
      s.admin,
      'POST',
      `/api/v1/device-models/acme-bp-200/advisories/${adv.advisories[0]!.id}/close`,
      {
        closedOn: '2026-04-01',
      },
    );
    await page.reload();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name: 'Devices' }).click();
    await page.getByText('2 with regulatory findings').waitFor();
    assert.equal(await cell('cuff-reg'), 'Recorded');
  });
});
