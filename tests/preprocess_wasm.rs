//! In the browser (wasm-bindgen-test): our resize + crop of a real PNG photo equals the reference
//! pipeline's bytes (`<photo>.input.bin`) exactly, as natively (tests/preprocess.rs covers all ten
//! models and all photos). The float arithmetic of the filter weights is IEEE in wasm too, so the
//! 22-bit fixed-point weights, and hence the bytes, must be identical. The photo and the reference
//! bytes are compiled in from `MOBILECNN_REFERENCE` (see .cargo/config.toml).
#![cfg(target_arch = "wasm32")]

use mobilecnn::preprocess::{resize_crop, ColorOrder, PixelFormat, Preprocessor};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

const CHELSEA: &[u8] = include_bytes!(concat!(env!("MOBILECNN_REFERENCE"), "/../images/photos/skimage_chelsea.png"));

/// The PNG as RGBA bytes (as a canvas gives them).
fn rgba(png_bytes: &[u8]) -> (Vec<u8>, usize, usize) {
    let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!((info.color_type, info.bit_depth), (png::ColorType::Rgb, png::BitDepth::Eight));
    let rgb = &buf[..info.buffer_size()];
    let rgba = rgb.chunks_exact(3).flat_map(|p| [p[0], p[1], p[2], 255]).collect();
    (rgba, info.width as usize, info.height as usize)
}

#[wasm_bindgen_test]
fn resize_crop_is_byte_exact_in_the_browser() {
    let (px, w, h) = rgba(CHELSEA);
    let cases: [(&[u8], usize, ColorOrder); 3] = [
        (include_bytes!(concat!(env!("MOBILECNN_REFERENCE"), "/shufflenet_v2_x0_25/skimage_chelsea.input.bin")), 224, ColorOrder::Rgb),
        (include_bytes!(concat!(env!("MOBILECNN_REFERENCE"), "/shufflenet_v1_g3_0.5x/skimage_chelsea.input.bin")), 224, ColorOrder::Bgr),
        (include_bytes!(concat!(env!("MOBILECNN_REFERENCE"), "/mobilenet_v1_0.25_128_quant/skimage_chelsea.input.bin")), 128, ColorOrder::Rgb),
    ];
    let mut reused = Preprocessor::new();
    for (want, size, color) in cases {
        let ours = resize_crop(&px, w, h, PixelFormat::Rgba, size, color).unwrap();
        let differing = ours.iter().zip(want).filter(|(a, b)| a != b).count();
        assert_eq!((ours.len(), differing), (want.len(), 0), "S={size} {color:?}");
        assert_eq!(reused.resize_crop(&px, w, h, PixelFormat::Rgba, size, color).unwrap(), want);
    }
}

#[wasm_bindgen_test]
fn bad_sizes_are_errors_in_the_browser() {
    assert!(resize_crop(&[], 0, 0, PixelFormat::Rgba, 224, ColorOrder::Rgb).is_err());
    assert!(resize_crop(&[0; 4], 1, 1, PixelFormat::Rgba, 224, ColorOrder::Rgb).is_ok());
    assert!(resize_crop(&[0; 4], 100_000, 1, PixelFormat::Rgba, 224, ColorOrder::Rgb).is_err());
}
