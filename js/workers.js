// The workers behind the classifiers. Starting one costs a worker, a wasm instance and (threaded build) a
// rayon pool, and the wasm used to be compiled again in each; switching models paid that on every load. So a disposed classifier's worker is reset (its model freed) and kept idle for the next load of the
// same build and thread count: at most IDLE_PER_KIND of them, each for IDLE_MS at most. A live classifier
// always has a worker of its own. The wasm is downloaded and compiled once per page and build; the compiled
// module is posted to each worker.

import { download } from './download.js';
import { MobileCnnError, fromWorkerError } from './errors.js';

const IDLE_PER_KIND = 1;
const IDLE_MS = 60_000;

const compiled = new Map(); // build → Promise<{ module: WebAssembly.Module, bytes: number }>
const idle = new Map(); // `${build}/${threads}` → [Connection]
const returning = new Map(); // the same → [Connection] being reset after their classifier's dispose()

/** One worker and the requests in flight to it. */
class Connection {
  #worker;
  #pending = new Map();
  #nextId = 1;
  #failure = null; // why the worker is gone, for calls made after it failed
  broken = false;
  idleTimer = null;
  reset = null; // Promise<boolean> while it is being reset for reuse

  constructor(build, workerUrl, threads) {
    this.key = `${build}/${threads}`;
    this.info = null; // { build, threads, version, wasmBytes } once started
    this.#worker = new Worker(workerUrl, { type: 'module', name: `mobilecnn-${build}` });
    this.#worker.addEventListener('message', (e) => this.#receive(e.data));
    this.#worker.addEventListener('error', (e) => {
      this.broken = true;
      this.#failure = new MobileCnnError('download', `the mobilecnn worker failed: ${e.message || 'it could not be loaded'}`);
      this.#failAll(this.#failure);
    });
  }

  call(message, transfer = []) {
    return new Promise((resolve, reject) => {
      if (this.broken) {
        reject(this.#failure ?? new MobileCnnError('internal', 'the mobilecnn worker is gone'));
        return;
      }
      const id = this.#nextId++;
      this.#pending.set(id, { resolve, reject });
      try {
        this.#worker.postMessage({ ...message, mobilecnn: true, id }, transfer);
      } catch (e) {
        this.#pending.delete(id);
        reject(e);
      }
    });
  }

  terminate() {
    this.broken = true;
    this.#worker.terminate();
    this.#failAll(new MobileCnnError('disposed', 'the classifier was disposed'));
  }

  #receive(msg) {
    if (!msg || msg.mobilecnn !== true) return;
    const pending = this.#pending.get(msg.id);
    if (!pending) return;
    this.#pending.delete(msg.id);
    if (msg.error) pending.reject(fromWorkerError(msg.error));
    else pending.resolve(msg.value);
  }

  #failAll(error) {
    for (const { reject } of this.#pending.values()) reject(error);
    this.#pending.clear();
  }
}

/**
 * A started worker of `build` with a `threads`-thread pool and no model: an idle one if there is one,
 * else a new one. `urls` = { worker, wasm } of the build.
 */
export async function acquire(build, urls, threads, onProgress) {
  const key = `${build}/${threads}`;
  const reused = takeIdle(key) ?? (await takeReturning(key));
  if (reused) {
    onProgress?.(reused.info.wasmBytes, reused.info.wasmBytes); // nothing to fetch: the phase is done
    return reused;
  }
  // The worker's script loads and runs while the wasm downloads and compiles, not after.
  const compiling = compiledModule(build, urls.wasm, onProgress);
  const conn = new Connection(build, urls.worker(), threads);
  try {
    const { module, bytes } = await compiling;
    const info = await conn.call({ type: 'init', module, threads });
    // `threads` is filled in by `poolReady` once the pool has started.
    conn.info = { build, threads: undefined, version: info.version, wasmBytes: bytes };
    return conn;
  } catch (e) {
    conn.terminate();
    throw e;
  }
}

/**
 * Waits until `conn`'s thread pool runs (a new threaded worker starts it in `init` without waiting) and
 * returns its size, also recorded in `conn.info.threads`. Rejects if the pool did not start.
 */
export async function poolReady(conn) {
  const { threadCount } = await conn.call({ type: 'pool' });
  conn.info.threads = threadCount;
  return threadCount;
}

/** Takes back the worker of a disposed classifier: reset (after the work it has queued), then kept idle or ended. */
export function release(conn) {
  if (conn.broken || !conn.info) {
    conn.terminate();
    return;
  }
  const list = listOf(returning, conn.key);
  list.push(conn);
  // Kept only with a running pool (a classifier may be disposed before its pool was awaited).
  conn.reset = poolReady(conn).then(() => conn.call({ type: 'reset' })).then(() => true, () => false);
  conn.reset.then((ok) => {
    const i = list.indexOf(conn);
    if (i < 0) return; // a load took it meanwhile (takeReturning)
    list.splice(i, 1);
    if (ok) park(conn);
    else conn.terminate();
  });
}

/** Ends the idle workers (and those of just disposed classifiers) now; else they end IDLE_MS after their last use. */
export function terminateIdle() {
  for (const map of [idle, returning]) for (const list of map.values()) for (const conn of list.splice(0)) endIdle(conn);
}

function listOf(map, key) {
  if (!map.has(key)) map.set(key, []);
  return map.get(key);
}

function park(conn) {
  const list = listOf(idle, conn.key);
  if (conn.broken || list.length >= IDLE_PER_KIND) {
    conn.terminate();
    return;
  }
  list.push(conn);
  conn.idleTimer = setTimeout(() => {
    const i = list.indexOf(conn);
    if (i >= 0) list.splice(i, 1);
    endIdle(conn);
  }, IDLE_MS);
}

function takeIdle(key) {
  const list = idle.get(key) ?? [];
  while (list.length) {
    const conn = list.shift();
    clearTimeout(conn.idleTimer);
    if (!conn.broken) return conn;
  }
  return null;
}

/** A worker whose classifier was just disposed (dispose() then load() is how pages switch models): waiting
 *  for its reset (its queued work, then freeing the model) is cheaper than starting a worker. */
async function takeReturning(key) {
  const conn = returning.get(key)?.shift();
  if (!conn) return null;
  if ((await conn.reset) && !conn.broken) return conn;
  conn.terminate();
  return null;
}

function endIdle(conn) {
  clearTimeout(conn.idleTimer);
  conn.terminate();
}

/** The build's wasm, downloaded and compiled once per page (a failure is retried by the next load). */
function compiledModule(build, wasmUrl, onProgress) {
  let entry = compiled.get(build);
  if (!entry) {
    entry = download(wasmUrl(), { onProgress, what: 'wasm module' }).then(async (buffer) => {
      try {
        return { module: await WebAssembly.compile(buffer), bytes: buffer.byteLength };
      } catch (e) {
        throw new MobileCnnError('internal', `the ${build} wasm module did not compile: ${e?.message ?? e}`, { cause: e });
      }
    });
    compiled.set(build, entry);
    entry.catch(() => compiled.get(build) === entry && compiled.delete(build));
    return entry;
  }
  // Already fetched (or being fetched) by an earlier load: report the phase as done once it is.
  return entry.then((e) => {
    onProgress?.(e.bytes, e.bytes);
    return e;
  });
}
