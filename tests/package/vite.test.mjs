// The packed package in a fresh Vite project: `npm install` of the tarball, `vite build` with no
// configuration at all, the dist/ served with and without COOP/COEP; headless Chromium classifies a
// real photo. Vite comes from the npm registry once, then from a cache (node_modules/.cache).
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import {
  DEFAULT_MODEL, ROOT, checkResult, launchBrowser, packPackage, pageScript, photosDir, requireModel, run, runPage, serve, tempDir,
} from './helpers.mjs';

const VITE = '8.4.0';
const CACHE = path.join(ROOT, 'node_modules/.cache/mobilecnn-package-tests', `vite-${VITE}`);

let dist;
let browser;

/** A folder with vite installed (from the registry the first time). */
function viteTemplate() {
  if (!existsSync(path.join(CACHE, 'node_modules/vite/package.json'))) {
    mkdirSync(CACHE, { recursive: true });
    writeFileSync(path.join(CACHE, 'package.json'), JSON.stringify({ private: true, devDependencies: { vite: VITE } }));
    run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: CACHE });
  }
  return CACHE;
}

before(async () => {
  requireModel(`${DEFAULT_MODEL}.tflite`);
  const project = tempDir('vite');
  const template = viteTemplate();
  for (const f of ['package.json', 'package-lock.json', 'node_modules']) {
    cpSync(path.join(template, f), path.join(project, f), { recursive: true });
  }
  const tarball = packPackage(tempDir('tarball'));
  run('npm', ['install', '--no-audit', '--no-fund', '--offline', tarball], { cwd: project });
  mkdirSync(path.join(project, 'public'));
  cpSync(path.join(photosDir(), 'parrot.jpg'), path.join(project, 'public/parrot.jpg'));
  writeFileSync(path.join(project, 'main.js'), pageScript('mobilecnn'));
  writeFileSync(
    path.join(project, 'index.html'),
    `<!doctype html><meta charset="utf-8"><title>mobilecnn in vite</title><script type="module" src="/main.js"></script>`,
  );
  run(process.execPath, [path.join(project, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'warn'], { cwd: project });
  dist = path.join(project, 'dist');
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
});

test('vite build emits both wasm builds and both workers as assets', () => {
  const assets = readdirSync(path.join(dist, 'assets'));
  assert.equal(assets.filter((f) => f.endsWith('.wasm')).length, 2, assets.join(' '));
  assert.ok(assets.some((f) => f.startsWith('worker-simd')), assets.join(' '));
  assert.ok(assets.some((f) => f.startsWith('worker-threads')), assets.join(' '));
});

for (const isolated of [true, false]) {
  test(`vite build ${isolated ? 'with' : 'without'} COOP/COEP classifies parrot.jpg as macaw (${isolated ? 'threads' : 'simd'} build)`, async () => {
    const server = await serve(dist, { isolated });
    try {
      checkResult(assert, await runPage(browser.context, server.url), { isolated });
    } finally {
      await server.close();
    }
  });
}
