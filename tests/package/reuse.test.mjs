// Worker reuse, on pkg/ as built: 50 load → classify → dispose cycles alternating two real models start one
// worker per build (the page's Worker constructor is wrapped to count), keep the wasm memory flat
// (clf.memory()), and give the same answers as a fresh worker does — a reused worker holds nothing of the
// previous model. Two live classifiers never share a worker, and a disposed classifier stays disposed while
// its worker serves the next one. Served cross-origin isolated: the threaded build, plus `threads: false`
// for the single-thread one.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { launchBrowser, pageSite, requireModel, removeTempDirs, runPage, serve } from './helpers.mjs';

const MODELS = ['mobilenet_v1_0.25_128_quant', 'shufflenet_v2_x0_25'];
const CYCLES = 50;
const WINDOW = 10;
const MB = 1024 * 1024;
let site;
let browser;

const PAGE = `
// Counts the workers the package starts (rayon's helper threads start inside the worker, not here).
let workersStarted = 0;
const PageWorker = globalThis.Worker;
globalThis.Worker = class extends PageWorker {
  constructor(...args) {
    super(...args);
    workersStarted++;
  }
};
const { Classifier } = await import('./pkg/index.js');
const MODELS = ${JSON.stringify(MODELS)};
const top = (r) => r.predictions.map((p) => p.label + ' ' + p.probability.toFixed(6)).join(', ');

async function cycles(n, options) {
  const img = new Image();
  img.src = './parrot.jpg';
  await img.decode();
  const out = { memory: [], answers: [], loadMs: [], builds: new Set() };
  for (let i = 0; i < n; i++) {
    const started = performance.now();
    const clf = await Classifier.load(MODELS[i % 2], { modelBaseUrl: '/models/', ...options });
    out.answers.push(top(await clf.classify(img, { topK: 3 })));
    out.loadMs.push(performance.now() - started);
    out.memory.push((await clf.memory()).wasmMemoryBytes);
    out.builds.add(clf.info.build);
    clf.dispose();
  }
  out.builds = [...out.builds];
  return out;
}

async function main() {
  const threaded = await cycles(${CYCLES}, {});
  const afterThreaded = workersStarted;
  const single = await cycles(${WINDOW}, { threads: false });
  const afterSingle = workersStarted;

  // Two at once while one worker is idle: the second gets a new worker of its own.
  const [a, b] = await Promise.all(MODELS.map((id) => Classifier.load(id, { modelBaseUrl: '/models/' })));
  const twoAtOnce = workersStarted - afterSingle;
  const grey = new ImageData(64, 64);
  const [ra, rb] = await Promise.all([a.classify(grey, { topK: 1 }), b.classify(grey, { topK: 1 })]);
  a.dispose();
  // a's worker goes back to the pool and serves c; a stays disposed, b is untouched.
  const c = await Classifier.load('zoo:mobilenet_v1_0.25_64');
  const disposedStaysDisposed = await a.classify(grey).then(() => 'resolved', (e) => e.code);
  const bStill = (await b.classify(grey, { topK: 1 })).predictions[0].label === rb.predictions[0].label;
  const cWorks = (await c.classify(grey, { topK: 1 })).predictions.length;
  const afterC = workersStarted;
  b.dispose();
  c.dispose();
  Classifier.terminateIdleWorkers();
  window.result = {
    threaded, single, afterThreaded, afterSingle, twoAtOnce, afterC,
    distinctAnswers: ra.predictions[0].label !== undefined && rb.predictions[0].label !== undefined,
    disposedStaysDisposed, bStill, cWorks,
  };
}
main().catch((e) => { window.failure = (e && e.code ? e.code + ': ' : '') + (e && e.stack || e); });
`;

before(async () => {
  for (const id of MODELS) requireModel(id === MODELS[0] ? `${id}.tflite` : `${id}.onnx`);
  site = pageSite('reuse', PAGE);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  removeTempDirs();
});

const max = (xs) => Math.max(...xs);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

test(`${CYCLES} load/dispose cycles reuse one worker per build, keep wasm memory flat and answers unchanged`, async () => {
  const server = await serve(site, { isolated: true });
  try {
    const r = await runPage(browser.context, server.url, { timeout: 180_000 });
    for (const [name, run] of [['threads', r.threaded], ['simd', r.single]]) {
      const [first, last] = [max(run.memory.slice(0, WINDOW)), max(run.memory.slice(-WINDOW))];
      console.log(`# ${name}: ${run.memory.length} cycles; load → first result ${run.loadMs[0].toFixed(0)} ms cold, `
        + `median ${median(run.loadMs.slice(1)).toFixed(0)} ms reused; wasm memory ${(run.memory[0] / MB).toFixed(1)} → `
        + `${(last / MB).toFixed(1)} MB (peak of the first ${WINDOW}: ${(first / MB).toFixed(1)} MB)`);
      assert.equal(run.builds.length, 1);
      assert.match(run.builds[0], new RegExp(`^${name}(-relaxed)?$`));
      assert.ok(last <= first, `${name}: wasm memory grew from ${first} to ${last} bytes`);
      assert.ok(last < 64 * MB, `${name}: wasm memory ${last} bytes`);
      // The same model on a reused worker answers exactly as it did on the fresh one.
      for (let i = 2; i < run.answers.length; i++) assert.equal(run.answers[i], run.answers[i % 2], `${name} cycle ${i}`);
      assert.notEqual(run.answers[0], run.answers[1], 'two different models');
      assert.match(run.answers[0], /^macaw /);
    }
    assert.equal(r.afterThreaded, 1, 'one threaded worker for all the cycles');
    assert.equal(r.afterSingle, 2, 'one single-thread worker for its cycles');
    assert.equal(r.twoAtOnce, 1, 'two live classifiers: the idle worker and a new one');
    assert.equal(r.afterC, 3, "a disposed classifier's worker serves the next load");
    assert.equal(r.disposedStaysDisposed, 'disposed');
    assert.ok(r.bStill);
    assert.equal(r.cWorks, 1);
  } finally {
    await server.close();
  }
});
