// The paths that go wrong, and the second visit without a network:
//  - camera permission denied → its message, and photos (drop, paste) still work;
//  - no camera → its message; a browser without wasm SIMD → its message;
//  - a model file whose bytes do not match the catalogue's sha256 → the checksum message;
//  - a user's file that is no model → the unreadable-file message;
//  - after one visit (service worker on), the server goes away and a reload still classifies the camera.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { readFile } from 'node:fs/promises';
import { PHOTOS, launch, makeY4m, requireBuiltFiles, serve, tempDir, waitForModel, waitForTop1, screenshot } from './helpers.mjs';

const MODEL = 'shufflenet_v2_x0_33';
let server, y4m, catalogue;

before(async () => {
  catalogue = await requireBuiltFiles([MODEL]);
  server = await serve();
  y4m = await makeY4m('parrot.jpg', await tempDir());
});

after(async () => {
  await server?.close();
});

/** A real drop or paste event carrying the photo as a File, as the browser builds them. */
async function dispatchWithFile(page, type, photo, mime) {
  const b64 = (await readFile(path.join(PHOTOS, photo))).toString('base64');
  await page.evaluate(async ({ type, b64, photo, mime }) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const data = new DataTransfer();
    data.items.add(new File([bytes], photo, { type: mime }));
    const event = type === 'paste'
      ? new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true })
      : new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true });
    document.getElementById('stage').dispatchEvent(event);
  }, { type, b64, photo, mime });
}

async function noticeTitle(page, expected) {
  await page.waitForFunction((t) => {
    const notice = document.getElementById('notice');
    return !notice.hidden && document.getElementById('notice-title').textContent === t;
  }, expected, { timeout: 30_000, polling: 100 });
}

test('camera permission denied: the message, then photos dropped and pasted instead', async () => {
  const app = await launch({ camera: 'deny' });
  try {
    const { page } = app;
    await page.goto(`${server.url}?sw=off&model=${MODEL}`);
    await noticeTitle(page, 'Camera permission denied');
    assert.equal(await page.evaluate(() => document.documentElement.dataset.camera), 'denied');
    await screenshot(page, 'desktop-camera-denied');
    await waitForModel(page, MODEL);
    // Without a camera, photos: dropped on the page, then pasted.
    await dispatchWithFile(page, 'drop', 'parrot.jpg', 'image/jpeg');
    await waitForTop1(page, 'macaw');
    await dispatchWithFile(page, 'paste', 'skimage_coffee.png', 'image/png');
    await waitForTop1(page, 'espresso');
  } finally {
    await app.close();
  }
});

test('no camera at all, and a browser without wasm SIMD: their messages', async () => {
  const app = await launch({ camera: null }); // headless Chromium without a fake device has no camera
  try {
    const { page, browser } = app;
    await page.goto(`${server.url}?sw=off&model=${MODEL}`);
    await noticeTitle(page, 'No camera found');
    assert.equal(await page.evaluate(() => document.documentElement.dataset.camera), 'missing');

    // A browser whose WebAssembly rejects SIMD128 modules (as Safari before 16.4 does).
    const old = await browser.newContext();
    await old.addInitScript(() => {
      const validate = WebAssembly.validate;
      const simdOpcodePrefix = 0xfd;
      WebAssembly.validate = (bytes) => !new Uint8Array(bytes.buffer ?? bytes).includes(simdOpcodePrefix) && validate(bytes);
    });
    const oldPage = await old.newPage();
    await oldPage.goto(`${server.url}?sw=off&model=${MODEL}`);
    await noticeTitle(oldPage, 'This browser lacks WebAssembly SIMD');
    await screenshot(oldPage, 'desktop-no-simd');
  } finally {
    await app.close();
  }
});

test('model bytes that fail the sha256 check, and a file that is no model', async () => {
  const app = await launch({ camera: y4m });
  try {
    const { page, context } = app;
    const file = catalogue.models.find((m) => m.id === 'shufflenet_v2_x0_25').file;
    // The server's real file with one byte changed in the middle.
    await context.route(`**/models/${file}`, async (route) => {
      const response = await route.fetch();
      const body = Buffer.from(await response.body());
      body[body.length >> 1] ^= 0xff;
      await route.fulfill({ response, body });
    });
    await page.goto(`${server.url}?sw=off&model=${MODEL}`);
    await waitForModel(page, MODEL);
    await page.click('#btn-model');
    await page.click('.model-item[data-model="shufflenet_v2_x0_25"]');
    await noticeTitle(page, 'Model file is corrupt (checksum wrong)');
    // The running model keeps running.
    assert.equal(await page.evaluate(() => document.documentElement.dataset.model), MODEL);
    await waitForTop1(page, 'macaw');

    await page.click('#btn-model');
    await page.click('#own-model summary');
    await page.setInputFiles('#own-file', { name: 'holiday.tflite', mimeType: 'application/octet-stream',
      buffer: Buffer.from('this is a text file, not a TFLite flatbuffer '.repeat(40)) });
    await page.click('#own-load');
    await noticeTitle(page, 'Unreadable model file');
    assert.equal(await page.evaluate(() => document.documentElement.dataset.model), MODEL);
  } finally {
    await app.close();
  }
});

test('second visit works offline (service worker)', async () => {
  const offlineServer = await serve(); // its own server, so closing it is a real outage
  const app = await launch({ camera: y4m });
  try {
    const { page } = app;
    await page.goto(`${offlineServer.url}?model=${MODEL}`);
    await waitForModel(page, MODEL);
    await waitForTop1(page, 'macaw');
    assert.ok(await page.evaluate(() => !!navigator.serviceWorker.controller), 'the service worker controls the page');
    await offlineServer.close();
    await page.reload();
    await waitForModel(page, MODEL);
    await waitForTop1(page, 'macaw');
    assert.equal(await page.evaluate(() => crossOriginIsolated), true, 'cached responses keep COOP/COEP');
    console.log(`# offline second visit: ${await page.textContent('#build')}`);
  } finally {
    await app.close();
    await offlineServer.close().catch(() => {});
  }
});
