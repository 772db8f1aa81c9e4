//! A float TFLite file built here with the generated tables, covering the operators and tensor
//! types the real (quantized) files do not: FLOAT32 and FLOAT16 weights (the latter through a
//! DEQUANTIZE of a constant), PAD folded into a convolution, a depthwise multiplier of 2,
//! MAX_POOL_2D with SAME padding, a stand-alone RELU, CONCATENATION, MEAN, FULLY_CONNECTED.
//! The oracle is a plain-loop evaluation of the same network with TFLite's semantics.
#![cfg(not(target_arch = "wasm32"))]

use mobilecnn::import::tflite_fbs::tflite as fb;
use mobilecnn::{Model, ModelFormat, OutputKind};

const FLOAT32: i8 = 0;
const FLOAT16: i8 = 1;
const INT32: i8 = 2;

const ADD: i32 = 0;
const CONCATENATION: i32 = 2;
const CONV_2D: i32 = 3;
const DEPTHWISE_CONV_2D: i32 = 4;
const DEQUANTIZE: i32 = 6;
const FULLY_CONNECTED: i32 = 9;
const MAX_POOL_2D: i32 = 17;
const RELU: i32 = 19;
const SOFTMAX: i32 = 25;
const PAD: i32 = 34;
const MEAN: i32 = 40;

/// Deterministic values that are exact in float16 (multiples of 1/64 in [-1, 1)).
fn values(n: usize, seed: usize) -> Vec<f32> {
    (0..n).map(|i| (((i * 37 + seed * 11) % 128) as f32 - 64.0) / 64.0).collect()
}

fn f16_bits(v: f32) -> u16 {
    if v == 0.0 {
        return 0;
    }
    let b = v.to_bits();
    let exp = ((b >> 23) & 0xff) as i32 - 127 + 15;
    assert!((1..31).contains(&exp), "{v} is not a normal float16");
    ((b >> 16) & 0x8000) as u16 | ((exp as u16) << 10) | ((b >> 13) & 0x3ff) as u16
}

/// A TFLite model under construction: buffer 0 is TFLite's always-empty buffer.
struct Net {
    tensors: Vec<fb::Tensor>,
    buffers: Vec<fb::Buffer>,
    ops: Vec<fb::Operator>,
    codes: Vec<i32>,
}

impl Net {
    fn new() -> Net {
        Net { tensors: vec![], buffers: vec![fb::Buffer { data: None }], ops: vec![], codes: vec![] }
    }

    fn tensor(&mut self, shape: &[i32], ty: i8, data: Option<Vec<u8>>) -> i32 {
        let buffer = match data {
            Some(d) => {
                self.buffers.push(fb::Buffer { data: Some(d) });
                self.buffers.len() as u32 - 1
            }
            None => 0,
        };
        let name = Some(format!("t{}", self.tensors.len()));
        self.tensors.push(fb::Tensor { shape: Some(shape.to_vec()), type_: ty, buffer, name, ..Default::default() });
        self.tensors.len() as i32 - 1
    }

    fn f32s(&mut self, shape: &[i32], v: &[f32]) -> i32 {
        self.tensor(shape, FLOAT32, Some(v.iter().flat_map(|x| x.to_le_bytes()).collect()))
    }

    fn f16s(&mut self, shape: &[i32], v: &[f32]) -> i32 {
        self.tensor(shape, FLOAT16, Some(v.iter().flat_map(|&x| f16_bits(x).to_le_bytes()).collect()))
    }

    fn i32s(&mut self, shape: &[i32], v: &[i32]) -> i32 {
        self.tensor(shape, INT32, Some(v.iter().flat_map(|x| x.to_le_bytes()).collect()))
    }

    fn op(&mut self, code: i32, inputs: &[i32], out_shape: &[i32], options: Option<fb::BuiltinOptions>) -> i32 {
        let out = self.tensor(out_shape, FLOAT32, None);
        let index = self.codes.iter().position(|&c| c == code).unwrap_or_else(|| {
            self.codes.push(code);
            self.codes.len() - 1
        });
        self.ops.push(fb::Operator { opcode_index: index as u32, inputs: Some(inputs.to_vec()), outputs: Some(vec![out]), builtin_options: options });
        out
    }

    fn encode(self, input: i32, output: i32) -> Vec<u8> {
        let operator_codes =
            self.codes.iter().map(|&c| fb::OperatorCode { deprecated_builtin_code: c as i8, builtin_code: c, version: 1, custom_code: None }).collect();
        let model = fb::Model {
            version: 3,
            operator_codes: Some(operator_codes),
            subgraphs: Some(vec![fb::SubGraph {
                tensors: Some(self.tensors),
                inputs: Some(vec![input]),
                outputs: Some(vec![output]),
                operators: Some(self.ops),
                name: Some("main".into()),
            }]),
            description: None,
            buffers: Some(self.buffers),
        };
        let mut b = planus::Builder::new().finish(&model, Some(*b"TFL3")).to_vec();
        // planus 1.3 puts the identifier in front of the root offset; TFLite has offset, then identifier.
        let root = u32::from_le_bytes(b[4..8].try_into().unwrap()) + 4;
        b[..4].copy_from_slice(&root.to_le_bytes());
        b[4..8].copy_from_slice(b"TFL3");
        b
    }
}

