// Cold start: from navigation (performance.now() counts from it) to the first result of a real
// model file: fetch + compile our single-thread module, fetch + import the model, one inference.
import init, { FileNet, bench_input } from '../out/wasm/simd/mobilecnn_bench.js';

const model = new URLSearchParams(location.search).get('model');
try {
  await init();
  const wasmReady = performance.now();
  const bytes = new Uint8Array(await (await fetch(`/models/${model}`)).arrayBuffer());
  const net = new FileNet(bytes);
  const loaded = performance.now();
  const [h, w, c] = net.input_shape();
  const probs = net.run(bench_input(h * w * c));
  const done = performance.now();
  let top = 0;
  for (let i = 1; i < probs.length; i++) if (probs[i] > probs[top]) top = i;
  window.coldResult = { ok: true, wasm_ms: wasmReady, model_ms: loaded - wasmReady, first_run_ms: done - loaded, total_ms: done, top };
} catch (e) {
  window.coldResult = { ok: false, error: String(e && e.stack || e) };
}
