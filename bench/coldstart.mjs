// npm run bench:coldstart: cold start of the npm package in headless Chromium — the time from navigation
// start to the first classification of a real photo, with an empty HTTP cache (fresh profile) and on a
// second navigation with the wasm and the model in the HTTP cache; single-thread and threaded builds;
// broken down into wasm fetch, compile, worker start, model download, model load and first inference.
// Prints a table and writes bench/out/coldstart.json. Each run launches Chromium on a fresh profile
// (launchPersistentContext: empty HTTP cache, no service worker), opens bench/coldstart/ ('cold'), then
// opens it again in a new tab of the same browser ('warm'). The package's module graph, the wasm and the
// model are fetched by the package itself; the page only records times (see bench/coldstart/index.html).
// Critical path: html → page script → package import → {wasm fetch → compile → worker start} ∥
// {model download → sha256} → model load (worker) → first classify. Machine load inflates every CPU-bound
// step: the JSON keeps the load average.
//
// The repo is served by scripts/serve.mjs, whose files carry `Cache-Control: no-cache` and no validator
// (ETag/Last-Modified), so a browser must download everything again on every visit. To measure a cache
// that can hit, this script rewrites that header on the way out (CACHE=cacheable, the default: wasm, JS and
// models `max-age=86400`; the HTML stays `no-cache`, as a site would deploy it); CACHE=served keeps
// serve.mjs's headers as they are.
// Options (env): MODELS=a,b  RUNS=5  BUILDS=simd,threads (or simd-relaxed,threads-relaxed)  CACHE=cacheable,served  CHROMIUM
//                PRELOAD=1 (the page announces the package's modules, wasm and model with <link rel=preload>)
//                STREAMING=1 (experiment: compile with compileStreaming, which Chromium's wasm code cache needs)
//                LINGER_MS=n (keep each page open n ms after its result, e.g. so the code cache gets written)
//                OUT=file (default bench/out/coldstart.json)  MOBILECNN_PHOTOS=folder with parrot.jpg  JSFLAGS (V8 flags; default none, as users have)
import { execFileSync } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startServer } from '../scripts/serve.mjs';

const bench = path.dirname(fileURLToPath(import.meta.url));
const root = path.dirname(bench);
const list = (v, d) => (v ?? d).split(',').filter(Boolean);
const MODELS = list(process.env.MODELS, 'mobilenet_v2_1.0_224_quant,shufflenet_v2_x0_33,mobilenet_v1_0.25_128_quant');
const BUILDS = list(process.env.BUILDS, 'simd,threads');
const CACHE = list(process.env.CACHE, 'cacheable,served');
const RUNS = Number(process.env.RUNS ?? 5);
const PRELOAD = process.env.PRELOAD === '1';
const STREAMING = process.env.STREAMING === '1';
const LINGER_MS = Number(process.env.LINGER_MS ?? 0);
const modelFiles = {}; // catalogue id → file name

function ensureBuilt() {
  if (['simd', 'threads', 'simd-relaxed', 'threads-relaxed'].some((b) => !existsSync(path.join(root, `pkg/${b}/mobilecnn_bg.wasm`)))) {
    execFileSync('bash', ['-c', 'bash scripts/build-wasm.sh && bash scripts/build-package.sh'], { cwd: root, stdio: 'inherit' });
  }
  const catalogue = JSON.parse(readFileSync(path.join(root, 'catalogue/models.json'), 'utf8'));
  const entries = catalogue.models ?? catalogue;
  for (const m of entries) modelFiles[m.id] = m.file;
  const missing = MODELS.map((id) => entries.find((m) => m.id === id)).filter((m) => !m || !existsSync(path.join(root, 'models', m.file)));
  if (missing.length) execFileSync('bash', ['-c', 'bash tools/setup-python.sh && bash tools/fetch-models.sh'], { cwd: root, stdio: 'inherit' });
}

/** The folder of the shared test photos: MOBILECNN_PHOTOS, or ../shared/images/photos next to the main checkout. */
function photosDir() {
  const candidates = [process.env.MOBILECNN_PHOTOS, path.join(root, '../shared/images/photos')];
  try {
    const common = execFileSync('git', ['-C', root, 'rev-parse', '--path-format=absolute', '--git-common-dir'], { encoding: 'utf8' }).trim();
    candidates.push(path.join(path.dirname(common), '../shared/images/photos'));
  } catch {}
  const found = candidates.find((d) => d && existsSync(path.join(d, 'parrot.jpg')));
  if (!found) throw new Error(`no parrot.jpg in ${candidates.filter(Boolean).join(' or ')} (set MOBILECNN_PHOTOS)`);
  return found;
}

/**
 * scripts/serve.mjs plus two things it lacks: the bench page and photo at /bench/coldstart/, and (cacheable)
 * a Cache-Control that lets the browser keep the wasm, JS and models.
 */
