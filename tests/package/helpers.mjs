// Shared by the package tests: pack pkg/, serve a folder (with or without COOP/COEP), drive headless
// Chromium (playwright-core, /usr/bin/chromium), and the page script that classifies a real photo.
import { execFileSync } from 'node:child_process';
import { copyFileSync, createReadStream, existsSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const MODELS = path.join(ROOT, 'models');
export const DEFAULT_MODEL = 'mobilenet_v2_1.0_224_quant';

const tempDirs = [];

/** A fresh folder under the system temp dir, removed by `removeTempDirs()` (set KEEP_TEMP=1 to keep). */
export function tempDir(prefix) {
  const dir = mkdtempSync(path.join(tmpdir(), `mobilecnn-${prefix}-`));
  tempDirs.push(dir);
  return dir;
}

/** A temp site serving the built package at /pkg/, the given photos, and an index.html running `page`. */
export function pageSite(prefix, page, photos = ['parrot.jpg']) {
  const site = tempDir(prefix);
  symlinkSync(path.join(ROOT, 'pkg'), path.join(site, 'pkg'));
  for (const photo of photos) copyFileSync(path.join(photosDir(), photo), path.join(site, photo));
  writeFileSync(path.join(site, 'index.html'), `<!doctype html><meta charset="utf-8"><script type="module">${page}</script>`);
  return site;
}

export function removeTempDirs() {
  if (process.env.KEEP_TEMP === '1') return;
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export function run(cmd, args, opts = {}) {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...opts });
}

/** `npm pack` of the built pkg/ into `dir`; returns the tarball's path. */
export function packPackage(dir) {
  const pkg = path.join(ROOT, 'pkg');
  if (!existsSync(path.join(pkg, 'package.json'))) {
    throw new Error('pkg/ is not built: run scripts/build-wasm.sh && scripts/build-package.sh');
  }
  const out = JSON.parse(run('npm', ['pack', pkg, '--json', '--pack-destination', dir]));
  return path.join(dir, out[0].filename);
}

/** The folder of the shared test photos (../shared/images/photos next to the main checkout). */
export function photosDir() {
  const candidates = [process.env.MOBILECNN_PHOTOS, path.join(ROOT, '../shared/images/photos')];
  try {
    const common = run('git', ['-C', ROOT, 'rev-parse', '--path-format=absolute', '--git-common-dir']).trim();
    candidates.push(path.join(path.dirname(common), '../shared/images/photos'));
  } catch {}
  const found = candidates.find((d) => d && existsSync(path.join(d, 'parrot.jpg')));
  if (!found) throw new Error(`no test photos in ${candidates.filter(Boolean).join(' or ')} (set MOBILECNN_PHOTOS)`);
  return found;
}

export function requireModel(file) {
  const p = path.join(MODELS, file);
  if (!existsSync(p)) throw new Error(`${p} is missing: run tools/fetch-models.sh`);
  return p;
}

const MIME = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript', '.json': 'application/json',
  '.wasm': 'application/wasm', '.jpg': 'image/jpeg', '.png': 'image/png', '.css': 'text/css', '.txt': 'text/plain',
};

/**
 * Serves `site` at / and the repo's models/ at /models/; `isolated` adds COOP/COEP (crossOriginIsolated);
 * `refuse(path, n)` true makes the n-th request of `path` a 404.
 * Returns { url, close, requests } — `requests` lists every path asked for.
 */
