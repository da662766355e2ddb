// How pages and the bundle reach a browser: under a Content-Security-Policy that allows
// only our own scripts and this render's nonce (the page still hydrates, nothing is
// refused), compressed, and cached for good once fetched (hashed file names), so a
// repeat visit downloads no unchanged asset.
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

/** Records every CSP violation the page reports, from before its first script. */
async function watchViolations(context) {
  await context.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (event) => {
      window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`);
    });
  });
}

test('pages hydrate under the content security policy with nothing refused', async () => {
  const { context, page, problems } = await openPage(browser);
  await watchViolations(context);
  const response = await page.goto('/signup');
  const policy = response.headers()['content-security-policy'];
  assert.match(policy, /script-src 'self' 'nonce-[A-Za-z0-9_-]+' 'wasm-unsafe-eval'/);
  assert.doesNotMatch(policy, /'unsafe-eval'|'unsafe-inline'/);
  assert.match(policy, /frame-ancestors 'none'/);
  await page.waitForSelector('[data-hydrated="true"]', { timeout: 30_000 });
  assert.deepEqual(await page.evaluate(() => window.__cspViolations), []);
  assert.deepEqual(problems, []);
  await context.close();
});

test('the bundle arrives precompressed and a repeat visit fetches no unchanged asset', async () => {
  const { context, page, problems } = await openPage(browser);
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  const assets = new Map(); // request id -> {url, encoding, cacheControl, fromCache, bytes}
  // Chromium reports a memory-cache hit before (or instead of) its response.
  const servedFromCache = new Set();
  cdp.on('Network.requestServedFromCache', ({ requestId }) => {
    servedFromCache.add(requestId);
    const asset = assets.get(requestId);
    if (asset) asset.fromCache = true;
  });
  cdp.on('Network.responseReceived', ({ requestId, response }) => {
    if (!new URL(response.url).pathname.startsWith('/pkg/')) return;
    assets.set(requestId, {
      url: response.url,
      encoding: response.headers['content-encoding'] ?? response.headers['Content-Encoding'],
      cacheControl: response.headers['cache-control'] ?? response.headers['Cache-Control'],
      fromCache: response.fromDiskCache || servedFromCache.has(requestId),
      bytes: 0,
    });
  });
  cdp.on('Network.loadingFinished', ({ requestId, encodedDataLength }) => {
    const asset = assets.get(requestId);
    if (asset) asset.bytes = encodedDataLength;
  });

  const first = await page.goto('/login');
  assert.ok(first.headers()['content-encoding'], 'the page itself is compressed');
  await page.waitForSelector('[data-hydrated="true"]', { timeout: 30_000 });
  const firstVisit = [...assets.values()];
  assert.ok(firstVisit.some((a) => a.url.endsWith('.wasm')), 'the wasm bundle was fetched');
  for (const asset of firstVisit) {
    assert.match(asset.url, /\/pkg\/guestguard\.[A-Za-z0-9_-]+\.(wasm|js|css)$/, 'a hashed name');
    assert.equal(asset.encoding, 'br', `${asset.url} arrives as brotli`);
    assert.equal(asset.cacheControl, 'public, max-age=31536000, immutable');
  }
  const transferred = firstVisit.reduce((sum, a) => sum + a.bytes, 0);
  console.log(`first visit transferred ${transferred} bytes of wasm/js/css: ` +
    firstVisit.map((a) => `${a.url.split('/').pop()} ${a.bytes}`).join(', '));

  // A repeat visit (another page of the site) takes every unchanged asset from the cache.
  assets.clear();
  await page.goto('/signup');
  await page.waitForSelector('[data-hydrated="true"]', { timeout: 30_000 });
  const repeat = [...assets.values()];
  assert.ok(repeat.length > 0, 'the page used its assets');
  for (const asset of repeat) {
    assert.ok(asset.fromCache, `${asset.url} came from the cache, not the network`);
  }
  assert.deepEqual(problems, []);
  await context.close();
});
