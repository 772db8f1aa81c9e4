// Which networks each runtime times (shared by the page and bench/run.mjs, which skips a
// configuration with none). `file` is the model file name of a `file:<name>` entry, else null.
// TF.js: only the zoo graphs (built from our exported weights); ORT: the zoo graphs' ONNX files
// and real .onnx files; TFLite (tfjs-tflite): only real .tflite files; ours: all of them.
export function runsOn(runtime, file) {
  if (runtime === 'tfjs') return !file;
  if (runtime === 'ort') return !file || file.endsWith('.onnx');
  if (runtime === 'tflite') return !!file && file.endsWith('.tflite');
  return true;
}

export const fileOf = (id) => (id.startsWith('file:') ? id.slice(5) : null);
