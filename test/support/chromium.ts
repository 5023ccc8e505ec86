import type { BrowserContext } from 'playwright-core';

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
