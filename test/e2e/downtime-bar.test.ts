import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { addStaff, type Running, startTestVigil } from '../dashboard/seed.ts';
import { buildDashboardIfStale, chromiumSkip, launchChromium, screenshotsDir } from '../support/chromium.ts';

/**
 * The downtime bar (docs/downtime.md) in real Chromium: every screen says when monitoring is
 * stopped and when Vigil cannot be reached. The status the server reports is tested in
 * test/pipeline/service-health.test.ts; here the browser is given each status (the status route
 * answered by the test) and loses the server (its refresh calls aborted), and the bar must say so.
 */

const shots = screenshotsDir;
const NURSE_PW = 'nurse-password-2026';
const skip = chromiumSkip;

describe('downtime bar in Chromium', { skip }, () => {
  let s: Running;
  let context: BrowserContext;
  let page: Page;
  let profileDir: string;

  before(async () => {
    buildDashboardIfStale();
    s = await startTestVigil();
    await addStaff(s.url, s.admin, 'nurse.bar', 'nurse', { given: 'Ada', family: 'Okoye' }, NURSE_PW);
    profileDir = mkdtempSync(join(tmpdir(), 'vigil-chromium-'));
    context = await launchChromium(profileDir, { deviceScaleFactor: 1, locale: 'en-GB', timezoneId: 'UTC' });
    page = context.pages()[0] ?? (await context.newPage());
  });

  after(async () => {
    await context?.close().catch(() => {});
    if (profileDir) rmSync(profileDir, { recursive: true, force: true });
    await s?.stop();
  });

  it('says when monitoring is stopped and when Vigil cannot be reached, and clears when all is well', async () => {
    await page.goto(`${s.url}/`);
    await page.getByLabel('Username').fill('nurse.bar');
    await page.getByLabel('Password').fill(NURSE_PW);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Worklist' }).waitFor();
    const bar = page.getByText(/^(Monitoring (stopped|delayed)|Vigil cannot be reached)/);
    assert.equal(await bar.count(), 0, 'no bar while every process reports');

    // the deployment reports that no detector runs, since ten minutes ago (today, so the bar shows
    // the time alone; the page runs in UTC)
    const since = new Date(Math.floor((Date.now() - 10 * 60_000) / 60_000) * 60_000);
    const sinceTime = since.toISOString().slice(11, 16);
    await page.route('**/api/v1/status', (route) =>
      route.fulfill({
        status: 200,
        contentType: 'application/json',
        body: JSON.stringify({
          state: 'stopped',
          since: since.toISOString(),
          message: 'no process that runs the rules has reported',
          processes: [],
        }),
      }),
    );
    await page
      .getByText(
        new RegExp(
          `^Monitoring stopped since (\\d\\d [A-Z][a-z]{2}, )?${sinceTime}: no process that runs the rules has reported\\.`,
        ),
      )
      .waitFor({
        timeout: 40_000,
      });
    await page.screenshot({ path: join(shots, '12-monitoring-stopped.png') });

    // the server can no longer be reached: the worklist refresh fails
    await page.route('**/api/v1/dashboard/worklist*', (route) => route.abort('connectionrefused'));
    await page
      .getByText(/^Vigil cannot be reached since \d\d:\d\d: what this screen shows may be out of date\.$/)
      .waitFor({
        timeout: 40_000,
      });
    await page.screenshot({ path: join(shots, '13-unreachable.png') });

    // all well again: the real status (ok) and refreshes that succeed clear the bar
    await page.unroute('**/api/v1/dashboard/worklist*');
    await page.unroute('**/api/v1/status');
    await bar.waitFor({ state: 'detached', timeout: 40_000 });
  });
});
