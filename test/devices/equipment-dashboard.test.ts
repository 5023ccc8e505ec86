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
 * The Equipment page in real Chromium: equipment grouped by floor and zone from RTLS sightings,
 * search, the availability filter and change, and the operational exit alert apart from clinical
 * alerts. Screenshots: test-results/screenshots/12-equipment-zones.png, 13-equipment-list.png.
 */

const shots = screenshotsDir;
const NURSE_PW = 'nurse-password-2026';
const skip = chromiumSkip;

describe('Equipment page in Chromium', { skip }, () => {
  let s: Running;
  let page: Page;
  let browser: DashboardBrowser | undefined;

  before(async () => {
    buildDashboardIfStale();
    s = await startTestVigil({ VIGIL_RTLS_MIN_SIGHTINGS: '1' });
    await addStaff(s.url, s.admin, 'nurse.eq', 'nurse', { given: 'Ana', family: 'Silva' }, NURSE_PW);
    const zones = [
      { id: 'site', name: 'St Elsewhere', kind: 'site' },
      { id: 'main', name: 'Main building', kind: 'building', partOf: 'site' },
      { id: 'f3', name: 'Floor 3', kind: 'floor', partOf: 'main' },
      { id: 'f0', name: 'Ground floor', kind: 'floor', partOf: 'main' },
      { id: 'ward-3a', name: 'Ward 3A', kind: 'unit', partOf: 'f3' },
      { id: '3a-store', name: 'Equipment store', kind: 'room', partOf: 'ward-3a' },
      { id: '3a-r12', name: 'Room 12', kind: 'room', partOf: 'ward-3a' },
      { id: 'exit-main', name: 'Main entrance', kind: 'room', partOf: 'f0', exit: true },
    ];
    for (const z of zones) await must(s.url, s.admin, 'POST', '/api/v1/locations', z);
    const secret: Record<string, string> = {};
    for (const [id, kind] of [
      ['gw-store', 'gateway'],
      ['gw-r12', 'gateway'],
      ['gw-exit', 'gateway'],
      ['pump-101', 'infusion-pump'],
      ['pump-102', 'infusion-pump'],
      ['pump-103', 'infusion-pump'],
      ['chair-7', 'wheelchair'],
    ] as const) {
      const r = await must<{ secret: string }>(s.url, s.admin, 'POST', '/api/v1/devices', { id, kind });
      secret[id] = r.secret;
    }
    await must(s.url, s.admin, 'PUT', '/api/v1/rtls/receivers/gw-store', { locationId: '3a-store' });
    await must(s.url, s.admin, 'PUT', '/api/v1/rtls/receivers/gw-r12', { locationId: '3a-r12' });
    await must(s.url, s.admin, 'PUT', '/api/v1/rtls/receivers/gw-exit', { locationId: 'exit-main' });
    const tags: Record<string, string> = {
      'pump-101': 'C3:00:00:00:01:01',
      'pump-102': 'C3:00:00:00:01:02',
      'pump-103': 'C3:00:00:00:01:03',
      'chair-7': 'C3:00:00:00:07:07',
    };
    for (const [d, t] of Object.entries(tags))
      await must(s.url, s.admin, 'PUT', `/api/v1/equipment/${d}/tag`, { tagId: t });
    const now = Date.now();
    const sight = (gw: string, device: string, ago: number) =>
      must(s.url, secret[gw], 'POST', '/ingest/v1/rtls/sightings', {
        sightings: [{ tag: tags[device], rssi: -62, time: new Date(now - ago).toISOString() }],
      });
    await sight('gw-store', 'pump-101', 120_000);
    await sight('gw-store', 'pump-102', 90_000);
    await sight('gw-r12', 'pump-103', 60_000);
    await sight('gw-exit', 'chair-7', 30_000);
    await must(s.url, s.admin, 'PUT', '/api/v1/equipment/pump-103/availability', { availability: 'in-use' });
    await must(s.url, s.admin, 'PUT', '/api/v1/equipment/pump-102/availability', {
      availability: 'cleaning',
    });
    browser = await openDashboardBrowser();
    page = browser.page;
  });

  after(async () => {
    await browser?.close();
    await s?.stop();
  });

  it('a nurse finds free pumps by floor and zone, sets one in use, and sees the exit alert', async () => {
    await signInToDashboard(page, `${s.url}/`, 'nurse.eq', NURSE_PW);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name: 'Equipment' }).click();
    await page.getByRole('heading', { name: 'Equipment', exact: true }).waitFor();
    await page.getByText('4 tracked · 2 free · 1 in use · 1 cleaning').waitFor();
    // floor → zone groups
    const store = page.locator('[data-zone-group="3a-store"]');
    assert.match((await store.locator('h3').textContent()) ?? '', /Ward 3A › Equipment store\s*2 · 1 free/);
    assert.equal(await store.locator('tbody tr').count(), 2);
    assert.equal(await page.locator('[data-zone-group="3a-r12"] tbody tr').count(), 1);
    // the operational alert, apart and low priority
    const alert = page.locator('[data-equipment-alert="chair-7"]');
    assert.match(
      (await alert.textContent()) ?? '',
      /wheelchair chair-7 seen at building exit zone "Main entrance"/,
    );
    await page.getByText('low priority · not clinical').waitFor();
    await page.screenshot({ path: join(shots, '12-equipment-zones.png'), fullPage: true });

    // search, availability filter, and a change of availability
    await page.getByLabel('Kind').selectOption('infusion-pump');
    await page.getByRole('combobox', { name: /^Availability/ }).selectOption('free');
    await page.getByText('1 tracked · 1 free').waitFor();
    assert.equal(await page.locator('tr[data-equipment="pump-101"]').count(), 1);
    await page.getByLabel('Set availability of pump-101').selectOption('in-use');
    await page.getByText('No equipment matches.').waitFor();
    await page.getByRole('combobox', { name: /^Availability/ }).selectOption('');
    await page.getByLabel('Search').fill('01:03');
    await page.getByText('1 tracked').waitFor();
    await page.getByText('List', { exact: true }).click();
    assert.equal(
      await page.locator('td[data-zone="pump-103"]').textContent(),
      'Main building › Floor 3 › Ward 3A › Room 12',
    );
    await page.getByLabel('Search').fill('');
    await page.getByText('3 tracked').waitFor();
    await page.screenshot({ path: join(shots, '13-equipment-list.png'), fullPage: true });
    const e = await must<{ equipment: { availability: string } }>(
      s.url,
      s.admin,
      'GET',
      '/api/v1/equipment/pump-101',
    );
    assert.equal(e.equipment.availability, 'in-use');
  });
});
