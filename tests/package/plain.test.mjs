// The packed package in a plain static page (no bundler): `npm install` of the tarball, an import map
// for the bare specifier, served with and without COOP/COEP; headless Chromium classifies a real photo.
import assert from 'node:assert/strict';
import { copyFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import {
  DEFAULT_MODEL, checkResult, launchBrowser, packPackage, pageScript, photosDir, requireModel, run, removeTempDirs, runPage, serve, tempDir,
} from './helpers.mjs';

let site;
let browser;

before(async () => {
  requireModel(`${DEFAULT_MODEL}.tflite`);
  site = tempDir('plain');
  const tarball = packPackage(site);
  writeFileSync(path.join(site, 'package.json'), JSON.stringify({ name: 'plain-page', private: true }));
  run('npm', ['install', '--no-audit', '--no-fund', '--offline', tarball], { cwd: site });
  copyFileSync(path.join(photosDir(), 'parrot.jpg'), path.join(site, 'parrot.jpg'));
  writeFileSync(
    path.join(site, 'index.html'),
    `<!doctype html><meta charset="utf-8"><title>mobilecnn plain page</title>
<script type="importmap">{ "imports": { "mobilecnn": "./node_modules/mobilecnn/index.js" } }</script>
<script type="module">${pageScript('mobilecnn')}</script>`,
  );
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  removeTempDirs();
});

for (const isolated of [true, false]) {
  test(`plain page ${isolated ? 'with' : 'without'} COOP/COEP classifies parrot.jpg as macaw (${isolated ? 'threads' : 'simd'} build)`, async () => {
    const server = await serve(site, { isolated });
    try {
      const result = await runPage(browser.context, server.url);
      checkResult(assert, result, { isolated });
      const build = isolated ? 'threads' : 'simd';
      const other = isolated ? 'simd' : 'threads';
      assert.ok(server.requests.some((r) => r.endsWith(`/${build}/mobilecnn_bg.wasm`)), server.requests.join(' '));
      assert.ok(!server.requests.some((r) => r.includes(`/${other}/`)), `fetched the ${other} build too`);
    } finally {
      await server.close();
    }
  });
}
