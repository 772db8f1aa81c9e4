// npm run bench (in bench/): times mobilecnn against TF.js (wasm backend, XNNPACK), ONNX Runtime
// Web (wasm EP) and, on the real quantized .tflite files, TFLite + XNNPACK (tfjs-tflite) in
// headless Chromium, one browser session per configuration, served cross-origin isolated. Prints the tables and writes bench/out/results.json.
// Options (env): NETS=a,b  RUNS=30  WARMUP=15  ROUNDS=2  CONFIGS=ours:1,tfjs:2,...  PHOTO  PORT  JSFLAGS
// (default V8 flags: --no-wasm-dynamic-tiering leaves ORT's module in the baseline tier, 10x slower;
// the warm-up lets every runtime's hot functions tier up instead).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { referenceDir, serveBench } from './serve.mjs';
import { fileOf, runsOn } from './page/nets.js';

const bench = path.dirname(fileURLToPath(import.meta.url));
const root = path.dirname(bench);
// `file:<name>` entries are real model files in ../models (tools/fetch-models.sh): ours vs ORT
// (.onnx) or vs TFLite (.tflite; tfjs-tflite), fed a real photo (PHOTO) from the reference data.
const ZOO_NETS = 'mobilenet_v1_1.0_224,mobilenet_v2_1.0_224,shufflenet_v1_g3_1.0,shufflenet_v2_1.0';
const QUANT_FILES = ['mobilenet_v1_0.25_128_quant', 'mobilenet_v1_0.5_160_quant', 'mobilenet_v1_0.75_192_quant', 'mobilenet_v2_1.0_224_quant']
  .map((m) => `file:${m}.tflite`).join(',');
const NETS = (process.env.NETS ?? `${ZOO_NETS},${QUANT_FILES}`).split(',');
const PHOTO = process.env.PHOTO ?? 'skimage_coffee';
const RUNS = Number(process.env.RUNS ?? 30);
const WARMUP = Number(process.env.WARMUP ?? 15);
const ROUNDS = Number(process.env.ROUNDS ?? 2);
const CONFIGS = (process.env.CONFIGS ?? 'ours:1,tfjs:1,ort:1,tflite:1,ours-threads:2,tfjs:2,ort:2,tflite:2').split(',').map((s) => {
  const [runtime, threads] = s.split(':');
  return { runtime, threads: Number(threads) };
}).filter((c) => {
  // TFLite is fed a reference photo; without the reference data the default run goes on without it.
  if (c.runtime !== 'tflite' || existsSync(referenceDir(bench))) return true;
  const msg = `no reference data at ${referenceDir(bench)} (set MOBILECNN_REFERENCE): TFLite needs its photos`;
  if (process.env.CONFIGS) throw new Error(msg);
  console.log(`${msg}; skipping tflite:${c.threads}`);
  return false;
});
// Runtimes ours is compared with (ratio_vs_<anchor>); `best` is over the ones running the same
// float32 arithmetic as ours. TFLite runs the quantized files' integer kernels: its own table.
const ANCHORS = ['tfjs', 'ort', 'tflite'];
const SAME_ARITHMETIC = ['tfjs', 'ort'];
// Cold start: navigation → first result for these model files ('' to skip), fresh browsers.
const COLD = (process.env.COLD ?? 'mobilenet_v2_1.0_224_quant.tflite').split(',').filter(Boolean);
const COLD_REPEATS = Number(process.env.COLD_REPEATS ?? 3);
// The product modules (scripts/build-wasm.sh) whose sizes are reported.
const PRODUCT_BUILD = process.env.PRODUCT_BUILD ?? 'build/wasm';

