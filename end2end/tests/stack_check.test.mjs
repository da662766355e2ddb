// The start page proves the stack: rendered by the server, hydrated by the wasm bundle
// (the counter only counts once hydration ran), a server function that reads
// PostgreSQL, and health with every dependency up.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, openPage } from '../browser.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test('the start page hydrates and its counter reacts to clicks', async () => {
  const { context, page, problems } = await openPage(browser);
  await page.goto('/stack');
  const section = page.getByTestId('stack-check');
  await section.waitFor();
  await page.waitForSelector('[data-testid="stack-check"][data-hydrated="true"]', { timeout: 30_000 });

  const counter = page.getByTestId('counter');
  assert.equal((await counter.textContent()).trim(), 'Clicked 0 times');
  await counter.click();
  await counter.click();
  await page.waitForFunction(
    () => document.querySelector('[data-testid="counter"]')?.textContent?.trim() === 'Clicked 2 times',
  );
  assert.deepEqual(problems, []);
  await context.close();
});

test('the database check round-trips through a server function to PostgreSQL', async () => {
  const { context, page, problems } = await openPage(browser);
  await page.goto('/stack');
  await page.waitForSelector('[data-testid="stack-check"][data-hydrated="true"]', { timeout: 30_000 });
  const result = page.getByTestId('database-result');
  assert.equal((await result.textContent()).trim(), 'Not checked yet.');

  await page.getByTestId('check-database').click();
  await page.waitForFunction(
    () => document.querySelector('[data-testid="database-result"]')?.textContent?.includes('PostgreSQL'),
    null,
    { timeout: 15_000 },
  );
  const text = (await result.textContent()).trim();
  assert.match(text, /^PostgreSQL \d+(\.\d+)*\b.* answered; [1-9]\d* migrations applied\.$/);
  assert.deepEqual(problems, []);
  await context.close();
});

test('/healthz says up, and only operators see which dependency is which', async () => {
  const { context, page } = await openPage(browser);
  const response = await page.goto('/healthz');
  assert.equal(response.status(), 200);
  assert.deepEqual(await response.json(), { status: 'ok' });
  const detail = await context.request.get('/healthz/detail', {
    headers: { authorization: `Bearer ${process.env.GUESTGUARD_OPS_TOKEN ?? 'development-only-ops-token'}` },
  });
  assert.equal(detail.status(), 200);
  const health = await detail.json();
  assert.deepEqual(health.checks, { database: 'up', nats: 'up', fraud: 'up' });
  assert.equal(typeof health.outbox.pending, 'number');
  await context.close();
});

test('an unknown page shows a friendly 404', async () => {
  const { context, page } = await openPage(browser);
  const response = await page.goto('/no/such/page');
  assert.equal(response.status(), 404);
  assert.ok(await page.getByText('Page not found').isVisible());
  await context.close();
});
