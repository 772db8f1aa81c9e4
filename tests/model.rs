//! The Model API on zoo networks (no files needed): metadata, probabilities, profile, costs;
//! natively and under wasm-bindgen-test.

use mobilecnn::{Error, Model, ModelFormat, OutputKind};

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn zoo_model_runs_and_returns_probabilities() {
    let mut m = Model::from_zoo("shufflenet_v2_0.5_64", 7).unwrap();
    assert_eq!(m.meta().format, ModelFormat::Zoo);
    assert_eq!(m.meta().input_size, 64);
    assert_eq!(m.meta().num_classes, 1000);
    assert_eq!(m.meta().label_offset, 0);
    assert_eq!(m.meta().output, OutputKind::Logits);
    assert_eq!(m.input_len(), 64 * 64 * 3);
    let input: Vec<f32> = (0..m.input_len()).map(|i| ((i * 37 % 101) as f32 / 50.0) - 1.0).collect();
    let probs = m.run(&input).unwrap().to_vec();
    assert_eq!(probs.len(), 1000);
    let sum: f64 = probs.iter().map(|&p| p as f64).sum();
    assert!((sum - 1.0).abs() < 1e-4, "sum {sum}");
    // Buffers are reused: a second run gives the same answer.
    assert_eq!(m.run(&input).unwrap(), &probs[..]);
    let t = std::sync::Mutex::new(0.0);
    let tick = || {
        let mut t = t.lock().unwrap();
        *t += 1.0;
        *t
    };
    let profile = m.run_profiled(&input, &tick).unwrap();
    assert_eq!(profile.len(), m.layer_costs().len());
    assert!(profile.iter().all(|l| l.ms >= 0.0));
    assert_eq!(profile.iter().map(|l| l.macs).sum::<u64>(), m.layer_costs().iter().map(|c| c.macs).sum::<u64>());
    assert_eq!(m.probabilities(), &probs[..]);
    assert!(m.arena_bytes() > 0 && m.weight_bytes() > 0);
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn wrong_input_length_is_an_input_error() {
    let mut m = Model::from_zoo("mobilenet_v1_0.25_32", 1).unwrap();
    assert!(matches!(m.run(&[0.0; 5]), Err(Error::Input(_))));
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn empty_and_unknown_bytes_are_errors() {
    assert!(matches!(Model::from_bytes(&[]), Err(Error::Malformed(_))));
    assert!(Model::from_bytes(b"definitely not a model").is_err());
}
