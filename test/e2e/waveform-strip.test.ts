import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';
import { addDevice, addPatient, addStaff, type Running, startTestVigil } from '../dashboard/seed.ts';
import { CHROMIUM, launchChromium } from '../support/chromium.ts';
import { readRecordCounts, type WfdbCounts } from '../support/wfdb.ts';

/**
 * The patient page draws the stored strips on ECG paper: 10 s of MIT-BIH record 100 (lead II) and
 * of the a103l pleth, sent over HTTP as gateway strips, fetched by the page from the FHIR API and
 * drawn at 25 mm/s and 10 mm/mV on a 1 mm / 5 mm grid. Screenshot: test-results/screenshots/.
 */
const root = fileURLToPath(new URL('../../', import.meta.url));
const shots = join(root, 'test-results', 'screenshots');
const wfdb = (f: string) => fileURLToPath(new URL(`../corpora/physio/wfdb/${f}`, import.meta.url));
const MDC = 'urn:iso:std:iso:11073:10101';
const NURSE_PW = 'nurse-password-2026';
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} not found: browser test skipped`;

function strip(record: string, signal: string, code: string, unit: string, fromS: number, at: number) {
  const rec = readRecordCounts(wfdb(`${record}.hea`));
  const s = rec.signals.find((x) => x.name === signal) as WfdbCounts;
  const from = fromS * rec.fs;
  return {
    messageId: `${record}-${signal}-${fromS}`,
    time: new Date(at).toISOString(),
    channels: [
      {
        code: { system: MDC, code },
        unit,
        periodMs: 1000 / rec.fs,
        origin: -s.baseline / s.gain,
        factor: 1 / s.gain,
        data: Array.from(s.counts.subarray(from, from + 10 * rec.fs)),
      },
    ],
  };
}

describe('ECG strip on the patient page (Chromium)', { skip }, () => {
  let s: Running;
  let context: BrowserContext;
  let page: Page;
  let profileDir: string;

  before(async () => {
    if (!existsSync(join(root, 'web', 'dist', 'index.html')))
      execFileSync(join(root, 'node_modules', '.bin', 'vite'), ['build', 'web', '--logLevel', 'warn'], {
        cwd: root,
      });
    mkdirSync(shots, { recursive: true });
    s = await startTestVigil();
    const { practitionerId } = await addStaff(
      s.url,
      s.admin,
      'nurse.wave',
      'nurse',
      { given: 'Ada', family: 'Lind' },
      NURSE_PW,
    );
    const patient = await addPatient(
      s.url,
      s.admin,
      { given: 'Tomas', family: 'Weller', program: 'inpatient-continuous' },
      [practitionerId],
    );
    const secret = await addDevice(
      s.url,
      s.admin,
      { id: 'bed-7-monitor', kind: 'bedside-monitor' },
      patient,
      Date.now() - 3_600_000,
    );
    const at = Date.now() - 60_000;
    const res = await fetch(`${s.url}/ingest/v1/waveforms`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify([
        strip('100', 'MLII', '131330', 'mV', 60, at),
        strip('a103l', 'PLETH', '150452', '1', 280, at),
      ]),
    });
    assert.equal(res.status, 200, await res.text());
    profileDir = mkdtempSync(join(tmpdir(), 'vigil-chromium-'));
    context = await launchChromium(profileDir);
    page = context.pages()[0] ?? (await context.newPage());
  });
  after(async () => {
    await context?.close();
    await s?.stop();
    if (profileDir) rmSync(profileDir, { recursive: true, force: true });
  });

  it('draws lead II at 25 mm/s and 10 mm/mV on a 1 mm / 5 mm grid, and the pleth beside it', async () => {
    await page.goto(`${s.url}/`);
    await page.getByLabel('Username').fill('nurse.wave');
    await page.getByLabel('Password').fill(NURSE_PW);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'WELLER, Tomas' }).click();
    const panel = page.locator('[data-panel="waveforms"]');
    await panel.waitFor();
    const figures = panel.locator('figure[data-chart="waveform"]');
    await figures.nth(1).waitFor();
    const ecg = figures.filter({ hasText: 'ECG lead II' });
    assert.equal(await ecg.count(), 1);
    assert.match((await ecg.textContent()) ?? '', /25 mm\/s · 10 mm\/mV · 10\.0 s/);
    const svg = ecg.locator('svg');
    // 5 mm calibration + 10 s × 25 mm/s
    assert.equal(await svg.getAttribute('width'), '255mm');
    assert.equal(await svg.getAttribute('height'), '30mm');
    assert.equal(await svg.getAttribute('viewBox'), '0 0 255 30');
    assert.equal(await ecg.locator('pattern#ecg-small').getAttribute('width'), '1');
    assert.equal(await ecg.locator('pattern#ecg-big').getAttribute('width'), '5');
    // rendered at the nominal 96 px per inch: 255 mm ≈ 963.8 px
    const box = await svg.boundingBox();
    assert.ok(box && Math.abs(box.width - (255 * 96) / 25.4) < 1.5, `width ${box?.width}`);
    // the trace has one point per sample (3600 at 360 Hz)
    const d = (await svg.locator('path').last().getAttribute('d')) ?? '';
    assert.equal(d.split(/[ML]/).filter(Boolean).length, 3600);
    assert.match((await figures.filter({ hasText: 'Pleth' }).textContent()) ?? '', /amplitude relative/);
    await panel.screenshot({ path: join(shots, 'waveform-strips.png') });
    await page.screenshot({ path: join(shots, 'waveform-patient-page.png'), fullPage: true });
  });
});
