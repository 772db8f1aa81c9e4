// The package's API beyond the happy path, on pkg/ as built (no packing): every input kind, two
// classifiers side by side, zoo sources, caller preprocessing, and the error codes
// (download, checksum, malformed, input, disposed). Served cross-origin isolated: the threaded build.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { DEFAULT_MODEL, launchBrowser, pageSite, requireModel, removeTempDirs, runPage, serve } from './helpers.mjs';

const SMALL = 'mobilenet_v1_0.25_128_quant';
let site;
let browser;

const PAGE = `
import { Classifier, MobileCnnError, catalogue, supportsThreads } from './pkg/index.js';
const codeOf = (p) => p.then(() => 'resolved', (e) => (e instanceof MobileCnnError ? e.code : 'not a MobileCnnError: ' + e));

async function main() {
  const img = new Image();
  img.src = './parrot.jpg';
  await img.decode();
  const canvas = document.createElement('canvas');
  canvas.width = img.naturalWidth;
  canvas.height = img.naturalHeight;
  canvas.getContext('2d').drawImage(img, 0, 0);

  // Two classifiers at once: different models, own workers, own answers.
  const [big, small] = await Promise.all([
    Classifier.load('${DEFAULT_MODEL}', { modelBaseUrl: '/models/' }),
    Classifier.load('${SMALL}', { modelBaseUrl: '/models', threads: 1 }),
  ]);
  const bitmap = await createImageBitmap(img);
  const frame = new VideoFrame(canvas, { timestamp: 0 });
  const stream = canvas.captureStream();
  const video = document.createElement('video');
  video.muted = true;
  video.srcObject = stream;
  const playing = video.play();
  // A canvas stream only carries frames when the canvas is painted.
  for (let i = 0; video.readyState < 2 && i < 250; i++) {
    canvas.getContext('2d').drawImage(img, 0, 0);
    await new Promise((r) => setTimeout(r, 20));
  }
  await playing;
  const [a, b, viaBitmap, viaFrame, viaVideo] = await Promise.all([
    big.classify(img, { topK: 1 }),
    small.classify(img, { topK: 1 }),
    big.classify(bitmap, { topK: 1 }),
    big.classify(frame, { topK: 1 }),
    big.classify(video, { topK: 1 }),
  ]);
  const bitmapStillUsable = bitmap.width === img.naturalWidth; // we copy, never close the caller's bitmap
  frame.close();
  const noFrameYet = await codeOf(big.classify(document.createElement('video')));
  const badInput = await codeOf(big.classify({ width: 3 }));
  const badTopK = await codeOf(big.classify(img, { topK: 0 }));
  big.dispose();
  const smallAfterBigDisposed = await small.classify(canvas, { topK: 1 });
  const smallInfo = small.info;
  small.dispose();

  // Bytes with the caller's preprocessing: BGR changes the input, so the probabilities.
  const bytes = await (await fetch('/models/${SMALL}.tflite')).arrayBuffer();
  const rgb = await Classifier.load(bytes, { preprocessing: catalogue.find((m) => m.id === '${SMALL}').preprocessing });
  const bgr = await Classifier.load(new Blob([bytes]), { preprocessing: { colorOrder: 'BGR', inputScale: 1, mean: [128, 128, 128], std: [128, 128, 128] } });
  const [pRgb, pBgr] = [await rgb.classify(img, { topK: 1 }), await bgr.classify(img, { topK: 1 })];
  rgb.dispose();
  bgr.dispose();

  const zoo = await Classifier.load('zoo:shufflenet_v2_0.5_96');
  const zooProfile = await zoo.profile(img);
  const zooInfo = zoo.info;
  zoo.dispose();

  window.result = {
    supportsThreads: supportsThreads(),
    top: [a, b, viaBitmap, viaFrame, viaVideo, smallAfterBigDisposed].map((r) => r.predictions[0].label),
    smallInfo, bitmapStillUsable, noFrameYet, badInput, badTopK,
    probabilities: [pRgb.predictions[0].probability, pBgr.predictions[0].probability],
    rgbTop: pRgb.predictions[0].label,
    zoo: { format: zooInfo.format, inputSize: zooInfo.inputSize, layers: zooProfile.layers.length, macs: zooProfile.totals.macs, infoMacs: zooInfo.macs },
    errors: {
      download: await codeOf(Classifier.load('/models/no_such_file.tflite')),
      checksum: await codeOf(Classifier.load('/models/${SMALL}.tflite', { sha256: '00'.repeat(32) })),
      malformed: await codeOf(Classifier.load(bytes.slice(0, 5000))),
      unknownZoo: await codeOf(Classifier.load('zoo:resnet_50')),
      badThreads: await codeOf(Classifier.load('zoo:mobilenet_v1_0.25_64', { threads: -1 })),
      badSource: await codeOf(Classifier.load(42)),
      badPreprocessing: await codeOf(Classifier.load(bytes, { preprocessing: { colorOrder: 'RGB', mean: [1] } })),
    },
  };
}
main().catch((e) => { window.failure = (e && e.code ? e.code + ': ' : '') + (e && e.stack || e); });
`;

