#!/usr/bin/env python3
"""Which hot functions run scalar floating-point code, from `perf annotate`.

    perf record -e cpu-clock -F 2000 -g -o step.data build/benchmarks/bench_char_gpt 60
    perf annotate -i step.data --stdio --dsos libkiln.so.0.1.0 | tools/perf-vector-share.py

For each function with at least --min samples, the share of its samples on
scalar floating-point instructions (vaddss, vfmadd231sd, ...) and on vector
ones (any instruction naming an xmm/ymm/zmm register in packed form), so that
a hot loop the compiler left scalar stands out. Finding the optimizer, the
attention's row reductions, the layer norm backward and the cross-entropy
backward running scalar each took one look at this table. Packed xmm
instructions count as vector; scalar ones use xmm registers too, and are
told apart by their ss/sd suffix.
"""
import argparse
import re
import sys

SCALAR = re.compile(r"\bv\w+s[sd]\b")
VECTOR = re.compile(r"\bv\w+p[sd]\b|\bvp\w+|zmm|ymm")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--min", type=int, default=50, help="functions with fewer samples are left out")
    args = ap.parse_args()
    text = sys.stdin.read().split("\n")
    starts = [i for i, line in enumerate(text) if line.startswith(" Percent")]
    if not starts:
        sys.exit("perf-vector-share: no annotated function on stdin (pipe `perf annotate --stdio` into it)")
    rows = []
    for a, b in zip(starts, starts[1:] + [len(text)]):
        count = re.search(r"\((\d+) samples", text[a])
        if not count or int(count.group(1)) < args.min:
            continue
        name = next((m.group(1) for line in text[a:a + 12] for m in [re.search(r"^\s*:\s*\d+\s+[0-9a-f]+ <(.*)>:", line)] if m),
                    "?")
        scalar = vector = 0.0
        for line in text[a:b]:
            m = re.match(r"^\s+([0-9]+\.[0-9]+) :\s+[0-9a-f]+:\s+(.*)$", line)
            if not m:
                continue
            pct, insn = float(m.group(1)), m.group(2)
            if SCALAR.search(insn):
                scalar += pct
            elif VECTOR.search(insn):
                vector += pct
        rows.append((int(count.group(1)), scalar, vector, name))
    print("| samples | scalar fp | vector | function |")
    print("|---|---|---|---|")
    for n, s, v, name in sorted(rows, reverse=True):
        print(f"| {n} | {s:.0f}% | {v:.0f}% | `{name[:140]}` |")


if __name__ == "__main__":
    main()