function ensureBuilt() {
  const need = [];
  if (!existsSync(`${bench}/out/wasm/simd/mobilecnn_bench_bg.wasm`)) need.push('simd');
  for (const [runtime, build] of [['ours-threads', 'threads'], ['ours-relaxed', 'relaxed'], ['ours-threads-relaxed', 'threads_relaxed']]) {
    const dir = build.replace('_', '-');
    if (CONFIGS.some((c) => c.runtime === runtime) && !existsSync(`${bench}/out/wasm/${dir}/mobilecnn_bench_bg.wasm`)) need.push(build);
  }
  if (NETS.some((id) => !id.startsWith('file:') && !existsSync(`${bench}/out/nets/${id}.onnx`))) need.push('nets');
  if (need.length) execFileSync('bash', [`${bench}/build.sh`, ...need], { stdio: 'inherit' });
}

async function runConfig(url, cfg, profile) {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', ...(process.env.JSFLAGS ? [`--js-flags=${process.env.JSFLAGS}`] : [])],
  });
  try {
    const page = await browser.newPage();
    page.on('console', (m) => m.type() === 'error' && console.error(`  [page] ${m.text()}`));
    page.on('response', (r) => r.status() === 404 && console.error(`  [404] ${r.url()}`));
    const q = new URLSearchParams({ runtime: cfg.runtime, threads: cfg.threads, nets: NETS.join(','), runs: RUNS, warmup: WARMUP, profile: profile ? 1 : 0, photo: PHOTO });
    await page.goto(`${url}/page/index.html?${q}`);
    await page.waitForFunction(() => window.benchResult, null, { timeout: 20 * 60_000, polling: 500 });
    const r = await page.evaluate(() => window.benchResult);
    if (!r.ok) throw new Error(`${cfg.runtime} ${cfg.threads}T: ${r.error}`);
    return r;
  } finally {
    await browser.close();
  }
}

const quantile = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
};
const key = (c) => `${c.runtime}:${c.threads}`;
const fmt = (x, d = 1) => (x == null || !isFinite(x) ? '–' : x.toFixed(d));

function sizes() {
  const out = {};
  for (const [name, file] of [
    ['product simd', `${PRODUCT_BUILD}/simd/mobilecnn_bg.wasm`], ['product threads', `${PRODUCT_BUILD}/threads/mobilecnn_bg.wasm`],
    ['bench simd', 'bench/out/wasm/simd/mobilecnn_bench_bg.wasm'], ['bench threads', 'bench/out/wasm/threads/mobilecnn_bench_bg.wasm'],
    ['bench relaxed', 'bench/out/wasm/relaxed/mobilecnn_bench_bg.wasm'], ['bench thr+relax', 'bench/out/wasm/threads-relaxed/mobilecnn_bench_bg.wasm'],
  ]) {
    const p = path.resolve(root, file);
    if (!existsSync(p)) continue;
    const b = readFileSync(p);
    out[name] = { file, raw: b.length, gzip: gzipSync(b, { level: 9 }).length };
  }
  return out;
}

/** Navigation → first result, in a fresh browser: once with an empty HTTP cache, then reloaded
 *  with the wasm module and model in the cache (served cacheable for this measurement). */
async function coldStart() {
  const out = {};
  if (!COLD.length) return out;
  const server = await serveBench(bench, 0, { cache: true });
  try {
    for (const model of COLD) {
      const runs = { empty_cache: [], http_cache: [] };
      for (let i = 0; i < COLD_REPEATS; i++) {
        const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'] });
        try {
          const page = await browser.newPage();
          for (const kind of ['empty_cache', 'http_cache']) {
            await page.goto(`${server.url}/page/cold.html?model=${encodeURIComponent(model)}&n=${i}`);
            await page.waitForFunction(() => window.coldResult, null, { timeout: 120_000 });
            const r = await page.evaluate(() => window.coldResult);
            if (!r.ok) throw new Error(`cold start ${model}: ${r.error}`);
            runs[kind].push(r);
          }
        } finally {
          await browser.close();
        }
      }
      out[model] = runs;
      const med = (xs, f) => quantile(xs.map(f), 0.5);
      for (const [kind, rs] of Object.entries(runs)) {
        console.log(`cold start ${model} (${kind}): first result at ${fmt(med(rs, (r) => r.total_ms))} ms (wasm ready ${fmt(med(rs, (r) => r.wasm_ms))}, model import ${fmt(med(rs, (r) => r.model_ms))}, first run ${fmt(med(rs, (r) => r.first_run_ms))}; median of ${rs.length})`);
      }
    }
  } finally {
    await server.close();
  }
  return out;
}

