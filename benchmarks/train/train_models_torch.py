"""The models of train_models.h trained in PyTorch (eager and torch.compile),
timed as bench_train_models.cpp times kiln. Eager and compiled windows
alternate in one process (ABAB), so both see the same machine load.

    python3 train_models_torch.py MODEL [windows] [steps_per_window] [threads]

Prints one JSON line per variant (eager, compiled) with the median window's
ms/step. MODEL mlp_products times the MLP step's eight matrix products alone
(version "products-torch-..."), as bench_train_models does for kiln: with
PyTorch's MKL beside kiln's GEMMs, the faster of the two is this machine's
floor for a step made mostly of products. torch.compile wraps the model (forward and, through AOTAutograd,
backward); the optimizer runs eagerly with PyTorch's defaults for the CPU.
"""
import json
import statistics
import sys
import time

import torch
import torch.nn as nn

# Keep in step with kTrainModels in train_models.h.
MODELS = {
    "cnn": dict(c1=16, c2=32, hidden=0, batch=64, adam=True, lr=1e-3),
    "cnn_wide": dict(c1=32, c2=64, hidden=128, batch=64, adam=True, lr=1e-3),
    "mlp": dict(c1=0, c2=0, hidden=1024, batch=128, adam=False, lr=1e-2),
}


def build(m):
    if m["c1"] == 0:
        h = m["hidden"]
        return nn.Sequential(nn.Linear(784, h), nn.ReLU(), nn.Linear(h, h), nn.ReLU(), nn.Linear(h, 10))
    c1, c2 = m["c1"], m["c2"]
    layers = [
        nn.Conv2d(1, c1, 3, padding=1, bias=False), nn.BatchNorm2d(c1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(c1, c2, 3, padding=1, bias=False), nn.BatchNorm2d(c2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
    ]
    if m["hidden"]:
        layers += [nn.Linear(c2 * 49, m["hidden"]), nn.ReLU(), nn.Linear(m["hidden"], 10)]
    else:
        layers += [nn.Linear(c2 * 49, 10)]
    return nn.Sequential(*layers)


def mlp_products(windows, steps):
    """The products of one MLP step in its layouts: forward x W^T, input
    gradient dY W (not for the first layer), weight gradient dY^T x."""
    m = MODELS["mlp"]
    b, h = m["batch"], m["hidden"]
    x, hid, g, g3 = torch.randn(b, 784), torch.randn(b, h), torch.randn(b, h), torch.randn(b, 10)
    w1, w2, w3 = torch.randn(h, 784), torch.randn(h, h), torch.randn(10, h)

    def products():
        for a, c in ((x, w1.t()), (hid, w2.t()), (hid, w3.t()), (g3, w3), (g3.t(), hid), (g, w2), (g.t(), hid),
                     (g.t(), x)):
            torch.mm(a, c)

    for _ in range(10):
        products()
    ms = []
    for _ in range(windows):
        t0 = time.perf_counter()
        for _ in range(steps):
            products()
        ms.append(1e3 * (time.perf_counter() - t0) / steps)
    med = statistics.median(ms)
    print(json.dumps({
        "bench": "train_mlp", "version": f"products-torch-{torch.__version__.split('+')[0]}",
        "threads": torch.get_num_threads(), "batch": b, "windows": windows, "steps_per_window": steps,
        "ms_per_step": round(med, 3), "ms_min": round(min(ms), 3), "ms_max": round(max(ms), 3),
        "samples_per_sec": round(1e3 * b / med, 1), "final_loss": 0.0}), flush=True)


def main():
    name = sys.argv[1]
    windows = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    steps = int(sys.argv[3]) if len(sys.argv) > 3 else 20
    if len(sys.argv) > 4:
        torch.set_num_threads(int(sys.argv[4]))
    if name == "mlp_products":
        return mlp_products(windows, steps)
    m = MODELS[name]
    torch.manual_seed(0)
    x = torch.randn(m["batch"], 784) if m["c1"] == 0 else torch.randn(m["batch"], 1, 28, 28)
    y = torch.randint(0, 10, (m["batch"],))
    variants = {}
    for variant in ("eager", "compiled"):
        torch.manual_seed(0)
        model = build(m)
        if m["adam"]:
            opt = torch.optim.Adam(model.parameters(), lr=m["lr"])
        else:
            opt = torch.optim.SGD(model.parameters(), lr=m["lr"], momentum=0.9)
        fwd = torch.compile(model) if variant == "compiled" else model

        def step(fwd=fwd, opt=opt):
            opt.zero_grad()
            loss = nn.functional.cross_entropy(fwd(x), y)
            loss.backward()
            opt.step()
            return loss.item()

        t0 = time.perf_counter()
        for _ in range(10):  # the compiled variant compiles here
            step()
        variants[variant] = dict(step=step, ms=[], warmup_s=time.perf_counter() - t0, loss=0.0)
    for _ in range(windows):
        for v in variants.values():
            t0 = time.perf_counter()
            for _ in range(steps):
                v["loss"] = v["step"]()
            v["ms"].append(1e3 * (time.perf_counter() - t0) / steps)
    for variant, v in variants.items():
        med = statistics.median(v["ms"])
        print(json.dumps({
            "bench": f"train_{name}", "version": f"torch-{torch.__version__.split('+')[0]}-{variant}",
            "threads": torch.get_num_threads(), "batch": m["batch"], "windows": windows,
            "steps_per_window": steps, "ms_per_step": round(med, 3), "ms_min": round(min(v["ms"]), 3),
            "ms_max": round(max(v["ms"]), 3), "samples_per_sec": round(1e3 * m["batch"] / med, 1),
            "final_loss": round(v["loss"], 4), "warmup_s": round(v["warmup_s"], 1)}), flush=True)


if __name__ == "__main__":
    main()
