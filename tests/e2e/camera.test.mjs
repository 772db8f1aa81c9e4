// The camera demo end to end: Chromium's fake camera plays a real photo; for one model of each of the
// four architectures the label the reference runtime gives that photo must appear as the top-1 on
// screen — in the threaded build (page cross-origin isolated) and in the single-thread build (the same
// page served without COOP/COEP). Then the per-layer view's columns must add up to its totals.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { ROOT } from './helpers.mjs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  FOUR_ARCHITECTURES, REFERENCE, launch, makeY4m, pickModel, requireBuiltFiles, serve, tempDir, waitForModel,
  waitForTop1, withoutIsolation, screenshot,
} from './helpers.mjs';

const PHOTO = 'parrot.jpg';
let server, y4m, expected;

/** The reference runtime's top-1 for the photo, as the app words it (the first ImageNet name). */
async function referenceTop1(modelId, photo) {
  const manifest = JSON.parse(await readFile(path.join(REFERENCE, modelId, 'manifest.json'), 'utf8'));
  const [, label, probability] = manifest.images[photo.replace(/\.\w+$/, '')].top5[0];
  assert.ok(probability > 0.5, `${modelId}: the reference is not sure of ${photo} (${probability}); pick another photo`);
  return label.split(',')[0].trim();
}

before(async () => {
  await requireBuiltFiles(FOUR_ARCHITECTURES);
  expected = Object.fromEntries(await Promise.all(FOUR_ARCHITECTURES.map(async (id) => [id, await referenceTop1(id, PHOTO)])));
  server = await serve();
  y4m = await makeY4m(PHOTO, await tempDir());
});

after(async () => {
  await server?.close();
});

async function fourArchitectures(page, build) {
  for (const id of FOUR_ARCHITECTURES) {
    await pickModel(page, id);
    const shown = await waitForTop1(page, expected[id]);
    assert.equal(shown, expected[id], `${id} (${build})`);
    await page.waitForTimeout(1500); // steady numbers for the log: fps over the last 2 s, median ms of 15 frames
    const fps = Number(await page.textContent('#stat-fps'));
    assert.ok(await page.evaluate(() => document.documentElement.dataset.build) === build, `build is ${build}`);
    console.log(`# ${build}: ${id} → ${shown}; ${fps || '–'} fps, ${await page.textContent('#stat-ms')} ms/inference`);
  }
}

test('threaded and single-thread builds: each architecture names the photo on the camera', async () => {
  const browser = await launch({ camera: y4m });
  try {
    const { page, context } = browser;
    // Threaded: served with COOP/COEP.
    await page.goto(`${server.url}?sw=off&model=${FOUR_ARCHITECTURES[0]}`);
    await waitForModel(page, FOUR_ARCHITECTURES[0]);
    assert.equal(await page.evaluate(() => crossOriginIsolated), true);
    assert.match(await page.textContent('#build'), /SIMD · \d+ threads?/);
    await fourArchitectures(page, 'threads');
    await screenshot(page, 'desktop-threads');

    // Single-thread: the same app without COOP/COEP on the page.
    await withoutIsolation(context, server.url);
    await page.goto(`${server.url}?sw=off&model=${FOUR_ARCHITECTURES[0]}`);
    await waitForModel(page, FOUR_ARCHITECTURES[0]);
    assert.equal(await page.evaluate(() => crossOriginIsolated), false);
    assert.match(await page.textContent('#build'), /SIMD · 1 thread/);
    await fourArchitectures(page, 'simd');
  } finally {
    await browser.close();
  }
});