async function main() {
  ensureBuilt();
  const server = await serveBench(bench, Number(process.env.PORT ?? 0));
  const raw = [];
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const cfg of CONFIGS) {
        if (!NETS.some((id) => runsOn(cfg.runtime, fileOf(id)))) continue;
        const profile = round === 0 && cfg.runtime.startsWith('ours');
        process.stdout.write(`round ${round + 1}/${ROUNDS} ${cfg.runtime} ${cfg.threads}T … `);
        const t0 = performance.now();
        const r = await runConfig(server.url, cfg, profile);
        const seconds = (performance.now() - t0) / 1000;
        const join = r.joinRatio !== undefined ? ` (join ratio ${fmt(r.joinRatio, 2)}: 1 = two threads really ran at once, 2 = serialised)` : '';
        const pthreads = r.variant !== undefined ? ` (${r.variant}; pthreads started per network: ${r.results.map((x) => x.pthreads).join(', ')})` : '';
        console.log(`threads in effect: ${r.threads}${join}${pthreads}; ` + r.results.map((x) => `${x.id} ${fmt(quantile(x.times, 0.5), 2)} ms`).join(', ') + ` [${fmt(seconds)} s]`);
        raw.push({ round, ...r, runtime: cfg.runtime, threads: cfg.threads, threadsInEffect: r.threads, seconds });
      }
    }
  } finally {
    await server.close();
  }
  console.log('');
  const cold = await coldStart();
  report(raw, cold);
}

/** The real quantized files: ours (float32 on dequantized weights) against TFLite + XNNPACK
 *  (tfjs-tflite, the files' uint8 integer kernels) on the same photo, 1 and 2 threads. */
function quantTable(summary) {
  const ids = NETS.filter((id) => Object.keys(summary[id]).some((k) => k.startsWith('tflite:')));
  if (!ids.length) return;
  console.log(`\nReal quantized .tflite files, photo ${PHOTO}: ours runs them in float32 (dequantized weights), TFLite + XNNPACK`
    + ' (tfjs-tflite) in uint8 integer kernels — different arithmetic, so the ratio is not like for like.');
  console.log('ms: median (p90) [fastest run]; ratio = ours / TFLite, median [fastest] (< 1: ours faster); max |Δp| = max over classes of |p_ours − p_TFLite|');
  console.log(['network', 'ours 1T', 'TFLite 1T', 'ours/TFLite 1T', 'ours 2T', 'TFLite 2T', 'ours/TFLite 2T', 'TFLite 2T/1T speed-up', 'max |Δp|', 'top-1 ours / TFLite', '|Δp| vs reference: TFLite, ours'].join(' | '));
  for (const id of ids) {
    const s = summary[id];
    const cell = (k) => (s[k] ? `${fmt(s[k].median_ms, 2)} (${fmt(s[k].p90_ms, 2)}) [${fmt(s[k].min_ms, 2)}]` : '–');
    const pair = (x, key) => `${fmt(x?.[key], 2)} [${fmt(x?.[`${key}_min`], 2)}]`;
    const theirs = Object.keys(s).filter((k) => k.startsWith('tflite:')).map((k) => s[k]);
    const worst = theirs.reduce((a, b) => (b.max_abs_diff > a.max_abs_diff ? b : a));
    const top1 = [...new Set(theirs.map((t) => `${t.top1[1]} / ${t.top1[0]}`))].join(', ');
    console.log([id.replace(/^file:/, ''), cell('ours:1'), cell('tflite:1'), pair(s['ours:1'], 'ratio_vs_tflite'), cell('ours-threads:2'), cell('tflite:2'),
      pair(s['ours-threads:2'], 'ratio_vs_tflite'), pair(s['tflite:2'], 'speedup_vs_1t'), fmt(worst.max_abs_diff, 3), top1,
      worst.max_abs_diff_vs_reference ? worst.max_abs_diff_vs_reference.map((x) => fmt(x, 3)).join(', ') : '–'].join(' | '));
  }
  // numThreads n should make the interpreter start n − 1 pthreads (XNNPACK's pool; the caller is the
  // n-th) per network, in the threaded wasm build: else the n-thread column does not measure n threads.
  let bad = 0;
  for (const cfg of CONFIGS.filter((c) => c.runtime === 'tflite')) {
    const rows = ids.map((id) => summary[id][key(cfg)]).filter(Boolean);
    const started = rows.flatMap((r) => r.pthreads_started);
    const variants = [...new Set(rows.map((r) => r.wasm_variant))].join(', ');
    const ok = started.every((n) => (cfg.threads === 1 ? n === 0 : n >= cfg.threads - 1)) && (cfg.threads === 1 || /threaded/.test(variants));
    bad += !ok;
    console.log(`TFLite numThreads ${cfg.threads}: ${variants}; pthreads started per network ${started.join(', ')} (expected ${cfg.threads - 1}) — ${ok ? 'verified' : 'NOT as requested'}`);
  }
  return bad;
}

