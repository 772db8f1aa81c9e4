// The demo on a phone: 390×844 portrait, touch, 3× pixels. The camera classifies a real photo, the
// picker sheet switches models by tapping, a still photo is classified, nothing scrolls sideways, and
// screenshots of each screen land in build/e2e/screenshots/.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { PHOTOS, launch, makeY4m, requireBuiltFiles, screenshot, serve, tempDir, waitForModel, waitForTop1 } from './helpers.mjs';

const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 3, isMobile: true, hasTouch: true,
  userAgent: 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36' };
const FIRST = 'mobilenet_v2_1.0_224_quant';
const SECOND = 'shufflenet_v1_g3_0.5x';
let server, y4m;

before(async () => {
  await requireBuiltFiles([FIRST, SECOND]);
  server = await serve();
  y4m = await makeY4m('parrot.jpg', await tempDir());
});

after(async () => {
  await server?.close();
});

async function assertNoSidewaysScroll(page, where) {
  const { scrollWidth, innerWidth } = await page.evaluate(() => ({ scrollWidth: document.documentElement.scrollWidth, innerWidth }));
  assert.ok(scrollWidth <= innerWidth, `${where}: page is ${scrollWidth}px wide in a ${innerWidth}px viewport`);
}

test('phone: camera, picker, profile and photo screens', async () => {
  const app = await launch({ camera: y4m, ...PHONE });
  try {
    const { page, context } = app;
    // Record what the progress bar says while the wasm runtime and the model download (it is quick here).
    await context.addInitScript(() => {
      window.progressSeen = [];
      document.addEventListener('DOMContentLoaded', () => {
        const label = document.getElementById('loading-label');
        const bar = document.getElementById('loading-bar');
        new MutationObserver(() => window.progressSeen.push([label.textContent, bar.value]))
          .observe(label, { childList: true, characterData: true, subtree: true });
      });
    });
    await page.goto(`${server.url}?sw=off&model=${FIRST}`);
    await waitForModel(page, FIRST);
    const progress = await page.evaluate(() => window.progressSeen);
    assert.ok(progress.some(([text]) => /^Downloading runtime \(WebAssembly\)/.test(text)), JSON.stringify(progress));
    assert.ok(progress.some(([text, value]) => /^Downloading MobileNet V2.* \/ 3\.\d MB$/.test(text) && value > 0.99), JSON.stringify(progress));
    assert.equal(await page.isVisible('#loading'), false, 'the progress bar goes away once the model runs');
    await waitForTop1(page, 'macaw');
    await page.waitForTimeout(600); // bars finish easing
    await assertNoSidewaysScroll(page, 'camera');
    // The controls sit in the thumb zone: the dock at the bottom, each target at least 44px tall.
    const dock = await page.locator('.dock').boundingBox();
    assert.ok(dock.y + dock.height >= 844 - 1 && dock.y > 844 / 2, `dock at y=${dock.y}`);
    for (const box of await page.locator('.dock-btn:visible').evaluateAll((els) => els.map((e) => e.getBoundingClientRect().height))) {
      assert.ok(box >= 44, `dock button ${box}px tall`);
    }
    console.log(`# screenshot ${await screenshot(page, 'phone-camera')}`);

    // Pause stops the classification loop; resume starts it again.
    const results = () => page.evaluate(() => Number(document.documentElement.dataset.results ?? 0));
    await page.tap('#btn-pause');
    await page.waitForTimeout(300); // the frame in flight may still land
    const paused = await results();
    await page.waitForTimeout(800);
    assert.equal(await results(), paused, 'no inference while paused');
    assert.equal(await page.getAttribute('#btn-pause', 'aria-pressed'), 'true');
    await page.tap('#btn-pause');
    await page.waitForFunction((n) => Number(document.documentElement.dataset.results) > n + 2, paused, { timeout: 10_000 });

    await page.tap('#btn-model');
    await page.waitForSelector('#picker[open]');
    assert.equal(await page.locator('.model-item').count(), 10, 'every catalogue model is listed');
    await assertNoSidewaysScroll(page, 'picker');
    console.log(`# screenshot ${await screenshot(page, 'phone-picker')}`);
    await page.tap(`.model-item[data-model="${SECOND}"]`);
    await waitForModel(page, SECOND);
    await waitForTop1(page, 'macaw');

    await page.tap('#profile-run');
    await page.waitForSelector('.op-summary', { timeout: 30_000 });
    await page.locator('#profile').scrollIntoViewIfNeeded();
    await assertNoSidewaysScroll(page, 'profile');
    console.log(`# screenshot ${await screenshot(page, 'phone-profile')}`);

    // Still photo mode: the camera stops and the photo is classified once.
    await page.setInputFiles('#photo-input', path.join(PHOTOS, 'skimage_coffee.png'));
    await waitForTop1(page, 'espresso');
    assert.equal(await page.evaluate(() => document.documentElement.dataset.camera), 'off');
    await page.evaluate(() => window.scrollTo(0, 0));
    console.log(`# screenshot ${await screenshot(page, 'phone-photo')}`);
  } finally {
    await app.close();
  }
});
