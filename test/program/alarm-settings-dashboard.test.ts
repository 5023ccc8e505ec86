import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { newId } from '../../src/core/ids.ts';
import type { Reading } from '../../src/core/reading.ts';
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
 * The Alarm settings page in real Chromium: one clinician proposes raising the systolic alert level
 * and replays it over the last 30 days (an acknowledged alert that would disappear is a warning); a
 * second clinician approves it and version 1 is in force. Screenshots:
 * test-results/screenshots/15-alarm-settings-replay.png, 16-alarm-settings-approved.png.
 */

const PW = 'clinician-password-2026';
const DAY = 86_400_000;

describe('Alarm settings page in Chromium', { skip: chromiumSkip }, () => {
  let s: Running;
  let context: BrowserContext;
  let page: Page;
  let browser: DashboardBrowser | undefined;
  const now = Date.now();
  const iso = (ms: number) => new Date(ms).toISOString();

  before(async () => {
    buildDashboardIfStale();
    s = await startTestVigil();
    const a = await addStaff(
      s.url,
      s.admin,
      'dr.propose',
      'clinician',
      { given: 'Ana', family: 'Reyes' },
      PW,
    );
    await addStaff(s.url, s.admin, 'dr.review', 'clinician', { given: 'Ben', family: 'Okafor' }, PW);
    const bp = (patientId: string, t: number, sbp: number): Reading => ({
      id: newId(),
      deviceId: 'cuff-hist',
      patientId,
      code: '85354-9',
      codings: [],
      category: 'vital-signs',
      value: null,
      unit: null,
      components: [
        { code: '8480-6', value: sbp, unit: 'mm[Hg]' },
        { code: '8462-4', value: 85, unit: 'mm[Hg]' },
      ],
      effective: iso(t),
      received: iso(t),
      flags: [],
      idempotencyKey: `hist-${patientId}-${t}`,
      transport: 'http',
      profile: 'native-json',
    });
    const rows: Reading[] = [];
    const pts: string[] = [];
    for (const [i, sbp] of [165, 172, 168].entries()) {
      const id = await addPatient(
        s.url,
        s.admin,
        { given: 'Test', family: `Home${i + 1}`, program: 'hypertension' },
        [a.practitionerId],
      );
      pts.push(id);
      await must(s.url, s.admin, 'PUT', `/api/v1/patients/${id}/monitoring`, {
        monitoring: { programs: ['hypertension'] },
      });
      const t = now - (10 - i) * DAY;
      rows.push(bp(id, t, sbp), bp(id, t + 3600_000, 140));
      await s.vigil.db.query(
        `insert into alert (id, patient_id, condition_key, rule, severity, state, summary, raised_at,
           last_detection_at, created_at, updated_at, first_acknowledged_at, resolved_at, resolution)
         values ($1, $2, 'threshold:8480-6:high', 'sbp-high', 'medium', 'resolved', 'Systolic BP high', $3, $3, $3, $3, $4, $5, $6)`,
        [
          newId(),
          id,
          iso(t),
          i === 0 ? iso(t + 120_000) : null,
          iso(t + 3600_000),
          i === 0 ? 'manual' : 'automatic',
        ],
      );
    }
    await s.vigil.ctx.observations.insertBatch(s.vigil.db, rows);
    browser = await openDashboardBrowser();
    context = browser.context;
    page = browser.page;
  });

  after(async () => {
    await browser?.close();
    await s?.stop();
  });

  const signIn = async (username: string) => {
    await signInToDashboard(page, `${s.url}/`, username, PW);
    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('button', { name: 'Alarm settings' })
      .click();
    await page.getByRole('heading', { name: 'Alarm settings' }).waitFor();
    await page.getByLabel('Program', { exact: true }).selectOption('hypertension');
    await page.getByText('hypertension: version').waitFor();
  };

  it('a clinician proposes a change and sees its replay, with the actionable alert it removes', async () => {
    await signIn('dr.propose');
    await page.getByLabel('Rule', { exact: true }).selectOption('sbp-high');
    await page.getByLabel('Setting', { exact: true }).selectOption('levels');
    assert.equal(await page.getByLabel('New value').inputValue(), '[{"value":160,"severity":"medium"}]');
    await page.getByLabel('New value').fill('[{"value":170,"severity":"medium"}]');
    await page.getByLabel('Reason').fill('Home readings 160–170 rarely needed action');
    await page.getByRole('button', { name: 'Propose' }).click();
    await page.getByRole('heading', { name: /^Proposal/ }).waitFor();
    await page.getByText('You proposed this change: a second clinician reviews it.').waitFor();
    await page.getByRole('button', { name: 'Replay', exact: true }).click();
    const summary = page.locator('[data-replay-summary]');
    await summary.waitFor();
    assert.match(
      (await summary.textContent()) ?? '',
      /6 readings of 3 patients · alerts \d+ → \d+ · 2 removed, 0 added · 2 patients affected/,
    );
    const sbp = page.locator('tr[data-replay-rule="sbp-high:medium"] td');
    assert.deepEqual(await sbp.allTextContents(), ['sbp-high', 'medium', '3', '1', '-2']);
    assert.match(
      (await page.locator('[data-replay-warning]').first().textContent()) ?? '',
      /1 alert\(s\) .* acknowledged/,
    );
    assert.equal(await page.locator('[data-removed]').count(), 2);
    assert.match(
      (await page.locator('[data-removed]').first().textContent()) ?? '',
      /acknowledged \(actionable\)/,
    );
    await page.screenshot({ path: join(screenshotsDir, '15-alarm-settings-replay.png'), fullPage: true });
  });

  it('a second clinician approves it: version 1 in force, with the diff', async () => {
    await context.clearCookies();
    await page.evaluate(() => {
      sessionStorage.clear();
      localStorage.clear();
    });
    await signIn('dr.review');
    assert.match((await page.locator('[data-proposal]').first().textContent()) ?? '', /Ana Reyes/);
    await page.locator('[data-proposal] button').first().click();
    await page.locator('[data-replay-summary]').waitFor();
    const approve = page.getByRole('button', { name: 'Approve and apply' });
    assert.equal(await approve.isDisabled(), true, 'a note is required');
    await page.getByLabel('Review note').fill('Agreed; the acknowledged one was a white-coat reading');
    await approve.click();
    await page.locator('[data-review]').getByText('in force as version 1').waitFor();
    await page.getByText('hypertension: version 1 in force').waitFor();
    // The change as replayed (160 → 170), not as now in force (170 → 170).
    assert.match(
      (await page.locator('.alarmset-changes').textContent()) ?? '',
      /"value":160.*→.*"value":170/,
    );
    assert.match(
      (await page.locator('[data-version="1"]').textContent()) ?? '',
      /sbp-high\.levels: \[\{"value":160.*→ \[\{"value":170/,
    );
    assert.match((await page.locator('[data-version="1"]').textContent()) ?? '', /Ben Okafor/);
    await page.screenshot({ path: join(screenshotsDir, '16-alarm-settings-approved.png'), fullPage: true });
  });
});
