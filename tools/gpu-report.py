#!/usr/bin/env python3
"""Turns the OUTDIR of a tools/gpu-check.sh run into what a session commits.

    tools/gpu-report.py OUTDIR [--out FILE] [--force]

Reads OUTDIR's summary.txt, env.txt, bench.jsonl and bench.md, and writes a
Markdown results file, by default benchmarks/results/<device>-<date>.md
(the GPU's name from summary.txt's device line, lowercased, every run of
other characters one '-'; the date of env.txt's first line), which it does
not overwrite unless --force. The file holds:
  - a header: device, date, bundle commit, host, and summary.txt verbatim;
  - attention forward and backward, kiln against PyTorch's
    scaled_dot_product_attention, per shape (bf16): TFLOP/s of each, the
    ratio kiln / PyTorch = PyTorch ms / kiln ms (the same FLOP count, so
    > 1: kiln faster) and each one's percent of its bf16 matmul ceiling;
  - layer norm forward and backward, kiln against PyTorch, per shape and
    dtype: GB/s, the ratio, percent of copy bandwidth;
  - the GPT-2 124M training step: tokens/s and MFU of kiln and PyTorch
    eager, and their ratio;
  - the example trainers' lines of summary.txt;
  - every other benchmark's section of bench.md (its headings one level
    down, its "# " comment lines as plain text).
A record bench.jsonl lacks (the benchmark timed out, failed validation or
never ran) is shown as "not measured", with summary.txt's line about that
benchmark where it has one.

It prints to stdout the row for the "## Status" table of docs/gpu.md and
headline lines for "### GPU" in docs/benchmarks.md; it edits no document.
The records it reads are those of benchmarks/kernels/bench_attention.cu,
bench_layer_norm.cu, torch_attention_layer_norm.py and
benchmarks/train/bench_gpt2_step.cpp, gpt_torch.py. Standard library only.
"""
import argparse
import json
import os
import re
import statistics
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NM = "not measured"
# bench.md sections whose figures the headline tables give.
HEADLINE_SECTIONS = ("bench_attention", "bench_layer_norm", "torch_attention_layer_norm.py", "bench_gpt2_step",
                     "gpt_torch.py")


class ReportError(Exception):
    pass


def read(outdir, name, required=False):
    path = os.path.join(outdir, name)
    if not os.path.isfile(path):
        if required:
            raise ReportError(f"{path} is missing (is {outdir} the OUTDIR of tools/gpu-check.sh?)")
        print(f"gpu-report: {path} is missing; its figures are reported as {NM}", file=sys.stderr)
        return ""
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


def cell(text):
    return str(text).replace("|", "\\|")


def fmt(x, digits=1, suffix=""):
    return NM if x is None else f"{x:.{digits}f}{suffix}"


# --- summary.txt and env.txt -------------------------------------------------------------------

def parse_summary(text):
    lines = text.splitlines()
    s = {"lines": lines, "bench_status": {}, "trainers": []}
    m = re.match(r"kiln gpu-check summary \((\d{4}-\d\d-\d\d)", lines[0] if lines else "")
    s["date"] = m.group(1) if m else None
    for line in lines:
        if line.startswith("device: "):
            s["device_line"] = line[len("device: "):]
        elif line.startswith("bundle: commit "):
            m = re.match(r"bundle: commit (\S+?);?( with uncommitted changes)?;", line + ";")
            s["commit"], s["dirty"] = m.group(1), bool(m.group(2))
        elif line.startswith("tests: "):
            m = re.search(r"(\d+) passed, (\d+) failed, (\d+) skipped \((\d+) CUDA, (\d+) other\)", line)
            if m:
                s["tests"] = tuple(int(g) for g in m.groups())
        elif re.match(r"  \S+: (timeout|crashed|no summary|\S+ failed)$", line):
            s.setdefault("bad_exes", []).append(line.strip())
        elif line.startswith("compute-sanitizer"):
            m = re.match(r"compute-sanitizer (memcheck|racecheck): (.*?) \((\d+) tests(?:;.*)?\)$", line)
            if m:
                state = re.sub(r"=+ *|(ERROR|RACECHECK) SUMMARY: ", "", m.group(2))
                s[m.group(1)] = f"{state} ({m.group(3)} tests)"
            elif line.startswith("compute-sanitizer: NOT RUN"):
                s["memcheck"] = s["racecheck"] = "not run (no GPU visible)"
            elif line.startswith("compute-sanitizer: NOT FOUND"):
                s["memcheck"] = s["racecheck"] = "not run (no compute-sanitizer)"
        elif line.startswith("trainers") or re.match(r"  (char_gpt|fashion_mnist)\b", line):
            s["trainers"].append(line)
        elif line.startswith("benchmarks: "):
            s["benchmarks"] = line[len("benchmarks: "):]
        elif line.startswith("result: "):
            s["result"] = line[len("result: "):]
        m = re.match(r"  (\S+): (TIMEOUT after \d+ s|NOT RUN \(.*\)|FAILED \(rc \d+\).*)$", line)
        if m:
            s["bench_status"][m.group(1)] = m.group(2)
    if "device_line" not in s:
        raise ReportError("summary.txt has no device line: the check stopped before it looked for a GPU "
                          f"({lines[0] if lines else 'the file is empty'})")
    if s["device_line"].startswith("NO GPU VISIBLE"):
        raise ReportError(f"summary.txt says {s['device_line']}: nothing ran on a GPU, so there is no result "
                          "to report (the status table lists GPU runs)")
    fields = [f.strip() for f in re.sub(r" \(\+\d+ more\)$", "", s["device_line"]).split(",")]
    s["device"] = fields[0]
    return s


