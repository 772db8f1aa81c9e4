// The classifier's worker. scripts/build-package.mjs appends this file to a wasm-bindgen glue module
// (one per build) and defines `mobilecnnWasm` = { init, WasmModel, buildInfo, threadCount, initThreadPool } between
// them, giving the self-contained worker-simd.js and worker-threads.js. Self-contained matters: bundlers
// copy the worker as one file, and wasm-bindgen-rayon's helper threads import this same file again
// (they ignore our messages, as we ignore theirs).
/* global mobilecnnWasm */

const CODES = ['malformed', 'unsupported', 'too-large', 'input'];
// wasm-bindgen-rayon waits forever for helper threads that fail to start; we do not.
const THREAD_POOL_TIMEOUT_MS = 20_000;

let model = null;
let canvas = null;
let memory = null; // the wasm instance's WebAssembly.Memory
let trapped = false; // a trap leaves the instance unusable: never reuse this worker
let queue = Promise.resolve();
// The threaded build's pool starts in init and is awaited only by `pool` (and inference), so the
// model loads while the helper threads start.
let poolReady = Promise.resolve();

// One worker serves one classifier at a time; js/workers.js reuses it for the next one after `reset`.
const handlers = {
  // `module`: the build's WebAssembly.Module, compiled once on the page.
  async init({ module, threads }) {
    ({ memory } = await mobilecnnWasm.init({ module_or_path: module }));
    const build = mobilecnnWasm.buildInfo();
    if (build.threads) {
      if (typeof mobilecnnWasm.initThreadPool !== 'function') throw new Error('internal: no initThreadPool in the threaded build');
      poolReady = withTimeout(mobilecnnWasm.initThreadPool(threads), THREAD_POOL_TIMEOUT_MS, 'the thread pool did not start');
      poolReady.catch(() => {}); // reported by `pool`
    }
    return build;
  },
  /** Waits for the thread pool (nothing to wait for in the single-thread build). */
  async pool() {
    await poolReady;
    // Asked of the wasm (rayon's pool size), not assumed from what we requested. Not before the
    // pool exists: any rayon call would make rayon build a default pool of its own.
    return { threadCount: mobilecnnWasm.threadCount() };
  },
  load({ model: bytes, preprocessing }) {
    replaceModel(mobilecnnWasm.WasmModel.fromBytes(new Uint8Array(bytes), preprocessing));
    return model.meta();
  },
  zoo({ zooId }) {
    replaceModel(mobilecnnWasm.WasmModel.fromZoo(zooId));
    return model.meta();
  },
  async classify({ frame, topK }) {
    await poolReady;
    const { rgba, width, height } = pixels(frame);
    return requireModel().classifyRgba(rgba, width, height, topK);
  },
  memory() {
    return { wasmMemoryBytes: memory.buffer.byteLength };
  },
  /** Forgets the classifier it served: the model freed, no pixels kept. */
  reset() {
    replaceModel(null);
    canvas = null;
    if (trapped) throw new Error('internal: the wasm module trapped; this worker cannot be reused');
    return { wasmMemoryBytes: memory.buffer.byteLength };
  },
  async profile({ frame }) {
    await poolReady;
    const { rgba, width, height } = pixels(frame);
    return requireModel().profile(rgba, width, height);
  },
};

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} within ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function replaceModel(next) {
  model?.free();
  model = next;
}

function requireModel() {
  if (!model) throw new Error('internal: no model loaded');
  return model;
}

/** RGBA bytes of a frame message: given as is, or drawn from a transferred ImageBitmap. */
function pixels(frame) {
  if (!frame.bitmap) return frame;
  const { bitmap } = frame;
  const { width, height } = bitmap;
  if (!canvas || canvas.width !== width || canvas.height !== height) {
    canvas = new OffscreenCanvas(width, height);
  }
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  ctx.drawImage(bitmap, 0, 0);
  bitmap.close();
  try {
    return { rgba: ctx.getImageData(0, 0, width, height).data, width, height };
  } catch (e) {
    if (e?.name === 'SecurityError') {
      throw new Error('input: the image comes from another origin without CORS, so its pixels cannot be read');
    }
    throw e;
  }
}

function describe(error) {
  const message = String(error?.message ?? error);
  const match = /^([a-z-]+): /.exec(message);
  if (match && CODES.includes(match[1])) return { code: match[1], message: message.slice(match[0].length) };
  // A trap (e.g. a Rust panic under panic=abort) leaves the instance unusable: say so.
  const trap = typeof WebAssembly.RuntimeError === 'function' && error instanceof WebAssembly.RuntimeError;
  if (trap) trapped = true;
  return { code: 'internal', message: trap ? `the wasm module trapped (${message}); dispose this classifier` : message };
}

self.addEventListener('message', (event) => {
  const msg = event.data;
  if (!msg || msg.mobilecnn !== true) return;
  // One request at a time, in order, even across the awaits of init.
  queue = queue.then(async () => {
    try {
      const value = await handlers[msg.type](msg);
      self.postMessage({ mobilecnn: true, id: msg.id, value });
    } catch (error) {
      self.postMessage({ mobilecnn: true, id: msg.id, error: describe(error) });
    }
  });
});
