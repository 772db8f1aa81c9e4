//! Depthwise convolution (3×3, stride 1 and 2, any padding), channels streamed in SIMD tiles.
