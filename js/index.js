// mobilecnn: MobileNet V1/V2 and ShuffleNet V1/V2 image classifiers in WebAssembly (SIMD128, optional threads).
export { Classifier } from './classifier.js';
export { MobileCnnError, ERROR_CODES } from './errors.js';
export { supportsRelaxedSimd, supportsSimd, supportsThreads } from './features.js';
export { catalogue, defaultModelId } from './catalogue.js';
