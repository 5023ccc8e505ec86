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
 * The Devices page in real Chromium shows the edge hubs with the health they last reported (queue,
 * disk, clock offset, contact) and the devices behind each. Screenshot:
 * test-results/screenshots/edge-hubs-devices.png.
 */

const NURSE_PW = 'nurse-password-2026';
const GiB = 1024 ** 3;

describe('Devices page: edge hubs in Chromium', { skip: chromiumSkip }, () => {
  let s: Running;
  let page: Page;
  let browser: DashboardBrowser | undefined;

  before(async () => {
    buildDashboardIfStale();
    s = await startTestVigil({ VIGIL_MQTT_PORT: 'off' });
    await addStaff(s.url, s.admin, 'nurse.hub', 'nurse', { given: 'Ada', family: 'Okafor' }, NURSE_PW);
    const secrets: Record<string, string> = {};
    for (const [id, kind] of [
      ['ward-7-hub', 'gateway'],
      ['home-3-hub', 'gateway'],
      ['oxi-w7-1', 'pulse-oximeter'],
      ['oxi-w7-2', 'pulse-oximeter'],
      ['cuff-w7-1', 'blood-pressure-cuff'],
    ] as const) {
      const d = await must<{ secret: string }>(s.url, s.admin, 'POST', '/api/v1/devices', { id, kind });
      secrets[id] = d.secret;
    }
    for (const id of ['oxi-w7-1', 'oxi-w7-2', 'cuff-w7-1'])
      await must(s.url, s.admin, 'PUT', `/api/v1/gateways/ward-7-hub/devices/${id}`);
    await must(s.url, s.admin, 'POST', '/api/v1/devices/oxi-w7-2/revoke');
    // the ward hub reports its health (an empty forward), as it does every 30 s
    const res = await fetch(`${s.url}/ingest/v1/edge/forward`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secrets['ward-7-hub']}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        sentAt: new Date().toISOString(),
        health: {
          queueDepth: 1234,
          oldestQueuedAt: new Date(Date.now() - 600_000).toISOString(),
          uplink: 'up',
          clockOffsetSeconds: 0.42,
          summarisedReadings: 0,
          droppedReadings: 0,
          rejectedRecords: 2,
          diskFreeBytes: 2.4 * GiB,
          diskTotalBytes: 29.7 * GiB,
          provisioningVersion: '"abc"',
          provisionedAt: new Date(Date.now() - 120_000).toISOString(),
        },
        records: [],
      }),
    });
    assert.equal(res.status, 200, await res.text());
    browser = await openDashboardBrowser();
    page = browser.page;
  });

  after(async () => {
    await browser?.close();
    await s?.stop();
  });

  it('a nurse sees each hub’s health and the devices behind it', async () => {
    await signInToDashboard(page, `${s.url}/`, 'nurse.hub', NURSE_PW);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name: 'Devices' }).click();
    await page.getByRole('heading', { name: 'Edge hubs' }).waitFor();
    const ward = page.locator('tr[data-hub="ward-7-hub"]');
    const cells = await ward.locator('td').allTextContents();
    assert.match(cells[0] ?? '', /In contact/);
    assert.match(cells[1] ?? '', /^ward-7-hubdevice list synced 2 min ago$/);
    assert.match(cells[2] ?? '', /^1,234oldest 1\d min ago2 refused · 0 dropped$/);
    assert.equal(cells[3], '2.4 GiB (8 %)');
    // under 10 % free is flagged
    assert.equal(await ward.locator('td').nth(3).locator('.pill-warn').count(), 1);
    assert.equal(cells[4], '+0.42');
    assert.equal(await ward.locator('[data-hub-device="oxi-w7-1"]').textContent(), 'oxi-w7-1 · offline');
    assert.equal(await ward.locator('[data-hub-device="oxi-w7-2"]').textContent(), 'oxi-w7-2 · revoked');
    assert.equal(await ward.locator('[data-hub-device="cuff-w7-1"]').textContent(), 'cuff-w7-1 · offline');
    // a hub never heard from comes first, flagged
    const home = page.locator('tr[data-hub="home-3-hub"]');
    assert.match((await home.locator('td').first().textContent()) ?? '', /Never reported/);
    assert.equal(await home.locator('td').last().textContent(), 'None linked');
    assert.equal(await page.locator('tr[data-hub]').first().getAttribute('data-hub'), 'home-3-hub');
    // the fleet table names the hub a device is behind
    assert.match((await page.getByRole('cell', { name: /^oxi-w7-1/ }).textContent()) ?? '', /via ward-7-hub/);
    await page.screenshot({ path: join(screenshotsDir, 'edge-hubs-devices.png'), fullPage: true });
  });
});
