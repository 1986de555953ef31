#!/usr/bin/env python3
"""PyTorch's scaled_dot_product_attention and layer_norm timed on the shapes
of kiln's benchmarks, printing the same JSON lines.

GPU (default when CUDA is available): the shapes of bench_attention.cu
(bf16 [1, H, T, D], T = 512..4096, D = 64 and 128, causal and not; TFLOP/s
with FlashAttention's FLOP count, pct_of_ceiling against torch's own bf16
8192^3 matmul measured in the same run) and bench_layer_norm.cu (f32 and
bf16 [rows, n] with weight and bias; GB/s of the minimum traffic,
pct_of_ceiling against a device-to-device copy). KILN_BENCH_QUICK=1 takes
the quick subsets, as the kiln benchmarks do.

CPU (--device cpu): the attention shapes of benchmarks/cpu/bench_attention_cpu.cpp,
f32, forward and forward + backward, median of timed calls. With
--kiln PATH (the bench_attention_cpu executable) each shape is timed in
kiln and in PyTorch in turn, in one run, and a last line per shape gives
the ratio torch ms / kiln ms (> 1: kiln faster).
"""
import argparse
import json
import math
import os
import subprocess
import statistics
import time

import torch
import torch.nn.functional as F

QUICK = os.environ.get("KILN_BENCH_QUICK", "0") not in ("", "0")
COMMIT = os.environ.get("KILN_GIT_COMMIT", os.environ.get("KILN_COMMIT", "unknown"))


def emit(bench, version, shape, dtype, ms, rate, unit, pct, device, ratio=None):
    print(json.dumps({"bench": bench, "version": version, "shape": shape, "dtype": dtype, "ms": round(ms, 5),
                      "rate": round(rate, 2), "unit": unit, "pct_of_ceiling": None if pct is None else round(pct, 1),
                      "ratio_vs_ref": None if ratio is None else round(ratio, 3), "device": device,
                      "commit": COMMIT, "torch": torch.__version__}), flush=True)


def gpu_ms(f, runs):
    for _ in range(5):
        f()
    torch.cuda.synchronize()
    times = []
    for _ in range(runs):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        f()
        b.record()
        b.synchronize()
        times.append(a.elapsed_time(b))
    return statistics.median(times)


