"""Builds the ONNX model (NCHW, opset 13) of a graph written by `export` (bench/wasm/src/bin/export.rs)
with exactly its weights, then checks onnxruntime's output on the benchmark input against our
native output. Usage: python onnx_export.py <dir> <zoo-id>...  → <dir>/<id>.onnx"""
import json
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ACT = {"none": None, "relu": "Relu", "relu6": "Clip"}


def build(g, w):
    nodes, inits = [], []
    count = [0]

    def fresh(prefix):
        count[0] += 1
        return f"{prefix}_{count[0]}"

    def const(arr, prefix="c"):
        name = fresh(prefix)
        inits.append(numpy_helper.from_array(np.asarray(arr), name))
        return name

    def tensor(ref):
        at, n = ref
        return w[at:at + n]

    def act(x, a, out):
        kind = ACT[a]
        if kind is None:
            return x
        inputs = [x] if kind == "Relu" else [x, const(np.float32(0)), const(np.float32(6))]
        nodes.append(helper.make_node(kind, inputs, [out]))
        return out

    def val(v):
        return "input" if v == g["input"] else f"v{v}"

    for n in g["nodes"]:
        op, ins, out = n["op"], [val(v) for v in n["inputs"]], val(n["output"])
        x = ins[0]
        if op == "conv":
            kh, kw = n["k"]
            cout, groups = n["cout"], n["groups"]
            wt = tensor(n["weight"]).reshape(cout, kh, kw, -1).transpose(0, 3, 1, 2)  # OHWI → OIHW
            if "perm" in n:
                y = fresh("perm")
                nodes.append(helper.make_node("Gather", [x, const(np.array(n["perm"], np.int64))], [y], axis=1))
                x = y
            conv_ins = [x, const(wt.copy(), "w")]
            if "bias" in n:
                conv_ins.append(const(tensor(n["bias"]).copy(), "b"))
            t, l, b, r = n["pad"]
            y = fresh("conv") if ACT[n["act"]] else out
            nodes.append(helper.make_node("Conv", conv_ins, [y], group=groups, kernel_shape=[kh, kw],
                                          strides=n["stride"], pads=[t, l, b, r]))
            act(y, n["act"], out)
        elif op in ("maxpool", "avgpool"):
            t, l, b, r = n["pad"]
            attrs = dict(kernel_shape=n["k"], strides=n["stride"], pads=[t, l, b, r])
            if op == "avgpool":
                attrs["count_include_pad"] = int(n["count_include_pad"])
            nodes.append(helper.make_node("MaxPool" if op == "maxpool" else "AveragePool", [x], [out], **attrs))
        elif op == "global_avgpool":
            nodes.append(helper.make_node("GlobalAveragePool", [x], [out]))
        elif op == "add":
            y = fresh("add") if ACT[n["act"]] else out
            nodes.append(helper.make_node("Add", ins, [y]))
            act(y, n["act"], out)
        elif op == "concat":
            nodes.append(helper.make_node("Concat", ins, [out], axis=1))
        elif op == "slice":
            s = n["start"]
            nodes.append(helper.make_node("Slice", [x, const(np.array([s], np.int64)), const(np.array([s + n["len"]], np.int64)),
                                                    const(np.array([1], np.int64))], [out]))
        elif op == "permute":
            nodes.append(helper.make_node("Gather", [x, const(np.array(n["perm"], np.int64))], [out], axis=1))
        elif op == "dense":
            k = len(tensor(n["weight"])) // n["out"]
            flat = fresh("flat")
            nodes.append(helper.make_node("Flatten", [x], [flat], axis=1))
            gemm_ins = [flat, const(tensor(n["weight"]).reshape(n["out"], k).copy(), "w")]
            if "bias" in n:
                gemm_ins.append(const(tensor(n["bias"]).copy(), "b"))
            y = fresh("fc") if ACT[n["act"]] else fresh("fc_out")
            nodes.append(helper.make_node("Gemm", gemm_ins, [y], transB=1))
            y = act(y, n["act"], fresh("fc_act"))
            # Back to NCHW 1×out×1×1 so later ops (softmax, output) keep the graph's rank.
            nodes.append(helper.make_node("Reshape", [y, const(np.array([1, n["out"], 1, 1], np.int64))], [out]))
        elif op == "softmax":
            nodes.append(helper.make_node("Softmax", [x], [out], axis=1))
        elif op == "act":
            act(x, n["act"], out)
        else:
            raise SystemExit(f"onnx_export: op {op} not supported")
    h, wd, c = g["input_shape"]
    oh, ow, oc = g["nodes"][-1]["shape"]
    graph = helper.make_graph(
        nodes, "mobilecnn_zoo",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, c, h, wd])],
        [helper.make_tensor_value_info(val(g["output"]), TensorProto.FLOAT, [1, oc, oh, ow])],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="mobilecnn-bench")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def main():
    out_dir = Path(sys.argv[1])
    for zoo_id in sys.argv[2:]:
        g = json.loads((out_dir / f"{zoo_id}.json").read_text())
        w = np.fromfile(out_dir / f"{zoo_id}.bin", dtype="<f4")
        model = build(g, w)
        path = out_dir / f"{zoo_id}.onnx"
        onnx.save(model, path)
        import onnxruntime as ort
        h, wd, c = g["input_shape"]
        x = np.fromfile(out_dir / f"{zoo_id}.input.bin", dtype="<f4").reshape(1, h, wd, c).transpose(0, 3, 1, 2)
        want = np.fromfile(out_dir / f"{zoo_id}.output.bin", dtype="<f4")
        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        got = sess.run(None, {"input": np.ascontiguousarray(x)})[0].reshape(-1)
        err = float(np.abs(got - want).max())
        scale = float(np.abs(want).max())
        print(f"{zoo_id}: {path.stat().st_size // 1024} KiB, onnxruntime vs mobilecnn max |diff| {err:.2e} (max |out| {scale:.2f})")
        if not err <= 1e-3 * max(1.0, scale):
            raise SystemExit(f"{zoo_id}: the ONNX export does not match our output")


if __name__ == "__main__":
    main()
