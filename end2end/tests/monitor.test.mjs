// The host's live monitor in Chromium, across two server processes: the host watches
// the monitor served by a second replica while the guest uses the first one. The
// guest's opening appears on the monitor with its label; the replica is then restarted,
// the guest answers while it is down, and the monitor reconnects on its own and shows
// the answer it missed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, openPage, baseUrl, DESKTOP_CHROME } from '../browser.mjs';
import { Replica, canStartReplicas } from '../replica.mjs';

let browser;
let replica;
before(async () => {
  browser = await launch();
  if (canStartReplicas) replica = await Replica.start('target/e2e-artifacts');
});
after(async () => {
  await replica?.stop();
  await browser?.close();
});

const unique = `${Date.now()}-${Math.floor(Math.random() * 1e6)}`;

async function hydrated(page) {
  await page.waitForSelector('[data-hydrated="true"]', { timeout: 30_000 });
}

/** A REST call as the signed-in host of `context`, from the replica's own origin. */
async function api(context, method, path, data) {
  const response = await context.request.fetch(`${replica.url}${path}`, {
    method,
    data,
    headers: { origin: replica.url },
  });
  assert.ok(response.ok(), `${method} ${path}: ${response.status()} ${await response.text()}`);
  return response.json();
}

test('the monitor shows a guest live and catches up after its server restarts', { skip: !canStartReplicas }, async () => {
  const host = await openPage(browser, { baseURL: replica.url });
  await api(host.context, 'POST', '/api/v1/auth/signup', {
    email: `monitor-${unique}@example.org`,
    name: 'Ada Monitor',
    password: 'correct horse battery staple',
  });
  const event = await api(host.context, 'POST', '/api/v1/events', {
    name: 'Live Garden Party',
    slug: `live-${unique}`,
    event_date: '2031-06-12T18:00:00+02:00',
    time_zone: 'Europe/Paris',
    venue: 'The Orchard',
    default_max_plus_ones: 1,
  });
  const guest = await api(host.context, 'POST', `/api/v1/events/${event.id}/guests`, { name: 'Grace Live' });
  const link = await api(host.context, 'POST', `/api/v1/events/${event.id}/guests/${guest.id}/tokens`);
  // The guest uses the first server: the same link, on its address.
  const guestUrl = link.url.replace(replica.url, baseUrl);

  await host.page.goto(`/events/${event.id}/monitor`);
  await hydrated(host.page);
  await host.page.waitForSelector('[data-testid="monitor-status"][data-state="live"]', { timeout: 15_000 });
  assert.equal(await host.page.getByTestId('monitor-row').count(), 0);

  // The guest opens the link; the row appears on the other server's monitor.
  const guestSide = await openPage(browser, { userAgent: DESKTOP_CHROME });
  const opened = Date.now();
  const response = await guestSide.page.goto(guestUrl);
  assert.equal(response.status(), 200);
  const row = host.page.getByTestId('monitor-row').filter({ hasText: 'Grace Live' });
  await row.first().waitFor({ timeout: 2_000 });
  const latency = Date.now() - opened;
  console.log(`monitor: the opening appeared ${latency} ms after the guest asked for the page`);
  assert.equal(await row.first().getAttribute('data-kind'), 'opened');
  // Once the engine scored it, the row carries its label (a real browser: Verified).
  await host.page.waitForSelector(
    '[data-testid="monitor-row"][data-kind="opened"]:not([data-label="scoring"])',
    { timeout: 20_000 },
  );
  const label = (await host.page.getByTestId('monitor-label').first().textContent()).trim();
  console.log(`monitor: the opening was labelled "${label}"`);
  assert.match(label, /^(Verified|Review|Suspicious|Blocked|Unscored)/);
  await hydrated(guestSide.page);
  // Guests never learn their score, band or reasons.
  const guestText = await guestSide.page.locator('body').innerText();
  assert.doesNotMatch(guestText, /Verified|Suspicious|score|fingerprint/i);
  assert.deepEqual(host.problems, [], 'the monitor ran without console errors');

  // The replica serving the monitor restarts; meanwhile the guest answers.
  await replica.stop();
  await host.page.waitForSelector('[data-testid="monitor-status"]:not([data-state="live"])', { timeout: 10_000 });
  await guestSide.page.getByTestId('rsvp-attending').check();
  await guestSide.page.getByTestId('plus-ones-increment').click();
  await guestSide.page.getByTestId('rsvp-submit').click();
  await guestSide.page.getByTestId('rsvp-confirmation').waitFor();
  assert.ok(await guestSide.page.getByTestId('add-to-calendar').isVisible());
  assert.deepEqual(guestSide.problems, []);
  await replica.run();

  // The monitor reconnects by itself and shows what happened during the gap.
  await host.page.waitForSelector('[data-testid="monitor-status"][data-state="live"]', { timeout: 30_000 });
  const answer = host.page.getByTestId('monitor-row').filter({ hasText: 'Attending +1' });
  await answer.waitFor({ timeout: 10_000 });
  assert.equal(await answer.getAttribute('data-kind'), 'answered');
  await host.page.waitForFunction(
    () => document.querySelector('[data-testid="count-attending"]')?.textContent?.trim() === '1',
    null,
    { timeout: 10_000 },
  );
  assert.equal((await host.page.getByTestId('count-plus-ones').textContent()).trim(), '1');
  // The outage itself is the only thing the console may complain about.
  const unexpected = host.problems.filter(
    (p) => !/WebSocket connection|ERR_CONNECTION_REFUSED|ERR_CONNECTION_RESET|Failed to load resource/.test(p),
  );
  assert.deepEqual(unexpected, []);

  // From the row, the host takes the link back: the guest's link stops working.
  await answer.getByTestId('row-revoke').click();
  await host.page.getByText("Grace Live's link is revoked").first().waitFor();
  const after = await guestSide.context.request.get(guestUrl);
  assert.equal(after.status(), 410);
  await guestSide.context.close();
  await host.context.close();
});
