#!/usr/bin/env python3
"""kiln's nn::GPT trained in PyTorch, for the side-by-side benchmarks: the
same model (pre-norm blocks, fused QKV projection,
scaled_dot_product_attention with is_causal, GELU-tanh MLP, LM head tied to
the token embedding, GPT-2 initialisation), AdamW (betas 0.9/0.95, weight
decay 0.1 on matrices only), on random tokens, one host read of the loss
per step. Prints one JSON line like kiln's benchmarks.

  --preset char_gpt  examples/char_gpt's default model on the CPU
                     (benchmarks/train/bench-char-gpt.sh runs it beside
                     bench_char_gpt): 4 layers, 4 heads, width 128, context
                     64, batch 16, vocabulary 256.
  --preset gpt2      GPT-2 124M, batch x 1024 tokens, on a GPU (beside
                     bench_gpt2_step): eager, or --compile (torch.compile);
                     --dtype bf16 runs under torch.autocast. Reports
                     tokens/s and MFU = (6 N + 6 L C T) tokens/s over a bf16
                     matmul ceiling measured in the same run (torch.matmul,
                     8192^3). --quick, as bench_gpt2_step's: batch 4 (not
                     8), 2 warm-up and 5 timed steps (not 5 and 20), a
                     4096^3 ceiling.

    python3 benchmarks/train/gpt_torch.py [--preset char_gpt|gpt2] [--steps N] [--threads N]
                                          [--device cpu|cuda] [--compile] [--dtype f32|bf16] [--quick]

Runs on PyTorch 1.13 (Debian's python3-torch; char_gpt preset, no
--compile) and on current releases.
"""
import argparse
import json
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F



def causal_attention(q, k, v):
    """PyTorch 2's fused attention; PyTorch 1.13 (Debian's) has none, so there
    the unfused composition, as a 1.13 user would write it."""
    if hasattr(F, "scaled_dot_product_attention"):
        return F.scaled_dot_product_attention(q, k, v, is_causal=True)
    T = q.shape[-2]
    scores = (q @ k.transpose(-2, -1)) / math.sqrt(q.shape[-1])
    mask = torch.ones(T, T, dtype=torch.bool, device=q.device).triu(1)
    return scores.masked_fill(mask, float("-inf")).softmax(-1) @ v

