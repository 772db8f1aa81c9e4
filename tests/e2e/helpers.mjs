// Shared pieces of the browser end-to-end tests: the server, Chromium with a fake camera fed by a real
// photo, and small page helpers. Real app, real package, real model files, real browser.

import { mkdtemp, mkdir, readFile, writeFile, access } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startServer } from '../../scripts/serve.mjs';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** ../shared beside the checkout (or beside the main checkout of a git worktree); MOBILECNN_SHARED overrides. */
export const SHARED = findShared();
export const PHOTOS = path.join(SHARED, 'images/photos');
export const REFERENCE = path.join(SHARED, 'reference');
export const SCREENSHOTS = path.join(ROOT, 'build/e2e/screenshots'); // build/ is git-ignored
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

function findShared() {
  if (process.env.MOBILECNN_SHARED) return path.resolve(process.env.MOBILECNN_SHARED);
  const candidates = [path.resolve(ROOT, '../shared')];
  try {
    const common = execFileSync('git', ['rev-parse', '--path-format=absolute', '--git-common-dir'], { cwd: ROOT, encoding: 'utf8' }).trim();
    candidates.push(path.resolve(path.dirname(common), '../shared'));
  } catch {
    // not a git checkout: ../shared only
  }
  return candidates.find((dir) => existsSync(path.join(dir, 'images/photos'))) ?? candidates[0];
}

/** The four architectures, one catalogue model each, and what they call the parrot photo. */
export const FOUR_ARCHITECTURES = [
  'mobilenet_v1_0.5_160_quant',
  'mobilenet_v2_1.0_224_quant',
  'shufflenet_v1_g3_0.5x',
  'shufflenet_v2_x0_33',
];

/** Fails early, with the command to run, when the package or a model file is missing. */
export async function requireBuiltFiles(modelIds) {
  const catalogue = JSON.parse(await readFile(path.join(ROOT, 'catalogue/models.json'), 'utf8'));
  const need = ['pkg/index.js', ...modelIds.map((id) => `models/${catalogue.models.find((m) => m.id === id).file}`)];
  for (const file of need) {
    try {
      await access(path.join(ROOT, file));
    } catch {
      throw new Error(`${file} is missing: run scripts/build-wasm.sh, scripts/build-package.sh and tools/fetch-models.sh first`);
    }
  }
  return catalogue;
}

export async function serve() {
  return startServer({ root: ROOT, port: 0 });
}

const QUIET_ARGS = [
  '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage', '--no-sandbox',
];

/**
 * A fresh Chromium and context. `camera`: a .y4m file for the fake camera (permission granted), 'deny' (a
 * fake camera whose permission is refused) or null (no camera flags). Other options go to newContext().
 */
export async function launch({ camera = null, args = [], ...options } = {}) {
  const cameraArgs = camera === 'deny'
    ? ['--use-fake-device-for-media-stream', '--deny-permission-prompts']
    : camera
      ? ['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-video-capture=${camera}`]
      : [];
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [...QUIET_ARGS, ...cameraArgs, ...args],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, ...options });
  const page = await context.newPage();
  page.on('pageerror', (error) => console.error('[page error]', error.message));
  return { browser, context, page, close: () => browser.close().catch(() => {}) };
}

/** Resident memory (bytes) of all renderer processes: the page and its workers' wasm memories live there. */
export async function rendererRss(browser) {
  const cdp = await browser.newBrowserCDPSession();
  try {
    const { processInfo } = await cdp.send('SystemInfo.getProcessInfo');
    let total = 0;
    for (const p of processInfo.filter((p) => p.type === 'renderer')) {
      const status = await readFile(`/proc/${p.id}/status`, 'utf8').catch(() => '');
      const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
      total += kb * 1024;
    }
    return total;
  } finally {
    await cdp.detach().catch(() => {});
  }
}

/**
 * Writes a one-frame 640×480 .y4m (I420, BT.601 limited range) of a photo, decoded by Chromium itself.
 * The photo is scaled so its centre square fills the frame's centre 480×480 (what the model crops), as
 * a camera pointed at the print would see it; the rest of the frame shows the photo where it reaches, grey
 * elsewhere.
 */
