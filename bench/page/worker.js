// Times one runtime on the networks the page sends: warm-up, then `runs` timed inferences each
// (input in → output out, as an application calls it), and checks the output against ours.
import { buildTfModel } from './tfjs_graph.js';

const NM = '../node_modules';
const log = (s) => postMessage({ log: s });

/** Each runtime: `setup(cfg)` → { threads, prepare(net) → { infer() → output, dispose() } }. */
const RUNTIMES = {
  ours: (cfg) => ours('simd', cfg),
  'ours-threads': (cfg) => ours('threads', cfg),
  'ours-relaxed': (cfg) => ours('relaxed', cfg),
  'ours-threads-relaxed': (cfg) => ours('threads-relaxed', cfg),
  tfjs,
  ort,
  tflite,
};

/** Whether this browser runs relaxed SIMD: validates a 59-byte module whose one function is
 *  `f32x4.relaxed_madd` of three zero vectors (the probe that picks the relaxed build). */
export function relaxedSimdSupported() {
  const zero = Array(16).fill(0);
  const konst = [0xfd, 0x0c, ...zero];
  const body = [0x00, ...konst, ...konst, ...konst, 0xfd, 0x85, 0x02, 0x0b];
  return WebAssembly.validate(new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, // type: () -> v128
    0x03, 0x02, 0x01, 0x00, // one function of type 0
    0x0a, body.length + 2, 0x01, body.length, ...body,
  ]));
}

async function ours(variant, cfg) {
  if (variant.includes('relaxed') && !relaxedSimdSupported()) throw new Error('this browser has no relaxed SIMD');
  const m = await import(`../out/wasm/${variant}/mobilecnn_bench.js`);
  await m.default();
  if (variant.startsWith('threads')) await m.initThreadPool(cfg.threads);
  // Whether two pool threads really run at once (see join_ratio in wasm/src/web.rs).
  const joinRatio = m.join_ratio ? m.join_ratio(5_000_000) : undefined;
  if (joinRatio !== undefined) log(`join ratio ${joinRatio.toFixed(2)} (1 = parallel, 2 = serialised)`);
  return {
    joinRatio,
    threads: m.threads(),
    // Several calls: the first ones may run in V8's baseline tier (a call never tiers up midway).
    peak: cfg.profile ? Math.max(...Array.from({ length: 6 }, () => m.peak_gflops(200_000))) : undefined,
    prepare(net) {
      const n = net.file ? new m.FileNet(net.bytes) : new m.Net(net.id);
      return {
        infer: () => n.run(net.input),
        profile: cfg.profile && !net.file ? () => JSON.parse(n.profile(net.input, 10)) : undefined,
        dispose: () => n.free(),
      };
    },
  };
}

/** Loads a UMD bundle into the worker's global scope (module workers have no importScripts). */
async function loadUmd(url) {
  const text = await (await fetch(url)).text();
  (0, eval)(text);
}

async function tfjs(cfg) {
  // TF.js caps XNNPACK's pool at hardwareConcurrency / 2 (1 on a 2-core machine), whatever
  // setThreadsCount asks; report enough cores that the requested count takes effect.
  const cores = navigator.hardwareConcurrency;
  if (cfg.threads * 2 > cores) {
    Object.defineProperty(Object.getPrototypeOf(navigator), 'hardwareConcurrency', { get: () => cfg.threads * 2, configurable: true });
  }
  await loadUmd(`${NM}/@tensorflow/tfjs-core/dist/tf-core.min.js`);
  await loadUmd(`${NM}/@tensorflow/tfjs-backend-wasm/dist/tf-backend-wasm.min.js`);
  const tf = self.tf;
  tf.wasm.setWasmPaths(new URL(`${NM}/@tensorflow/tfjs-backend-wasm/dist/`, import.meta.url).href);
  tf.wasm.setThreadsCount(cfg.threads);
  if (!(await tf.setBackend('wasm'))) throw new Error('tfjs: wasm backend failed');
  await tf.ready();
  return {
    threads: tf.wasm.getThreadsCount(),
    version: tf.version_core,
    prepare(net) {
      const model = buildTfModel(tf, JSON.parse(net.graph), net.weights);
      const [h, w, c] = net.shape;
      const x = tf.tensor4d(net.input, [1, h, w, c]);
      return {
        infer() {
          const y = tf.tidy(() => model.forward(x));
          const out = y.dataSync();
          y.dispose();
          return out;
        },
        dispose() { x.dispose(); model.dispose(); },
      };
    },
  };
}

