// Invitations by email, end to end in Chromium: the host adds two guests, sends the
// invitations from the event page, and sees each one delivered; the email that reached
// the (real) SMTP server carries the guest's personal link, and that link opens the
// guest's RSVP page in a browser context of its own. Reads the mail catcher started by
// scripts/test.sh (GUESTGUARD_MAIL_URL).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, openPage, DESKTOP_CHROME } from '../browser.mjs';

// scripts/test.sh sets it; scripts/dev.sh's catcher answers on 8025.
const mailUrl = process.env.GUESTGUARD_MAIL_URL ?? 'http://127.0.0.1:8025';

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

/** Polls the mail catcher until `count` messages to `address` arrived; returns them. */
async function emailTo(address, { count = 1, timeout = 30_000 } = {}) {
  const deadline = Date.now() + timeout;
  while (Date.now() < deadline) {
    const response = await fetch(`${mailUrl}/api/messages`);
    assert.equal(response.status, 200);
    const messages = await response.json();
    const found = messages.filter((m) => m.envelope_to.includes(address) || m.to.includes(address));
    if (found.length >= count) return found;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  assert.fail(`fewer than ${count} emails reached ${address}`);
}

test('a host sends invitations from the dashboard and the emailed link opens the RSVP page', async () => {
  const { page } = await openPage(browser);
  await page.goto('/signup');
  await hydrated(page);
  await page.getByTestId('signup-name').fill('Ada Host');
  await page.getByTestId('signup-email').fill(`ada-mail-${unique}@example.org`);
  await page.getByTestId('signup-password').fill('correct horse battery staple');
  await page.getByTestId('signup-submit').click();
  await page.waitForURL('**/events');

  // An event whose guests' emails are in French.
  await page.goto('/events/new');
  await hydrated(page);
  await page.getByTestId('event-name').fill('Dîner de printemps');
  await page.getByTestId('event-slug').fill(`diner-${unique}`);
  await page.getByTestId('event-date').fill('2031-04-12T19:00');
  await page.getByTestId('event-time-zone').fill('Europe/Paris');
  await page.getByTestId('event-venue').fill('La Maison du Lac');
  await page.getByTestId('event-language').selectOption('fr');
  await page.getByTestId('event-submit').click();
  await page.waitForURL(/\/events\/[0-9a-f-]{36}$/);
  await hydrated(page);

  const grace = `grace-${unique}@example.org`;
  const alan = `alan-${unique}@example.org`;
  for (const [name, email] of [['Grace Guest', grace], ['Alan Guest', alan]]) {
    await page.getByTestId('guest-name').fill(name);
    await page.getByTestId('guest-email').fill(email);
    await page.getByTestId('guest-submit').click();
    await page.getByTestId('invitation-row').filter({ hasText: name }).waitFor();
  }
  const panel = page.getByTestId('invitations-panel');
  const graceRow = panel.getByTestId('invitation-row').filter({ hasText: 'Grace Guest' });
  assert.equal((await graceRow.getByTestId('delivery-status').textContent()).trim(), 'Not sent yet');

  // Sends to everyone not yet invited; both are queued, then delivered by the worker.
  await panel.getByTestId('send-invitations').click();
  await panel.getByTestId('invitations-result').filter({ hasText: '2 invitations' }).waitFor();
  for (const name of ['Grace Guest', 'Alan Guest']) {
    await panel
      .getByTestId('invitation-row')
      .filter({ hasText: name })
      .getByTestId('delivery-status')
      .filter({ hasText: 'Delivered' })
      .waitFor({ timeout: 30_000 });
  }

  // Sending to everyone again sends nothing twice.
  await panel.getByTestId('send-invitations').click();
  await panel.getByTestId('invitations-result').filter({ hasText: 'No invitation to send' }).waitFor();

  const [message, ...others] = await emailTo(grace);
  assert.equal(others.length, 0, 'one invitation per guest');
  assert.match(message.subject, /Dîner de printemps/);
  assert.match(message.content_type, /multipart\/alternative/);
  const link = message.text.match(/https?:\/\/\S+\/i\/gg1_[A-Za-z0-9_-]+/)?.[0];
  assert.ok(link, `the email carries the personal link:\n${message.text}`);
  assert.ok(message.html.includes(link), 'the HTML part carries the same link');
  assert.doesNotMatch(message.text, /score|risk|fraud/i);

  // The guest opens the emailed link in a browser context of their own.
  const guest = await openPage(browser, { userAgent: DESKTOP_CHROME });
  const response = await guest.page.goto(link);
  assert.equal(response.status(), 200);
  await hydrated(guest.page);
  assert.equal((await guest.page.getByTestId('invitation-event-name').textContent()).trim(), 'Dîner de printemps');
  assert.match(await guest.page.getByTestId('invitation-guest-name').textContent(), /Grace Guest/);
  await guest.context.close();

  // Alan is chosen and invited again by hand: a second email reaches him.
  const alanRow = panel.getByTestId('invitation-row').filter({ hasText: 'Alan Guest' });
  await alanRow.getByTestId('invite-choose').check();
  await panel.getByTestId('send-selected').click();
  await panel.getByTestId('invitations-result').filter({ hasText: '1 invitation' }).waitFor();
  await emailTo(alan, { count: 2 });
});
