// The relaxed SIMD builds (fused multiply-add): Chromium validates the package's probe module, so by default
// it gets simd-relaxed / threads-relaxed, and `relaxedSimd: false` gets the plain builds. Both must name the
// same top-1 class on real photos with real weights (a quantized tflite and a float ONNX model).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { DEFAULT_MODEL, launchBrowser, pageSite, requireModel, removeTempDirs, runPage, serve } from './helpers.mjs';

const MODELS = [DEFAULT_MODEL, 'shufflenet_v2_x0_33'];
const PHOTOS = ['parrot.jpg', 'owl.jpg', 'hot_dog.jpg', 'sunflower.png', 'skimage_coffee.png'];
let site;
let browser;

const PAGE = `
import { Classifier, supportsRelaxedSimd } from './pkg/index.js';
const MODELS = ${JSON.stringify(MODELS)};
const PHOTOS = ${JSON.stringify(PHOTOS)};

async function run(id, images, options) {
  const clf = await Classifier.load(id, { modelBaseUrl: '/models/', ...options });
  const answers = [];
  for (const img of images) answers.push((await clf.classify(img, { topK: 1 })).predictions[0]);
  const ms = [];
  for (let i = 0; i < 5; i++) ms.push((await clf.classify(images[0], { topK: 1 })).timings.inferenceMs);
  const build = clf.info.build;
  clf.dispose();
  return { build, answers, medianMs: ms.sort((a, b) => a - b)[2] };
}

async function main() {
  const images = await Promise.all(PHOTOS.map(async (name) => {
    const img = new Image();
    img.src = './' + name;
    await img.decode();
    return img;
  }));
  const models = {};
  for (const id of MODELS) {
    models[id] = { relaxed: await run(id, images, {}), plain: await run(id, images, { relaxedSimd: false }) };
  }
  const badOption = await Classifier.load(MODELS[0], { modelBaseUrl: '/models/', relaxedSimd: 'yes' })
    .then(() => 'resolved', (e) => e.code);
  window.result = { supported: supportsRelaxedSimd(), isolated: self.crossOriginIsolated, models, badOption };
}
main().catch((e) => { window.failure = (e && e.code ? e.code + ': ' : '') + (e && e.stack || e); });
`;

before(async () => {
  requireModel(`${DEFAULT_MODEL}.tflite`);
  requireModel('shufflenet_v2_x0_33.onnx');
  site = pageSite('relaxed', PAGE, PHOTOS);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  removeTempDirs();
});

for (const isolated of [true, false]) {
  const base = isolated ? 'threads' : 'simd';
  test(`Chromium gets ${base}-relaxed, relaxedSimd: false gets ${base}, and both name the same top-1`, async () => {
    const server = await serve(site, { isolated });
    try {
      const r = await runPage(browser.context, server.url, { timeout: 180_000 });
      assert.equal(r.isolated, isolated);
      assert.equal(r.supported, true, 'Chromium validates the relaxed SIMD probe');
      assert.equal(r.badOption, 'input');
      let differing = 0;
      for (const id of MODELS) {
        const { relaxed, plain } = r.models[id];
        assert.equal(relaxed.build, `${base}-relaxed`, id);
        assert.equal(plain.build, base, id);
        PHOTOS.forEach((photo, i) => {
          const [a, b] = [relaxed.answers[i], plain.answers[i]];
          assert.equal(a.label, b.label, `${id} on ${photo}: relaxed ${a.label} vs plain ${b.label}`);
          assert.ok(Math.abs(a.probability - b.probability) < 0.01, `${id} on ${photo}: p ${a.probability} vs ${b.probability}`);
          if (a.probability !== b.probability) differing++;
        });
        console.log(`# ${id} (${base}): top-1 ${relaxed.answers.map((p) => p.label).join(', ')}; `
          + `inference median ${relaxed.medianMs.toFixed(1)} ms relaxed vs ${plain.medianMs.toFixed(1)} ms plain`);
      }
      assert.equal(r.models[MODELS[0]].relaxed.answers[0].label, 'macaw');
      // Fused multiply-add rounds once: were the relaxed kernels really running, some probability moves.
      assert.ok(differing > 0, 'relaxed and plain builds gave bit-identical probabilities everywhere');
      console.log(`# ${base}: ${differing} of ${MODELS.length * PHOTOS.length} top-1 probabilities differ in low bits`);
      assert.ok(server.requests.includes(`/pkg/${base}-relaxed/mobilecnn_bg.wasm`), server.requests.join(' '));
      assert.ok(server.requests.includes(`/pkg/${base}/mobilecnn_bg.wasm`), server.requests.join(' '));
      const other = isolated ? 'simd' : 'threads';
      assert.ok(!server.requests.some((p) => p.startsWith(`/pkg/${other}`)), `fetched a ${other} build too`);
    } finally {
      await server.close();
    }
  });
}