async function serve(cache) {
  const server = await startServer({ root, port: 0 });
  const [serveRepo] = server.server.listeners('request');
  server.server.removeAllListeners('request');
  const photos = photosDir();
  server.server.on('request', (req, res) => {
    const urlPath = new URL(req.url, 'http://x').pathname;
    if (cache === 'cacheable' && !urlPath.endsWith('/') && !urlPath.endsWith('.html')) {
      const writeHead = res.writeHead;
      res.writeHead = function (status, headers) {
        if (status === 200 && headers?.['Cache-Control']) headers['Cache-Control'] = 'max-age=86400';
        return writeHead.call(this, status, headers);
      };
    }
    if (urlPath === '/bench/coldstart/' || urlPath === '/bench/coldstart/parrot.jpg') {
      const html = urlPath.endsWith('/');
      const file = html ? path.join(bench, 'coldstart/index.html') : path.join(photos, 'parrot.jpg');
      res.writeHead(200, {
        'Content-Type': html ? 'text/html; charset=utf-8' : 'image/jpeg',
        'Cache-Control': 'no-cache',
        'Cross-Origin-Opener-Policy': 'same-origin',
        'Cross-Origin-Embedder-Policy': 'require-corp',
        'Cross-Origin-Resource-Policy': 'same-origin',
      });
      return createReadStream(file).pipe(res);
    }
    return serveRepo(req, res);
  });
  return server;
}

async function launch(profile) {
  return chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', ...(process.env.JSFLAGS ? [`--js-flags=${process.env.JSFLAGS}`] : [])],
  });
}

