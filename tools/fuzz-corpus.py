#!/usr/bin/env python3
"""Writes the fuzzers' seed corpus and regression inputs under tests/fuzz/.

    tools/fuzz-corpus.py            (rewrites tests/fuzz/corpus and tests/fuzz/regressions)

corpus/<folder>/: small valid files, one per feature worth mutating (plain and
gzip IDX, both MNIST files, CIFAR-10 records, every safetensors dtype, kiln
checkpoints for the optimizers and schedules the checkpoint harness builds).
tests/fuzz/replay_test.cpp checks every one is accepted.

regressions/<folder>/: inputs that once crashed kiln, tripped a sanitizer or
were silently misread (issue 12); the replay test checks each is rejected
with a kiln::Error.

The files are written from the formats' specifications with Python's standard
library only, not by kiln, so they also check that kiln reads what another
writer produces. The output is deterministic (gzip mtime 0); the files are
committed, and rerunning this script must not change them.
"""
import gzip
import json
import os
import shutil
import struct

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fuzz")


def write(kind, folder, name, data):
    path = os.path.join(ROOT, kind, folder, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def gz(data):
    return gzip.compress(data, compresslevel=9, mtime=0)


# --- IDX: magic 0 0 <type> <ndim>, big-endian uint32 sizes, the bytes -------------

def idx(dims, payload=None, type_code=0x08):
    n = 1
    for d in dims:
        n *= d
    if payload is None:
        payload = bytes(i % 251 for i in range(n))
    return bytes([0, 0, type_code, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + payload


def labels(n, classes=10):
    return idx([n], bytes(i % classes for i in range(n)))


def mnist_pair(images, label_file):
    """The MNIST harness's input: 4-byte little-endian image-file length, images, labels."""
    return struct.pack("<I", len(images)) + images + label_file


# --- CIFAR-10: records of 1 label byte + 3072 pixel bytes --------------------------

def cifar(n):
    out = b""
    for r in range(n):
        out += bytes([r % 10]) + bytes((r * 7 + i) % 256 for i in range(3072))
    return out


# --- safetensors: 8-byte little-endian header length, JSON header, data -----------

DTYPE_SIZE = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "U8": 1, "BOOL": 1}


def safetensors(tensors, metadata=None, raw_header=None):
    """tensors: list of (name, dtype, shape, bytes) in file order."""
    header = {}
    if metadata is not None:
        header["__metadata__"] = metadata
    data = b""
    for name, dtype, shape, payload in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(payload)]}
        data += payload
    text = raw_header if raw_header is not None else json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + data


def f32(values):
    return struct.pack("<%df" % len(values), *values)


# --- kiln checkpoints: safetensors with kiln's key layout ---------------------------
# (src/io/checkpoint.cpp, src/optim/optimizer.cpp, src/optim/schedule.cpp). The
# checkpoint harness resumes a model {"w": [3, 2], "b": [3]} of float32.

ADAM_HYPER = {"lr": "0.01", "beta1": "0.9", "beta2": "0.999", "eps": "1e-08", "weight_decay": "0", "amsgrad": "1"}
SGD_HYPER = {"lr": "0.1", "momentum": "0.9", "dampening": "0", "weight_decay": "0", "nesterov": "0"}


def checkpoint(optimizer="Adam", scheduler=None, step="3", last_epoch="3", top=None, data=None):
    w = f32([0.5, -1.0, 0.25, 2.0, -0.5, 1.5])
    b = f32([0.1, 0.2, 0.3])
    meta = {"format": "pt", "kiln.checkpoint": "1", "step": "3", "epoch": "1", "rng.seed": "42", "rng.offset": "17"}
    meta.update(top or {})
    hyper = SGD_HYPER if optimizer == "SGD" else ADAM_HYPER
    meta["optim.optimizer"] = optimizer
    meta["optim.num_groups"] = "1"
    meta["optim.group.0.params"] = "0,1"
    for k, v in hyper.items():
        meta["optim.group.0." + k] = v
    tensors = [("model.b", "F32", [3], b), ("model.w", "F32", [3, 2], w)]
    buffers = ["momentum_buffer"] if optimizer == "SGD" else ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"]
    for index, (shape, payload) in enumerate([([3, 2], w), ([3], b)]):
        meta["optim.state.%d.step" % index] = step
        for name in buffers:
            tensors.append(("optim.state.%d.%s" % (index, name), "F32", shape, payload))
    scheduler = scheduler or ("StepLR", "0.1", "0.001")
    meta["sched.scheduler"], base, last = scheduler
    meta["sched.last_epoch"] = last_epoch
    meta["sched.base_lrs"] = base
    meta["sched.last_lr"] = last
    meta.update({"data.epoch": "0", "data.batch": "2"})
    meta.update(data or {})
    return safetensors(tensors, meta)