/// NHWC tensor for the oracle.
#[derive(Clone)]
struct T {
    h: usize,
    w: usize,
    c: usize,
    v: Vec<f32>,
}

impl T {
    fn at(&self, y: isize, x: isize, ch: usize) -> Option<f32> {
        (y >= 0 && x >= 0 && (y as usize) < self.h && (x as usize) < self.w).then(|| self.v[((y as usize) * self.w + x as usize) * self.c + ch])
    }
}

/// Plain-loop window op: `f(out_channel, window taps (value or None for padding))`.
#[allow(clippy::too_many_arguments)]
fn window(x: &T, oh: usize, ow: usize, cout: usize, k: usize, stride: usize, pad: usize, f: impl Fn(usize, &[Option<f32>]) -> f32) -> T {
    let mut v = Vec::with_capacity(oh * ow * cout);
    for oy in 0..oh {
        for ox in 0..ow {
            for o in 0..cout {
                let mut taps = Vec::new();
                for ky in 0..k {
                    for kx in 0..k {
                        for ci in 0..x.c {
                            let (y, xx) = ((oy * stride + ky) as isize - pad as isize, (ox * stride + kx) as isize - pad as isize);
                            taps.push(x.at(y, xx, ci));
                        }
                    }
                }
                v.push(f(o, &taps));
            }
        }
    }
    T { h: oh, w: ow, c: cout, v }
}