def parse_env(text):
    env = {}
    for line in text.splitlines():
        for key in ("date", "host", "commit", "built"):
            if line.startswith(key + ": ") and key not in env:
                env[key] = line[len(key) + 2:].strip()
        if line.startswith("--- nvcc: "):
            env["nvcc"] = line[len("--- nvcc: "):].strip()
    return env


def slug(name):
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


# --- bench.jsonl and bench.md ------------------------------------------------------------------

def parse_jsonl(text):
    records = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except ValueError:
            print(f"gpu-report: bench.jsonl line {n} is not JSON; left out: {line[:80]}", file=sys.stderr)
    return records


def parse_bench_md(text):
    """(header lines, {section name: its lines}) of the file gpu-check.sh writes."""
    header, sections, current = [], {}, None
    for line in text.splitlines():
        m = re.match(r"## (\S+)$", line)
        if m:
            current = sections.setdefault(m.group(1), [])
        elif current is None:
            header.append(line)
        else:
            current.append(line)
    return header, sections


def first(records, bench, version, shape=None, dtype=None):
    for r in records:
        if r.get("bench") == bench and r.get("version") == version and \
                (shape is None or r.get("shape") == shape) and (dtype is None or r.get("dtype") == dtype):
            return r
    return None


def ratio(kiln, torch):
    """torch ms / kiln ms: kiln's rate over torch's for the same work."""
    if not kiln or not torch:
        return None
    if kiln.get("ms") and torch.get("ms"):
        return torch["ms"] / kiln["ms"]
    if kiln.get("rate") and torch.get("rate"):
        return kiln["rate"] / torch["rate"]
    return None


def field(rec, key, digits=1, suffix=""):
    if rec is None:
        return NM
    v = rec.get(key)
    return "not reported" if v is None else f"{v:.{digits}f}{suffix}"


def grep(lines, pattern):
    for line in lines:
        m = re.search(pattern, line)
        if m:
            return m
    return None


def why_missing(status, names):
    notes = [f"{n}: {status[n]}" for n in names if n in status]
    return f" ({'; '.join(notes)})" if notes else ""


def gap_note(what, side, program, md_lines, tag, status):
    """Why `side`'s record of `what` is missing: its benchmark's INVALID line
    for that case (printed when validation failed), else summary.txt's line
    about the program, else that there is no record."""
    m = tag and grep(md_lines, r"^# " + re.escape(tag) + r": INVALID.*")
    if m:
        return f"- {what}, {side}: failed validation in {program} (`{m.group(0)[2:]}`)"
    if program in status:
        return f"- {what}, {side}: {program}: {status[program]}"
    return f"- {what}, {side}: no record in bench.jsonl (bench.md's {program} section says nothing of it)"


# --- the comparisons ---------------------------------------------------------------------------

