// Switching models 50 times while the camera is classifying must not leak: every switch disposes the
// old classifier, whose worker owns its wasm instance, memory and thread pool. Asserted on what the
// browser and the OS see, not on the app's own bookkeeping:
//  - the live workers (the classifier's worker plus its rayon threads) are back to the count of one
//    classifier once the switches are over — a classifier not disposed keeps its worker and memory;
//  - the renderer processes' resident memory (page + workers + their wasm memories), measured while
//    paused after a GC at switch 20 and at switch 50, grows by less per switch than one leaked
//    classifier costs (measured: ~24 MB single-thread, ~33 MB threaded, for these small models).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, makeY4m, rendererRss, requireBuiltFiles, serve, tempDir, waitForModel } from './helpers.mjs';

const MODELS = ['mobilenet_v1_0.25_128_quant', 'shufflenet_v2_x0_25'];
const SWITCHES = 50;
const MB = 1024 * 1024;
const MAX_GROWTH_PER_SWITCH = 16 * MB;
const FIRST_MEASURE = 20; // after the allocator's warm-up; RSS then creeps towards a plateau (~100 switches)
let server, y4m;

before(async () => {
  await requireBuiltFiles(MODELS);
  server = await serve();
  y4m = await makeY4m('skimage_coffee.png', await tempDir());
});

after(async () => {
  await server?.close();
});

const resultCount = (page) => page.evaluate(() => Number(document.documentElement.dataset.results ?? 0));

/** Switches through the app's own path (Runner.load: new classifier, then the old one disposed) and waits
 *  for the new model's first result from the camera. */
async function switchAndClassify(page, id) {
  const before = await resultCount(page);
  await page.evaluate((id) => window.mobilecnnDemo.switchModel(id), id);
  await waitForModel(page, id);
  await page.waitForFunction((n) => Number(document.documentElement.dataset.results ?? 0) > n, before, { timeout: 20_000, polling: 50 });
}

/** Paused (no frames in flight), terminated workers gone, main-thread garbage collected: then the RSS. */
async function quiescent(page, browser, workersOfOneClassifier) {
  await page.click('#btn-pause');
  const deadline = Date.now() + 15_000;
  while (page.workers().length > workersOfOneClassifier && Date.now() < deadline) await page.waitForTimeout(100);
  const workers = page.workers().length;
  await page.evaluate(() => globalThis.gc?.());
  await page.waitForTimeout(500);
  const rss = await rendererRss(browser);
  await page.click('#btn-pause');
  return { workers, rss };
}

async function switchFiftyTimes(threads) {
  const app = await launch({ camera: y4m, args: ['--js-flags=--expose-gc'] });
  try {
    const { page, browser } = app;
    await page.goto(`${server.url}?sw=off&threads=${threads}&model=${MODELS[0]}`);
    await waitForModel(page, MODELS[0]);
    await page.waitForTimeout(300);
    const oneClassifier = page.workers().length; // its worker (+ its thread pool)
    assert.ok(oneClassifier >= 1, 'the classifier runs in a worker');
    const build = await page.evaluate(() => document.documentElement.dataset.build);
    const seen = [];
    const started = Date.now();
    const resultsBefore = await resultCount(page);
    for (let i = 1; i <= SWITCHES; i++) {
      await switchAndClassify(page, MODELS[i % 2]);
      if (i === FIRST_MEASURE || i === SWITCHES) seen.push(await quiescent(page, browser, oneClassifier));
    }
    const seconds = (Date.now() - started) / 1000;
    const switches = await page.evaluate(() => window.mobilecnnDemo.runner.switches);
    const frames = (await resultCount(page)) - resultsBefore;
    const growth = (seen[1].rss - seen[0].rss) / (SWITCHES - FIRST_MEASURE);
    console.log(`# ${build}: ${SWITCHES} switches in ${seconds.toFixed(1)} s with ${frames} frames classified; workers `
      + `${oneClassifier} → ${seen[0].workers} → ${seen[1].workers}; renderer RSS ${(seen[0].rss / MB).toFixed(0)} MB at switch ${FIRST_MEASURE}, `
      + `${(seen[1].rss / MB).toFixed(0)} MB at ${SWITCHES} (${(growth / MB).toFixed(1)} MB per switch)`);
    assert.equal(switches, SWITCHES);
    assert.ok(frames >= SWITCHES, 'the camera was classified all along');
    for (const s of seen) assert.equal(s.workers, oneClassifier, 'every disposed classifier\'s worker and threads are gone');
    assert.ok(growth < MAX_GROWTH_PER_SWITCH, `renderer memory grew ${(growth / MB).toFixed(1)} MB per switch`);
  } finally {
    await app.close();
  }
}

test(`${SWITCHES} model switches while classifying leave no classifier behind (threaded build)`, () => switchFiftyTimes('auto'));
test(`${SWITCHES} model switches while classifying leave no classifier behind (single-thread build)`, () => switchFiftyTimes('0'));