def cpu_ms(f, runs):
    f()
    f()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        f()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def gpu_main():
    dev = torch.device("cuda")
    name = torch.cuda.get_device_name(0)
    n = 4096 if QUICK else 8192
    a = torch.zeros(n, n, device=dev, dtype=torch.bfloat16)
    ceiling = 2 * n ** 3 / (gpu_ms(lambda: a @ a, 20) * 1e9)
    print(f"# torch {torch.__version__} bf16 matmul ceiling {ceiling:.1f} TFLOP/s on {name}")
    lengths = [512, 2048] if QUICK else [512, 1024, 2048, 4096]
    runs = 10 if QUICK else 50
    for D in (64, 128):
        for T in lengths:
            for causal in (False, True):
                H = max(1, 4 * (4096 // T) * 64 // D)
                q, k, v = (torch.randn(1, H, T, D, device=dev, dtype=torch.bfloat16, requires_grad=True)
                           for _ in range(3))
                shape = f"[1, {H}, {T}, {D}]" + (" causal" if causal else "")
                flops = 4.0 * H * T * T * D * (0.5 if causal else 1.0)
                with torch.no_grad():
                    ms = gpu_ms(lambda: F.scaled_dot_product_attention(q, k, v, is_causal=causal), runs)
                emit("attention", "torch_sdpa", shape, "bf16", ms, flops / (ms * 1e9), "TFLOP/s", 100 * flops / (ms * 1e9) / ceiling, name)
                out = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
                g = torch.randn_like(out)
                ms = gpu_ms(lambda: torch.autograd.grad(out, (q, k, v), g, retain_graph=True), runs)
                emit("attention", "torch_sdpa_bwd", shape, "bf16", ms, 2.5 * flops / (ms * 1e9), "TFLOP/s",
                     100 * 2.5 * flops / (ms * 1e9) / ceiling, name)
    big = torch.zeros(1 << 29, device=dev, dtype=torch.uint8)
    other = torch.empty_like(big)
    copy_gbs = 2 * big.numel() / (gpu_ms(lambda: other.copy_(big), 20) * 1e6)
    shapes = [(8192, 768)] if QUICK else [(8192, 768), (8192, 1600), (4096, 4096)]
    for rows, n in shapes:
        for dtype, label in ((torch.float32, "f32"), (torch.bfloat16, "bf16")):
            x = torch.randn(rows, n, device=dev, dtype=dtype, requires_grad=True)
            w = torch.randn(n, device=dev, dtype=dtype, requires_grad=True)
            b = torch.randn(n, device=dev, dtype=dtype, requires_grad=True)
            shape = f"[{rows}, {n}]"
            size = x.element_size()
            with torch.no_grad():
                ms = gpu_ms(lambda: F.layer_norm(x, (n,), w, b), runs)
            rate = 2.0 * rows * n * size / (ms * 1e6)
            emit("layer_norm", "torch", shape, label, ms, rate, "GB/s", 100 * rate / copy_gbs, name)
            y = F.layer_norm(x, (n,), w, b)
            g = torch.randn_like(y)
            ms = gpu_ms(lambda: torch.autograd.grad(y, (x, w, b), g, retain_graph=True), runs)
            rate = 3.0 * rows * n * size / (ms * 1e6)
            emit("layer_norm", "torch_bwd", shape, label, ms, rate, "GB/s", 100 * rate / copy_gbs, name)


CPU_SHAPES = [(16, 4, 64, 32, True, 50), (4, 8, 256, 64, True, 20), (1, 12, 1024, 64, True, 10)]


def cpu_main(kiln):
    for B, H, T, D, causal, reps in CPU_SHAPES:
        shape = f"[{B}, {H}, {T}, {D}]" + (" causal" if causal else "")
        kiln_ms = {}
        if kiln:
            res = subprocess.run([kiln, str(B), str(H), str(T), str(D), str(int(causal)), str(reps)],
                                 capture_output=True, text=True, check=True)
            for line in res.stdout.splitlines():
                if line.startswith("{"):
                    print(line, flush=True)
                    r = json.loads(line)
                    kiln_ms[r["version"]] = r["ms"]
        torch.manual_seed(0)
        q, k, v, g = (torch.randn(B, H, T, D) for _ in range(4))
        flops = 4.0 * B * H * T * T * D * (0.5 if causal else 1.0)
        with torch.no_grad():
            fwd = cpu_ms(lambda: F.scaled_dot_product_attention(q, k, v, is_causal=causal), reps)
        emit("attention_cpu", "torch_fwd", shape, "f32", fwd, flops / (fwd * 1e6), "GFLOP/s", None, "cpu")
        qg, kg, vg = (t.clone().requires_grad_() for t in (q, k, v))

        def step():
            out = F.scaled_dot_product_attention(qg, kg, vg, is_causal=causal)
            torch.autograd.grad(out, (qg, kg, vg), g)

        both = cpu_ms(step, reps)
        emit("attention_cpu", "torch_fwd_bwd", shape, "f32", both, 3.5 * flops / (both * 1e6), "GFLOP/s", None, "cpu")
        if kiln_ms:
            print(f"# {shape}: torch/kiln forward {fwd / kiln_ms['kiln_fwd']:.2f}x, "
                  f"forward+backward {both / kiln_ms['kiln_fwd_bwd']:.2f}x (> 1: kiln faster)", flush=True)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", choices=["cuda", "cpu"], default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--kiln", help="the bench_attention_cpu executable (CPU mode)")
    args = ap.parse_args()
    if args.device == "cuda":
        gpu_main()
    else:
        cpu_main(args.kiln)
