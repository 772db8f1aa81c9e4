#!/usr/bin/env python3
"""Writes catalogue/models.json, the model catalogue shared by the CLI, the demo and the npm package.

usage: make_catalogue.py [--check]

Facts come from their sources rather than being typed twice: file hashes from tools/models.sha256 and
tools/converted.sha256, preprocessing of converted models from their ONNX metadata (converted here in
memory), TFLite input quantization and dev accuracy from the shared reference manifests, MACs and
params from the model graphs themselves (`mobilecnn info <file> --json`: the graph as it runs, BatchNorm
folded; the CLI is $MOBILECNN_CLI when set, else `cargo run --release --bin mobilecnn`). Only the
published accuracies (MODELS.md) and hyper-parameters are written down below.
--check exits non-zero when the committed catalogue differs from what would be generated.
"""
import hashlib
import importlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT / "tools" / "tests"))
from test_converters import find_source, reference_root  # noqa: E402  (same file lookup as the check)

OUT = ROOT / "catalogue" / "models.json"
LABELS = "assets/imagenet_classes.txt"
DEFAULT = "mobilenet_v2_1.0_224_quant"

# id (= reference folder name), architecture, hyper-parameters, weights precision, published ImageNet top-1
MODELS = [
    ("mobilenet_v1_0.25_128_quant", "mobilenet_v1", {"alpha": 0.25}, "uint8", 0.395),
    ("mobilenet_v1_0.5_160_quant", "mobilenet_v1", {"alpha": 0.5}, "uint8", 0.62),
    ("mobilenet_v1_0.75_192_quant", "mobilenet_v1", {"alpha": 0.75}, "uint8", 0.68),
    ("keras_mobilenet_v1_0.25_224", "mobilenet_v1", {"alpha": 0.25}, "float32", 0.50),
    ("mobilenet_v2_1.0_224_quant", "mobilenet_v2", {"alpha": 1.0}, "uint8", 0.71),
    ("tf2_mobilenet_v2_1.0_224_ptq", "mobilenet_v2", {"alpha": 1.0}, "int8_per_channel", 0.71),
    ("shufflenet_v1_g3_0.5x", "shufflenet_v1", {"groups": 3, "scale": 0.5}, "float32", 0.573),
    ("shufflenet_v1_g8_0.5x", "shufflenet_v1", {"groups": 8, "scale": 0.5}, "float32", 0.588),
    ("shufflenet_v2_x0_25", "shufflenet_v2", {"scale": 0.25}, "float32", 0.499),
    ("shufflenet_v2_x0_33", "shufflenet_v2", {"scale": 0.33}, "float32", 0.537),
]


def hash_list(name):
    rows = {}
    for line in (ROOT / "tools" / name).read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            fields = line.split()
            rows[fields[1]] = fields
    return rows


def graph_cost(path):
    """Multiply-adds and parameters of the model file at `path`, as the crate computes them."""
    cli = os.environ.get("MOBILECNN_CLI")
    cmd = [cli] if cli else ["cargo", "run", "--release", "--quiet", "--bin", "mobilecnn", "--"]
    run = subprocess.run(cmd + ["info", str(path), "--json"], cwd=ROOT, capture_output=True, text=True)
    if run.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} info {path} failed:\n{run.stderr}")
    totals = json.loads(run.stdout)["totals"]
    return {"macs": totals["macs"], "params": totals["params"]}


def number(text):
    """Metadata floats as JSON numbers (integral values as ints, so 128 stays 128)."""
    v = float(text)
    return int(v) if v.is_integer() else v


def build():
    import onnx
    from onnxgraph import save

    sources, converted = hash_list("models.sha256"), hash_list("converted.sha256")
    refs = reference_root()
    entries = []
    for model_id, arch, hyper, precision, published in MODELS:
        manifest = json.loads((refs / model_id / "manifest.json").read_text())
        src_file = manifest["source_file"]
        src_sha, _, upstream = sources[src_file]
        assert manifest["source_sha256"] == src_sha, model_id
        out = manifest["output"]
        entry = {"id": model_id, "architecture": arch, "hyperparameters": hyper}
        if src_file.endswith(".tflite"):
            q = manifest["input"]["quantization"]
            entry.update(file=src_file, format="tflite", sha256=src_sha,
                         bytes=find_source(src_file).stat().st_size)
            cost = graph_cost(find_source(src_file))
            # The file takes raw bytes; in float terms byte x means (x - zero_point) * scale. The scale is a
            # float32 such as float32(1/127.5): 6 significant digits give back the intended 127.5 or 128.
            std = number(f"{1 / q['scale']:.6g}")
            pre = {"color_order": manifest["input"]["input_bin"]["color_order"], "input_scale": 1,
                   "mean": [q["zero_point"]] * 3, "std": [std] * 3, "label_offset": out["label_offset"]}
            output = "probabilities"
        else:
            want_sha, onnx_file, converter, _ = next(r for r in converted.values() if r[3] == src_file)
            conv = importlib.import_module(converter[:-3])
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / onnx_file
                save(conv.convert(str(find_source(src_file))), path)
                got = hashlib.sha256(path.read_bytes()).hexdigest()
                size = path.stat().st_size
                meta = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
                cost = graph_cost(path)
            if got != want_sha:
                raise SystemExit(f"{onnx_file}: converter output {got} differs from converted.sha256 {want_sha}")
            entry.update(file=onnx_file, format="onnx", sha256=want_sha, bytes=size,
                         converter=f"tools/{converter}")
            pre = {"color_order": meta["mobilecnn.color_order"],
                   "input_scale": number(meta["mobilecnn.input_scale"]),
                   "mean": [number(v) for v in meta["mobilecnn.mean"].split(",")],
                   "std": [number(v) for v in meta["mobilecnn.std"].split(",")],
                   "label_offset": int(meta["mobilecnn.label_offset"])}
            output = meta["mobilecnn.output"]
        dev = manifest["dev_accuracy"]
        entry.update({
            "precision": precision,
            "source": {"file": src_file, "sha256": src_sha, "upstream": upstream},
            "input_size": manifest["input"]["input_bin"]["shape_hwc"][0],
            "preprocessing": pre,
            "num_classes": 1000,
            "num_outputs": out["count"],
            "output": output,
            "published_top1": published,
            **cost,
            "reference_dir": model_id,
            "reference_dev": {"n": dev["n"], "top1": dev["top1"], "top5": dev["top5"]},
        })
        entries.append(entry)

    labels = ROOT / LABELS
    return {
        "comment": "Generated by tools/make_catalogue.py. Files live in models/ (tools/fetch-models.sh). "
                   "Float input = (x * input_scale - mean[c]) / std[c] for byte x, channels in color_order; "
                   "class k is output k + label_offset; labels: line k of the labels file (wnid TAB names). "
                   "macs (multiply-adds per image) and params (weights and biases) are those of the graph as it "
                   "runs, BatchNorm folded (mobilecnn info <file> --json).",
        "default": DEFAULT,
        "models_dir": "models",
        "labels": {"file": LABELS, "sha256": hashlib.sha256(labels.read_bytes()).hexdigest(),
                   "format": "wnid\tnames"},
        "models": entries,
    }


def main():
    text = json.dumps(build(), indent=2) + "\n"
    if sys.argv[1:] == ["--check"]:
        if not OUT.is_file() or OUT.read_text() != text:
            sys.exit(f"{OUT.relative_to(ROOT)} is out of date: run tools/make_catalogue.py")
        print(f"{OUT.relative_to(ROOT)} is up to date")
        return
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(text)
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
