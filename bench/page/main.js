// The page prepares each network with our single-thread module (the graph and weights for TF.js,
// the benchmark input and our reference output), then times one runtime in a dedicated module
// Worker and leaves the result in window.benchResult for bench/run.mjs.
import init, { Net, FileNet, bench_input } from '../out/wasm/simd/mobilecnn_bench.js';
import { fileOf, runsOn } from './nets.js';

const q = new URLSearchParams(location.search);
const cfg = {
  runtime: q.get('runtime') ?? 'ours',
  threads: Number(q.get('threads') ?? 1),
  nets: (q.get('nets') ?? 'mobilenet_v2_1.0_224').split(','),
  runs: Number(q.get('runs') ?? 30),
  warmup: Number(q.get('warmup') ?? 5),
  profile: q.get('profile') === '1',
  ortopt: q.get('ortopt') ?? undefined,
  photo: q.get('photo') ?? 'skimage_coffee',
};
const log = (s) => { document.getElementById('log').textContent += '\n' + s; };

async function main() {
  if (!crossOriginIsolated) throw new Error('page is not cross-origin isolated (COOP/COEP missing)');
  await init();
  const nets = [];
  for (const id of cfg.nets) {
    // `file:<name>`: a real model file from /models/ (ours through the importers, ORT on the same
    // .onnx file, TFLite on the same .tflite file); zoo ids: ours, TF.js and ORT.
    const file = fileOf(id);
    if (!runsOn(cfg.runtime, file)) continue;
    const bytes = file ? new Uint8Array(await fetchOk(`/models/${file}`, 'arrayBuffer')) : null;
    const net = file ? new FileNet(bytes) : new Net(id);
    const [h, w, c] = net.input_shape();
    // Real files get a real photo when the reference data has it (TFLite needs it: see realInput).
    const photo = file ? await realInput(file, [h, w, c], cfg.runtime === 'tflite') : null;
    const input = photo ? photo.input : bench_input(h * w * c);
    const entry = { id, file, bytes, macs: net.macs(), shape: [h, w, c], input, expected: net.run(input), photo };
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

async function fetchOk(url, as) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return r[as]();
}

/** The photo `cfg.photo` as every runtime gets it, for the model `file`: the reference pipeline's
 *  preprocessed bytes (`/reference/<dir>/<photo>.input.bin`, uint8 HWC in the model's colour
 *  order), our float tensor from them by the catalogue's preprocessing, (x·scale − mean[c]) / std[c],
 *  and, for quantized inputs, that same float tensor quantized by the model's input quantization,
 *  q = clamp(round(f / s) + z, 0, 255) — what TFLite is fed. Also the reference probabilities. Null
 *  (ours and ORT then get bench_input) when the reference data is missing, unless `required`. */
async function realInput(file, [h, w, c], required) {
  const catalogue = await fetchOk('/catalogue/models.json', 'json');
  const model = (catalogue.models ?? catalogue).find((m) => m.file === file);
  const dir = model?.reference_dir;
  const base = `/reference/${dir}/${cfg.photo}`;
  const have = dir && (await fetch(`${base}.input.bin`, { method: 'HEAD' })).ok;
  if (!have) {
    if (required) throw new Error(`${file}: no reference photo ${base}.input.bin (set MOBILECNN_REFERENCE to ../shared/reference)`);
    log(`${file}: no reference photo, timing bench_input`);
    return null;
  }
  const bytes = new Uint8Array(await fetchOk(`${base}.input.bin`, 'arrayBuffer'));
  if (bytes.length !== h * w * c) throw new Error(`${base}.input.bin: ${bytes.length} bytes for a ${h}x${w}x${c} input`);
  const { input_scale: scale, mean, std, label_offset: labelOffset } = model.preprocessing;
  const input = Float32Array.from(bytes, (x, i) => (x * scale - mean[i % c]) / std[i % c]);
  const manifest = await fetchOk(`/reference/${dir}/manifest.json`, 'json');
  const inQ = manifest.input.quantization;
  const image = inQ ? Uint8Array.from(input, (f) => Math.min(255, Math.max(0, Math.round(f / inQ.scale) + inQ.zero_point))) : null;
  const refProbs = new Float32Array(await fetchOk(`${base}.probs.bin`, 'arrayBuffer'));
  return { name: cfg.photo, input, image, outputQuant: manifest.output.quantization, labelOffset, refProbs };
}

main().then(
  (r) => { window.benchResult = r; log('done'); },
  (e) => { window.benchResult = { ok: false, error: String(e && e.stack || e) }; log('error: ' + e); },
);
