// The threaded build as scripts/build-wasm.sh makes it (shared memory, wasm-bindgen-rayon with
// no-bundler) starts its worker pool in headless Chromium on a page served by scripts/serve.mjs,
// and the page is cross-origin isolated. Needs build/wasm/threads (the test stage `build` runs first).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startServer } from '../../scripts/serve.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BUILD = path.join(ROOT, 'build/wasm/threads');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

let site, server, browser;

before(async () => {
  assert.ok(existsSync(path.join(BUILD, 'mobilecnn_bg.wasm')), `${BUILD} is not built: run scripts/build-wasm.sh threads`);
  site = mkdtempSync(path.join(tmpdir(), 'mobilecnn-threads-'));
  mkdirSync(path.join(site, 'www'));
  symlinkSync(BUILD, path.join(site, 'pkg'));
  writeFileSync(path.join(site, 'www/index.html'), `<!doctype html><meta charset="utf-8"><title>threads</title>
<script type="module">
  try {
    const { default: init, initThreadPool } = await import('/pkg/mobilecnn.js');
    await init();
    await initThreadPool(2);
    window.result = { isolated: crossOriginIsolated, pool: true };
  } catch (e) {
    window.result = { isolated: crossOriginIsolated, error: String(e && e.stack || e) };
  }
</script>`);
  server = await startServer({ root: site, port: 0 });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
  await server?.close();
  if (site) rmSync(site, { recursive: true, force: true });
});

test('the threaded build starts a 2-thread pool in a cross-origin isolated page', async () => {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(server.url);
  await page.waitForFunction(() => window.result !== undefined, null, { timeout: 60_000 });
  const result = await page.evaluate(() => window.result);
  assert.equal(result.isolated, true, 'crossOriginIsolated');
  assert.equal(result.error, undefined, result.error);
  assert.equal(result.pool, true);
  assert.deepEqual(errors, []);
});
