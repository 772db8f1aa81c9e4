#!/usr/bin/env python3
"""Checks the checkpoint -> ONNX converters against the shared reference outputs with onnxruntime.

For every line of tools/converted.sha256: convert the source again (in a temporary folder), require the
recorded sha256 (deterministic output), the metadata contract, and for each reference photo
softmax(output) within 1e-4 of <photo>.probs.bin with the same top-1.

Run: .venv/bin/python tools/tests/test_converters.py   (or under pytest). Prints 'N passed, N failed'.
Sources come from models/ (tools/fetch-models.sh) or $MOBILECNN_MODELS_FROM or ../shared/models;
references from $MOBILECNN_REFERENCE_DIR or ../shared/reference.
"""
import hashlib
import importlib
import io
import json
import os
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
from onnxgraph import METADATA_KEYS, save  # noqa: E402

TOLERANCE = 1e-4

# The manifest's normalisation text for each converted model, and the same formula in float32.
NORMALISATIONS = {
    "float32(x): the 0..255 values as float, no mean/std; channel order BGR (input.bin is already BGR)":
        lambda x: x.astype(np.float32),
    "float32(x) / 127.5f - 1.0f, evaluated in float32 in this order":
        lambda x: x.astype(np.float32) / np.float32(127.5) - np.float32(1.0),
    "(float32(x) / 255.0f - mean[c]) / std[c] with float32 constants mean = (0.485, 0.456, 0.406), "
    "std = (0.229, 0.224, 0.225) (R, G, B), evaluated in float32 in this order":
        lambda x: (x.astype(np.float32) / np.float32(255.0) - np.array([0.485, 0.456, 0.406], np.float32))
        / np.array([0.229, 0.224, 0.225], np.float32),
}


def shared_dirs(sub):
    dirs = [ROOT / ".." / "shared" / sub]
    try:
        common = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--path-format=absolute",
                                 "--git-common-dir"], capture_output=True, text=True, check=True).stdout
        dirs.append(Path(common.strip()).parent / ".." / "shared" / sub)
    except (OSError, subprocess.CalledProcessError):
        pass
    return dirs


def find_source(name):
    env = os.environ.get("MOBILECNN_MODELS_FROM")
    for d in [ROOT / "models"] + ([Path(env)] if env else []) + shared_dirs("models"):
        if (d / name).is_file():
            return d / name
    raise FileNotFoundError(f"{name}: run tools/fetch-models.sh or set MOBILECNN_MODELS_FROM")


def reference_root():
    env = os.environ.get("MOBILECNN_REFERENCE_DIR")
    for d in ([Path(env)] if env else []) + shared_dirs("reference"):
        if (d / "imagenet_classes.txt").is_file():
            return d
    raise FileNotFoundError("shared/reference not found: set MOBILECNN_REFERENCE_DIR")


def conversions():
    for line in (ROOT / "tools" / "converted.sha256").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            yield line.split()


def softmax(logits):
    z = np.exp(logits.astype(np.float64) - logits.max())
    return z / z.sum()


class Results:
    def __init__(self):
        self.passed = self.failed = 0

    def check(self, ok, what):
        if ok:
            self.passed += 1
        else:
            self.failed += 1
        print(("ok   " if ok else "FAIL ") + what, flush=True)


def check_model(r, want_sha, out_name, converter, src_name, tmp):
    model_id = out_name[:-len(".onnx")]
    conv = importlib.import_module(converter[:-len(".py")])
    out = Path(tmp) / out_name
    save(conv.convert(str(find_source(src_name))), out)
    got_sha = hashlib.sha256(out.read_bytes()).hexdigest()
    r.check(got_sha == want_sha, f"{model_id}: output sha256 {got_sha} (recorded {want_sha})")

    ref = reference_root() / model_id
    manifest = json.loads((ref / "manifest.json").read_text())
    meta = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    inp, outp = manifest["input"], manifest["output"]
    expect = {
        "mobilecnn.input_size": str(inp["input_bin"]["shape_hwc"][0]),
        "mobilecnn.color_order": inp["input_bin"]["color_order"],
        "mobilecnn.label_offset": str(outp["label_offset"]),
        "mobilecnn.num_classes": str(outp["count"]),
        "mobilecnn.source_sha256": manifest["source_sha256"],
        "mobilecnn.output": "logits",
    }
    bad = {k: (meta.get(k), v) for k, v in expect.items() if meta.get(k) != v}
    r.check(sorted(meta) == sorted(METADATA_KEYS) and not bad, f"{model_id}: metadata {bad or 'matches manifest'}")

    normalise = NORMALISATIONS.get(inp["normalisation"])
    if normalise is None:
        r.check(False, f"{model_id}: unknown normalisation {inp['normalisation']!r}")
        return
    scale = np.float32(meta["mobilecnn.input_scale"])
    mean = np.array(meta["mobilecnn.mean"].split(","), np.float32)
    std = np.array(meta["mobilecnn.std"].split(","), np.float32)

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(str(out), opts, providers=["CPUExecutionProvider"])
    s = int(expect["mobilecnn.input_size"])
    worst, meta_worst = 0.0, 0.0
    for photo in manifest["images"]:
        x = np.fromfile(ref / f"{photo}.input.bin", np.uint8).reshape(s, s, 3)
        hwc = normalise(x)
        # The metadata formula the Rust side applies must give the same tensor (up to float rounding).
        meta_worst = max(meta_worst, float(np.abs((x.astype(np.float32) * scale - mean) / std - hwc).max()))
        logits = sess.run(None, {sess.get_inputs()[0].name: hwc.transpose(2, 0, 1)[None]})[0][0]
        probs = softmax(logits)
        want = np.fromfile(ref / f"{photo}.probs.bin", "<f4")
        diff = float(np.abs(probs - want).max())
        worst = max(worst, diff)
        r.check(diff <= TOLERANCE and probs.argmax() == want.argmax(),
                f"{model_id}/{photo}: max abs prob diff {diff:.2e}, top-1 {probs.argmax()} vs {want.argmax()}")
    r.check(meta_worst <= 1e-5, f"{model_id}: metadata normalisation vs manifest max diff {meta_worst:.1e}")
    print(f"---- {model_id}: worst max abs prob diff {worst:.2e} over {len(manifest['images'])} photos")


def check_refuses_code(r):
    """The unpicklers must not resolve arbitrary globals (a checkpoint is untrusted input)."""
    import convert_shufflenet_v1 as v1
    import convert_shufflenet_v2 as v2
    evil = pickle.dumps(os.system, protocol=2)
    for name, loader in (("v1", lambda: v1._LegacyUnpickler(io.BytesIO(evil), {}).load()),
                         ("v2", lambda: v2._NumpyOnly(io.BytesIO(evil)).load())):
        try:
            loader()
            r.check(False, f"{name} unpickler resolved os.system")
        except pickle.UnpicklingError:
            r.check(True, f"{name} unpickler refuses unexpected globals")


def run():
    r = Results()
    check_refuses_code(r)
    with tempfile.TemporaryDirectory() as tmp:
        for fields in conversions():
            try:
                check_model(r, *fields, tmp)
            except Exception as e:  # a converter crash is one failure, the other models still run
                r.check(False, f"{fields[1]}: {type(e).__name__}: {e}")
    print(f"{r.passed} passed, {r.failed} failed")
    return r.failed


def test_converters():
    assert run() == 0


if __name__ == "__main__":
    sys.exit(1 if run() else 0)
