// The page prepares each network with our single-thread module (the graph and weights for TF.js,
// the benchmark input and our reference output), then times one runtime in a dedicated module
// Worker and leaves the result in window.benchResult for bench/run.mjs.
import init, { Net, FileNet, bench_input } from '../out/wasm/simd/mobilecnn_bench.js';

const q = new URLSearchParams(location.search);
const cfg = {
  runtime: q.get('runtime') ?? 'ours',
  threads: Number(q.get('threads') ?? 1),
  nets: (q.get('nets') ?? 'mobilenet_v2_1.0_224').split(','),
  runs: Number(q.get('runs') ?? 30),
  warmup: Number(q.get('warmup') ?? 5),
  profile: q.get('profile') === '1',
  ortopt: q.get('ortopt') ?? undefined,
};
const log = (s) => { document.getElementById('log').textContent += '\n' + s; };

async function main() {
  if (!crossOriginIsolated) throw new Error('page is not cross-origin isolated (COOP/COEP missing)');
  await init();
  const nets = [];
  for (const id of cfg.nets) {
    // `file:<name>`: a real model file from /models/ (ours through the importers, ORT on the same file).
    const file = id.startsWith('file:') ? id.slice(5) : null;
    if (file && cfg.runtime === 'tfjs') continue;
    const bytes = file ? new Uint8Array(await (await fetch(`/models/${file}`)).arrayBuffer()) : null;
    const net = file ? new FileNet(bytes) : new Net(id);
    const [h, w, c] = net.input_shape();
    const input = bench_input(h * w * c);
    const entry = { id, file, bytes, macs: net.macs(), shape: [h, w, c], input, expected: net.run(input) };
    if (cfg.runtime === 'tfjs') {
      entry.graph = net.graph_json();
      entry.weights = net.weights();
    }
    net.free();
    nets.push(entry);
  }
  const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
  const result = await new Promise((resolve, reject) => {
    worker.onmessage = ({ data }) => (data.log ? log(data.log) : resolve(data));
    worker.onerror = (e) => reject(new Error(`worker: ${e.message}`));
    worker.postMessage({ ...cfg, nets });
  });
  worker.terminate();
  if (!result.ok) throw new Error(result.error);
  return result;
}

main().then(
  (r) => { window.benchResult = r; log('done'); },
  (e) => { window.benchResult = { ok: false, error: String(e && e.stack || e) }; log('error: ' + e); },
);