test('per-layer view: numbers of the running model, columns sum to the totals shown', async () => {
  const browser = await launch({ camera: y4m });
  try {
    const { page } = browser;
    const id = 'shufflenet_v2_x0_33';
    await page.goto(`${server.url}?sw=off&model=${id}`);
    await waitForModel(page, id);
    await page.click('#profile-run');
    await page.waitForSelector('table.layers tfoot td.ms', { state: 'attached', timeout: 30_000 });
    await page.click('.layer-details summary');
    const table = await page.evaluate(() => {
      const num = (td) => Number(td.textContent.replace(/,/g, ''));
      const rows = [...document.querySelectorAll('table.layers tbody tr')];
      const column = (cls) => rows.map((r) => num(r.querySelector(`td.${cls}`)));
      const total = (cls) => num(document.querySelector(`table.layers tfoot td.${cls}`));
      return {
        rows: rows.length,
        macs: column('macs'), params: column('params'), mac: column('mac'), ms: column('ms'),
        totals: { macs: total('macs'), params: total('params'), mac: total('mac'), ms: total('ms') },
        infoMacs: window.mobilecnnDemo.runner.classifier.info.macs,
      };
    });
    const sum = (xs) => xs.reduce((a, b) => a + b, 0);
    assert.ok(table.rows > 20, `a real network has many layers (got ${table.rows})`);
    assert.equal(sum(table.macs), table.totals.macs, 'MACs');
    assert.equal(sum(table.params), table.totals.params, 'params');
    assert.equal(sum(table.mac), table.totals.mac, 'memory access cost');
    // ms are shown with 3 decimals: the sum of rounded values is within half a unit per row.
    assert.ok(Math.abs(sum(table.ms) - table.totals.ms) <= table.rows * 0.0005 + 0.001,
      `ms: layers sum to ${sum(table.ms)}, total shows ${table.totals.ms}`);
    assert.ok(table.totals.ms > 0, 'the layers were timed');
    assert.equal(table.totals.macs, table.infoMacs, 'the profile is of the running model');
    // ShuffleNet V2 0.33x is ≈ 22M MACs: the numbers are the model's, not the zoo table's.
    assert.ok(table.totals.macs > 15e6 && table.totals.macs < 30e6, `total MACs ${table.totals.macs}`);
    // The catalogue's figures (computed natively by tools/make_catalogue.py) are the wasm model's.
    const catalogue = JSON.parse(await readFile(path.join(ROOT, 'catalogue/models.json'), 'utf8')).models;
    const entry = catalogue.find((m) => m.id === id);
    assert.equal(table.totals.macs, entry.macs, 'catalogue macs');
    assert.equal(table.totals.params, entry.params, 'catalogue params');
    await screenshot(page, 'desktop-profile');

    // The picker shows every catalogue model's MACs and params from the catalogue, loaded or not.
    await page.click('#btn-model');
    await page.waitForSelector('#picker[open]');
    const shown = await page.evaluate(() => {
      const fact = (item, name) => [...item.querySelectorAll('.facts > span')]
        .find((s) => s.firstChild?.textContent.trim() === name)?.querySelector('b')?.textContent;
      return Object.fromEntries([...document.querySelectorAll('.model-item')]
        .map((item) => [item.dataset.model, { macs: fact(item, 'MACs'), params: fact(item, 'params') }]));
    });
    const { formatCount } = await import(pathToFileURL(path.join(ROOT, 'www/js/format.js')).href);
    assert.equal(Object.keys(shown).length, catalogue.length, 'every catalogue model is listed');
    for (const m of catalogue) {
      assert.deepEqual(shown[m.id], { macs: formatCount(m.macs), params: formatCount(m.params) }, m.id);
    }
    console.log(`# picker: ${catalogue.map((m) => `${m.id} ${shown[m.id].macs} MACs, ${shown[m.id].params} params`).join('; ')}`);
  } finally {
    await browser.close();
  }
});

test('your own model file: one that carries its preprocessing, and one that needs it chosen', async () => {
  const app = await launch({ camera: y4m });
  try {
    const { page } = app;
    await page.goto(`${server.url}?sw=off&model=${FOUR_ARCHITECTURES[0]}`);
    await waitForModel(page, FOUR_ARCHITECTURES[0]);
    const ownFile = async (name, buffer) => {
      await page.click('#btn-model');
      if (!(await page.locator('#own-model').evaluate((d) => d.open))) await page.click('#own-model summary');
      await page.setInputFiles('#own-file', { name, mimeType: 'application/octet-stream', buffer });
    };

    // The Keras MobileNet converted to ONNX says how to preprocess (mobilecnn.* metadata): it just runs.
    const keras = await readFile(path.join(ROOT, 'models/keras_mobilenet_v1_0.25_224.onnx'));
    await ownFile('my_mobilenet.onnx', keras);
    await page.click('#own-load');
    await waitForModel(page, 'own:my_mobilenet.onnx');
    await waitForTop1(page, await referenceTop1('keras_mobilenet_v1_0.25_224', PHOTO));
    assert.match(await page.textContent('#model-name'), /my_mobilenet\.onnx/);

    // The same ShuffleNet V2 file with its metadata keys renamed (same length, still valid protobuf): the
    // app must ask for the preprocessing, and the user's choice (PyTorch's ImageNet mean/std) must work.
    const shuffle = await readFile(path.join(ROOT, 'models/shufflenet_v2_x0_33.onnx'));
    const stripped = Buffer.from(shuffle.toString('latin1').replaceAll('mobilecnn.', 'xobilecnn.'), 'latin1');
    assert.notEqual(stripped.indexOf('xobilecnn.'), -1, 'the file had mobilecnn.* metadata to strip');
    await ownFile('bare_shufflenet.onnx', stripped);
    await page.selectOption('#prep-preset', 'file');
    await page.click('#own-load');
    await page.waitForSelector('.prep.needed');
    assert.equal(await page.textContent('#notice-title'), 'Preprocessing needed');
    assert.match(await page.textContent('#model-name'), /my_mobilenet\.onnx/, 'the running model kept running');
    await page.selectOption('#prep-preset', 'torch');
    await page.click('#own-load');
    await waitForModel(page, 'own:bare_shufflenet.onnx');
    await waitForTop1(page, expected.shufflenet_v2_x0_33);
    await screenshot(page, 'desktop-own-model');
  } finally {
    await app.close();
  }
});
