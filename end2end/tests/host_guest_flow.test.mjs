// What a host and a guest do, end to end in Chromium: the host signs up, creates an
// event, adds a guest and copies the guest's link; the guest, in a separate browser
// context (no shared cookies), opens the link and RSVPs attending with one plus-one;
// the fraud engine scores the answer (same device as the opening: Verified) and the
// host's guest table then shows the answer with that verdict.
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

async function hydrated(page) {
  await page.waitForSelector('[data-hydrated="true"]', { timeout: 30_000 });
}

test('a host invites a guest, the guest RSVPs, and the host sees the answer', async () => {
  const host = await openPage(browser);
  await host.context.grantPermissions(['clipboard-read', 'clipboard-write']);
  const { page } = host;

  // The host signs up and lands on their (empty) event list.
  await page.goto('/signup');
  await hydrated(page);
  await page.getByTestId('signup-name').fill('Ada Host');
  await page.getByTestId('signup-email').fill(`ada-${unique}@example.org`);
  await page.getByTestId('signup-password').fill('correct horse battery staple');
  await page.getByTestId('signup-submit').click();
  await page.waitForURL('**/events');

  // Creates an event.
  await page.goto('/events/new');
  await hydrated(page);
  await page.getByTestId('event-name').fill('Summer Garden Party');
  await page.getByTestId('event-slug').fill(`garden-${unique}`);
  await page.getByTestId('event-date').fill('2030-07-04T18:30');
  await page.getByTestId('event-time-zone').fill('Europe/Berlin');
  await page.getByTestId('event-venue').fill('The Old Orchard');
  await page.getByTestId('event-plus-ones').fill('2');
  await page.getByTestId('event-submit').click();
  await page.waitForURL(/\/events\/[0-9a-f-]{36}$/);
  await hydrated(page);

  // Adds a guest and issues their link.
  await page.getByTestId('guest-name').fill('Grace Guest');
  await page.getByTestId('guest-email').fill(`grace-${unique}@example.org`);
  await page.getByTestId('guest-max-plus-ones').fill('2');
  await page.getByTestId('guest-submit').click();
  const row = page.getByTestId('guest-row').filter({ hasText: 'Grace Guest' });
  await row.waitFor();
  await row.getByTestId('issue-link').click();
  const linkInput = row.getByTestId('link-input');
  await linkInput.waitFor();
  await row.getByTestId('copy-link').click();
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  assert.match(copied, /\/i\/gg1_[A-Za-z0-9_-]+$/);
  assert.equal(copied, await linkInput.inputValue());

  // The guest opens the link in a browser context of their own.
  const guest = await openPage(browser, { userAgent: DESKTOP_CHROME });
  const guestPage = guest.page;
  // The hydrated page reports its browser signals for this opening.
  const signalsReported = guestPage.waitForResponse((r) => r.url().includes('/signals'));
  const response = await guestPage.goto(copied);
  assert.equal(response.status(), 200);
  await hydrated(guestPage);
  assert.equal((await signalsReported).status(), 204);
  assert.equal((await guestPage.getByTestId('invitation-event-name').textContent()).trim(), 'Summer Garden Party');
  assert.match(await guestPage.getByTestId('invitation-guest-name').textContent(), /Grace Guest/);

  // RSVPs attending with one plus-one, using the stepper.
  await guestPage.getByTestId('rsvp-attending').check();
  await guestPage.getByTestId('plus-ones-increment').click();
  assert.equal(await guestPage.getByTestId('plus-ones-input').inputValue(), '1');
  await guestPage.getByTestId('rsvp-submit').click();
  await guestPage.getByTestId('rsvp-confirmation').waitFor();
  assert.match(await guestPage.getByTestId('rsvp-confirmation').textContent(), /attending/i);
  assert.deepEqual(guest.problems, []);
  await guest.context.close();

  // The host's guest table shows the answer after a reload.
  await page.reload();
  await hydrated(page);
  const answered = page.getByTestId('guest-row').filter({ hasText: 'Grace Guest' });
  assert.match(await answered.getByTestId('status-badge').textContent(), /attending/i);
  assert.equal((await answered.getByTestId('row-plus-ones').textContent()).trim(), '1');
  assert.equal((await answered.getByTestId('risk-badge').textContent()).trim(), 'Verified');
  // The access log lists the guest's answer (scored while they waited) and the opening.
  const answerRow = page.getByTestId('access-row').filter({ hasText: 'Answered' });
  assert.match(await answerRow.getByTestId('access-verdict').textContent(), /^Verified · \d+$/);
  assert.equal(await page.getByTestId('access-row').filter({ hasText: 'Opened the link' }).count(), 1);
  assert.deepEqual(host.problems, []);
  await host.context.close();
});