#[test]
fn float_tflite_matches_a_plain_loop_evaluation() {
    let (conv_w, conv_b) = (values(4 * 3 * 3 * 3, 1), values(4, 2));
    let (dw_w, dw_b) = (values(3 * 3 * 8, 3), values(8, 4));
    let (fc_w, fc_b) = (values(5 * 16, 5), values(5, 6));
    let (res_w, res_b) = (values(8 * 8, 7), values(8, 8));

    let mut n = Net::new();
    let input = n.tensor(&[1, 9, 9, 3], FLOAT32, None);
    let paddings = n.i32s(&[4, 2], &[0, 0, 1, 1, 1, 1, 0, 0]);
    let padded = n.op(PAD, &[input, paddings], &[1, 11, 11, 3], Some(fb::BuiltinOptions::PadOptions(Box::default())));
    let (w, b) = (n.f32s(&[4, 3, 3, 3], &conv_w), n.f32s(&[4], &conv_b));
    let conv_opts = fb::Conv2DOptions {
        padding: fb::Padding::Valid,
        stride_w: 2,
        stride_h: 2,
        fused_activation_function: fb::ActivationFunctionType::Relu6,
        ..Default::default()
    };
    let conv = n.op(CONV_2D, &[padded, w, b], &[1, 5, 5, 4], Some(fb::BuiltinOptions::Conv2DOptions(Box::new(conv_opts))));
    let dw_half = n.f16s(&[1, 3, 3, 8], &dw_w);
    let dw_w_t = n.op(DEQUANTIZE, &[dw_half], &[1, 3, 3, 8], None);
    let dw_b_t = n.f32s(&[8], &dw_b);
    let dw_opts = fb::DepthwiseConv2DOptions { padding: fb::Padding::Same, stride_w: 1, stride_h: 1, depth_multiplier: 2, ..Default::default() };
    let dw = n.op(DEPTHWISE_CONV_2D, &[conv, dw_w_t, dw_b_t], &[1, 5, 5, 8], Some(fb::BuiltinOptions::DepthwiseConv2DOptions(Box::new(dw_opts))));
    // A 1×1 conv and a residual ADD with ReLU, on the depthwise output.
    let (rw, rb) = (n.f32s(&[8, 1, 1, 8], &res_w), n.f32s(&[8], &res_b));
    let one = fb::Conv2DOptions { padding: fb::Padding::Same, stride_w: 1, stride_h: 1, ..Default::default() };
    let pw = n.op(CONV_2D, &[dw, rw, rb], &[1, 5, 5, 8], Some(fb::BuiltinOptions::Conv2DOptions(Box::new(one))));
    let add_opts = fb::AddOptions { fused_activation_function: fb::ActivationFunctionType::Relu };
    let res = n.op(ADD, &[pw, dw], &[1, 5, 5, 8], Some(fb::BuiltinOptions::AddOptions(Box::new(add_opts))));
    let pool_opts = fb::Pool2DOptions { padding: fb::Padding::Same, stride_w: 2, stride_h: 2, filter_width: 2, filter_height: 2, ..Default::default() };
    let pool = n.op(MAX_POOL_2D, &[res], &[1, 3, 3, 8], Some(fb::BuiltinOptions::Pool2DOptions(Box::new(pool_opts))));
    let relu = n.op(RELU, &[pool], &[1, 3, 3, 8], None);
    let cat_opts = fb::ConcatenationOptions { axis: 3, ..Default::default() };
    let cat = n.op(CONCATENATION, &[relu, pool], &[1, 3, 3, 16], Some(fb::BuiltinOptions::ConcatenationOptions(Box::new(cat_opts))));
    let axes = n.i32s(&[2], &[1, 2]);
    let mean = n.op(MEAN, &[cat, axes], &[1, 16], Some(fb::BuiltinOptions::ReducerOptions(Box::default())));
    let (fw, fbias) = (n.f32s(&[5, 16], &fc_w), n.f32s(&[5], &fc_b));
    let fc = n.op(FULLY_CONNECTED, &[mean, fw, fbias], &[1, 5], Some(fb::BuiltinOptions::FullyConnectedOptions(Box::default())));
    let soft = n.op(SOFTMAX, &[fc], &[1, 5], Some(fb::BuiltinOptions::SoftmaxOptions(Box::new(fb::SoftmaxOptions { beta: 1.0 }))));
    let bytes = n.encode(input, soft);

    let mut model = Model::from_bytes(&bytes).unwrap();
    let meta = model.meta().clone();
    assert_eq!((meta.format, meta.input_size, meta.num_classes, meta.label_offset), (ModelFormat::Tflite, 9, 5, 0));
    assert_eq!(meta.output, OutputKind::Probabilities);
    assert_eq!(meta.preprocessing, None, "a float input says nothing about normalisation");

    let x = T { h: 9, w: 9, c: 3, v: values(9 * 9 * 3, 9) };
    // Oracle, step by step with TFLite's semantics.
    let conv_o = window(&x, 5, 5, 4, 3, 2, 1, |o, taps| {
        let s: f32 = taps.iter().enumerate().map(|(i, t)| t.unwrap_or(0.0) * conv_w[o * 27 + i]).sum();
        (s + conv_b[o]).clamp(0.0, 6.0)
    });
    let dw_o = window(&conv_o, 5, 5, 8, 3, 1, 1, |o, taps| {
        // Tap order is (ky, kx, ci); output channel o reads input channel o / 2.
        let s: f32 = (0..9).map(|p| taps[p * 4 + o / 2].unwrap_or(0.0) * dw_w[p * 8 + o]).sum();
        s + dw_b[o]
    });
    let res_o = window(&dw_o, 5, 5, 8, 1, 1, 0, |o, taps| {
        let s: f32 = taps.iter().enumerate().map(|(i, t)| t.unwrap() * res_w[o * 8 + i]).sum();
        s + res_b[o]
    });
    let res_o = T { v: res_o.v.iter().zip(&dw_o.v).map(|(a, b)| (a + b).max(0.0)).collect(), ..res_o };
    // SAME 2×2/2 on 5×5: padding only at the bottom and right, never part of a maximum.
    let pool_o = window(&res_o, 3, 3, 8, 2, 2, 0, |o, taps| {
        (0..4).filter_map(|p| taps[p * 8 + o]).fold(f32::NEG_INFINITY, f32::max)
    });
    let mut cat_o = Vec::new();
    for p in 0..9 {
        cat_o.extend(pool_o.v[p * 8..p * 8 + 8].iter().map(|v| v.max(0.0)));
        cat_o.extend(&pool_o.v[p * 8..p * 8 + 8]);
    }
    let mean_o: Vec<f32> = (0..16).map(|c| (0..9).map(|p| cat_o[p * 16 + c]).sum::<f32>() / 9.0).collect();
    let mut logits: Vec<f32> = (0..5).map(|o| (0..16).map(|i| fc_w[o * 16 + i] * mean_o[i]).sum::<f32>() + fc_b[o]).collect();
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    logits.iter_mut().for_each(|v| *v = (*v - max).exp());
    let sum: f32 = logits.iter().sum();
    let want: Vec<f32> = logits.iter().map(|v| v / sum).collect();

    let got = model.run(&x.v).unwrap();
    for (g, w) in got.iter().zip(&want) {
        assert!((g - w).abs() < 1e-5, "got {got:?}, want {want:?}");
    }
    // The oracle is not degenerate: the classes differ.
    assert!(want.iter().copied().fold(0.0, f32::max) - want.iter().copied().fold(1.0, f32::min) > 0.01, "{want:?}");
}
