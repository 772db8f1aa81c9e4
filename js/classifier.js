// The Classifier: a module Worker of its own running one wasm instance (js/workers.js starts them, and
// reuses a disposed classifier's worker once its model is freed). Two live classifiers never share a worker.

import { catalogue } from './catalogue.js';
import { download, verifySha256 } from './download.js';
import { MobileCnnError } from './errors.js';
import { supportsRelaxedSimd, supportsSimd, supportsThreads } from './features.js';
import { captureFrame, greyFrame } from './frames.js';
import { acquire, poolReady, release, terminateIdle } from './workers.js';

// Located relative to this module so bundlers (Vite) copy them and static servers find them (each URL
// written out whole: bundlers only see literal `new URL('…', import.meta.url)`). The -relaxed builds are the
// same code with relaxed SIMD (fused multiply-add), used where the browser validates it.
const BUILDS = {
  simd: {
    worker: () => new URL('./worker-simd.js', import.meta.url),
    wasm: () => new URL('./simd/mobilecnn_bg.wasm', import.meta.url),
  },
  threads: {
    worker: () => new URL('./worker-threads.js', import.meta.url),
    wasm: () => new URL('./threads/mobilecnn_bg.wasm', import.meta.url),
  },
  'simd-relaxed': {
    worker: () => new URL('./worker-simd-relaxed.js', import.meta.url),
    wasm: () => new URL('./simd-relaxed/mobilecnn_bg.wasm', import.meta.url),
  },
  'threads-relaxed': {
    worker: () => new URL('./worker-threads-relaxed.js', import.meta.url),
    wasm: () => new URL('./threads-relaxed/mobilecnn_bg.wasm', import.meta.url),
  },
};
// Every thread takes an equal share of each layer and the team meets between dependent layers, so
// the slowest core sets the pace: on an 8-core phone half the cores are little ones, and 4 busy
// threads land on the big ones.
const MAX_DEFAULT_THREADS = 4;

export class Classifier {
  #worker; // a Connection (js/workers.js)
  #pending = new Set(); // the rejecters of our calls in flight, for dispose()
  #disposed = false;
  #info;

  /** Use `Classifier.load`. */
  constructor(token) {
    if (token !== PRIVATE) throw new TypeError('use Classifier.load(source, options)');
  }

  static async load(source, options = {}) {
    if (!supportsSimd()) {
      throw new MobileCnnError('no-simd', 'this browser does not support WebAssembly SIMD128, which mobilecnn needs');
    }
    const { threads = 'auto', relaxedSimd = true, onProgress } = options;
    if (typeof relaxedSimd !== 'boolean') {
      throw new MobileCnnError('input', `relaxedSimd must be true or false, not ${relaxedSimd}`);
    }
    const useThreads = threads !== false && supportsThreads();
    const suffix = relaxedSimd && supportsRelaxedSimd() ? '-relaxed' : '';
    const threadCount = useThreads ? requestedThreads(threads) : 1;
    const progress = (phase) => onProgress && ((loaded, total) => onProgress({ phase, loaded, total }));
    const model = resolveSource(source, options);

    const modelBytes = model.fetch?.(progress('model'));
    modelBytes?.catch(() => {}); // awaited below; a failure must not go unhandled meanwhile
    let clf;
    try {
      clf = await Classifier.#start((useThreads ? 'threads' : 'simd') + suffix, threadCount, progress('wasm'));
    } catch (e) {
      if (!useThreads || e.code === 'download') throw e;
      // A thread pool that cannot start (a browser quirk, a server without CORP on the worker) must
      // not leave the page without a classifier: the single-thread build needs none of it.
      console.warn(`mobilecnn: the threaded build failed (${e.message}); using the single-thread build`);
      clf = await Classifier.#start('simd' + suffix, 1, progress('wasm'));
    }
    try {
      const bytes = await modelBytes;
      const modelByteLength = bytes?.byteLength ?? 0; // read before the transfer empties it
      const threaded = clf.#info.build.startsWith('threads');
      // The threaded build loads the model while its pool starts; it gets a copy of the bytes, kept
      // here for the single-thread build should the pool not start.
      let meta = await clf.#loadModel(model, bytes, !threaded);
      try {
        await poolReady(clf.#worker);
      } catch (e) {
        if (!threaded) throw e;
        console.warn(`mobilecnn: the threaded build failed (${e.message}); using the single-thread build`);
        clf.dispose();
        clf = await Classifier.#start('simd' + suffix, 1, progress('wasm'));
        meta = await clf.#loadModel(model, bytes, true);
        await poolReady(clf.#worker);
      }
      clf.#info.threads = clf.#worker.info.threads;
      clf.#info = Object.freeze({
        source: model.description,
        id: model.id,
        ...meta,
        ...clf.#info,
        modelBytes: modelByteLength,
      });
      return clf;
    } catch (e) {
      clf.dispose();
      throw e;
    }
  }