function report(raw, cold) {
  const summary = {};
  for (const id of NETS) {
    summary[id] = {};
    for (const cfg of CONFIGS) {
      const runs = raw.filter((r) => key(r) === key(cfg));
      const per = runs.map((r) => r.results.find((x) => x.id === id)).filter(Boolean);
      if (!per.length) continue;
      const medians = per.map((x) => quantile(x.times, 0.5));
      const all = per.flatMap((x) => x.times);
      const macs = per[0].macs;
      summary[id][key(cfg)] = {
        median_ms: quantile(medians, 0.5), p90_ms: quantile(all, 0.9), min_ms: Math.min(...all), round_medians: medians,
        gmacs: macs / quantile(medians, 0.5) / 1e6, max_abs_diff: Math.max(...per.map((x) => x.maxdiff)), tolerance: per[0].tolerance,
        top1_agree: per.every((x) => x.top1[0] === x.top1[1]), top1: per[0].top1, top1_required: per[0].top1Required, photo: per[0].photo, max_abs_diff_vs_reference: per[0].vsReference,
        threads_in_effect: runs[0].threadsInEffect, join_ratios: runs.map((r) => r.joinRatio).filter((x) => x !== undefined), macs,
        ...(runs[0].variant !== undefined ? { wasm_variant: runs[0].variant, pthreads_started: per.map((x) => x.pthreads) } : {}),
      };
    }
    const s = summary[id];
    for (const [k, ours] of Object.entries(s)) {
      if (!k.startsWith('ours')) continue;
      const t = Number(k.split(':')[1]);
      for (const a of ANCHORS) {
        if (!s[`${a}:${t}`]) continue;
        ours[`ratio_vs_${a}`] = ours.median_ms / s[`${a}:${t}`].median_ms;
        ours[`ratio_vs_${a}_min`] = ours.min_ms / s[`${a}:${t}`].min_ms;
      }
      const best = Math.min(...SAME_ARITHMETIC.map((a) => s[`${a}:${t}`]?.median_ms ?? Infinity));
      if (isFinite(best)) ours.ratio_vs_best = ours.median_ms / best;
      const bestMin = Math.min(...SAME_ARITHMETIC.map((a) => s[`${a}:${t}`]?.min_ms ?? Infinity));
      if (isFinite(bestMin)) ours.ratio_vs_best_min = ours.min_ms / bestMin;
    }
    if (s['ours-relaxed:1'] && s['ours-threads-relaxed:2']) {
      s['ours-threads-relaxed:2'].speedup_vs_1t = s['ours-relaxed:1'].median_ms / s['ours-threads-relaxed:2'].median_ms;
      s['ours-threads-relaxed:2'].speedup_vs_1t_min = s['ours-relaxed:1'].min_ms / s['ours-threads-relaxed:2'].min_ms;
    }
    for (const [one, two] of [['ours:1', 'ours-threads:2'], ...ANCHORS.map((a) => [`${a}:1`, `${a}:2`])]) {
      if (!s[one] || !s[two]) continue;
      s[two].speedup_vs_1t = s[one].median_ms / s[two].median_ms;
      s[two].speedup_vs_1t_min = s[one].min_ms / s[two].min_ms;
    }
  }

  console.log(`\nLatency, ms: median of ${ROUNDS} round medians (p90 of all runs) — ${RUNS} runs after ${WARMUP} warm-up per round`);
  const cols = CONFIGS.map(key);
  console.log(['network', ...cols, 'ours/best 1T', 'ours/best 2T', '2T/1T speed-up'].join(' | '));
  for (const id of NETS) {
    const s = summary[id];
    const cell = (k) => (s[k] ? `${fmt(s[k].median_ms, 2)} (${fmt(s[k].p90_ms, 2)})` : '–');
    const ours1 = s['ours:1'];
    const ours2 = s['ours-threads:2'];
    console.log([id, ...cols.map(cell), fmt(ours1?.ratio_vs_best, 2), fmt(ours2?.ratio_vs_best, 2), fmt(ours2?.speedup_vs_1t, 2)].join(' | '));
  }
  console.log('\nFastest run, ms (the least disturbed by other load on a shared machine)');
  console.log(['network', ...cols, 'ours/best 1T', 'ours/best 2T', '2T/1T speed-up'].join(' | '));
  for (const id of NETS) {
    const s = summary[id];
    console.log([id, ...cols.map((k) => fmt(s[k]?.min_ms, 2)), fmt(s['ours:1']?.ratio_vs_best_min, 2), fmt(s['ours-threads:2']?.ratio_vs_best_min, 2),
      fmt(s['ours-threads:2']?.speedup_vs_1t_min, 2)].join(' | '));
  }
  const oursCols = cols.filter((k) => k.startsWith('ours'));
  console.log('\nRatios ours / faster anchor at the same thread count (median; fastest run in brackets; < 1 = we are faster)');
  console.log(['network', ...oursCols].join(' | '));
  for (const id of NETS) {
    const s = summary[id];
    console.log([id, ...oursCols.map((k) => (s[k] ? `${fmt(s[k].ratio_vs_best, 2)} (${fmt(s[k].ratio_vs_best_min, 2)})` : '–'))].join(' | '));
  }
  console.log('\nGMAC/s (median)');
  for (const id of NETS) console.log([id, ...cols.map((k) => fmt(summary[id][k]?.gmacs, 2))].join(' | '));
  const badThreads = quantTable(summary) ?? 0;
  console.log('\nOutput check, max |ours − theirs| (must be ≤ 1e-3; TFLite on the quantized files ≤ 0.3 and the same top-1)');
  let bad = 0;
  for (const id of NETS) {
    console.log([id, ...cols.map((k) => summary[id][k]?.max_abs_diff.toExponential(1))].join(' | '));
    bad += cols.filter((k) => summary[id][k] && !(summary[id][k].max_abs_diff <= summary[id][k].tolerance && (summary[id][k].top1_agree || !summary[id][k].top1_required))).length;
  }

  const kernels = {};
  for (const profiled of raw.filter((r) => r.peak && r.results.some((x) => x.profile))) {
    kernels[profiled.runtime] = {};
    const team = profiled.threadsInEffect > 1 ? `${profiled.threadsInEffect} threads; the peak is one thread's` : '1 thread';
    console.log(`\nKernel table (${profiled.runtime}, ${team}): GFLOP/s per layer vs the same-run f32x4 mul+add peak ${fmt(profiled.peak)} GFLOP/s`);
    for (const x of profiled.results.filter((x) => x.profile)) {
      const layers = x.profile.filter((l) => l.macs > 0).map((l) => ({ ...l, gflops: (2 * l.macs) / l.ms / 1e6 }));
      const by = (kind) => layers.filter((l) => l.kind === kind || (kind === 'conv1x1' && l.kind === 'conv1x1_grouped') || (kind === 'dense' && l.kind === 'dense'));
      const total = x.profile.reduce((a, l) => a + l.ms, 0);
      const summaryRow = {};
      for (const kind of ['conv1x1', 'depthwise', 'conv', 'dense']) {
        const ls = by(kind);
        if (!ls.length) continue;
        const ms = ls.reduce((a, l) => a + l.ms, 0);
        const macs = ls.reduce((a, l) => a + l.macs, 0);
        summaryRow[kind] = { ms, share: ms / total, gflops: (2 * macs) / ms / 1e6, of_peak: (2 * macs) / ms / 1e6 / profiled.peak };
      }
      const other = total - Object.values(summaryRow).reduce((a, r) => a + r.ms, 0);
      const otherByKind = {};
      for (const l of x.profile.filter((l) => l.macs === 0)) otherByKind[l.kind] = (otherByKind[l.kind] ?? 0) + l.ms;
      kernels[profiled.runtime][x.id] = { peak_gflops: profiled.peak, total_ms: total, other_ms: other, other_by_kind: otherByKind, by_kind: summaryRow, layers };
      const others = Object.entries(otherByKind).filter(([, ms]) => ms >= 0.005).map(([k, ms]) => `${k} ${fmt(ms, 2)}`).join(', ');
      console.log(`${x.id} (profiled total ${fmt(total, 2)} ms; non-MAC ops ${fmt(other, 2)} ms: ${others}):`);
      for (const [kind, r] of Object.entries(summaryRow)) {
        console.log(`  ${kind.padEnd(10)} ${fmt(r.ms, 2).padStart(7)} ms (${fmt(100 * r.share, 0)}%)  ${fmt(r.gflops)} GFLOP/s = ${fmt(100 * r.of_peak, 0)}% of peak`);
      }
      const big = layers.filter((l) => l.kind.startsWith('conv1x1') || l.kind === 'depthwise').sort((a, b) => b.ms - a.ms).slice(0, 6);
      for (const l of big) console.log(`    ${l.name.padEnd(22)} ${l.kind.padEnd(15)} out ${l.out.join('x').padEnd(12)} ${fmt(l.ms, 3)} ms ${fmt(l.gflops)} GFLOP/s (${fmt(100 * l.gflops / profiled.peak, 0)}%)`);
    }
  }
  const wasm = sizes();
  console.log('\nwasm sizes (bytes raw / gzip -9)');
  for (const [k, v] of Object.entries(wasm)) console.log(`  ${k.padEnd(16)} ${v.raw} / ${v.gzip}  ${v.file}`);
  mkdirSync(`${bench}/out`, { recursive: true });
  const versions = Object.fromEntries(raw.filter((r) => r.version).map((r) => [r.runtime, r.version]));
  writeFileSync(`${bench}/out/results.json`, JSON.stringify({
    date: new Date().toISOString(), runs: RUNS, warmup: WARMUP, rounds: ROUNDS, configs: cols, versions,
    summary, kernels, cold_start: cold, wasm_sizes: wasm, raw: raw.map(({ results, ...r }) => ({ ...r, results: results.map(({ profile, ...x }) => x) })),
  }, null, 1));
  console.log(`\nwrote ${path.relative(process.cwd(), `${bench}/out/results.json`)}`);
  if (badThreads) {
    console.error(`${badThreads} TFLite configuration(s) did not run the requested thread count`);
    process.exitCode = 1;
  }
  if (bad) {
    console.error(`${bad} configuration(s) did not match our output (within the tolerance above, with the same top-1)`);
    process.exitCode = 1;
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
