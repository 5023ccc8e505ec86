import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { newId } from '../../src/core/ids.ts';
import { addPatient, addStaff, must, type Running, startTestVigil } from '../dashboard/seed.ts';
import {
  buildDashboardIfStale,
  chromiumSkip,
  type DashboardBrowser,
  openDashboardBrowser,
  screenshotsDir,
  signInToDashboard,
} from '../support/chromium.ts';

/**
 * The Populations page in real Chromium: a saved cohort's members within the clinician's care
 * teams, BP control rate, TIR distribution and monthly trend; a new cohort built, previewed and
 * saved. Readings are placed relative to the server's clock (the page asks "as of now").
 * Screenshot: test-results/screenshots/15-populations.png.
 */

const shots = screenshotsDir;
const PW = 'clinician-password-2026';
const DAY = 86_400_000;

describe('Populations page in Chromium', { skip: chromiumSkip }, () => {
  let s: Running;
  let page: Page;
  let browser: DashboardBrowser | undefined;

  before(async () => {
    buildDashboardIfStale();
    s = await startTestVigil();
    const { practitionerId } = await addStaff(
      s.url,
      s.admin,
      'dr.pop',
      'clinician',
      { given: 'Ana', family: 'Silva' },
      PW,
    );
    const now = Date.now();
    const iso = (ms: number) => new Date(ms).toISOString();
    let seq = 0;
    const bp = (patient: string, at: number, sys: number) =>
      s.vigil.db.query(
        `insert into observation (id, patient_id, device_id, code, category, effective, received, data, idem_key)
         values ($1, $2, 'cuff', '85354-9', 'vital-signs', $3, $3, $4::jsonb, $5)`,
        [
          newId(),
          patient,
          iso(at),
          JSON.stringify({
            components: [
              { code: '8480-6', value: sys, unit: 'mm[Hg]' },
              { code: '8462-4', value: 80, unit: 'mm[Hg]' },
            ],
          }),
          `pop-bp-${++seq}`,
        ],
      );
    const glucose = (patient: string, at: number, mgdl: number) =>
      s.vigil.db.query(
        `insert into observation (id, patient_id, device_id, code, category, effective, received, value, unit, idem_key)
         values ($1, $2, 'cgm', '99504-3', 'laboratory', $3, $3, $4, 'mg/dL', $5)`,
        [newId(), patient, iso(at), mgdl, `pop-cgm-${++seq}`],
      );
    // four home-BP patients in the clinician's team (mean SBP 160, 130, 150, 125), one outside it
    const sbp = [[158, 162], [128, 132], [150, 150, 150, 150, 150, 150, 150], [125], [170]];
    for (let i = 0; i < sbp.length; i++) {
      const id = await addPatient(
        s.url,
        s.admin,
        {
          given: 'Test',
          family: `Pop${i + 1}`,
          program: 'home-bp',
          team: i < 4 ? 'BP clinic' : 'Other clinic',
        },
        i < 4 ? [practitionerId] : [],
      );
      for (const [k, v] of (sbp[i] as number[]).entries()) await bp(id, now - (k + 1) * DAY, v);
      if (i === 0)
        for (let k = 0; k < 10; k++) await glucose(id, now - (k + 1) * 3600_000, k < 8 ? 120 : 220);
      if (i === 1)
        for (let k = 0; k < 10; k++) await glucose(id, now - (k + 1) * 3600_000, k < 4 ? 110 : 260);
    }
    await must(s.url, s.admin, 'POST', '/api/v1/cohorts', {
      name: 'Home BP',
      definition: { criteria: [{ kind: 'program', program: 'home-bp' }] },
    });
    browser = await openDashboardBrowser();
    page = browser.page;
  });

  after(async () => {
    await browser?.close();
    await s?.stop();
  });

  it('a clinician sees the cohort within their care teams, its distributions, and builds a new one', async () => {
    await signInToDashboard(page, `${s.url}/`, 'dr.pop', PW);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name: 'Populations' }).click();
    await page.getByRole('heading', { name: 'Populations' }).waitFor();
    await page.getByText('Home BP: 4 patients within your care teams').waitFor();
    assert.equal(await page.locator('[data-members]').textContent(), '4');
    // 130/80 and 125/80 are below 140/90: 2 of 4
    assert.equal(await page.locator('[data-bp-rate]').textContent(), '50 %');
    assert.equal(await page.locator('[data-tir-median]').textContent(), '60 %');
    assert.match((await page.locator('li[data-tir-bin="80"]').textContent()) ?? '', /1$/);
    assert.match((await page.locator('li[data-tir-bin="40"]').textContent()) ?? '', /1$/);
    assert.equal(await page.locator('tr[data-member]').count(), 4);
    assert.doesNotMatch(
      (await page.locator('section[aria-labelledby="pop-members"]').textContent()) ?? '',
      /Pop5/i,
    );
    await page.screenshot({ path: join(shots, '15-populations.png'), fullPage: true });
    // the export is fetched with the session's token and saved as a file
    const [csv] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Export CSV' }).click(),
    ]);
    const text = readFileSync((await csv.path()) as string, 'utf8');
    assert.match(text, /^patientId,name,program home-bp\r\n/);
    assert.equal(text.trim().split('\r\n').length, 5);

    await page.getByRole('button', { name: 'New cohort' }).click();
    await page.getByLabel('Name').fill('High SBP, few readings');
    await page.getByRole('button', { name: 'Preview' }).click();
    // the example: mean SBP > 150 over 14 days and fewer than 3 readings a week — only Pop1
    await page.getByText('1 patient meets it').waitFor();
    await page.screenshot({ path: join(shots, '15-populations-builder.png'), fullPage: true });
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('High SBP, few readings: 1 patient within your care teams').waitFor();
    assert.equal(await page.locator('tr[data-member]').count(), 1);
  });
});