  /** Sends the model (its bytes, moved to the worker when `transfer`) and returns its meta. */
  #loadModel(model, bytes, transfer) {
    return model.zooId
      ? this.#call({ type: 'zoo', zooId: model.zooId })
      : this.#call({ type: 'load', model: bytes, preprocessing: model.preprocessing }, transfer ? [bytes] : []);
  }

  /** A classifier with a worker running the `build`'s wasm (its thread pool starting), no model yet. */
  static async #start(build, threadCount, onProgress) {
    const clf = new Classifier(PRIVATE);
    clf.#worker = await acquire(build, BUILDS[build], threadCount, onProgress);
    clf.#info = { ...clf.#worker.info };
    return clf;
  }

  /**
   * Ends the workers kept idle for reuse (with their wasm memory) now, rather than a minute after their
   * classifier was disposed.
   */
  static terminateIdleWorkers() {
    terminateIdle();
  }

  /** Model and runtime facts: format, inputSize, build ('simd' | 'threads', '-relaxed' appended for the relaxed SIMD builds), threads, sizes, costs. */
  get info() {
    return this.#info;
  }

  /** Top-k classes of one frame: `{ predictions: [{label, wnid, classIndex, probability}], timings }`. */
  async classify(input, { topK = 5 } = {}) {
    this.#checkAlive();
    if (!Number.isInteger(topK) || topK < 1 || topK > 1000) {
      throw new MobileCnnError('input', `topK must be an integer in 1..1000, not ${topK}`);
    }
    const start = performance.now();
    const { frame, transfer } = await captureFrame(input);
    this.#checkAlive();
    const result = await this.#call({ type: 'classify', frame, topK }, transfer);
    result.timings.totalMs = performance.now() - start;
    return result;
  }

  /** Per-layer `{ name, op, macs, params, mac, ms }` and their totals, from one timed run. */
  async profile(input) {
    this.#checkAlive();
    const { frame, transfer } = input === undefined ? greyFrame(this.#info.inputSize) : await captureFrame(input);
    this.#checkAlive();
    return this.#call({ type: 'profile', frame }, transfer);
  }

  /** The worker's wasm memory now: `{ wasmMemoryBytes }` (it grows with the model, it never shrinks). */
  async memory() {
    this.#checkAlive();
    return this.#call({ type: 'memory' });
  }

  /**
   * Frees the model and hands the worker back for reuse (or ends it); pending and later calls reject with
   * `disposed`.
   */
  dispose() {
    if (this.#disposed) return;
    this.#disposed = true;
    const error = new MobileCnnError('disposed', 'the classifier was disposed');
    for (const reject of this.#pending) reject(error);
    this.#pending.clear();
    if (this.#worker) release(this.#worker);
  }

  #checkAlive() {
    if (this.#disposed) throw new MobileCnnError('disposed', 'the classifier was disposed');
  }

  /** A request to our worker; settled by its answer, or rejected as `disposed` by dispose() first. */
  #call(message, transfer = []) {
    return new Promise((resolve, reject) => {
      if (this.#disposed) {
        reject(new MobileCnnError('disposed', 'the classifier was disposed'));
        return;
      }
      this.#pending.add(reject);
      const done = () => this.#pending.delete(reject);
      this.#worker.call(message, transfer).then(
        (value) => { done(); resolve(value); },
        (e) => { done(); reject(e instanceof MobileCnnError ? e : sendError(e, transfer)); },
      );
    });
  }
}

/** Why postMessage refused a message. */
function sendError(e, transfer) {
  for (const t of transfer) t.close?.(); // our own ImageBitmap copies
  // A bitmap of a cross-origin image without CORS cannot be sent (nor read).
  const tainted = e?.name === 'DataCloneError' && /origin-clean/i.test(e.message);
  return tainted
    ? new MobileCnnError('input', 'the image comes from another origin without CORS, so its pixels cannot be read', { cause: e })
    : new MobileCnnError('internal', `could not send to the worker: ${e?.message ?? e}`, { cause: e });
}

const PRIVATE = Symbol('Classifier');

function requestedThreads(threads) {
  if (typeof threads === 'number') {
    if (!Number.isInteger(threads) || threads < 1) throw new MobileCnnError('input', `threads must be a positive integer, false or 'auto', not ${threads}`);
    return threads;
  }
  return Math.max(1, Math.min(navigator.hardwareConcurrency || 1, MAX_DEFAULT_THREADS));
}

/**
 * What `source` names: `{ id, description, zooId?, preprocessing?, fetch?(onProgress) → ArrayBuffer }`.
 */
function resolveSource(source, options) {
  const preprocessing = normalizePreprocessing(options.preprocessing);
  const checked = (fetchBytes, sha256, what) => async (onProgress) => {
    const bytes = await fetchBytes(onProgress);
    if (sha256) await verifySha256(bytes, sha256, what);
    return bytes;
  };
  if (typeof source === 'string' && source.startsWith('zoo:')) {
    return { id: source.slice(4), description: source, zooId: source.slice(4) };
  }
  if (typeof source === 'string' && !/[/:]/.test(source)) {
    const entry = catalogue.find((m) => m.id === source);
    if (!entry) {
      throw new MobileCnnError('input', `'${source}' is not in the catalogue (${catalogue.map((m) => m.id).join(', ')}); pass a URL, 'zoo:<id>' or the file's bytes`);
    }
    const base = new URL(options.modelBaseUrl ?? './models/', globalThis.document?.baseURI ?? globalThis.location?.href);
    const url = new URL(entry.file, base.href.endsWith('/') ? base : new URL(`${base.href}/`));
    const fetchBytes = (onProgress) => download(url, { onProgress, expectedBytes: entry.bytes, what: `model ${entry.id}` });
    return {
      id: entry.id,
      description: url.href,
      preprocessing: preprocessing ?? normalizePreprocessing(entry.preprocessing),
      fetch: checked(fetchBytes, options.sha256 ?? entry.sha256, `model ${entry.id} (${url.href})`),
    };
  }
  if (typeof source === 'string' || source instanceof URL) {
    const url = new URL(source, globalThis.document?.baseURI ?? globalThis.location?.href);
    const fetchBytes = (onProgress) => download(url, { onProgress, what: 'model' });
    return { id: null, description: url.href, preprocessing, fetch: checked(fetchBytes, options.sha256, url.href) };
  }
  const bytes = ownBytes(source);
  if (bytes) {
    return { id: null, description: 'bytes', preprocessing, fetch: checked(bytes, options.sha256, 'model bytes') };
  }
  throw new MobileCnnError('input', "source must be a catalogue id, a URL, 'zoo:<id>', an ArrayBuffer, a Uint8Array or a Blob");
}

/** A function giving a fresh ArrayBuffer of the source (ours to transfer), or null. */
function ownBytes(source) {
  if (source instanceof ArrayBuffer) return async () => source.slice(0);
  if (ArrayBuffer.isView(source)) {
    return async () => source.buffer.slice(source.byteOffset, source.byteOffset + source.byteLength);
  }
  if (typeof Blob === 'function' && source instanceof Blob) return () => source.arrayBuffer();
  return null;
}

/** `{colorOrder, inputScale, mean, std}` from the camelCase or the catalogue's snake_case form. */
function normalizePreprocessing(p) {
  if (p == null) return undefined;
  const out = {
    colorOrder: p.colorOrder ?? p.color_order ?? 'RGB',
    inputScale: p.inputScale ?? p.input_scale ?? 1,
    mean: p.mean,
    std: p.std,
  };
  const triple = (v) => Array.isArray(v) && v.length === 3 && v.every(Number.isFinite);
  if (!triple(out.mean) || !triple(out.std) || !Number.isFinite(out.inputScale)) {
    throw new MobileCnnError('input', 'preprocessing needs { colorOrder, inputScale, mean: [r, g, b], std: [r, g, b] }');
  }
  return out;
}