export async function serve(site, { isolated, refuse = () => false }) {
  const requests = [];
  const server = createServer((req, res) => {
    const urlPath = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    requests.push(urlPath);
    // `refuse(path, n)`: answer 404 to the n-th request (from 1) of this path, to simulate failures.
    if (refuse(urlPath, requests.filter((r) => r === urlPath).length)) return end(res, 404);
    const [base, rel] = urlPath.startsWith('/models/') ? [MODELS, urlPath.slice(8)] : [site, urlPath.slice(1)];
    let file = path.normalize(path.join(base, rel));
    if (!file.startsWith(base)) return end(res, 403);
    if (existsSync(file) && statSync(file).isDirectory()) file = path.join(file, 'index.html');
    if (!existsSync(file)) return end(res, 404);
    const headers = { 'Content-Type': MIME[path.extname(file)] ?? 'application/octet-stream', 'Content-Length': statSync(file).size };
    if (isolated) {
      headers['Cross-Origin-Opener-Policy'] = 'same-origin';
      headers['Cross-Origin-Embedder-Policy'] = 'require-corp';
    }
    res.writeHead(200, headers);
    createReadStream(file).pipe(res);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}/`;
  return { url, requests, close: () => new Promise((resolve) => server.close(resolve)) };
  function end(res, status) {
    res.writeHead(status);
    res.end();
  }
}

/** Headless Chromium with a fresh profile; returns { context, close }. */
export async function launchBrowser() {
  const { chromium } = await import(path.join(ROOT, 'node_modules/playwright-core/index.mjs'));
  const profile = tempDir('chromium');
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-sandbox',
    ],
  });
  return { context, close: () => context.close() };
}

/**
 * Opens `url`, waits for the page script to set window.result (or window.failure), and returns it;
 * console errors of the page are attached for diagnosis.
 */
export async function runPage(context, url, { timeout = 120_000 } = {}) {
  const page = await context.newPage();
  const logs = [];
  page.on('console', (m) => logs.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
  try {
    await page.goto(url);
    await page.waitForFunction(() => window.result || window.failure, null, { timeout });
    const { result, failure } = await page.evaluate(() => ({ result: window.result, failure: window.failure }));
    if (failure) throw new Error(`page failed: ${failure}\n${logs.join('\n')}`);
    return { ...result, logs };
  } catch (e) {
    e.message += `\n--- page console ---\n${logs.join('\n')}`;
    throw e;
  } finally {
    await page.close();
  }
}

/**
 * The page's script (an ES module body): classify parrot.jpg with the default catalogue model, exercise
 * the API around it, and publish what happened on window.result. `specifier` is how the page imports
 * the package ('mobilecnn' through an import map or a bundler).
 */
export function pageScript(specifier) {
  return `
import { Classifier, MobileCnnError, catalogue, defaultModelId, supportsRelaxedSimd, supportsSimd } from '${specifier}';

async function main() {
  const img = new Image();
  img.src = './parrot.jpg';
  await img.decode();
  const phases = new Set();
  const clf = await Classifier.load(defaultModelId, {
    modelBaseUrl: '/models/',
    onProgress: ({ phase, loaded, total }) => { if (loaded > 0 && (!total || loaded <= total)) phases.add(phase); },
  });
  const fromImage = await clf.classify(img, { topK: 3 });
  // The same photo as ImageData and as a canvas: same pixels, same answer.
  const canvas = document.createElement('canvas');
  canvas.width = img.naturalWidth;
  canvas.height = img.naturalHeight;
  const ctx = canvas.getContext('2d');
  ctx.drawImage(img, 0, 0);
  const imageData = ctx.getImageData(0, 0, canvas.width, canvas.height);
  const fromImageData = await clf.classify(imageData);
  const fromCanvas = await clf.classify(canvas);
  const profile = await clf.profile();
  const info = clf.info;
  clf.dispose();
  const disposed = await clf.classify(img).then(() => 'resolved', (e) => e.code);
  const malformed = await Classifier.load(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]))
    .then(() => 'resolved', (e) => (e instanceof MobileCnnError ? e.code : 'not a MobileCnnError: ' + e));
  const unknown = await Classifier.load('no_such_model').then(() => 'resolved', (e) => e.code);
  window.result = {
    crossOriginIsolated: self.crossOriginIsolated,
    simd: supportsSimd(),
    relaxed: supportsRelaxedSimd(),
    catalogueIds: catalogue.map((m) => m.id),
    top: fromImage.predictions,
    timings: fromImage.timings,
    imageDataTop: fromImageData.predictions[0],
    canvasTop: fromCanvas.predictions[0],
    profile: { layers: profile.layers.length, totals: profile.totals,
               sums: ['macs', 'params', 'mac', 'ms'].map((k) => profile.layers.reduce((s, l) => s + l[k], 0)) },
    info,
    phases: [...phases],
    imageDataIntact: imageData.data.length === canvas.width * canvas.height * 4,
    errors: { disposed, malformed, unknown },
  };
}
main().catch((e) => { window.failure = (e && e.code ? e.code + ': ' : '') + (e && e.stack || e); });
`;
}

/** The checks both package tests make on a page's result. */
export function checkResult(assert, r, { isolated }) {
  assert.equal(r.crossOriginIsolated, isolated);
  assert.equal(r.simd, true);
  assert.ok(r.catalogueIds.includes(DEFAULT_MODEL));
  assert.equal(r.top[0].label, 'macaw', JSON.stringify(r.top));
  assert.equal(r.top[0].wnid, 'n01818515');
  assert.equal(r.top.length, 3);
  assert.ok(r.top[0].probability > 0.5, JSON.stringify(r.top));
  assert.equal(r.imageDataTop.label, 'macaw');
  assert.equal(r.canvasTop.label, 'macaw');
  assert.ok(r.timings.inferenceMs > 0 && r.timings.preprocessMs >= 0 && r.timings.totalMs >= r.timings.inferenceMs);
  assert.equal(r.info.id, DEFAULT_MODEL);
  assert.equal(r.info.format, 'tflite');
  assert.equal(r.info.inputSize, 224);
  assert.ok(r.info.wasmBytes > 10_000 && r.info.modelBytes > 1_000_000);
  // The relaxed SIMD variant wherever the probe validates (tests/package/relaxed.test.mjs checks the choice).
  const relaxed = r.relaxed ? '-relaxed' : '';
  if (isolated) {
    assert.equal(r.info.build, `threads${relaxed}`);
    assert.ok(r.info.threads > 1, `threads ${r.info.threads}`);
  } else {
    assert.equal(r.info.build, `simd${relaxed}`);
    assert.equal(r.info.threads, 1);
  }
  assert.ok(r.profile.layers > 20);
  const [macs, params, mac, ms] = r.profile.sums;
  assert.equal(r.profile.totals.macs, macs);
  assert.equal(r.profile.totals.params, params);
  assert.equal(r.profile.totals.mac, mac);
  assert.ok(Math.abs(r.profile.totals.ms - ms) < 1e-6 && ms > 0);
  assert.equal(r.profile.totals.macs, r.info.macs);
  assert.deepEqual(r.phases.sort(), ['model', 'wasm']);
  assert.ok(r.imageDataIntact);
  assert.deepEqual(r.errors, { disposed: 'disposed', malformed: 'malformed', unknown: 'input' });
}
