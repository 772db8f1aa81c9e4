// The Classifier: one module Worker per instance running one wasm instance. Nothing is shared between
// two classifiers on a page; dispose() terminates the worker and with it the wasm memory and threads.

import { catalogue } from './catalogue.js';
import { download, verifySha256 } from './download.js';
import { MobileCnnError, fromWorkerError } from './errors.js';
import { supportsSimd, supportsThreads } from './features.js';
import { captureFrame, greyFrame } from './frames.js';

// Located relative to this module so bundlers (Vite) copy them and static servers find them.
const BUILDS = {
  simd: {
    worker: () => new URL('./worker-simd.js', import.meta.url),
    wasm: () => new URL('./simd/mobilecnn_bg.wasm', import.meta.url),
  },
  threads: {
    worker: () => new URL('./worker-threads.js', import.meta.url),
    wasm: () => new URL('./threads/mobilecnn_bg.wasm', import.meta.url),
  },
};
const MAX_DEFAULT_THREADS = 8;

export class Classifier {
  #worker;
  #pending = new Map();
  #nextId = 1;
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
    const { threads = 'auto', onProgress } = options;
    const useThreads = threads !== false && supportsThreads();
    const threadCount = useThreads ? requestedThreads(threads) : 1;
    const progress = (phase) => onProgress && ((loaded, total) => onProgress({ phase, loaded, total }));
    const model = resolveSource(source, options);

    const modelBytes = model.fetch?.(progress('model'));
    modelBytes?.catch(() => {}); // awaited below; a failure must not go unhandled meanwhile
    let clf;
    try {
      clf = await Classifier.#start(useThreads ? 'threads' : 'simd', threadCount, progress('wasm'));
    } catch (e) {
      if (!useThreads || e.code === 'download') throw e;
      // A thread pool that cannot start (a browser quirk, a server without CORP on the worker) must
      // not leave the page without a classifier: the single-thread build needs none of it.
      console.warn(`mobilecnn: the threaded build failed (${e.message}); using the single-thread build`);
      clf = await Classifier.#start('simd', 1, progress('wasm'));
    }
    try {
      const bytes = await modelBytes;
      const modelByteLength = bytes?.byteLength ?? 0; // read before the transfer empties it
      const meta = model.zooId
        ? await clf.#call({ type: 'zoo', zooId: model.zooId })
        : await clf.#call({ type: 'load', model: bytes, preprocessing: model.preprocessing }, [bytes]);
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

  /** A worker running the `build`'s wasm (with its thread pool), no model yet. */
  static async #start(build, threadCount, onProgress) {
    const clf = new Classifier(PRIVATE);
    clf.#worker = new Worker(BUILDS[build].worker(), { type: 'module', name: `mobilecnn-${build}` });
    clf.#worker.addEventListener('message', (e) => clf.#receive(e.data));
    clf.#worker.addEventListener('error', (e) => {
      clf.#fail(new MobileCnnError('download', `the mobilecnn worker failed: ${e.message || 'it could not be loaded'}`));
    });
    try {
      const wasm = await download(BUILDS[build].wasm(), { onProgress, what: 'wasm module' });
      const wasmBytes = wasm.byteLength; // read before the transfer empties it
      const info = await clf.#call({ type: 'init', wasm, threads: threadCount }, [wasm]);
      clf.#info = { build: info.threads ? 'threads' : 'simd', threads: info.threadCount, version: info.version, wasmBytes };
      return clf;
    } catch (e) {
      clf.dispose();
      throw e;
    }
  }

  /** Model and runtime facts: format, inputSize, build ('simd' | 'threads'), threads, sizes, costs. */
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

  /** Ends the worker (and its wasm memory and threads); pending and later calls reject with `disposed`. */
  dispose() {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#worker?.terminate();
    this.#fail(new MobileCnnError('disposed', 'the classifier was disposed'));
  }

  #checkAlive() {
    if (this.#disposed) throw new MobileCnnError('disposed', 'the classifier was disposed');
  }

  #call(message, transfer = []) {
    return new Promise((resolve, reject) => {
      if (this.#disposed) {
        reject(new MobileCnnError('disposed', 'the classifier was disposed'));
        return;
      }
      const id = this.#nextId++;
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ ...message, mobilecnn: true, id }, transfer);
    });
  }

  #receive(msg) {
    if (!msg || msg.mobilecnn !== true) return;
    const pending = this.#pending.get(msg.id);
    if (!pending) return;
    this.#pending.delete(msg.id);
    if (msg.error) pending.reject(fromWorkerError(msg.error));
    else pending.resolve(msg.value);
  }

  #fail(error) {
    for (const { reject } of this.#pending.values()) reject(error);
    this.#pending.clear();
  }
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
