// Every page a person sees, judged in Chromium at phone and desktop widths: no console
// errors or failed requests (hydration included), no serious or critical accessibility
// violations (axe-core, run in the page under its own CSP), and a screenshot of each
// under target/e2e-artifacts/ (ignored by git) for people to look at.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { launch, openPage, baseUrl, DESKTOP_CHROME } from '../browser.mjs';

const require = createRequire(import.meta.url);
const axeSource = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const artifacts = 'target/e2e-artifacts';
// The phone in the light scheme, the desktop in the dark one: both get checked.
const widths = [
  { name: 'phone', viewport: { width: 390, height: 844 }, colorScheme: 'light' },
  { name: 'desktop', viewport: { width: 1280, height: 800 }, colorScheme: 'dark' },
];

let browser;
before(async () => {
  browser = await launch();
  fs.mkdirSync(artifacts, { recursive: true });
});
after(async () => {
  await browser?.close();
});

const unique = `${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
let arranged = 0;

/** Serious and critical axe violations of the page, as readable lines. */
async function axeViolations(page) {
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const result = await window.axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      targets: v.nodes.slice(0, 3).map((n) => n.target.join(' ')),
    }));
  });
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.targets.join(', ')}`);
}

/** A host with an event, a guest who has a link; returns the host's cookies and paths. */
async function arrange() {
  arranged += 1;
  const { context } = await openPage(browser);
  const call = async (method, path, data) => {
    const response = await context.request.fetch(path, {
      method,
      data,
      headers: { origin: new URL(baseUrl).origin },
    });
    assert.ok(response.ok(), `${method} ${path}: ${response.status()} ${await response.text()}`);
    return response.json();
  };
  await call('POST', '/api/v1/auth/signup', {
    email: `pages-${unique}-${arranged}@example.org`,
    name: 'Ada Pages',
    password: 'correct horse battery staple',
  });
  const event = await call('POST', '/api/v1/events', {
    name: 'Accessible Garden Party',
    slug: `pages-${unique}-${arranged}`,
    event_date: '2031-06-12T18:00:00+02:00',
    time_zone: 'Europe/Paris',
    venue: 'The Orchard',
    description: 'Bring a chair.',
    default_max_plus_ones: 2,
  });
  const guest = await call('POST', `/api/v1/events/${event.id}/guests`, { name: 'Grace Pages' });
  const link = await call('POST', `/api/v1/events/${event.id}/guests/${guest.id}/tokens`);
  const state = await context.storageState();
  await context.close();
  return { state, event, guest, link: new URL(link.url).pathname };
}

test('every page runs cleanly, passes axe and is captured at phone and desktop widths', async () => {
  const { state, event, link } = await arrange();
  const pages = [
    { name: 'landing', path: '/', host: false },
    { name: 'dashboard', path: '/events', host: true },
    { name: 'event', path: `/events/${event.id}`, host: true },
    { name: 'new-event', path: '/events/new', host: true },
    { name: 'monitor', path: `/events/${event.id}/monitor`, host: true },
    { name: 'rsvp', path: link, host: false },
  ];
  const report = [];
  const failures = [];
  for (const { name, path, host } of pages) {
    for (const width of widths) {
      const { context, page, problems } = await openPage(browser, {
        viewport: width.viewport,
        colorScheme: width.colorScheme,
        reducedMotion: 'reduce',
        userAgent: DESKTOP_CHROME,
        ...(host ? { storageState: state } : {}),
      });
      const response = await page.goto(path);
      assert.equal(response.status(), 200, `${name} answers 200`);
      await page.waitForSelector('[data-hydrated="true"]', { timeout: 30_000 });
      if (name === 'monitor') {
        await page.waitForSelector('[data-testid="monitor-status"][data-state="live"]', { timeout: 15_000 });
      }
      const file = `${artifacts}/${name}-${width.name}.png`;
      await page.screenshot({ path: file, fullPage: true });
      const violations = await axeViolations(page);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      report.push(`${name} ${width.name}: ${violations.length} serious/critical, overflow ${overflow}px → ${file}`);
      // Every page is judged before failing, so one run shows everything to fix.
      const where = `${name} at ${width.name}`;
      failures.push(...problems.map((p) => `${where}: ${p}`));
      failures.push(...violations.map((v) => `${where}: ${v}`));
      if (overflow > 1) failures.push(`${where}: scrolls sideways by ${overflow}px`);
      await context.close();
    }
  }
  console.log(report.join('\n'));
  assert.deepEqual(failures, [], 'no console errors, no serious axe violations, no sideways scrolling');
});

test('the new-event page previews the invitation as it is typed', async () => {
  const { state } = await arrange();
  const { context, page, problems } = await openPage(browser, { storageState: state });
  await page.goto('/events/new');
  await page.waitForSelector('[data-hydrated="true"]', { timeout: 30_000 });
  assert.equal((await page.getByTestId('preview-name').textContent()).trim(), "Your event's name");
  await page.getByTestId('event-name').fill('Midsummer Supper');
  await page.getByTestId('event-venue').fill('The Boathouse');
  await page.getByTestId('event-date').fill('2031-06-21T19:30');
  assert.equal((await page.getByTestId('preview-name').textContent()).trim(), 'Midsummer Supper');
  assert.equal((await page.getByTestId('preview-venue').textContent()).trim(), 'The Boathouse');
  assert.equal((await page.getByTestId('preview-when').textContent()).trim(), 'Sat 21 Jun 2031 · 19:30');
  assert.deepEqual(problems, []);
  await context.close();
});

test('a guest can add the event to their calendar, and a withdrawn link gets a friendly page', async () => {
  const { state, event, guest, link } = await arrange();
  const { context, page, problems } = await openPage(browser, { userAgent: DESKTOP_CHROME });
  const calendar = await context.request.get(`${link}/calendar.ics`);
  assert.equal(calendar.status(), 200);
  assert.match(calendar.headers()['content-type'], /^text\/calendar/);
  const ics = await calendar.text();
  assert.match(ics, /SUMMARY:Accessible Garden Party/);
  assert.match(ics, /DTSTART:20310612T160000Z/);

  // The host rotates the link: the old one now answers a friendly "withdrawn" page.
  const host = await openPage(browser, { storageState: state });
  const rotated = await host.context.request.post(`/api/v1/events/${event.id}/guests/${guest.id}/tokens`, {
    headers: { origin: new URL(baseUrl).origin },
  });
  assert.equal(rotated.status(), 201);
  await host.context.close();
  const response = await page.goto(link);
  assert.equal(response.status(), 410);
  await page.getByTestId('link-problem').waitFor();
  assert.match(await page.getByTestId('link-problem').textContent(), /replaced or withdrawn/);
  assert.equal((await context.request.get(`${link}/calendar.ics`)).status(), 410);
  assert.deepEqual(problems.filter((p) => !/status of 410/.test(p)), []);
  await context.close();
});
