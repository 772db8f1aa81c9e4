//! Throughput of the SIMD kernels on MobileNet-sized shapes, in wasm only (natively the scalar
//! twins run). Ignored by default; run with
//! `CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner cargo test --release
//! --target wasm32-unknown-unknown --test kernels_bench -- --include-ignored`.
#![cfg(target_arch = "wasm32")]

use fastrand::Rng;
use mobilecnn::kernels::conv::{conv, PackedConv};
use mobilecnn::kernels::dwconv::{dwconv, PackedDepthwise};
use mobilecnn::kernels::gemm::{gemm, GemmInput, PackedGemm};
use mobilecnn::kernels::{Activation, Padding, Window};
use mobilecnn::tensor::{ChannelView, Shape};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen_test::{console_log, wasm_bindgen_test};

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = performance)]
    fn now() -> f64;
}

fn rand_vec(rng: &mut Rng, n: usize) -> Vec<f32> {
    (0..n).map(|_| rng.f32() - 0.5).collect()
}

/// Best of a few runs of `f`, reported as GFLOP/s for `macs` multiply-adds.
fn report(what: &str, macs: usize, mut f: impl FnMut()) {
    f();
    let mut best = f64::INFINITY;
    for _ in 0..5 {
        let t = now();
        f();
        best = best.min(now() - t);
    }
    console_log!(
        "{what}: {best:.3} ms, {:.1} GFLOP/s",
        2.0 * macs as f64 / best / 1e6
    );
}

#[wasm_bindgen_test]
#[ignore]
fn bench_gemm() {
    let mut rng = Rng::with_seed(1);
    for (m, k, n) in [
        (3136, 128, 128),
        (784, 256, 256),
        (196, 512, 512),
        (49, 1024, 1024),
        (1, 1024, 1000),
    ] {
        let a = rand_vec(&mut rng, m * k);
        let w = PackedGemm::pack(
            k,
            n,
            &rand_vec(&mut rng, k * n),
            Some(&rand_vec(&mut rng, n)),
        );
        let mut out = vec![0.0; m * n];
        let input = GemmInput {
            a: &a,
            row_stride: k,
            k_stride: 1,
        };
        report(&format!("gemm {m}x{k}x{n}"), m * k * n, || {
            gemm(m, input, &w, &mut out, n, Activation::Relu6)
        });
    }
}

#[wasm_bindgen_test]
#[ignore]
fn bench_dwconv() {
    let mut rng = Rng::with_seed(2);
    for (hw, c, s) in [
        (112, 32, 1),
        (112, 64, 2),
        (56, 128, 1),
        (28, 256, 1),
        (14, 512, 1),
        (14, 512, 2),
    ] {
        let shape = Shape::new(hw, hw, c);
        let x = rand_vec(&mut rng, shape.len());
        let w = PackedDepthwise::pack(
            c,
            3,
            3,
            &rand_vec(&mut rng, 9 * c),
            Some(&rand_vec(&mut rng, c)),
        );
        let win = Window::square(3, s, 1);
        let (oh, ow) = win.output_size(hw, hw).unwrap();
        let mut out = vec![0.0; oh * ow * c];
        report(
            &format!("dwconv {hw}x{hw}x{c} s{s}"),
            oh * ow * c * 9,
            || {
                dwconv(
                    &x,
                    shape,
                    ChannelView::dense(c),
                    &win,
                    &w,
                    &mut out,
                    c,
                    0..oh,
                    Activation::Relu6,
                )
            },
        );
    }
}

#[wasm_bindgen_test]
#[ignore]
fn bench_stem() {
    let mut rng = Rng::with_seed(3);
    let shape = Shape::new(224, 224, 3);
    let x = rand_vec(&mut rng, shape.len());
    for cout in [24, 32] {
        let w = PackedConv::pack(
            3,
            cout,
            3,
            3,
            &rand_vec(&mut rng, cout * 27),
            Some(&rand_vec(&mut rng, cout)),
        );
        let win = Window {
            kh: 3,
            kw: 3,
            stride_h: 2,
            stride_w: 2,
            pad: Padding {
                top: 0,
                left: 0,
                bottom: 1,
                right: 1,
            },
        };
        let (oh, ow) = win.output_size(224, 224).unwrap();
        let mut out = vec![0.0; oh * ow * cout];
        report(
            &format!("stem conv 224x224x3 -> {cout}"),
            oh * ow * cout * 27,
            || {
                conv(
                    &x,
                    shape,
                    ChannelView::dense(3),
                    &win,
                    &w,
                    &mut out,
                    cout,
                    0..oh,
                    Activation::Relu6,
                )
            },
        );
    }
}
