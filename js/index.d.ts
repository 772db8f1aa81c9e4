// Types of the `mobilecnn` package (see docs/api.md).

export type ErrorCode =
  | 'download' | 'checksum' | 'malformed' | 'unsupported' | 'too-large' | 'input' | 'no-simd' | 'disposed' | 'internal';

export class MobileCnnError extends Error {
  readonly name: 'MobileCnnError';
  readonly code: ErrorCode;
}
export const ERROR_CODES: readonly ErrorCode[];

/** float = (byte * inputScale - mean[c]) / std[c], channels in colorOrder. */
export interface Preprocessing {
  colorOrder: 'RGB' | 'BGR';
  inputScale: number;
  mean: [number, number, number];
  std: [number, number, number];
}
/** The catalogue's spelling of the same (accepted by `LoadOptions.preprocessing` too). */
export interface CataloguePreprocessing {
  color_order: 'RGB' | 'BGR';
  input_scale: number;
  mean: [number, number, number];
  std: [number, number, number];
  label_offset?: number;
}

export interface CatalogueEntry {
  id: string;
  architecture: 'mobilenet_v1' | 'mobilenet_v2' | 'shufflenet_v1' | 'shufflenet_v2' | string;
  hyperparameters: Record<string, number>;
  file: string;
  format: 'tflite' | 'onnx';
  sha256: string;
  bytes: number;
  precision: string;
  input_size: number;
  preprocessing: CataloguePreprocessing;
  num_classes: number;
  num_outputs: number;
  output: 'logits' | 'probabilities';
  published_top1: number;
  /** Multiply-adds per image of the graph as it runs (BatchNorm folded). */
  macs: number;
  /** Weights and biases of the graph as it runs. */
  params: number;
  [key: string]: unknown;
}
export const catalogue: readonly CatalogueEntry[];
export const defaultModelId: string;

export function supportsSimd(): boolean;
export function supportsThreads(): boolean;

export interface Progress {
  phase: 'wasm' | 'model';
  loaded: number;
  /** 0 when unknown. */
  total: number;
}

export interface LoadOptions {
  /** false: single-thread build. 'auto' | true (default): threads when crossOriginIsolated. A number: that many threads. */
  threads?: boolean | 'auto' | number;
  onProgress?: (progress: Progress) => void;
  /** For files that do not declare their preprocessing. */
  preprocessing?: Preprocessing | CataloguePreprocessing;
  /** Where catalogue files are fetched from; default './models/' relative to the page. */
  modelBaseUrl?: string | URL;
  /** Expected sha256 (hex) of a URL or bytes source; catalogue ids carry their own. */
  sha256?: string;
}

export type ModelSource = string | URL | ArrayBuffer | ArrayBufferView | Blob;

export type ImageInput =
  | HTMLVideoElement | HTMLImageElement | HTMLCanvasElement | OffscreenCanvas | ImageBitmap | ImageData | VideoFrame;

export interface Prediction {
  /** First name of the class, e.g. 'macaw'. */
  label: string;
  wnid: string;
  /** 0..999, standard ImageNet order. */
  classIndex: number;
  probability: number;
}

export interface Timings {
  preprocessMs: number;
  inferenceMs: number;
  /** From the call to the result, on the calling thread (frame capture and messaging included). */
  totalMs: number;
}

export interface Classification {
  predictions: Prediction[];
  timings: Timings;
}

export interface LayerProfile {
  name: string;
  op: string;
  macs: number;
  params: number;
  /** Memory access cost in elements. */
  mac: number;
  ms: number;
}

export interface Profile {
  layers: LayerProfile[];
  totals: { macs: number; params: number; mac: number; ms: number };
}

export interface ClassifierInfo {
  /** The URL fetched, 'bytes' or 'zoo:<id>'. */
  source: string;
  /** Catalogue or zoo id; null for URLs and bytes. */
  id: string | null;
  format: 'tflite' | 'onnx' | 'zoo';
  architecture: string | null;
  inputSize: number;
  numClasses: number;
  labelOffset: number;
  output: 'logits' | 'probabilities';
  preprocessing: Preprocessing | null;
  build: 'simd' | 'threads';
  /** Threads running inference (1 for the simd build). */
  threads: number;
  version: string;
  wasmBytes: number;
  modelBytes: number;
  weightBytes: number;
  arenaBytes: number;
  macs: number;
  params: number;
}

export class Classifier {
  private constructor();
  static load(source: ModelSource, options?: LoadOptions): Promise<Classifier>;
  readonly info: ClassifierInfo;
  classify(input: ImageInput, options?: { topK?: number }): Promise<Classification>;
  profile(input?: ImageInput): Promise<Profile>;
  /** The worker's wasm memory now (it grows to fit the largest model the worker has held, never shrinks). */
  memory(): Promise<{ wasmMemoryBytes: number }>;
  /** Frees the model; the worker is kept idle (one per build, for a minute) for the next load, or ended. */
  dispose(): void;
  /** Ends the idle workers kept for reuse now. */
  static terminateIdleWorkers(): void;
}
