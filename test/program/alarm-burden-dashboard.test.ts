import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { newId } from '../../src/core/ids.ts';
import { addDevice, addPatient, addStaff, must, type Running, startTestVigil } from '../dashboard/seed.ts';
import {
  buildDashboardIfStale,
  chromiumSkip,
  type DashboardBrowser,
  openDashboardBrowser,
  screenshotsDir,
  signInToDashboard,
} from '../support/chromium.ts';

/**
 * The Alarm burden page in real Chromium: per unit, a gateway outage's gap alarms counted as one
 * incident, ack times and the non-actionable share. Screenshot: test-results/screenshots/14-alarm-burden.png.
 */

const shots = screenshotsDir;
const PW = 'clinician-password-2026';
const skip = chromiumSkip;

describe('Alarm burden page in Chromium', { skip }, () => {
  let s: Running;
  let page: Page;
  let browser: DashboardBrowser | undefined;

  before(async () => {
    buildDashboardIfStale();
    s = await startTestVigil();
    const { practitionerId } = await addStaff(
      s.url,
      s.admin,
      'dr.burden',
      'clinician',
      { given: 'Lee', family: 'Park' },
      PW,
    );
    for (const z of [
      { id: 'site', name: 'Site', kind: 'site' },
      { id: 'b', name: 'Main', kind: 'building', partOf: 'site' },
      { id: 'f4', name: 'Floor 4', kind: 'floor', partOf: 'b' },
      { id: 'icu', name: 'ICU', kind: 'unit', partOf: 'f4' },
      { id: 'ward-4b', name: 'Ward 4B', kind: 'unit', partOf: 'f4' },
    ])
      await must(s.url, s.admin, 'POST', '/api/v1/locations', z);
    await must(s.url, s.admin, 'POST', '/api/v1/devices', { id: 'gw-icu', kind: 'gateway' });
    const now = Date.now();
    const iso = (ms: number) => new Date(ms).toISOString();
    const pts: string[] = [];
    for (let i = 1; i <= 6; i++) {
      const id = await addPatient(
        s.url,
        s.admin,
        {
          given: 'Test',
          family: `Bed${i}`,
          program: 'inpatient',
          team: i <= 4 ? 'ICU team' : 'Ward 4B team',
        },
        [practitionerId],
      );
      pts.push(id);
      const secret = await addDevice(
        s.url,
        s.admin,
        { id: `mon-${i}`, kind: 'bedside-monitor' },
        id,
        now - 2 * 3600_000,
      );
      await must(s.url, s.admin, 'PUT', `/api/v1/equipment/mon-${i}/location`, {
        locationId: i <= 4 ? 'icu' : 'ward-4b',
      });
      if (i <= 4) await must(s.url, s.admin, 'PUT', `/api/v1/gateways/gw-icu/devices/mon-${i}`);
      await must(s.url, secret, 'POST', '/ingest/v1/readings', {
        messageId: `b-${i}`,
        time: iso(now - 3600_000),
        type: 'heart-rate',
        value: 70,
        unit: '/min',
      });
    }
    const alert = (
      i: number,
      rule: string,
      key: string,
      at: number,
      ack: number | null,
      resolved: number | null,
      resolution: string | null,
    ) =>
      s.vigil.db.query(
        `insert into alert (id, patient_id, condition_key, rule, severity, state, summary, device_id, raised_at,
           last_detection_at, created_at, updated_at, first_acknowledged_at, resolved_at, resolution)
         values ($1, $2, $3, $4, 'low', $5, 'test alert', $6, $7, $7, $7, $7, $8, $9, $10)`,
        [
          newId(),
          pts[i - 1],
          key,
          rule,
          resolved ? 'resolved' : ack ? 'acknowledged' : 'open',
          `mon-${i}`,
          iso(at),
          ack ? iso(at + ack) : null,
          resolved ? iso(at + resolved) : null,
          resolution,
        ],
      );
    for (let i = 1; i <= 4; i++)
      await alert(
        i,
        'missing-data',
        'gap:heart-rate',
        now - 50 * 60_000 + i * 30_000,
        null,
        600_000,
        'automatic',
      );
    await alert(1, 'threshold', 'threshold:hr-high', now - 40 * 60_000, 90_000, 300_000, 'manual');
    await alert(5, 'threshold', 'threshold:hr-high', now - 30 * 60_000, 240_000, null, null);
    await alert(6, 'threshold', 'threshold:spo2-low', now - 20 * 60_000, null, 60_000, 'automatic');
    browser = await openDashboardBrowser();
    page = browser.page;
  });

  after(async () => {
    await browser?.close();
    await s?.stop();
  });

  it('a clinician sees per-unit burden with the outage as one incident', async () => {
    await signInToDashboard(page, `${s.url}/`, 'dr.burden', PW);
    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('button', { name: 'Alarm burden' })
      .click();
    await page.getByRole('heading', { name: 'Alarm burden' }).waitFor();
    await page.getByText('7 alarms over 6 bed-days · 1 flood incident (').waitFor();
    const icu = page.locator('tr[data-burden-group="icu"]');
    assert.match((await icu.locator('td').first().textContent()) ?? '', /ICU/);
    assert.equal(await page.locator('td[data-after-flood="icu"]').textContent(), '2 (1 incident)');
    assert.match(
      (await page.locator('[data-incident="gw-icu"]').textContent()) ?? '',
      /4 missing-data alarms for 4 patients, behind gateway gw-icu/,
    );
    await page.screenshot({ path: join(shots, '14-alarm-burden.png'), fullPage: true });
    await page.getByText('Per care team').click();
    await page.locator('tr[data-burden-group]', { hasText: 'ICU team' }).waitFor();
    assert.equal(
      await page
        .locator('tr[data-burden-group]', { hasText: 'Ward 4B team' })
        .locator('td')
        .nth(2)
        .textContent(),
      '2',
    );
  });
});