async function ort(cfg) {
  const ort = await import(`${NM}/onnxruntime-web/dist/ort.wasm.min.mjs`);
  ort.env.wasm.numThreads = cfg.threads;
  ort.env.wasm.simd = true;
  ort.env.wasm.wasmPaths = new URL(`${NM}/onnxruntime-web/dist/`, import.meta.url).href;
  return {
    threads: cfg.threads,
    version: ort.env.versions?.web,
    async prepare(net) {
      const bytes = net.file ? net.bytes : await (await fetch(`../out/nets/${net.id}.onnx`)).arrayBuffer();
      const session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'], graphOptimizationLevel: cfg.ortopt ?? 'all' });
      const [h, w, c] = net.shape;
      // NHWC → NCHW once, outside the timing (the layout is the model's input contract).
      const nchw = new Float32Array(h * w * c);
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let k = 0; k < c; k++) nchw[(k * h + y) * w + x] = net.input[(y * w + x) * c + k];
      const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', nchw, [1, c, h, w]) };
      const outName = session.outputNames[0];
      // Real models may end in logits while ours returns probabilities: compare after a softmax.
      const probs = (x) => {
        if (!net.file) return x;
        const m = Math.max(...x);
        const e = x.map((v) => Math.exp(v - m));
        const sum = e.reduce((a, b) => a + b, 0);
        return Math.abs(x.reduce((a, b) => a + b, 0) - 1) < 1e-3 ? x : e.map((v) => v / sum);
      };
      return {
        infer: async () => (await session.run(feeds))[outName].data,
        check: (out) => probs(out),
        dispose: () => session.release(),
      };
    },
  };
}

/** A classic script into this module worker's global scope, synchronously: what `importScripts`
 *  does in a classic worker (module workers throw on it, and tfjs-tflite's loader calls it). */
function importScriptsSync(...urls) {
  for (const url of urls) {
    const xhr = new XMLHttpRequest();
    xhr.open('GET', url, false);
    xhr.send();
    if (xhr.status !== 200) throw new Error(`importScripts ${url}: HTTP ${xhr.status}`);
    (0, eval)(xhr.responseText);
  }
}

/** @tensorflow/tfjs-tflite: the TFLite interpreter with its XNNPACK delegate, compiled to wasm,
 *  running the .tflite file as it is (uint8 weights and activations, integer kernels). */