/** One navigation in a new tab of `context`; the page's window.coldstart turned into phase times. */
async function visit(context, url) {
  const page = await context.newPage();
  try {
    page.on('console', (m) => ['error', 'warning'].includes(m.type()) && console.error(`  [page] ${m.text()}`));
    await page.goto(url);
    // Polled with plain evaluations, not page.waitForFunction: that injects Playwright's injected script
    // into the page, 10–35 ms of main-thread parsing in the middle of the window being measured.
    for (const deadline = Date.now() + 120_000; !(await page.evaluate('window.coldstart !== undefined'));) {
      if (Date.now() > deadline) throw new Error(`${url}: no result within 120 s`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const r = await page.evaluate(() => window.coldstart);
    if (!r.ok) throw new Error(`${url}: ${r.error}`);
    if (LINGER_MS) await page.waitForTimeout(LINGER_MS);
    return phases(r);
  } finally {
    await page.close();
  }
}

/**
 * Phase [start, end] times in ms since navigation start, from the page's marks. The wasm path
 * (fetch → compile → worker) and the model download run in parallel; model load waits for both.
 */
function phases(r) {
  const res = (suffix) => r.resources.find((e) => e.name.endsWith(suffix));
  const wasm = res('_bg.wasm');
  const model = res(`/models/${r.info.source.split('/').pop()}`);
  const compile = r.marks.compile[0];
  const worker = r.marks.workers[0];
  const call = (type) => r.marks.calls.find((c) => c.type === type);
  const init = call('init');
  const load = call('load');
  const classify = call('classify');
  return {
    build: r.info.build,
    threads: r.info.threads,
    top1: `${r.top1.label} ${r.top1.probability.toFixed(3)}`,
    cached: { wasm: wasm.transferSize === 0, model: model.transferSize === 0 },
    firstResult: r.t.firstResult,
    steps: {
      html: [0, r.navigation.responseEnd],
      toScript: [r.navigation.responseEnd, r.marks.classicScript], // HTML parse up to the page's first script
      packageImport: [r.t.scriptStart, r.t.packageImported],
      wasmFetch: [wasm.start, wasm.end],
      wasmCompile: [compile.start, compile.end],
      workerStart: [worker.created, init.answered], // worker script, wasm instantiate, thread pool
      modelDownload: [model.start, model.end],
      modelVerify: [model.end, load.sent], // sha256 on the page (and waiting for the worker, if it is later)
      modelLoad: [load.sent, load.answered], // parse, optimise, plan in the worker
      photoReady: [r.t.scriptStart, r.t.photoDecoded],
      firstInference: [r.t.classifyStart, r.t.firstResult], // frame capture + preprocess + network
      inferenceInWorker: [classify.sent, classify.answered],
    },
    workerTimings: r.timings, // of the first call: preprocessMs, inferenceMs (in the worker), totalMs
    secondInferenceMs: r.t.secondInferenceMs,
    resources: r.resources.map((e) => ({ ...e, start: Math.round(e.start), end: Math.round(e.end) })),
  };
}

const median = (xs) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

async function main() {
  ensureBuilt();
  const servers = Object.fromEntries(await Promise.all(CACHE.map(async (c) => [c, await serve(c)])));
  const samples = [];
  try {
    // Repetitions outermost, so a change in machine load spreads over every configuration alike.
    for (let run = 0; run < RUNS; run++) {
      for (const cache of CACHE) for (const build of BUILDS) for (const modelId of MODELS) {
        const profile = mkdtempSync(path.join(tmpdir(), 'mobilecnn-coldstart-'));
        const context = await launch(profile);
        try {
          const url = `${servers[cache].url}bench/coldstart/?${new URLSearchParams({
            model: modelId, threads: build.startsWith('threads') ? 1 : 0, relaxed: build.endsWith('-relaxed') ? 1 : 0, ...(PRELOAD && { preload: 1, file: modelFiles[modelId] }),
            ...(STREAMING && { streaming: 1 }),
          })}`;
          // A fresh profile: empty HTTP cache, no service worker. Then the same page again in a new tab.
          for (const visitKind of ['cold', 'warm']) {
            const p = await visit(context, url);
            if (p.build !== build) throw new Error(`${modelId}: asked for the ${build} build, ran ${p.build}`);
            samples.push({ run, cache, build, modelId, visit: visitKind, ...p });
            console.log(`run ${run + 1}/${RUNS} ${cache.padEnd(9)} ${build.padEnd(7)} ${modelId.padEnd(28)} ${visitKind} ${p.firstResult.toFixed(0).padStart(5)} ms`
              + `  (wasm ${p.cached.wasm ? 'cached' : 'fetched'}, model ${p.cached.model ? 'cached' : 'fetched'}; ${p.top1})`);
          }
        } finally {
          await context.close();
          rmSync(profile, { recursive: true, force: true });
        }
      }
    }
  } finally {
    await Promise.all(Object.values(servers).map((s) => s.close()));
  }
  report(samples);
}

function report(samples) {
  const groups = new Map();
  for (const s of samples) {
    const key = [s.modelId, s.build, s.cache, s.visit].join('|');
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(s);
  }
  const stepNames = Object.keys(samples[0].steps);
  const rows = [...groups.values()].map((g) => {
    const { modelId, build, threads, cache, visit } = g[0];
    const steps = Object.fromEntries(stepNames.map((n) => [n, {
      start: median(g.map((s) => s.steps[n][0])),
      end: median(g.map((s) => s.steps[n][1])),
      ms: median(g.map((s) => s.steps[n][1] - s.steps[n][0])),
    }]));
    return {
      modelId, build, threads, cache, visit, runs: g.length,
      firstResultMs: median(g.map((s) => s.firstResult)),
      firstResultAllMs: g.map((s) => Math.round(s.firstResult * 10) / 10),
      wasmCached: g.every((s) => s.cached.wasm), modelCached: g.every((s) => s.cached.model),
      top1: g[0].top1,
      firstInferenceInWorkerMs: median(g.map((s) => s.workerTimings.inferenceMs)),
      secondInferenceMs: median(g.map((s) => s.secondInferenceMs)),
      steps,
    };
  });
  const short = { html: 'html', toScript: 'to script', packageImport: 'import', wasmFetch: 'wasm', wasmCompile: 'compile', workerStart: 'worker',
    modelDownload: 'model dl', modelVerify: 'sha+wait', modelLoad: 'load', photoReady: 'photo', firstInference: '1st inf' };
  const cols = Object.keys(short);
  const f = (x) => (Number.isFinite(x) ? x.toFixed(0) : '–');
  console.log(`\nmedians of ${RUNS} runs, ms since navigation start (phase columns: duration ms, @ = median end time;\n'net 1st' = the network's time in the first classify as the worker measures it, '2nd inf' = a second classify, not part of the cold start)`);
  console.log(['model'.padEnd(28), 'build'.padEnd(10), 'cache'.padEnd(9), 'visit', 'FIRST'.padStart(6), ...cols.map((c) => short[c].padStart(9)),
    'net 1st', '2nd inf'].join(' '));
  for (const r of rows) {
    console.log([r.modelId.padEnd(28), `${r.build}:${r.threads}`.padEnd(10), r.cache.padEnd(9), r.visit.padEnd(5), f(r.firstResultMs).padStart(6),
      ...cols.map((c) => `${f(r.steps[c].ms)}@${f(r.steps[c].end)}`.padStart(9)),
      f(r.firstInferenceInWorkerMs).padStart(7), f(r.secondInferenceMs).padStart(7)].join(' '));
  }
  const out = path.join(bench, 'out');
  mkdirSync(out, { recursive: true });
  const file = process.env.OUT ? path.resolve(process.env.OUT) : path.join(out, 'coldstart.json');
  writeFileSync(file, JSON.stringify({
    date: new Date().toISOString(), runs: RUNS, chromium: process.env.CHROMIUM ?? '/usr/bin/chromium',
    jsflags: process.env.JSFLAGS ?? null, preload: PRELOAD, streaming: STREAMING, lingerMs: LINGER_MS, cpus: cpus().length, loadavg: loadavg(),
    notes: 'times in ms since navigation start (performance.timeOrigin); steps: median start/end/duration',
    rows, samples,
  }, null, 1));
  console.log(`\nwrote ${path.relative(root, file)} (load average ${loadavg().map((x) => x.toFixed(1)).join(' ')})`);
}

await main();
