//! A graph as JSON (ops, attributes, shapes) plus one flat f32 array of all weights, so other
//! runtimes (TF.js ops, an ONNX file) can be built with exactly our weights.

use std::fmt::Write;

use mobilecnn::graph::{Graph, Op};
use mobilecnn::kernels::{Activation, Window};

/// `(json, weights)`: every weight tensor is `[offset, len]` into `weights`.
pub fn export(g: &Graph) -> (String, Vec<f32>) {
    let mut weights = Vec::new();
    let mut push = |w: &[f32]| {
        let at = weights.len();
        weights.extend_from_slice(w);
        format!("[{at},{}]", w.len())
    };
    let shape = |v: usize| {
        let s = g.shape(v);
        format!("[{},{},{}]", s.h, s.w, s.c)
    };
    let act = |a: Activation| format!("\"{}\"", a.name());
    let win = |w: &Window| {
        format!(
            "\"k\":[{},{}],\"stride\":[{},{}],\"pad\":[{},{},{},{}]",
            w.kh, w.kw, w.stride_h, w.stride_w, w.pad.top, w.pad.left, w.pad.bottom, w.pad.right
        )
    };
    let list = |v: &[usize]| format!("[{}]", v.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(","));
    let mut nodes = Vec::new();
    for n in &g.nodes {
        let mut a = String::new();
        match &n.op {
            Op::Conv(c) => {
                write!(a, "\"op\":\"conv\",{},\"groups\":{},\"cout\":{},\"act\":{},\"weight\":{}", win(&c.win), c.groups, c.cout, act(c.act), push(&c.weight)).unwrap();
                if let Some(b) = &c.bias {
                    write!(a, ",\"bias\":{}", push(b)).unwrap();
                }
                if let Some(p) = &c.input_perm {
                    write!(a, ",\"perm\":{}", list(p)).unwrap();
                }
            }
            Op::Affine { scale, shift, act: f } => {
                write!(a, "\"op\":\"affine\",\"scale\":{},\"shift\":{},\"act\":{}", push(scale), push(shift), act(*f)).unwrap()
            }
            Op::Act(f) => write!(a, "\"op\":\"act\",\"act\":{}", act(*f)).unwrap(),
            Op::MaxPool { win: w } => write!(a, "\"op\":\"maxpool\",{}", win(w)).unwrap(),
            Op::AvgPool { win: w, count_include_pad } => {
                write!(a, "\"op\":\"avgpool\",{},\"count_include_pad\":{count_include_pad}", win(w)).unwrap()
            }
            Op::GlobalAvgPool => a.push_str("\"op\":\"global_avgpool\""),
            Op::Add { act: f } => write!(a, "\"op\":\"add\",\"act\":{}", act(*f)).unwrap(),
            Op::Concat => a.push_str("\"op\":\"concat\""),
            Op::Slice { start, len } => write!(a, "\"op\":\"slice\",\"start\":{start},\"len\":{len}").unwrap(),
            Op::Permute { perm } => write!(a, "\"op\":\"permute\",\"perm\":{}", list(perm)).unwrap(),
            Op::Dense { out, weight, bias, act: f } => {
                write!(a, "\"op\":\"dense\",\"out\":{out},\"act\":{},\"weight\":{}", act(*f), push(weight)).unwrap();
                if let Some(b) = bias {
                    write!(a, ",\"bias\":{}", push(b)).unwrap();
                }
            }
            Op::Softmax => a.push_str("\"op\":\"softmax\""),
            Op::Flatten => a.push_str("\"op\":\"flatten\""),
        }
        nodes.push(format!(
            "{{\"name\":{:?},{a},\"inputs\":{},\"output\":{},\"shape\":{}}}",
            n.name,
            list(&n.inputs),
            n.output,
            shape(n.output)
        ));
    }
    let json = format!(
        "{{\"input\":{},\"input_shape\":{},\"output\":{},\"nodes\":[\n{}\n]}}",
        g.input,
        shape(g.input),
        g.output,
        nodes.join(",\n")
    );
    (json, weights)
}