class Block(nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.heads = heads
        self.ln_1 = nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.out_proj = nn.Linear(width, width)
        self.ln_2 = nn.LayerNorm(width)
        self.fc = nn.Linear(width, 4 * width)
        self.proj = nn.Linear(4 * width, width)

    def attn(self, x):
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.heads, C // self.heads).transpose(1, 2) for t in (q, k, v))
        y = causal_attention(q, k, v)
        return self.out_proj(y.transpose(1, 2).reshape(B, T, C))

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.proj(F.gelu(self.fc(self.ln_2(x)), approximate="tanh"))


class GPT(nn.Module):
    def __init__(self, vocab, context, layers, heads, width):
        super().__init__()
        self.wte = nn.Embedding(vocab, width)
        self.wpe = nn.Embedding(context, width)
        self.h = nn.ModuleList(Block(width, heads) for _ in range(layers))
        self.ln_f = nn.LayerNorm(width)
        for name, p in self.named_parameters():
            if p.dim() >= 2:
                std = 0.02 / math.sqrt(2 * layers) if name.endswith(("out_proj.weight", "proj.weight")) else 0.02
                nn.init.normal_(p, 0.0, std)
            elif name.endswith("bias") and "ln_" not in name:
                nn.init.zeros_(p)

    def forward(self, ids):
        x = self.wte(ids) + self.wpe(torch.arange(ids.shape[1], device=ids.device))
        for b in self.h:
            x = b(x)
        return F.linear(self.ln_f(x), self.wte.weight)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", choices=["char_gpt", "gpt2"], default="char_gpt")
    ap.add_argument("--steps", type=int, default=0, help="timed steps (default 50 for char_gpt, 20 for gpt2)")
    ap.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: PyTorch's default)")
    ap.add_argument("--device", default=None, help="default: cpu for char_gpt, cuda for gpt2")
    ap.add_argument("--layers", type=int)
    ap.add_argument("--heads", type=int)
    ap.add_argument("--width", type=int)
    ap.add_argument("--context", type=int)
    ap.add_argument("--batch", type=int)
    ap.add_argument("--compile", action="store_true", help="torch.compile the model")
    ap.add_argument("--dtype", choices=["f32", "bf16"], default="f32", help="bf16: under torch.autocast")
    ap.add_argument("--quick", action="store_true",
                    help="2 warm-up steps (not 5); gpt2 also batch 4, 5 timed steps and a 4096^3 ceiling matmul, "
                         "as bench_gpt2_step --quick")
    a = ap.parse_args()
    gpt2 = a.preset == "gpt2"
    # gpt2's batch as bench_gpt2_step's: 8, 4 with --quick.
    defaults = dict(layers=12, heads=12, width=768, context=1024, batch=4 if a.quick else 8, vocab=50257) if gpt2 else \
        dict(layers=4, heads=4, width=128, context=64, batch=16, vocab=256)
    for k in ("layers", "heads", "width", "context", "batch"):
        if getattr(a, k) is None:
            setattr(a, k, defaults[k])
    vocab = defaults["vocab"]
    a.device = a.device or ("cuda" if gpt2 else "cpu")
    if a.steps <= 0:
        a.steps = (5 if a.quick else 20) if gpt2 else 50
    if a.device.startswith("cuda") and not torch.cuda.is_available():
        print("skipped: no CUDA device visible to PyTorch")
        return
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = GPT(vocab, a.context, a.layers, a.heads, a.width).to(a.device)
    n_params = sum(p.numel() for p in model.parameters())
    fwd = torch.compile(model) if a.compile else model
    autocast = (lambda: torch.autocast(device_type=a.device.split(":")[0], dtype=torch.bfloat16)) \
        if a.dtype == "bf16" else None
    decay = [p for p in model.parameters() if p.dim() >= 2]
    rest = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": rest, "weight_decay": 0.0}],
                            lr=1e-3, betas=(0.9, 0.95))
    data = torch.randint(0, vocab, (a.batch, a.context + 1), device=a.device)
    x, y = data[:, :-1].contiguous(), data[:, 1:].contiguous()

    def step():
        if autocast:
            with autocast():
                loss = F.cross_entropy(fwd(x).view(-1, vocab).float(), y.view(-1))
        else:
            loss = F.cross_entropy(fwd(x).view(-1, vocab), y.view(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.item()

    for _ in range(2 if a.quick else 5):
        step()
    t0 = time.perf_counter()
    for _ in range(a.steps):
        loss = step()
    s = time.perf_counter() - t0
    tokens_per_sec = a.batch * a.context * a.steps / s
    version = "pytorch " + torch.__version__ + (" compiled" if a.compile else " eager")
    line = {"bench": "train_gpt2_step" if gpt2 else "train_char_gpt", "version": version, "device": a.device,
            "dtype": a.dtype, "threads": torch.get_num_threads(), "layers": a.layers, "heads": a.heads,
            "width": a.width, "context": a.context, "batch": a.batch, "steps": a.steps, "parameters": n_params,
            "ms_per_step": round(1e3 * s / a.steps, 3), "tokens_per_sec": round(tokens_per_sec, 1),
            "final_loss": round(loss, 4)}
    if a.device.startswith("cuda"):
        ceiling = bf16_ceiling_tflops(4096 if a.quick else 8192, a.device)
        flops_per_token = 6 * n_params + 6 * a.layers * a.width * a.context
        line.update({"bf16_ceiling_tflops": round(ceiling, 1),
                     "model_tflops": round(flops_per_token * tokens_per_sec / 1e12, 2),
                     "mfu": round(flops_per_token * tokens_per_sec / 1e12 / ceiling, 4), "quick": a.quick})
    print(json.dumps(line))


def bf16_ceiling_tflops(n, device):
    a = torch.zeros(n, n, device=device, dtype=torch.bfloat16)
    b = torch.zeros(n, n, device=device, dtype=torch.bfloat16)
    for _ in range(3):
        a @ b
    torch.cuda.synchronize()
    times = []
    for _ in range(10):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        a @ b
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end))
    return 2 * n ** 3 / (sorted(times)[len(times) // 2] * 1e9)


if __name__ == "__main__":
    main()
