// The packed package in a fresh Vite project: `npm install` of the tarball, `vite build` with no
// configuration at all, the dist/ served with and without COOP/COEP; headless Chromium classifies a
// real photo. Vite comes from the npm registry once, then from a cache (node_modules/.cache).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import {
  DEFAULT_MODEL, ROOT, checkResult, launchBrowser, packPackage, pageScript, photosDir, requireModel, run, removeTempDirs, runPage, serve, tempDir,
} from './helpers.mjs';

const VITE = '8.4.0';
const TYPESCRIPT = '5.9.3';
const CACHE = path.join(ROOT, 'node_modules/.cache/mobilecnn-package-tests', `vite-${VITE}-ts-${TYPESCRIPT}`);

let project;
let dist;
let browser;

/** A folder with vite and typescript installed (from the registry the first time). */
function viteTemplate() {
  if (!existsSync(path.join(CACHE, 'node_modules/typescript/package.json'))) {
    mkdirSync(CACHE, { recursive: true });
    const devDependencies = { vite: VITE, typescript: TYPESCRIPT };
    writeFileSync(path.join(CACHE, 'package.json'), JSON.stringify({ private: true, devDependencies }));
    run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: CACHE });
  }
  return CACHE;
}

before(async () => {
  requireModel(`${DEFAULT_MODEL}.tflite`);
  project = tempDir('vite');
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
  removeTempDirs();
});

test('vite build emits both wasm builds and both workers as assets', () => {
  const assets = readdirSync(path.join(dist, 'assets'));
  assert.equal(assets.filter((f) => f.endsWith('.wasm')).length, 2, assets.join(' '));
  assert.ok(assets.some((f) => f.startsWith('worker-simd')), assets.join(' '));
  assert.ok(assets.some((f) => f.startsWith('worker-threads')), assets.join(' '));
});

test('the package types check with tsc (strict, bundler resolution)', () => {
  writeFileSync(
    path.join(project, 'check.ts'),
    `import { Classifier, MobileCnnError, catalogue, defaultModelId, supportsSimd, type Classification, type Profile } from 'mobilecnn';
async function demo(video: HTMLVideoElement): Promise<string> {
  if (!supportsSimd()) return 'no simd';
  const clf = await Classifier.load(defaultModelId, { threads: 'auto', onProgress: (p) => console.log(p.phase, p.loaded / (p.total || 1)) });
  const own = await Classifier.load(new Uint8Array(8), { preprocessing: catalogue[0].preprocessing });
  const r: Classification = await clf.classify(video, { topK: 5 });
  const p: Profile = await clf.profile();
  own.dispose();
  clf.dispose();
  return r.predictions[0].label + r.timings.totalMs + p.totals.ms + clf.info.build + clf.info.threads;
}
export function code(e: unknown): string {
  return e instanceof MobileCnnError ? e.code : 'other';
}
export { demo };
`,
  );
  writeFileSync(
    path.join(project, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: { strict: true, noEmit: true, target: 'ES2022', module: 'ESNext', moduleResolution: 'bundler', lib: ['ES2022', 'DOM'], skipLibCheck: false }, files: ['check.ts'] }),
  );
  run(process.execPath, [path.join(project, 'node_modules/typescript/bin/tsc'), '-p', project], { cwd: project });
  // And a misuse is caught: the types are not `any`.
  writeFileSync(path.join(project, 'bad.ts'), `import { Classifier } from 'mobilecnn';\nClassifier.load('x', { threads: 'many' });\n`);
  writeFileSync(path.join(project, 'tsconfig.bad.json'), JSON.stringify({ extends: './tsconfig.json', files: ['bad.ts'] }));
  assert.throws(() => run(process.execPath, [path.join(project, 'node_modules/typescript/bin/tsc'), '-p', path.join(project, 'tsconfig.bad.json')], { cwd: project }), (e) => /"many"' is not assignable/.test(e.stdout));
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

/** `vite` (the dev server) in `project` on a free port; resolves once it prints its address. */
async function viteDev() {
  const child = spawn(process.execPath, [path.join(project, 'node_modules/vite/bin/vite.js'), '--port', '0', '--host', '127.0.0.1'], {
    cwd: project,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`vite dev did not start:\n${output}`)), 30_000);
    const onData = (d) => {
      output += d;
      // eslint-disable-next-line no-control-regex
      const m = /(http:\/\/127\.0\.0\.1:\d+\/)/.exec(output.replace(/\x1b\[[0-9;]*m/g, ''));
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => reject(new Error(`vite dev exited with ${code}:\n${output}`)));
  });
  return { url, close: () => new Promise((resolve) => { child.on('exit', resolve); child.kill(); }) };
}

for (const isolated of [false, true]) {
  test(`vite dev ${isolated ? 'with COOP/COEP (server.headers)' : 'without configuration'} classifies parrot.jpg as macaw`, async () => {
    // Models come from the repo: vite serves public/, so copy the one needed there.
    const models = path.join(project, 'public/models');
    mkdirSync(models, { recursive: true });
    if (!existsSync(path.join(models, `${DEFAULT_MODEL}.tflite`))) cpSync(path.join(ROOT, 'models', `${DEFAULT_MODEL}.tflite`), path.join(models, `${DEFAULT_MODEL}.tflite`));
    const config = path.join(project, 'vite.config.js');
    if (isolated) {
      writeFileSync(config, `export default { server: { headers: {
  'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' } } };\n`);
    } else {
      rmSync(config, { force: true });
    }
    const server = await viteDev();
    try {
      checkResult(assert, await runPage(browser.context, server.url), { isolated });
    } finally {
      await server.close();
    }
  });
}
