// A forwarded link, end to end in Chromium: somebody else opens Grace's link first, then
// Grace opens it on her own browser. The host sees the conflict on Grace's row ("Opened
// on 2 devices"), reviews the devices, approves Grace's, and the decision is in the
// audit trail; Grace then answers and the host sees her answer Verified.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, openPage, DESKTOP_CHROME } from '../browser.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

const unique = `${Date.now()}-${Math.floor(Math.random() * 1e6)}`;

async function hydrated(page, problems = []) {
  try {
    await page.waitForSelector('[data-hydrated="true"]', { timeout: 30_000 });
  } catch (error) {
    throw new Error(`${page.url()} never hydrated: ${error.message}\n${problems.join('\n')}`);
  }
}

/**
 * Opens the invitation in its own browser context and waits for its signals. The page
 * is hydrated by the guest's own bundle (frontend/guest), never the hosts' one.
 */
async function openInvitation(link, options) {
  const visitor = await openPage(browser, { userAgent: DESKTOP_CHROME, ...options });
  const scripts = [];
  visitor.page.on('response', (r) => {
    const path = new URL(r.url()).pathname;
    if (path.startsWith('/pkg/') && /\.(wasm|js)$/.test(path)) scripts.push(path);
  });
  const signals = visitor.page.waitForResponse((r) => r.url().includes('/signals'));
  const response = await visitor.page.goto(link);
  assert.equal(response.status(), 200);
  await hydrated(visitor.page);
  assert.equal((await signals).status(), 204);
  assert.ok(scripts.some((p) => /^\/pkg\/guest\.[A-Za-z0-9_-]+\.wasm$/.test(p)), `the guest bundle: ${scripts}`);
  assert.ok(scripts.every((p) => p.startsWith('/pkg/guest.')), `only the guest bundle: ${scripts}`);
  return visitor;
}

test('a host resolves a device conflict and the real guest answers', async () => {
  const host = await openPage(browser);
  await host.context.grantPermissions(['clipboard-read', 'clipboard-write']);
  const { page } = host;
  await page.goto('/signup');
  await hydrated(page);
  await page.getByTestId('signup-name').fill('Ada Host');
  await page.getByTestId('signup-email').fill(`ada-conflict-${unique}@example.org`);
  await page.getByTestId('signup-password').fill('correct horse battery staple');
  await page.getByTestId('signup-submit').click();
  await page.waitForURL('**/events');
  await page.goto('/events/new');
  await hydrated(page);
  await page.getByTestId('event-name').fill('Dinner with a forwarded link');
  await page.getByTestId('event-slug').fill(`dinner-${unique}`);
  await page.getByTestId('event-date').fill('2030-09-12T19:00');
  await page.getByTestId('event-time-zone').fill('Europe/London');
  await page.getByTestId('event-venue').fill('The Long Table');
  await page.getByTestId('event-submit').click();
  await page.waitForURL(/\/events\/[0-9a-f-]{36}$/);
  await hydrated(page);
  await page.getByTestId('guest-name').fill('Grace Guest');
  await page.getByTestId('guest-submit').click();
  const row = page.getByTestId('guest-row').filter({ hasText: 'Grace Guest' });
  await row.waitFor();
  await row.getByTestId('issue-link').click();
  await row.getByTestId('link-input').waitFor();
  const link = await row.getByTestId('link-input').inputValue();

  // Somebody else opens the forwarded link first; then Grace, on her own browser.
  const impostor = await openInvitation(link, {
    locale: 'de-DE',
    timezoneId: 'Europe/Berlin',
    viewport: { width: 1280, height: 720 },
    screen: { width: 1280, height: 720 },
  });
  const grace = await openInvitation(link, {
    locale: 'en-GB',
    timezoneId: 'Europe/London',
    viewport: { width: 1440, height: 900 },
    screen: { width: 1920, height: 1080 },
  });

  // The host sees the conflict and reviews the devices.
  await page.reload();
  await hydrated(page, host.problems);
  const graceRow = page.getByTestId('guest-row').filter({ hasText: 'Grace Guest' });
  assert.match(await graceRow.getByTestId('device-conflict').textContent(), /Opened on 2 devices/);
  await graceRow.getByTestId('review-guest').click();
  const review = page.getByTestId('guest-review');
  await review.getByTestId('conflict-explained').waitFor();
  const devices = review.getByTestId('device');
  assert.equal(await devices.count(), 2);
  // The devices are listed first seen first: Grace's is the second.
  await devices.nth(1).getByTestId('approve-device').click();
  await review.getByTestId('trusted-device').waitFor();
  assert.equal(await review.getByTestId('conflict-explained').count(), 0);
  assert.match(
    await review.getByTestId('audit-entry').first().textContent(),
    /Device approved/,
  );
  await page.reload();
  await hydrated(page);
  assert.equal(
    await page.getByTestId('guest-row').filter({ hasText: 'Grace Guest' }).getByTestId('device-conflict').count(),
    0,
    'no conflict once the host decided',
  );

  // Grace answers: accepted as hers.
  await grace.page.getByTestId('rsvp-attending').check();
  await grace.page.getByTestId('rsvp-submit').click();
  await grace.page.getByTestId('rsvp-confirmation').waitFor();
  assert.match(await grace.page.getByTestId('rsvp-confirmation').textContent(), /saved: attending/);
  assert.deepEqual(grace.problems, []);
  await page.reload();
  await hydrated(page);
  const answered = page.getByTestId('guest-row').filter({ hasText: 'Grace Guest' });
  assert.equal((await answered.getByTestId('risk-badge').textContent()).trim(), 'Verified');
  assert.deepEqual(host.problems, []);
  assert.deepEqual(impostor.problems, []);
  await impostor.context.close();
  await grace.context.close();
  await host.context.close();
});
