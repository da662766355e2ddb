// Shared set-up of the end-to-end tests: Debian's Chromium driven by playwright-core
// (no browser download), against the server that scripts/test.sh started.
import { chromium } from 'playwright-core';

/** Base URL of the server under test. */
export const baseUrl = process.env.GUESTGUARD_URL ?? 'http://127.0.0.1:3000';

/** Launches headless Chromium with the flags that work on a closed network as root. */
export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      // A person's browser: navigator.webdriver stays false (the guest page reports
      // it as a sign of automation otherwise, and the fraud checks would flag the test's
      // guest as a bot).
      '--disable-blink-features=AutomationControlled',
    ],
  });
}

/** The user agent of an ordinary desktop Chrome: guests are people, not headless robots. */
export const DESKTOP_CHROME =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36';

/**
 * Opens a page that records browser console errors and failed requests, so a test can
 * assert the page ran cleanly. `options` are Playwright context options (user agent...).
 */
export async function openPage(browser, options = {}) {
  const context = await browser.newContext({ baseURL: baseUrl, ...options });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
  });
  page.on('requestfailed', (request) => {
    const reason = request.failure()?.errorText ?? '';
    // A navigation cancels the requests of the page it leaves: not a failure.
    if (reason === 'net::ERR_ABORTED') return;
    problems.push(`request failed: ${request.url()} ${reason}`);
  });
  return { context, page, problems };
}
