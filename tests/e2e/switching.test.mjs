// Switching models 50 times while the camera is classifying must not leak. Every switch disposes the old
// classifier; the package then resets its worker (the model freed) and keeps it idle for the next load, so
// the demo alternates between two workers instead of starting (and compiling) a new one per switch.
// Asserted on what the browser and the wasm see, not on the app's own bookkeeping:
//  - workers: no more than two classifiers' worth are ever started (the live one and the reused idle one,
//    each with its rayon threads in the threaded build), and that many are alive at the end;
//  - wasm memory (`clf.memory()`, the live classifier's worker): flat once both models have been through
//    each worker — the last 10 switches' peak within a small margin of the first 10's — and under an
//    absolute bound; a reused worker that kept the previous model would grow by a model per switch;
//  - the renderer processes' resident memory (page + workers + wasm memories), measured while paused after
//    a GC at switch 20 and at switch 50, grows by less per switch than one leaked classifier costs
//    (measured: ~24 MB single-thread, ~33 MB threaded, for these small models). What it still grows by
//    (~5–6 MB per switch here) comes with the frames, not the switches: classifying the camera without any
//    switch grows it ~1.1 MB per frame up to a plateau ~350 MB higher after ~400 frames — and so does a
//    page without mobilecnn that only does createImageBitmap(video) + close() per frame: Chromium's own.
// It prints the time per switch (the new model loaded → its first result) for the record.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, makeY4m, rendererRss, requireBuiltFiles, serve, tempDir, waitForModel } from './helpers.mjs';

const MODELS = ['mobilenet_v1_0.25_128_quant', 'shufflenet_v2_x0_25'];
const SWITCHES = 50;
const MB = 1024 * 1024;
const MAX_GROWTH_PER_SWITCH = 16 * MB;
const FIRST_MEASURE = 20; // after the allocator's warm-up; RSS then creeps towards a plateau
const WINDOW = 10; // switches compared at the start and at the end
const WASM_MARGIN = 2 * MB; // allocator slack between the first and last windows' peaks
const WASM_MAX = 64 * MB; // two small models (weights ~0.5–1 MB, arenas a few MB) need far less
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

/** Switches through the app's own path (Runner.load: new classifier, then the old one disposed), waits for
 *  the new model's first result from the camera; returns the milliseconds that took. */
async function switchAndClassify(page, id) {
  const before = await resultCount(page);
  const started = Date.now();
  await page.evaluate((id) => window.mobilecnnDemo.switchModel(id), id);
  await waitForModel(page, id);
  await page.waitForFunction((n) => Number(document.documentElement.dataset.results ?? 0) > n, before, { timeout: 20_000, polling: 20 });
  return Date.now() - started;
}

/** The live classifier's wasm memory in bytes (asked of its worker). */
const wasmMemory = (page) => page.evaluate(async () => (await window.mobilecnnDemo.runner.classifier.memory()).wasmMemoryBytes);

/** Paused (no frames in flight), idle workers settled, main-thread garbage collected: then the RSS. */
async function quiescent(page, browser) {
  await page.click('#btn-pause');
  await page.evaluate(() => globalThis.gc?.());
  await page.waitForTimeout(500);
  const workers = page.workers().length;
  const rss = await rendererRss(browser);
  await page.click('#btn-pause');
  return { workers, rss };
}

const max = (xs) => Math.max(...xs);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mb = (bytes) => (bytes / MB).toFixed(1);

async function switchFiftyTimes(threads) {
  const app = await launch({ camera: y4m, args: ['--js-flags=--expose-gc'] });
  try {
    const { page, browser } = app;
    let started = 0; // workers the page started: classifiers' workers and their rayon threads
    page.on('worker', () => started++);
    await page.goto(`${server.url}?sw=off&threads=${threads}&model=${MODELS[0]}`);
    await waitForModel(page, MODELS[0]);
    await page.waitForTimeout(300);
    const oneClassifier = page.workers().length; // its worker (+ its thread pool)
    assert.ok(oneClassifier >= 1, 'the classifier runs in a worker');
    const build = await page.evaluate(() => document.documentElement.dataset.build);
    const seen = [];
    const times = [];
    const memory = [];
    const begun = Date.now();
    const resultsBefore = await resultCount(page);
    for (let i = 1; i <= SWITCHES; i++) {
      times.push(await switchAndClassify(page, MODELS[i % 2]));
      memory.push(await wasmMemory(page));
      if (i === FIRST_MEASURE || i === SWITCHES) seen.push(await quiescent(page, browser));
    }
    const seconds = (Date.now() - begun) / 1000;
    const switches = await page.evaluate(() => window.mobilecnnDemo.runner.switches);
    const frames = (await resultCount(page)) - resultsBefore;
    const growth = (seen[1].rss - seen[0].rss) / (SWITCHES - FIRST_MEASURE);
    const [firstPeak, lastPeak] = [max(memory.slice(0, WINDOW)), max(memory.slice(-WINDOW))];
    console.log(`# ${build}: ${SWITCHES} switches in ${seconds.toFixed(1)} s with ${frames} frames classified; `
      + `switch → first result median ${median(times)} ms (first ${times[0]}, max ${max(times)}); workers started ${started}, `
      + `alive ${oneClassifier} → ${seen[0].workers} → ${seen[1].workers}; wasm memory peak ${mb(firstPeak)} MB in the first `
      + `${WINDOW} switches, ${mb(lastPeak)} MB in the last ${WINDOW}; renderer RSS ${mb(seen[0].rss)} MB at switch `
      + `${FIRST_MEASURE}, ${mb(seen[1].rss)} MB at ${SWITCHES} (${mb(growth)} MB per switch)`);
    assert.equal(switches, SWITCHES);
    assert.ok(frames >= SWITCHES, 'the camera was classified all along');
    assert.ok(started <= 2 * oneClassifier, `${started} workers started for ${SWITCHES} switches: workers are not reused`);
    for (const s of seen) assert.ok(s.workers <= 2 * oneClassifier, `${s.workers} workers alive: disposed classifiers' workers linger`);
    assert.ok(lastPeak <= firstPeak + WASM_MARGIN, `wasm memory grew from ${mb(firstPeak)} to ${mb(lastPeak)} MB`);
    assert.ok(lastPeak <= WASM_MAX, `wasm memory ${mb(lastPeak)} MB`);
    assert.ok(growth < MAX_GROWTH_PER_SWITCH, `renderer memory grew ${mb(growth)} MB per switch`);
  } finally {
    await app.close();
  }
}

test(`${SWITCHES} model switches while classifying reuse workers and keep memory bounded (threaded build)`, () => switchFiftyTimes('auto'));
test(`${SWITCHES} model switches while classifying reuse workers and keep memory bounded (single-thread build)`, () => switchFiftyTimes('0'));
