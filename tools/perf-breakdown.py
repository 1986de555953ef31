#!/usr/bin/env python3
"""Where a CPU training step's time goes, by category, from `perf script`.

    perf record -e cpu-clock -F 1000 --call-graph dwarf,16384 -o step.data \
        build/benchmarks/bench_train_models mlp 3 10 2
    perf script -i step.data | tools/perf-breakdown.py --window time_step_windows

Each sample is put in one category by its innermost frame, then by the kiln
op on its stack (the first matching rule below wins). Only samples taken
while the main thread was inside a frame matching --window are counted, so
start-up and set-up are left out. Prints a Markdown table: the share of all
samples (every thread) and of the main thread's samples per category.
cpu-clock samples count time on a CPU, so a thread that waits by spinning
counts; one that blocks does not. A worker's sample that no rule places is
given the category of the main thread's nearest sample (see main()).
"""
import argparse
import bisect
import collections
import re
import sys

# (category, regex on the innermost frame, regex on the whole stack)
RULES = [
    ("GEMM (oneDNN JIT code)", r"perf-\d+\.map", None),
    ("oneDNN (library code)", r"libdnnl", None),
    ("OpenMP runtime", r"libgomp", None),
    ("kernel: scheduling, futex, yield", r"kallsyms", r"futex|sched|yield|wake_up|switch"),
    ("kernel: page faults, other", r"kallsyms", None),
    ("kiln pool: spin or wait", r"Pool::grow|parallel_run|sched_yield|pthread_cond", None),
    ("optimizer", None, r"apply_step|adam_update|sgd_update"),
    ("gradient accumulation", None, r"AccumulateGrad"),
    ("im2col / col2im", r"im2col|col2im", None),
    ("batch norm", None, r"batch_norm|bn_forward|bn_backward"),
    ("pooling", None, r"max_pool|avg_pool|pool2d"),
    ("layer norm", None, r"layer_norm"),
    ("attention (besides its GEMMs)", None, r"attention_(forward|backward)"),
    ("softmax, cross-entropy", None, r"cross_entropy|softmax"),
    ("reductions", None, r"CpuBackend::reduce"),
    ("copies (contiguous, cat, ...)", None, r"CpuBackend::copy"),
    ("elementwise", None, r"map_elements|for_each_row"),
    ("embedding", None, r"embedding"),
    ("allocator", r"malloc|free|aligned_alloc|LargeBlockCache", None),
    ("memcpy / memset", r"memcpy|memmove|memset", None),
    ("random numbers", None, r"fill_random"),
    ("autograd engine", None, r"kiln::autograd"),
]
COMPILED = [(name, re.compile(leaf) if leaf else None, re.compile(stack) if stack else None)
            for name, leaf, stack in RULES]


def category(frames):
    leaf = frames[0]
    stack = "\n".join(frames)
    for name, leaf_re, stack_re in COMPILED:
        if leaf_re and not leaf_re.search(leaf):
            continue
        if stack_re and not stack_re.search(stack):
            continue
        return name
    return "other"


def samples(text):
    for block in text.split("\n\n"):
        lines = block.strip().split("\n")
        if len(lines) < 2:
            continue
        head = lines[0].split()
        try:
            tid = int(head[1])
            when = float(head[2].rstrip(":"))
        except (IndexError, ValueError):
            continue
        yield tid, when, [line.strip() for line in lines[1:]]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--window", required=True, help="regex of the main thread's frame that marks the timed steps")
    ap.add_argument("--title", default="share of samples")
    args = ap.parse_args()
    window = re.compile(args.window)
    all_samples = list(samples(sys.stdin.read()))
    if not all_samples:
        sys.exit("perf-breakdown: no samples on stdin (pipe `perf script` into it)")
    main_tid = collections.Counter(tid for tid, _, _ in all_samples).most_common(1)[0][0]
    marked = [when for tid, when, frames in all_samples if tid == main_tid and any(window.search(f) for f in frames)]
    if not marked:
        sys.exit(f"perf-breakdown: no main-thread sample has a frame matching {args.window!r}")
    begin, end = min(marked), max(marked)
    in_window = [(tid, when, frames) for tid, when, frames in all_samples if begin <= when <= end]
    # A pool worker's stack starts at the task it runs, often a lambda that
    # names no op (the attention's and the norms' per-thread bodies). Such a
    # sample goes to what the main thread, which waits on the same
    # parallel_run, was doing at that moment.
    main_times = sorted((when, category(frames)) for tid, when, frames in in_window if tid == main_tid)
    times = [t for t, _ in main_times]
    every, on_main = collections.Counter(), collections.Counter()
    for tid, when, frames in in_window:
        k = category(frames)
        if tid != main_tid and k == "other" and main_times:
            i = min(bisect.bisect_left(times, when), len(times) - 1)
            near = main_times[i][1]
            if near not in ("other", "kiln pool: spin or wait"):
                k = near
        every[k] += 1
        if tid == main_tid:
            on_main[k] += 1
    n_all, n_main = sum(every.values()), sum(on_main.values())
    print(f"| category | {args.title}, all threads | main thread |")
    print("|---|---|---|")
    for k, v in every.most_common():
        print(f"| {k} | {100 * v / n_all:.1f}% | {100 * on_main[k] / n_main:.1f}% |")
    print(f"\n{n_all} samples ({n_main} on the main thread) over {end - begin:.2f} s")


if __name__ == "__main__":
    main()
