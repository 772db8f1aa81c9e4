#!/usr/bin/env python3
"""Keras (keras-applications layout) MobileNet V1 .h5 -> ONNX, walking the saved layer config in order.

usage: convert_keras_mobilenet_v1.py SRC.h5 OUT.onnx

The output is the logits (the final Softmax layer is left out; metadata says "logits"), so every
converted model ends the same way and the caller applies softmax.
"""
import json
import sys

import h5py
import numpy as np

from onnxgraph import Builder, floats, save, sha256_file


def same_pads(size, k, s):
    """TensorFlow SAME: output ceil(size/s), the odd pixel of padding goes after (bottom/right)."""
    out = -(-size // s)
    total = max((out - 1) * s + k - size, 0)
    return total // 2, total - total // 2


def convert(src):
    with h5py.File(src, "r") as f:
        return _convert(f, src)


def _convert(f, src):
    layers = json.loads(f.attrs["model_config"])["config"]["layers"]
    weights = f["model_weights"]

    def w(layer, suffix):
        g = weights[layer]
        for n in g.attrs["weight_names"]:
            n = n.decode() if isinstance(n, bytes) else n
            if n.split("/")[-1] == suffix:
                return np.asarray(g[n], dtype=np.float32)
        raise KeyError(f"{layer}: no weight {suffix}")

    _, s, s2, c = layers[0]["config"]["batch_input_shape"]
    if layers[0]["class_name"] != "InputLayer" or s != s2 or c != 3:
        raise ValueError("expected a square RGB InputLayer first")
    b = Builder(s)
    x, h, wd, flat = b.input, s, s, False
    pending_pad = (0, 0, 0, 0)  # ZeroPadding2D folded into the next conv: top, left, bottom, right
    alpha = classes = None

    for layer in layers[1:]:
        kind, cfg, name = layer["class_name"], layer["config"], layer["config"]["name"]
        if len(layer["inbound_nodes"][0]) != 1:
            raise ValueError(f"{name}: only a plain chain of layers is supported")
        if kind in ("Conv2D", "DepthwiseConv2D"):
            if cfg.get("activation", "linear") != "linear" or cfg.get("dilation_rate", [1, 1]) != [1, 1]:
                raise ValueError(f"{name}: unsupported activation or dilation")
            kh, kw = cfg["kernel_size"]
            sh, sw = cfg["strides"]
            if kind == "Conv2D":
                kernel = w(name, "kernel:0").transpose(3, 2, 0, 1)  # HWIO -> OIHW
                group = 1
                alpha = alpha or kernel.shape[0] / 32  # keras-applications: first conv has 32*alpha filters
            else:
                if cfg.get("depth_multiplier", 1) != 1:
                    raise ValueError(f"{name}: depth_multiplier != 1")
                kernel = w(name, "depthwise_kernel:0").transpose(2, 3, 0, 1)  # [kh,kw,c,1] -> [c,1,kh,kw]
                group = kernel.shape[0]
            bias = w(name, "bias:0") if cfg.get("use_bias") else None
            if flat or (h == 1 and wd == 1 and kh == 1 and kw == 1 and group == 1 and pending_pad == (0,) * 4):
                # The classifier: a 1x1 conv on a 1x1 map is a dense layer.
                if not flat:
                    x, flat = b.node("Flatten", [x], axis=1), True
                kernel = kernel.reshape(kernel.shape[0], -1)
                ins = [x, b.const(name + ".weight", kernel)]
                if bias is not None:
                    ins.append(b.const(name + ".bias", bias))
                x = b.node("Gemm", ins, name="logits", transB=1)
                classes = kernel.shape[0]
            else:
                pt, pl, pb, pr = pending_pad
                h += pt + pb
                wd += pl + pr
                if cfg["padding"] == "same":
                    (t, bt), (l, r) = same_pads(h, kh, sh), same_pads(wd, kw, sw)
                else:
                    t = bt = l = r = 0
                if sh != sw:
                    raise ValueError(f"{name}: unequal strides")
                x = b.conv(x, name, kernel, bias, stride=sh, pads=[pt + t, pl + l, pb + bt, pr + r],
                           group=group)
                h = (h + t + bt - kh) // sh + 1
                wd = (wd + l + r - kw) // sw + 1
                pending_pad = (0, 0, 0, 0)
            continue
        if pending_pad != (0, 0, 0, 0):
            raise ValueError(f"{name}: ZeroPadding2D must be followed by a convolution")
        if kind == "ZeroPadding2D":
            (pt, pb), (pl, pr) = cfg["padding"]
            pending_pad = (pt, pl, pb, pr)
        elif kind == "BatchNormalization":
            if not (cfg.get("center", True) and cfg.get("scale", True)):
                raise ValueError(f"{name}: BatchNormalization without center/scale")
            x = b.bn(x, name, w(name, "gamma:0"), w(name, "beta:0"), w(name, "moving_mean:0"),
                     w(name, "moving_variance:0"), cfg["epsilon"])
        elif kind == "ReLU":
            if cfg.get("negative_slope", 0) or cfg.get("threshold", 0):
                raise ValueError(f"{name}: leaky/thresholded ReLU")
            mx = cfg.get("max_value")
            if mx is None:
                x = b.relu(x)
            else:  # ReLU6 (opset 13 Clip takes its bounds as inputs)
                lo = b.const(name + ".min", np.float32(0))
                hi = b.const(name + ".max", np.float32(mx))
                x = b.node("Clip", [x, lo, hi], name=name)
        elif kind == "GlobalAveragePooling2D":
            x, h, wd = b.node("GlobalAveragePool", [x], name=name), 1, 1
            if not cfg.get("keepdims", False):
                x, flat = b.node("Flatten", [x], axis=1), True
        elif kind == "Dropout":
            pass  # identity at inference
        elif kind == "Reshape":
            if not flat or len(cfg["target_shape"]) != 1:
                raise ValueError(f"{name}: only the final flattening Reshape is supported")
        elif kind == "Activation" and cfg["activation"] == "softmax" and layer is layers[-1]:
            pass  # left out: the model outputs logits
        else:
            raise ValueError(f"{name}: unsupported layer {kind}")

    meta = {
        "mobilecnn.architecture": "mobilenet_v1",
        "mobilecnn.config": f"{alpha:g}_{s}",
        "mobilecnn.input_size": str(s),
        "mobilecnn.color_order": "RGB",
        "mobilecnn.input_scale": repr(1 / 127.5),
        "mobilecnn.mean": floats([1, 1, 1]),
        "mobilecnn.std": floats([1, 1, 1]),
        "mobilecnn.label_offset": "0",
        "mobilecnn.num_classes": str(classes),
        "mobilecnn.output": "logits",
        "mobilecnn.source_sha256": sha256_file(src),
    }
    return b.model(x, meta, classes)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__.strip())
    save(convert(sys.argv[1]), sys.argv[2])