before(async () => {
  requireModel(`${DEFAULT_MODEL}.tflite`);
  requireModel(`${SMALL}.tflite`);
  site = pageSite('api', PAGE);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  removeTempDirs();
});

test('every input kind, two classifiers, bytes/Blob/zoo sources, and each error code', async () => {
  const server = await serve(site, { isolated: true });
  try {
    const r = await runPage(browser.context, server.url);
    assert.equal(r.supportsThreads, true);
    assert.deepEqual(r.top, ['macaw', 'macaw', 'macaw', 'macaw', 'macaw', 'macaw'], r.top.join());
    assert.equal(r.smallInfo.id, 'mobilenet_v1_0.25_128_quant');
    assert.equal(r.smallInfo.inputSize, 128);
    assert.match(r.smallInfo.build, /^threads(-relaxed)?$/);
    assert.equal(r.smallInfo.threads, 1);
    assert.ok(r.bitmapStillUsable);
    assert.equal(r.noFrameYet, 'input');
    assert.equal(r.badInput, 'input');
    assert.equal(r.badTopK, 'input');
    assert.equal(r.rgbTop, 'macaw');
    assert.notEqual(r.probabilities[0], r.probabilities[1]);
    assert.equal(r.zoo.format, 'zoo');
    assert.equal(r.zoo.inputSize, 96);
    assert.ok(r.zoo.layers > 20);
    assert.equal(r.zoo.macs, r.zoo.infoMacs);
    assert.deepEqual(r.errors, {
      download: 'download', checksum: 'checksum', malformed: 'malformed', unknownZoo: 'input',
      badThreads: 'input', badSource: 'input', badPreprocessing: 'input',
    });
  } finally {
    await server.close();
  }
});

test('a thread pool that cannot start falls back to the single-thread build (no hang)', async () => {
  // The threaded worker loads once; its helper threads (the same file, fetched again) are refused.
  const refuse = (p, n) => /\/worker-threads(-relaxed)?\.js$/.test(p) && n > 1;
  writeFileSync(
    path.join(site, 'fallback.html'),
    `<!doctype html><meta charset="utf-8"><script type="module">
import { Classifier } from './pkg/index.js';
const warnings = [];
const warn = console.warn;
console.warn = (...a) => { warnings.push(a.join(' ')); warn(...a); };
Classifier.load('zoo:mobilenet_v1_0.25_64').then(async (clf) => {
  const r = await clf.classify(new ImageData(64, 64), { topK: 1 });
  window.result = { info: clf.info, predictions: r.predictions.length, warnings };
  clf.dispose();
}, (e) => { window.failure = e.code + ': ' + e.message; });
</script>`,
  );
  const server = await serve(site, { isolated: true, refuse });
  try {
    const r = await runPage(browser.context, `${server.url}fallback.html`, { timeout: 60_000 });
    assert.match(r.info.build, /^simd(-relaxed)?$/);
    assert.equal(r.info.threads, 1);
    assert.equal(r.predictions, 1);
    assert.match(r.warnings.join(), /threaded build failed .*thread pool did not start/);
    assert.ok(server.requests.filter((p) => /\/worker-threads(-relaxed)?\.js$/.test(p)).length > 1, 'helpers were not even tried');
  } finally {
    await server.close();
  }
});

test('a cross-origin image without CORS is an input error, not a crash', async () => {
  const other = await serve(site, { isolated: false }); // another port: another origin
  const server = await serve(site, { isolated: false });
  writeFileSync(
    path.join(site, 'tainted.html'),
    `<!doctype html><meta charset="utf-8"><script type="module">
import { Classifier } from './pkg/index.js';
const img = new Image();
img.src = '${other.url}parrot.jpg';
await img.decode();
const clf = await Classifier.load('zoo:mobilenet_v1_0.25_64');
const code = await clf.classify(img).then(() => 'resolved', (e) => e.code + ': ' + e.message);
const after = (await clf.classify(new ImageData(8, 8), { topK: 1 })).predictions.length;
clf.dispose();
window.result = { code, after };
</script>`,
  );
  try {
    const r = await runPage(browser.context, `${server.url}tainted.html`, { timeout: 60_000 });
    assert.match(r.code, /^input: .*another origin/);
    assert.equal(r.after, 1, 'the classifier keeps working after the refused image');
  } finally {
    await server.close();
    await other.close();
  }
});