export async function makeY4m(photoName, outDir) {
  const bytes = await readFile(path.join(PHOTOS, photoName));
  const { page, close } = await launch();
  try {
    const mime = photoName.endsWith('.png') ? 'image/png' : 'image/jpeg';
    const yuvBase64 = await page.evaluate(async ({ b64, mime }) => {
      const blob = await (await fetch(`data:${mime};base64,${b64}`)).blob();
      const image = await createImageBitmap(blob);
      const W = 640, H = 480;
      const canvas = new OffscreenCanvas(W, H);
      const ctx = canvas.getContext('2d');
      ctx.fillStyle = '#808080';
      ctx.fillRect(0, 0, W, H);
      const scale = H / Math.min(image.width, image.height);
      const w = image.width * scale, h = image.height * scale;
      ctx.imageSmoothingQuality = 'high';
      ctx.drawImage(image, (W - w) / 2, (H - h) / 2, w, h);
      const rgba = ctx.getImageData(0, 0, W, H).data;
      const out = new Uint8Array(W * H * 3 / 2);
      const clamp = (v) => Math.max(0, Math.min(255, Math.round(v)));
      for (let i = 0; i < W * H; i++) {
        const r = rgba[4 * i], g = rgba[4 * i + 1], b = rgba[4 * i + 2];
        out[i] = clamp(16 + 0.257 * r + 0.504 * g + 0.098 * b);
      }
      const cw = W / 2, ch = H / 2;
      for (let y = 0; y < ch; y++) {
        for (let x = 0; x < cw; x++) {
          let r = 0, g = 0, b = 0;
          for (const [dx, dy] of [[0, 0], [1, 0], [0, 1], [1, 1]]) {
            const p = 4 * ((2 * y + dy) * W + 2 * x + dx);
            r += rgba[p]; g += rgba[p + 1]; b += rgba[p + 2];
          }
          r /= 4; g /= 4; b /= 4;
          out[W * H + y * cw + x] = clamp(128 - 0.148 * r - 0.291 * g + 0.439 * b);
          out[W * H + cw * ch + y * cw + x] = clamp(128 + 0.439 * r - 0.368 * g - 0.071 * b);
        }
      }
      let s = '';
      for (let i = 0; i < out.length; i += 0x8000) s += String.fromCharCode(...out.subarray(i, i + 0x8000));
      return btoa(s);
    }, { b64: bytes.toString('base64'), mime });
    const header = Buffer.from('YUV4MPEG2 W640 H480 F30:1 Ip A1:1 C420jpeg XYSCSS=420JPEG\nFRAME\n');
    const file = path.join(outDir, photoName.replace(/\.\w+$/, '.y4m'));
    await writeFile(file, Buffer.concat([header, Buffer.from(yuvBase64, 'base64')]));
    return file;
  } finally {
    await close();
  }
}

export async function tempDir() {
  return mkdtemp(path.join(tmpdir(), 'mobilecnn-e2e-data-'));
}

export async function screenshot(page, name) {
  await mkdir(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path: file });
  return file;
}

/** Waits until the running model is `id` and ready. */
export async function waitForModel(page, id, timeout = 60_000) {
  await page.waitForFunction((id) => {
    const d = document.documentElement.dataset;
    if (d.modelState === 'failed') throw new Error(`model failed: ${document.getElementById('notice-title')?.textContent}`);
    return d.modelState === 'ready' && d.model === id;
  }, id, { timeout, polling: 100 });
}

/** Waits until the first row of the top-5 on screen shows `label`, painted from a result of the running
 *  model (not rows left from the previous one); the error names what the rows show instead. */
export async function waitForTop1(page, label, timeout = 30_000) {
  const first = page.locator('#top5 li:first-child .label');
  try {
    await page.waitForFunction((label) => {
      const list = document.getElementById('top5');
      return list.dataset.model === document.documentElement.dataset.model
        && list.querySelector('li:first-child .label')?.textContent === label;
    }, label, { timeout, polling: 100 });
  } catch (error) {
    const rows = await page.locator('#top5 li').allInnerTexts();
    throw new Error(`top-1 never became "${label}"; the top-5 shows: ${JSON.stringify(rows)}`);
  }
  return first.textContent();
}

/** Picks a model through the UI: the Model button, then its row in the sheet. */
export async function pickModel(page, id) {
  await page.click('#btn-model');
  await page.click(`.model-item[data-model="${id}"]`);
  await waitForModel(page, id);
}

/** Serves the page without COOP/COEP: not cross-origin isolated, so the package runs its single-thread build. */
export async function withoutIsolation(context, baseUrl) {
  await context.route((url) => url.href.startsWith(baseUrl) && (url.pathname === '/' || url.pathname.endsWith('.html')),
    async (route) => {
      const response = await route.fetch();
      const headers = { ...response.headers() };
      delete headers['cross-origin-opener-policy'];
      delete headers['cross-origin-embedder-policy'];
      await route.fulfill({ response, headers });
    });
}
