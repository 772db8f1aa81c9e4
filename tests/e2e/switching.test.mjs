// Switching models 50 times while the camera is classifying: every switch must dispose the old
// classifier (its worker, thread pool and wasm memory). Asserted on what the OS sees: the resident
// memory of the renderer processes, which hold the page and every worker's wasm memory, must not grow
// with the number of switches; and no worker may be left behind.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, makeY4m, rendererRss, requireBuiltFiles, serve, tempDir, waitForModel } from './helpers.mjs';

const MODELS = ['mobilenet_v1_0.25_128_quant', 'shufflenet_v2_x0_25'];
const SWITCHES = 50;
const MB = 1024 * 1024;
let server, y4m;

before(async () => {
  await requireBuiltFiles(MODELS);
  server = await serve();
  y4m = await makeY4m('skimage_coffee.png', await tempDir());
});

after(async () => {
  await server?.close();
});

/** Switches through the app's own path (Runner.load: new classifier, then dispose the old) and waits for
 *  the new model's first result from the camera. */
async function switchAndClassify(page, id) {
  const before = await page.evaluate(() => Number(document.documentElement.dataset.results ?? 0));
  await page.evaluate((id) => window.mobilecnnDemo.switchModel(id), id);
  await waitForModel(page, id);
  await page.waitForFunction((n) => Number(document.documentElement.dataset.results ?? 0) > n, before, { timeout: 20_000, polling: 50 });
}

test(`${SWITCHES} model switches while classifying keep memory bounded`, async () => {
  const app = await launch({ camera: y4m });
  try {
    const { page, browser } = app;
    await page.goto(`${server.url}?sw=off&model=${MODELS[0]}`);
    await waitForModel(page, MODELS[0]);
    await page.waitForTimeout(300);
    const baselineWorkers = page.workers().length; // the classifier's worker (+ its thread pool, if listed)
    const rss = [];
    const started = Date.now();
    for (let i = 1; i <= SWITCHES; i++) {
      await switchAndClassify(page, MODELS[i % 2]);
      if (i === 10 || i === SWITCHES) {
        await page.waitForTimeout(500); // let terminated workers' memory go back to the OS
        rss.push(await rendererRss(browser));
      }
    }
    const workers = page.workers().length;
    const switches = await page.evaluate(() => window.mobilecnnDemo.runner.switches);
    console.log(`# ${SWITCHES} switches in ${((Date.now() - started) / 1000).toFixed(1)} s; renderer RSS after 10: `
      + `${(rss[0] / MB).toFixed(0)} MB, after ${SWITCHES}: ${(rss[1] / MB).toFixed(0)} MB; live workers ${workers}`);
    assert.equal(switches, SWITCHES);
    assert.ok(baselineWorkers >= 1, 'the classifier runs in a worker');
    assert.ok(workers <= baselineWorkers, `${workers} workers alive after the switches, ${baselineWorkers} at the start`);
    // One classifier of these models needs a few MB of weights and arena; a leak of each switch's wasm
    // memory (≥ 16 MB per instance) would add hundreds of MB over 40 switches.
    assert.ok(rss[1] - rss[0] < 96 * MB, `renderer memory grew by ${((rss[1] - rss[0]) / MB).toFixed(0)} MB over ${SWITCHES - 10} switches`);
  } finally {
    await app.close();
  }
});