def main():
    for kind in ("corpus", "regressions"):
        shutil.rmtree(os.path.join(ROOT, kind), ignore_errors=True)
        os.makedirs(os.path.join(ROOT, kind))

    # Seeds.
    write("corpus", "idx", "images_2x3x4.idx", idx([2, 3, 4]))
    write("corpus", "idx", "images_2x3x4.idx.gz", gz(idx([2, 3, 4])))
    write("corpus", "idx", "labels_5.idx", labels(5))
    write("corpus", "idx", "labels_5.idx.gz", gz(labels(5)))
    write("corpus", "idx", "empty_0x28x28.idx", idx([0, 28, 28]))
    write("corpus", "idx", "matrix_3x5.idx", idx([3, 5]))
    write("corpus", "mnist", "three_2x2_images.bin", mnist_pair(idx([3, 2, 2]), labels(3)))
    write("corpus", "mnist", "three_2x2_images_gz.bin", mnist_pair(gz(idx([3, 2, 2])), gz(labels(3))))
    write("corpus", "mnist", "no_images.bin", mnist_pair(idx([0, 28, 28]), labels(0)))
    write("corpus", "cifar", "two_records.bin", cifar(2))
    write("corpus", "cifar", "one_record.bin.gz", gz(cifar(1)))
    write("corpus", "safetensors", "every_dtype.safetensors", safetensors([
        ("a_f64", "F64", [2], struct.pack("<2d", 1.5, -2.0)),
        ("b_f32", "F32", [2, 2], f32([1, 2, 3, 4])),
        ("c_f16", "F16", [2], struct.pack("<2e", 0.5, -1.0)),
        ("d_bf16", "BF16", [1], b"\x80\x3f"),
        ("e_i64", "I64", [2], struct.pack("<2q", -7, 8)),
        ("f_i32", "I32", [1, 1], struct.pack("<i", 5)),
        ("g_u8", "U8", [3], b"\x00\x7f\xff"),
        ("h_bool", "BOOL", [2], b"\x00\x01"),
        ("i_empty", "F32", [0, 4], b""),
    ], {"format": "pt", "note": "kiln seed"}))
    write("corpus", "safetensors", "metadata_only.safetensors", safetensors([], {"format": "pt"}))
    write("corpus", "safetensors", "scalar.safetensors", safetensors([("s", "F32", [], f32([3.0]))]))
    write("corpus", "checkpoint", "adam_steplr.ckpt", checkpoint("Adam"))
    write("corpus", "checkpoint", "adamw_cosine.ckpt",
          checkpoint("AdamW", ("CosineAnnealingLR", "0.01", "0.005")))
    write("corpus", "checkpoint", "sgd_exponential.ckpt", checkpoint("SGD", ("ExponentialLR", "0.1", "0.0729")))

    # Regressions (issue 12). Zero-element shapes with huge dims: numel is 0,
    # but the strides overflow int64.
    write("regressions", "idx", "zero_elements_huge_dims_last.idx", idx([0xFFFFFFFF, 0xFFFFFFFF, 0], b""))
    write("regressions", "idx", "zero_elements_huge_dims_first.idx", idx([0, 0xFFFFFFFF, 0xFFFFFFFF], b""))
    # 2^48 bytes claimed by a few dozen bytes of gzip: must not allocate ahead of the data.
    write("regressions", "idx", "gzip_claims_2e48_bytes.idx.gz", gz(idx([1 << 16, 1 << 16, 1 << 16], b"")))
    write("regressions", "mnist", "zero_images_huge_dims.bin",
          mnist_pair(idx([0, 0xFFFFFFFF, 0xFFFFFFFF], b""), labels(0)))
    write("regressions", "safetensors", "zero_elements_huge_dims.safetensors",
          safetensors([("t", "F32", [0, 1 << 62, 1 << 62], b"")]))
    # 200 KB of nested arrays: printing the value in an error message recursed once per level.
    depth = 100000
    write("regressions", "safetensors", "deeply_nested_shape.safetensors",
          safetensors([], raw_header=b'{"t":{"dtype":"F32","shape":' + b"[" * depth + b"]" * depth +
                      b',"data_offsets":[0,0]}}'))
    write("regressions", "safetensors", "deeply_nested_metadata.safetensors",
          safetensors([], raw_header=b'{"__metadata__":{"k":' + b'{"a":' * 20000 + b"1" + b"}" * 20000 + b"}}"))
    # Restored counters that overflow on the next step, or are negative.
    int64_max = "9223372036854775807"
    write("regressions", "checkpoint", "optim_step_int64_max.ckpt", checkpoint(step=int64_max))
    write("regressions", "checkpoint", "optim_step_negative.ckpt", checkpoint(step="-1"))
    write("regressions", "checkpoint", "sched_last_epoch_int64_max.ckpt", checkpoint(last_epoch=int64_max))
    write("regressions", "checkpoint", "sched_last_epoch_negative.ckpt", checkpoint(last_epoch="-5"))
    write("regressions", "checkpoint", "step_negative.ckpt", checkpoint(top={"step": "-1"}))
    write("regressions", "checkpoint", "data_epoch_int64_max.ckpt", checkpoint(data={"epoch": int64_max, "batch": "4"}))


if __name__ == "__main__":
    main()
