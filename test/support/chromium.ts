import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';

/** Debian's Chromium (no browser download); browser tests and benches skip when it is absent. */
export const CHROMIUM = '/usr/bin/chromium';

/**
 * Headless Chromium with a fresh profile. The background-networking flags keep it from calling out
 * of this machine's closed network at every start.
 */
export async function launchChromium(
  profileDir: string,
  options: { timezoneId?: string; locale?: string; deviceScaleFactor?: number } = {},
): Promise<BrowserContext> {
  const { chromium } = await import('playwright-core');
  return chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1600, height: 1000 },
    ...options,
  });
}

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** Where browser tests leave their screenshots (looked at by people, not asserted on). */
export const screenshotsDir = join(repoRoot, 'test-results', 'screenshots');

/** `describe`'s skip for browser tests: the reason when Debian's Chromium is not installed. */
export const chromiumSkip: string | false = existsSync(CHROMIUM)
  ? false
  : `${CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium) to run the browser test`;

/** The newest modification time under a folder. */
function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

/**
 * The dashboard as built from the current sources: rebuilds web/dist when a source is newer than
 * its index.html, and makes the screenshots folder.
 */
export function buildDashboardIfStale(): void {
  const index = join(repoRoot, 'web', 'dist', 'index.html');
  if (!existsSync(index) || statSync(index).mtimeMs < newest(join(repoRoot, 'web', 'src')))
    execFileSync(join(repoRoot, 'node_modules', '.bin', 'vite'), ['build', 'web', '--logLevel', 'warn'], {
      cwd: repoRoot,
    });
  mkdirSync(screenshotsDir, { recursive: true });
}

/** A Chromium window for a dashboard test: its context, its first page, and a close that removes the profile. */
export interface DashboardBrowser {
  context: BrowserContext;
  page: Page;
  close(): Promise<void>;
}

export async function openDashboardBrowser(
  options: { timezoneId?: string; locale?: string; deviceScaleFactor?: number } = {
    deviceScaleFactor: 1,
    locale: 'en-GB',
  },
): Promise<DashboardBrowser> {
  const profileDir = mkdtempSync(join(tmpdir(), 'vigil-chromium-'));
  const context = await launchChromium(profileDir, options);
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    close: async () => {
      await context.close().catch(() => {});
      rmSync(profileDir, { recursive: true, force: true });
    },
  };
}

/** Opens the dashboard at `url` and signs in through its form. */
export async function signInToDashboard(
  page: Page,
  url: string,
  username: string,
  password: string,
): Promise<void> {
  await page.goto(url);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}
