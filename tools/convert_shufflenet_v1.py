#!/usr/bin/env python3
"""Megvii ShuffleNet V1 checkpoint (PyTorch legacy pre-1.6 pickle) -> ONNX, without torch.

usage: convert_shufflenet_v1.py SRC.pth.tar OUT.onnx
"""
import collections
import pickle
import struct
import sys

import numpy as np

from onnxgraph import Builder, floats, save, sha256_file

# Legacy torch.save writes five pickles in a row and then the raw storages.
LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
STORAGE_DTYPES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
    "LongStorage": np.int64, "IntStorage": np.int32, "ShortStorage": np.int16,
    "CharStorage": np.int8, "ByteStorage": np.uint8, "BoolStorage": np.bool_,
}


class _StorageType:
    def __init__(self, name):
        self.dtype = np.dtype(STORAGE_DTYPES[name]).newbyteorder("<")


class _TensorRef:
    """A tensor whose storage bytes come later in the file."""

    def __init__(self, key, offset, size, stride):
        self.key, self.offset, self.size, self.stride = key, offset, tuple(size), tuple(stride)

    def materialize(self, storages):
        flat = storages[self.key]
        itemsize = flat.dtype.itemsize
        view = np.lib.stride_tricks.as_strided(
            flat[self.offset:], shape=self.size, strides=[s * itemsize for s in self.stride])
        return np.array(view, dtype=flat.dtype.newbyteorder("="))


def _rebuild_tensor_v2(storage, offset, size, stride, requires_grad=False, hooks=None, *_):
    return _TensorRef(storage, offset, size, stride)


class _LegacyUnpickler(pickle.Unpickler):
    """Only the globals a state_dict needs; anything else is refused, so no code runs from the file."""

    def __init__(self, f, storage_types):
        super().__init__(f)
        self.storage_types = storage_types

    def find_class(self, module, name):
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor_v2
        if module == "torch" and name in STORAGE_DTYPES:
            return _StorageType(name)
        raise pickle.UnpicklingError(f"unexpected global {module}.{name} in checkpoint")

    def persistent_load(self, pid):
        # ('storage', storage_type, key, location, element_count, view_metadata)
        kind, stype, key, _location, _count, view = pid
        if kind != "storage" or view is not None:
            raise pickle.UnpicklingError(f"unsupported persistent id {pid!r}")
        self.storage_types[key] = stype
        return key


def load_legacy_torch(path):
    """Returns the unpickled object with every tensor as a numpy array."""
    with open(path, "rb") as f:
        if pickle.load(f) != LEGACY_MAGIC:
            raise ValueError(f"{path}: not a legacy (pre-1.6) torch.save file")
        if pickle.load(f) != 1001:
            raise ValueError(f"{path}: unknown legacy protocol version")
        sys_info = pickle.load(f)
        if not sys_info.get("little_endian", False):
            raise ValueError(f"{path}: big-endian checkpoint")
        storage_types = {}
        obj = _LegacyUnpickler(f, storage_types).load()
        storages = {}
        for key in pickle.load(f):  # keys in the order their bytes follow
            dtype = storage_types[key].dtype
            (count,) = struct.unpack("<q", f.read(8))
            raw = f.read(count * dtype.itemsize)
            if len(raw) != count * dtype.itemsize:
                raise ValueError(f"{path}: truncated storage {key}")
            storages[key] = np.frombuffer(raw, dtype=dtype)

    def resolve(o):
        if isinstance(o, _TensorRef):
            return o.materialize(storages)
        if isinstance(o, dict):
            return type(o)((k, resolve(v)) for k, v in o.items())
        return o

    return resolve(obj)


# Width of the last stage at 1.0x for each group count (paper, Table 1): gives the "0.5x" in the name.
BASE_FINAL_WIDTH = {1: 576, 2: 800, 3: 960, 4: 1088, 8: 1536}
STAGE_REPEATS = (4, 8, 4)


def convert(src):
    state = load_legacy_torch(src)
    sd = state.get("state_dict", state)
    p = {k[len("module."):] if k.startswith("module.") else k: v for k, v in sd.items()}

    b = Builder(224)

    def conv_bn(x, prefix, conv_idx, stride=1, group=1):
        w = p[f"{prefix}.{conv_idx}.weight"]
        y = b.conv(x, f"{prefix}.{conv_idx}", w, stride=stride, group=group)
        bn = f"{prefix}.{conv_idx + 1}"
        return b.bn(y, bn, p[bn + ".weight"], p[bn + ".bias"], p[bn + ".running_mean"],
                    p[bn + ".running_var"], 1e-5), w.shape[0]

    x, c = conv_bn(b.input, "first_conv", 0, stride=2)
    x = b.relu(x)
    x = b.node("MaxPool", [x], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    hw = 56

    groups = None
    unit = 0
    for stage, repeats in enumerate(STAGE_REPEATS):
        for i in range(repeats):
            pre = f"features.{unit}"
            mid = p[f"{pre}.branch_main_1.0.weight"].shape[0]
            # The second 1x1 is grouped in every unit: its weight [out, mid/g, 1, 1] gives g.
            g = mid // p[f"{pre}.branch_main_2.0.weight"].shape[1]
            groups = groups or g
            first_group = 1 if unit == 0 else g  # stage 2's first 1x1 sees only 24 channels: ungrouped
            stride = 2 if i == 0 else 1
            y, _ = conv_bn(x, f"{pre}.branch_main_1", 0, group=first_group)
            y = b.relu(y)
            y, _ = conv_bn(y, f"{pre}.branch_main_1", 3, stride=stride, group=mid)
            out_hw = hw // stride
            if g > 1:
                y = b.shuffle(y, [1, mid, out_hw, out_hw], mid // g, g)  # Megvii order: (c/g, g) -> (g, c/g)
            y, branch_c = conv_bn(y, f"{pre}.branch_main_2", 0, group=g)
            if stride == 1:
                x = b.relu(b.node("Add", [y, x]))
            else:
                proj = b.node("AveragePool", [x], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
                              count_include_pad=1)
                x = b.node("Concat", [proj, b.relu(y)], axis=1)
                c += branch_c
            hw = out_hw
            unit += 1
    if f"features.{unit}.branch_main_1.0.weight" in p:
        raise ValueError("checkpoint has more units than the 4/8/4 layout")

    x = b.node("GlobalAveragePool", [x])
    x = b.node("Flatten", [x], axis=1)
    fc = p["classifier.0.weight"]  # [classes, c], no bias
    out = b.node("Gemm", [x, b.const("classifier.0.weight", fc)], name="logits", transB=1)

    scale = c / BASE_FINAL_WIDTH[groups]
    meta = {
        "mobilecnn.architecture": "shufflenet_v1",
        "mobilecnn.config": f"g{groups}_{scale:g}x",
        "mobilecnn.input_size": "224",
        "mobilecnn.color_order": "BGR",
        "mobilecnn.input_scale": "1.0",
        "mobilecnn.mean": floats([0, 0, 0]),
        "mobilecnn.std": floats([1, 1, 1]),
        "mobilecnn.label_offset": "0",
        "mobilecnn.num_classes": str(fc.shape[0]),
        "mobilecnn.output": "logits",
        "mobilecnn.source_sha256": sha256_file(src),
    }
    return b.model(out, meta, fc.shape[0])


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__.strip())
    save(convert(sys.argv[1]), sys.argv[2])