async function tflite(cfg) {
  // Its loader importScripts() the emscripten build it picks (…_simd_threaded.js when the page is
  // cross-origin isolated); record which, and count the pthreads the interpreter starts (emscripten
  // pre-spawns 8 idle workers whatever numThreads says; a thread starts with a 'run' message).
  // tf-tflite.min.js also preloads, while it is evaluated, from its own script's folder (here: the
  // worker's page/, a 404); only the folder given to setWasmPath is served.
  const wasmDir = new URL(`${NM}/@tensorflow/tfjs-tflite/wasm/`, import.meta.url).href;
  const loaded = [];
  self.importScripts = (...urls) => {
    if (urls.some((u) => !u.startsWith(wasmDir))) throw new Error(`tflite: not loading ${urls} (outside ${wasmDir})`);
    importScriptsSync(...urls);
    loaded.push(...urls);
  };
  let pthreads = 0;
  const post = Worker.prototype.postMessage;
  Worker.prototype.postMessage = function (msg, ...rest) {
    if (msg && msg.cmd === 'run') pthreads++;
    return post.call(this, msg, ...rest);
  };
  await loadUmd(`${NM}/@tensorflow/tfjs-core/dist/tf-core.min.js`);
  await loadUmd(`${NM}/@tensorflow/tfjs-tflite/dist/tf-tflite.min.js`);
  self.tflite.setWasmPath(wasmDir);
  const rt = {
    threads: cfg.threads,
    version: `tfjs-tflite ${(await (await fetch(`${NM}/@tensorflow/tfjs-tflite/package.json`)).json()).version}`,
    get variant() { return loaded.map((u) => u.split('/').pop()).join(', ') || 'none'; },
    get pthreads() { return pthreads; },
    async prepare(net) {
      if (!net.photo?.image) throw new Error(`${net.id}: TFLite needs the quantized photo (uint8 input)`);
      const model = await self.tflite.loadTFLiteModel(net.bytes.slice().buffer, { numThreads: cfg.threads });
      // TFLiteModel.predict without the tfjs tensors around it (they would only add copies to
      // TFLite's time): bytes into the interpreter's input tensor, infer(), the output bytes out.
      const runner = model.modelRunner;
      const [input] = runner.getInputs();
      const [output] = runner.getOutputs();
      if (input.dataType !== 'uint8' || output.dataType !== 'uint8') throw new Error(`${net.id}: expected uint8 in and out, got ${input.dataType} → ${output.dataType}`);
      const { image, outputQuant: oq, labelOffset } = net.photo;
      return {
        infer() {
          runner.getInputs()[0].data().set(image);
          if (!runner.infer()) throw new Error('tflite: infer() failed');
          return runner.getOutputs()[0].data().slice();
        },
        // uint8 softmax → probabilities by the output quantization; the background entry dropped.
        check: (q) => Float32Array.from(q.subarray(labelOffset), (v) => (v - oq.zero_point) * oq.scale),
        tolerance: QUANT_TOLERANCE,
        top1Required: true,
        dispose: () => runner.cleanUp(),
      };
    },
  };
  return rt;
}

/** Integer kernels against our float execution of the same quantized file: the bound
 *  ../shared/reference/README.md gives for float execution of these files (per-photo max |Δp|). */
const QUANT_TOLERANCE = 0.3;

const argmax = (xs) => xs.reduce((best, v, i) => (v > xs[best] ? i : best), 0);

function maxAbsDiff(a, b) {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

async function run(cfg) {
  const rt = await RUNTIMES[cfg.runtime](cfg);
  const results = [];
  for (const net of cfg.nets) {
    const pthreadsBefore = rt.pthreads;
    const p = await rt.prepare(net);
    const first = await p.infer();
    // Threads the runtime started for this network (so far only counted for TFLite).
    const pthreads = pthreadsBefore === undefined ? undefined : rt.pthreads - pthreadsBefore;
    const probs = p.check ? p.check(first) : first;
    const maxdiff = maxAbsDiff(probs, net.expected);
    // Top-1 of both, and each against the reference runtime's probabilities for the photo.
    const top1 = [argmax(probs), argmax(net.expected)];
    const vsReference = net.photo ? [maxAbsDiff(probs, net.photo.refProbs), maxAbsDiff(net.expected, net.photo.refProbs)] : undefined;
    for (let i = 0; i < cfg.warmup; i++) await p.infer();
    const times = [];
    for (let i = 0; i < cfg.runs; i++) {
      const t = performance.now();
      await p.infer();
      times.push(performance.now() - t);
    }
    const profile = p.profile ? p.profile() : undefined;
    p.dispose();
    log(`${cfg.runtime} ${rt.threads}T ${net.id}: median ${median(times).toFixed(2)} ms, max |diff| ${maxdiff.toExponential(2)}, top-1 ${top1.join(' / ')}`);
    results.push({ id: net.id, macs: net.macs, times, maxdiff, tolerance: p.tolerance ?? 1e-3, top1, top1Required: !!p.top1Required, pthreads, photo: net.photo?.name, vsReference, profile });
  }
  return {
    runtime: cfg.runtime, joinRatio: rt.joinRatio, threads: rt.threads, requestedThreads: cfg.threads, version: rt.version, peak: rt.peak,
    variant: rt.variant, pthreads: rt.pthreads, results,
  };
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

self.onmessage = async ({ data }) => {
  try {
    postMessage({ ok: true, ...(await run(data)) });
  } catch (e) {
    postMessage({ ok: false, error: String(e && e.stack || e) });
  }
};