def attention_shapes(records):
    """bench_attention.cu's shapes in its order: the quick set always, the others where measured."""
    seen = {r.get("shape") for r in records if r.get("bench") == "attention"}
    shapes = []
    for D in (64, 128):
        for T in (512, 1024, 2048, 4096):
            for causal in (False, True):
                H = max(1, 4 * (4096 // T) * 64 // D)
                shape = f"[1, {H}, {T}, {D}]" + (" causal" if causal else "")
                if T in (512, 2048) or shape in seen:
                    shapes.append(shape)
    return shapes + sorted(s for s in seen if s and s not in shapes)


def attention(records, md, status):
    out, head = [], {"fwd": [], "bwd": []}
    kiln_md, torch_md = md.get("bench_attention", []), md.get("torch_attention_layer_norm.py", [])
    m = grep(kiln_md, r"bf16 cuBLAS matmul ceiling: ([\d.]+) TFLOP/s")
    kiln_ceiling = float(m.group(1)) if m else None
    m = grep(torch_md, r"# torch (\S+) bf16 matmul ceiling ([\d.]+) TFLOP/s")
    torch_ceiling = float(m.group(2)) if m else None
    out += ["## Attention: kiln against PyTorch's scaled_dot_product_attention (bf16)", "",
            "[B, H, T, D] with B = 1; TFLOP/s counts 4 B H T^2 D for the forward and 2.5 times that for the "
            "backward, halved when causal (FlashAttention's convention). kiln / PyTorch = PyTorch ms / kiln ms "
            "(> 1: kiln faster). kiln's percent is of the bf16 cuBLAS matmul ceiling bench_attention measured "
            f"({fmt(kiln_ceiling, 1, ' TFLOP/s')}), PyTorch's of its own bf16 matmul measured in its run "
            f"({fmt(torch_ceiling, 1, ' TFLOP/s')}).", ""]
    for direction, kiln_versions, torch_version in (("fwd", ("kiln_tensor_core", "kiln_general"), "torch_sdpa"),
                                                     ("bwd", ("kiln_bwd",), "torch_sdpa_bwd")):
        out += [f"### {'Forward' if direction == 'fwd' else 'Backward (dQ, dK, dV)'}", ""]
        kernel_col = " kiln kernel |" if direction == "fwd" else ""
        out += [f"| shape |{kernel_col} kiln TFLOP/s | PyTorch TFLOP/s | kiln / PyTorch | kiln % of cuBLAS bf16 "
                "| PyTorch % of its bf16 matmul |",
                "|---|" + ("---|" if kernel_col else "") + "---|---|---|---|---|"]
        gaps = []
        for shape in attention_shapes(records):
            kiln = None
            for v in kiln_versions:
                kiln = kiln or first(records, "attention", v, shape, "bf16")
            torch = first(records, "attention", torch_version, shape, "bf16")
            r = ratio(kiln, torch)
            tag = "kiln" if direction == "fwd" else "kiln_bwd"
            if kiln is None:
                gaps.append(gap_note(shape, "kiln", "bench_attention", kiln_md, f"{shape}/{tag}", status))
            if torch is None:
                gaps.append(gap_note(shape, "PyTorch", "torch_attention_layer_norm.py", torch_md, None, status))
            kernel = (f" {kiln['version'][len('kiln_'):] if kiln else NM} |") if kernel_col else ""
            out.append(f"| {shape} |{kernel} {field(kiln, 'rate', 2)} | {field(torch, 'rate', 2)} | {fmt(r, 2)} | "
                       f"{field(kiln, 'pct_of_ceiling')} | {field(torch, 'pct_of_ceiling')} |")
            head[direction].append((shape, kiln, torch, r))
        if gaps:
            out += ["", "Not measured:", ""] + gaps
        out.append("")
    return out, head, kiln_ceiling


def layer_norm_cases(records):
    seen = {(r.get("shape"), r.get("dtype")) for r in records if r.get("bench") == "layer_norm"}
    cases = []
    for shape in ("[8192, 768]", "[8192, 1600]", "[4096, 4096]"):
        for dtype in ("f32", "bf16"):
            if shape == "[8192, 768]" or (shape, dtype) in seen:
                cases.append((shape, dtype))
    return cases + sorted(c for c in seen if c[0] and c not in cases)


def layer_norm(records, md, status):
    m = grep(md.get("bench_layer_norm", []), r"copy ceiling ([\d.]+) GB/s")
    copy = float(m.group(1)) if m else None
    out = ["## Layer norm: kiln against PyTorch", "",
           "[rows, n] with weight and bias. GB/s counts the minimum traffic (forward: x read, y written; backward: "
           "gy and x read, gx written). kiln / PyTorch = PyTorch ms / kiln ms (> 1: kiln faster). Each percent is of "
           f"the device-to-device copy rate its own run measured (kiln's: {fmt(copy, 0, ' GB/s')}).", "",
           "| shape | dtype | pass | kiln GB/s | PyTorch GB/s | kiln / PyTorch | kiln % of copy | PyTorch % of copy |",
           "|---|---|---|---|---|---|---|---|"]
    head, gaps = [], []
    kiln_md, torch_md = md.get("bench_layer_norm", []), md.get("torch_attention_layer_norm.py", [])
    for direction, kv, tv in (("forward", "kiln", "torch"), ("backward", "kiln_bwd", "torch_bwd")):
        for shape, dtype in layer_norm_cases(records):
            kiln = first(records, "layer_norm", kv, shape, dtype)
            torch = first(records, "layer_norm", tv, shape, dtype)
            r = ratio(kiln, torch)
            what = f"{shape} {dtype} {direction}"
            if kiln is None:
                gaps.append(gap_note(what, "kiln", "bench_layer_norm", kiln_md, f"{shape}/{kv}", status))
            if torch is None:
                gaps.append(gap_note(what, "PyTorch", "torch_attention_layer_norm.py", torch_md, None, status))
            out.append(f"| {shape} | {dtype} | {direction} | {field(kiln, 'rate')} | {field(torch, 'rate')} | "
                       f"{fmt(r, 2)} | {field(kiln, 'pct_of_ceiling')} | {field(torch, 'pct_of_ceiling')} |")
            head.append((direction, shape, dtype, kiln, torch, r))
    if gaps:
        out += ["", "Not measured:", ""] + gaps
    return out + [""], head


def gpt2(records, status):
    kiln = next((r for r in records if r.get("bench") == "train_gpt2_step" and r.get("version") == "kiln"), None)
    torch = [r for r in records if r.get("bench") == "train_gpt2_step" and str(r.get("version")).startswith("pytorch")]
    eager = next((r for r in torch if str(r["version"]).endswith("eager")), None)
    out = ["## GPT-2 124M training step (bf16 autocast)", "",
           "Forward, cross-entropy, backward and AdamW on random tokens; tokens/s over the timed steps. "
           "MFU = (6 N + 6 L C T) tokens/s over the bf16 matmul rate each measured in its own run "
           "(kiln: kiln::matmul, PyTorch: torch.matmul). kiln / PyTorch is the ratio of tokens/s.", "",
           "| implementation | batch x context | timed steps | ms/step | tokens/s | model TFLOP/s | "
           "bf16 matmul ceiling TFLOP/s | MFU | final loss |",
           "|---|---|---|---|---|---|---|---|---|"]

    def row(name, r, ceiling_key):
        if r is None:
            return f"| {name} | {NM} | {NM} | {NM} | {NM} | {NM} | {NM} | {NM} | {NM} |"
        tps = r.get("tokens_per_sec")
        mfu = r.get("mfu")
        return (f"| {name} | {r.get('batch')} x {r.get('context')} | {r.get('steps')} | {field(r, 'ms_per_step', 2)} | "
                f"{'not reported' if tps is None else f'{tps:,.0f}'} | {field(r, 'model_tflops', 2)} | "
                f"{field(r, ceiling_key)} | {'not reported' if mfu is None else f'{100 * mfu:.1f}%'} | "
                f"{field(r, 'final_loss', 4)} |")

    out.append(row("kiln", kiln, "ceiling_tflops"))
    if eager is None:
        out.append(row("PyTorch eager", None, ""))
    for r in torch:
        out.append(row(cell("PyTorch " + str(r["version"])[len("pytorch "):]), r, "bf16_ceiling_tflops"))
    r = None
    if kiln and eager and kiln.get("tokens_per_sec") and eager.get("tokens_per_sec"):
        r = kiln["tokens_per_sec"] / eager["tokens_per_sec"]
    out += ["", f"kiln / PyTorch eager, tokens/s: {fmt(r, 2)}."]
    if kiln and eager and (kiln.get("batch"), kiln.get("context")) != (eager.get("batch"), eager.get("context")):
        out.append(f"The two ran different batches (kiln {kiln.get('batch')} x {kiln.get('context')}, PyTorch "
                   f"{eager.get('batch')} x {eager.get('context')}): the ratio compares unlike steps.")
    note = why_missing(status, ("bench_gpt2_step", "gpt_torch.py"))
    if (kiln is None or eager is None) and note:
        out.append(f"Not measured{note}.")
    return out + [""], (kiln, eager, r)


def trainers(summary):
    out = ["## Example trainers on the GPU against the CPU (summary.txt)", ""]
    if not summary["trainers"]:
        return out + [f"{NM}: summary.txt has no trainer lines.", ""]
    return out + ["```text"] + summary["trainers"] + ["```", ""]


def other_benchmarks(md, status):
    expected = []
    kernels = os.path.join(REPO, "benchmarks", "kernels")
    if os.path.isdir(kernels):
        expected = sorted(f[:-3] for f in os.listdir(kernels) if f.endswith(".cu"))
    expected.append("bench_train_cnn")
    names = [n for n in md if n not in HEADLINE_SECTIONS]
    names += [n for n in expected if n not in names and n not in HEADLINE_SECTIONS]
    out = ["## Every other benchmark (bench.md's sections)", ""]
    for name in names:
        lines = md.get(name, [])
        while lines and not lines[-1].strip():
            lines = lines[:-1]
        while lines and not lines[0].strip():
            lines = lines[1:]
        out += [f"### {name}", ""]
        if not any(line.strip() for line in lines):
            out += [f"{NM}{why_missing(status, (name,))}.", ""]
            continue
        for line in lines:
            if re.match(r"#+ ", line) and not line.startswith("# "):
                out.append("#" + line)     # its own headings one level down
            elif line.startswith("# "):
                out.append(line[2:] + "  ")  # a comment line, as text
            else:
                out.append(line)
        out.append("")
    return out


# --- the status row and the headline ------------------------------------------------------------

def status_row(summary, date, link):
    tests = NM
    if "tests" in summary:
        p, f, sk, cuda, _ = summary["tests"]
        tests = f"{p} / {f} / {sk}" + (f" ({cuda} CUDA)" if cuda else "")
        if summary.get("bad_exes"):
            tests += "; " + "; ".join(summary["bad_exes"])
    commit = f"`{summary['commit']}`" + (" (uncommitted changes)" if summary.get("dirty") else "") \
        if summary.get("commit") else NM
    bench = summary.get("benchmarks", "not run")
    bench = re.sub(r" in \d+ s$", "", bench)
    missed = len(summary["bench_status"])
    if missed:
        bench += f"; {missed} timed out, failed or not run"
    bench += f" ([results]({link}))"
    cells = [date, summary["device"], commit, tests, summary.get("memcheck", NM), summary.get("racecheck", NM), bench]
    return "| " + " | ".join(cell(c) for c in cells) + " |"


def spread(values):
    return f"{min(values):.2f} to {max(values):.2f}, median {statistics.median(values):.2f}"


def headline(summary, date, link, att, kiln_ceiling, ln, gpt, quick):
    commit = summary.get("commit", "unknown commit")
    lines = [f"### GPU: {summary['device']}, {date} (kiln at {commit}{', quick mode' if quick else ''}) — "
             f"[full tables]({link})", ""]
    for direction, name in (("fwd", "forward"), ("bwd", "backward")):
        rows = att[direction]
        got = [r for r in rows if r[3] is not None]
        missing = [r[0] for r in rows if r[3] is None]
        if not got:
            lines.append(f"- attention {name}, bf16, kiln / PyTorch SDPA: {NM}")
            continue
        pcts = [r[1]["pct_of_ceiling"] for r in got if r[1].get("pct_of_ceiling") is not None]
        text = (f"- attention {name}, bf16, kiln / PyTorch SDPA (> 1: kiln faster): {spread([r[3] for r in got])} "
                f"over {len(got)} of {len(rows)} shapes")
        if pcts:
            text += (f"; kiln at {min(pcts):.1f}% to {max(pcts):.1f}% of the bf16 cuBLAS ceiling"
                     f" ({fmt(kiln_ceiling, 1, ' TFLOP/s')})")
        if missing:
            text += f"; {NM}: {', '.join(missing)}"
        lines.append(text)
    for direction in ("forward", "backward"):
        parts = []
        for d, shape, dtype, kiln, torch, r in ln:
            if d != direction:
                continue
            if r is None:
                parts.append(f"{shape} {dtype} {NM}")
            else:
                parts.append(f"{shape} {dtype} {r:.2f} (kiln {field(kiln, 'pct_of_ceiling')}% of copy)")
        lines.append(f"- layer norm {direction}, kiln / PyTorch: " + ", ".join(parts))
    kiln, eager, r = gpt

    def step(name, rec):
        if rec is None:
            return f"{name} {NM}"
        mfu = rec.get("mfu")
        return (f"{name} {rec.get('tokens_per_sec', 0):,.0f} tokens/s "
                f"(MFU {'not reported' if mfu is None else f'{100 * mfu:.1f}%'})")
    batch = f", batch {kiln.get('batch')} x {kiln.get('context')}" if kiln else ""
    torch_name = "PyTorch " + str(eager["version"])[len("pytorch "):] if eager else "PyTorch eager"
    lines.append(f"- GPT-2 124M step, bf16 autocast{batch}: {step('kiln', kiln)}, {step(torch_name, eager)}; "
                 f"kiln / PyTorch {fmt(r, 2)}")
    for t in summary["trainers"]:
        if not t.startswith("trainers ("):
            lines.append(f"- {t.strip()}")
    if not summary["trainers"]:
        lines.append(f"- trainers: {NM}")
    return lines


# --- main ------------------------------------------------------------------------------------------

def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("outdir", help="the OUTDIR tools/gpu-check.sh wrote")
    ap.add_argument("--out", help="the results file (default: benchmarks/results/<device>-<date>.md; the printed "
                    "links name its file there)")
    ap.add_argument("--force", action="store_true", help="overwrite the results file if it exists")
    a = ap.parse_args(argv)
    try:
        summary = parse_summary(read(a.outdir, "summary.txt", required=True))
        env = parse_env(read(a.outdir, "env.txt"))
        records = parse_jsonl(read(a.outdir, "bench.jsonl"))
        md_header, md = parse_bench_md(read(a.outdir, "bench.md"))
    except ReportError as e:
        print(f"gpu-report: {e}", file=sys.stderr)
        return 2
    m = re.match(r"\d{4}-\d\d-\d\d", env.get("date", ""))
    date = m.group(0) if m else summary["date"]
    if not date:
        print("gpu-report: neither env.txt nor summary.txt gives the date", file=sys.stderr)
        return 2
    out = a.out or os.path.join(REPO, "benchmarks", "results", f"{slug(summary['device'])}-{date}.md")
    if os.path.exists(out) and not a.force:
        print(f"gpu-report: {out} exists; --force overwrites it", file=sys.stderr)
        return 1
    # The link from docs/ to the results file, in benchmarks/results/ where it is committed.
    link = f"../benchmarks/results/{os.path.basename(out)}"
    quick = any(r.get("quick") is True for r in records)
    torch_version = next((r["torch"] for r in records if r.get("torch")), None)

    status = summary["bench_status"]
    att_lines, att, kiln_ceiling = attention(records, md, status)
    ln_lines, ln = layer_norm(records, md, status)
    gpt_lines, gpt = gpt2(records, status)
    commit = env.get("commit") or summary.get("commit", "unknown")
    doc = [f"# {summary['device']}, {date}: tools/gpu-check.sh", "",
           f"Device: {summary['device_line']}  ",
           f"Date: {env.get('date', date)}  ",
           f"Bundle commit: `{commit}`" + (" (with uncommitted changes)" if summary.get("dirty") else "") + "  ",
           f"Host: {env.get('host', 'not recorded')}  "]
    if env.get("nvcc"):
        doc.append(f"nvcc: {env['nvcc']}  ")
    if torch_version:
        doc.append(f"PyTorch: {torch_version}  ")
    doc += [f"Result: {summary.get('result', 'not recorded')}", "",
            "Written by `tools/gpu-report.py` from the check's summary.txt, env.txt, bench.jsonl and bench.md"
            + (" (benchmarks in quick mode: fewer timed runs and shapes, so noisier figures than a full run's)"
               if quick else "") + f". A figure bench.jsonl lacks is marked \"{NM}\".", "",
            "## What ran (summary.txt)", "", "```text"] + summary["lines"] + ["```", ""]
    doc += att_lines + ln_lines + gpt_lines + trainers(summary) + other_benchmarks(md, status)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w", encoding="utf-8") as f:
        f.write("\n".join(doc).rstrip("\n") + "\n")
    print(f"gpu-report: wrote {out}", file=sys.stderr)

    print("docs/gpu.md, \"## Status\" (date | device | commit | tests (pass / fail / skip) | memcheck | racecheck "
          "| benchmarks):")
    print(status_row(summary, date, link))
    print(f"(result: {summary.get('result', 'not recorded')})")
    print()
    print("docs/benchmarks.md, \"### GPU\":")
    print("\n".join(headline(summary, date, link, att, kiln_ceiling, ln, gpt, quick)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
