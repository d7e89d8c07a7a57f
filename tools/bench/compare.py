#!/usr/bin/python3
"""Runs magma-bench (JMH) and the PyTorch baseline, and writes docs/performance.md and its chart.

    /usr/bin/python3 tools/bench/compare.py --run --results tools/bench/results/NAME [--openblas DIR]
    /usr/bin/python3 tools/bench/compare.py --results tools/bench/results/NAME        # report only

--run writes into the results folder: jmh-kernels.json (memory bandwidth, GEMV, GEMM at 1 and 2
threads), jmh-rest.json (everything else at 2 threads), pytorch.json and machine.json (load
averages before and after, CPU, versions). The report is made from those files alone, so a run can
be re-rendered later. Times are medians of single calls (JMH sample mode, or the single-shot
iterations of the decode step; pytorch_baseline.py times call by call): on a shared machine,
stalls caused by other processes inflate means much more than medians.

Needs matplotlib (Debian: apt-get install python3-matplotlib).
"""

import argparse
import json
import os
import platform
import re
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHAPES = json.loads((REPO / "tools/bench/shapes.json").read_text())
JMH_KERNELS = ["MemoryBandwidth|GemvBenchmark|GemmBenchmark"]
JMH_REST = ["ConvBenchmark|AttentionBenchmark|ElementwiseBenchmark|ImageEncodeBenchmark|GptjBlockBenchmark", "-p", "threads=2"]
PACKAGE = "io.github.magmajava.bench."


def sh(cmd, **kw):
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, cwd=REPO, **kw)


def machine_info():
    def first(pattern, text):
        m = re.search(pattern, text, re.M)
        return m.group(1).strip() if m else None
    cpuinfo = Path("/proc/cpuinfo").read_text()
    meminfo = Path("/proc/meminfo").read_text()
    java = subprocess.run([str(REPO / "tools/find-jdk")], capture_output=True, text=True).stdout.strip()
    version = subprocess.run([java + "/bin/java", "-version"], capture_output=True, text=True).stderr.splitlines()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=REPO).stdout.strip()
    return {"cpu": first(r"^model name\s*:\s*(.*)$", cpuinfo), "cores": os.cpu_count(),
            "avx512_bf16": "avx512_bf16" in cpuinfo, "memory_gib": round(int(first(r"^MemTotal:\s*(\d+)", meminfo)) / 2**20, 1),
            "kernel": platform.release(), "java": version[1] if len(version) > 1 else version, "commit": commit}


def run(results, openblas, omp_wait_policy, jmh_args, torch_args):
    results.mkdir(parents=True, exist_ok=True)
    info = machine_info()
    info["load_average_before"] = os.getloadavg()
    info["started"] = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    jmh = str(REPO / "tools/bench/run-jmh.sh")
    sh([jmh, *JMH_KERNELS, *jmh_args, "-rf", "json", "-rff", str(results / "jmh-kernels.json")])
    info["load_average_after_jmh_kernels"] = os.getloadavg()
    sh([jmh, *JMH_REST, *jmh_args, "-rf", "json", "-rff", str(results / "jmh-rest.json")])
    info["load_average_after_jmh"] = os.getloadavg()
    env = dict(os.environ)
    if omp_wait_policy != "default":
        env["OMP_WAIT_POLICY"] = omp_wait_policy
    if openblas:
        env["LD_LIBRARY_PATH"] = str(openblas) + (":" + env["LD_LIBRARY_PATH"] if env.get("LD_LIBRARY_PATH") else "")
    info["pytorch_env"] = {k: env[k] for k in ("OMP_WAIT_POLICY", "LD_LIBRARY_PATH") if k in env}
    sh(["/usr/bin/python3", str(REPO / "tools/bench/pytorch_baseline.py"), str(results / "pytorch.json"), *torch_args], env=env)
    info["load_average_after"] = os.getloadavg()
    info["finished"] = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    (results / "machine.json").write_text(json.dumps(info, indent=2) + "\n")


# ----------------------------------------------------------------------------------------------
# Reading results

UNIT_MS = {"ms/op": 1.0, "us/op": 1e-3, "ns/op": 1e-6, "s/op": 1e3}


def jmh_results(results):
    """{(short benchmark name, frozenset(params)) : median ms per call}."""
    out = {}
    for name in ("jmh-kernels.json", "jmh-rest.json"):
        path = results / name
        if not path.exists():
            continue
        for b in json.loads(path.read_text()):
            pm = b["primaryMetric"]
            scale = UNIT_MS[pm["scoreUnit"]]
            if b["mode"] == "sample":
                median = pm["scorePercentiles"]["50.0"]
            else:  # single shot: the median iteration (already per operation)
                median = statistics.median(v for fork in pm["rawData"] for v in fork)
            key = (b["benchmark"].removeprefix(PACKAGE), frozenset(b.get("params", {}).items()))
            out[key] = {"median_ms": median * scale, "mean_ms": pm["score"] * scale}
    return out


class Results:
    def __init__(self, results):
        self.dir = results
        self.jmh = jmh_results(results)
        self.torch = json.loads((results / "pytorch.json").read_text()) if (results / "pytorch.json").exists() else {"results": {}}
        self.machine = json.loads((results / "machine.json").read_text()) if (results / "machine.json").exists() else {}

    def ours(self, bench, **params):
        hit = self.jmh.get((bench, frozenset((k, str(v)) for k, v in params.items())))
        return hit["median_ms"] if hit else None

    def theirs(self, entry):
        hit = self.torch["results"].get(entry)
        return hit.get("median_ms") if hit else None


# ----------------------------------------------------------------------------------------------
# Formatting

def ms(v):
    if v is None:
        return "—"
    if v >= 100:
        return f"{v:,.0f}"
    if v >= 10:
        return f"{v:.1f}"
    if v >= 0.1:
        return f"{v:.2f}"
    return f"{v:.4f}"


def ratio(ours, theirs):
    return None if ours is None or theirs is None else ours / theirs


def fmt_ratio(r):
    return "—" if r is None else f"**{r:.2f}x**" if r >= 1 else f"{r:.2f}x"


def best(*values):
    present = [v for v in values if v is not None]
    return min(present) if present else None


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def report(results, doc, chart):
    r = Results(results)
    m = r.machine
    t = r.torch
    chart_rows = []  # (group, label, ratio)
    sections = []

    # Memory bandwidth
    bw = SHAPES["memory_bandwidth_bytes"]
    membw = {n: r.ours("MemoryBandwidth.sum", threads=n) for n in (1, 2)}
    gbs = {n: (bw / (v * 1e6) if v else None) for n, v in membw.items()}
    torch_bw = r.theirs("membw/fp32")
    sections.append("### Memory bandwidth\n\nA vectorized float sum over a 512 MiB native segment (`MemoryBandwidth`), the "
                    "ceiling of every decode GEMV; PyTorch: `torch.sum` of a 512 MiB float32 tensor.\n\n" + table(
                        ["", "1 thread", "2 threads", "PyTorch (2 threads)"],
                        [["time (ms)", ms(membw[1]), ms(membw[2]), ms(torch_bw)],
                         ["GB/s", f"{gbs[1]:.1f}" if gbs[1] else "—", f"{gbs[2]:.1f}" if gbs[2] else "—",
                          f"{bw / (torch_bw * 1e6):.1f}" if torch_bw else "—"]]))
    peak = max((v for v in gbs.values() if v), default=None)

    # GEMV
    rows = []
    for name, s in SHAPES["linear"].items():
        o1 = r.ours("GemvBenchmark.gemv", shape=name, threads=1, weights="fp16")
        o2 = r.ours("GemvBenchmark.gemv", shape=name, threads=2, weights="fp16")
        q8 = best(r.ours("GemvBenchmark.gemv", shape=name, threads=1, weights="q8"),
                  r.ours("GemvBenchmark.gemv", shape=name, threads=2, weights="q8"))
        bf16, fp32 = r.theirs(f"gemv/{name}/bf16"), r.theirs(f"gemv/{name}/fp32")
        mb = 2 * s["out"] * s["in"] / 1e6
        q8_mb = s["out"] * s["in"] * (1 + 2 / 32) / 1e6
        ours_best = best(o1, o2)
        gb = mb / ours_best if ours_best else None
        q8_gb = q8_mb / q8 if q8 else None
        rr = ratio(ours_best, best(bf16, fp32))
        chart_rows.append(("GEMV (1 row)", f"{s['out']}x{s['in']}", rr))
        rows.append([f"{s['out']} x {s['in']} ({s['weight']})", f"{mb:.0f}", ms(o1), ms(o2),
                     f"{gb:.1f}" if gb else "—", f"{100 * gb / peak:.0f} %" if gb and peak else "—",
                     ms(q8), f"{q8_gb:.1f}" if q8_gb else "—", ms(bf16), ms(fp32), fmt_ratio(rr),
                     fmt_ratio(ratio(q8, best(bf16, fp32)))])
    fp16 = t["results"].get("gemv/ATTENTION/fp16", {})
    sections.append("### GEMV: one decode row through an fp16 or int8 weight\n\n`GemvBenchmark` (`Linear.forward` with 1 "
                    "row: the streaming path, fp16 widened in registers, four rows per read of x; each call takes the next "
                    "of several copies of the weight, 256 MB or more in all, so that it comes from memory, not from the "
                    "last-level cache). GB/s = weight bytes / time of the faster thread count; \"% of bandwidth\" compares "
                    "it with the best `MemoryBandwidth` figure above. q8: `--weights q8`, int8 blocks of 32 with an fp16 "
                    "scale (1.06 bytes per weight), faster thread count. PyTorch: `F.linear` on a 1-row input with bf16 and "
                    "fp32 weights (it has no fp16 matmul on the CPU: "
                    f"`{fp16.get('error', 'n/a')}`).\n\n" + table(
                        ["weight [out x in]", "fp16 MB", "fp16 1 thr (ms)", "fp16 2 thr (ms)", "fp16 GB/s", "% of bandwidth",
                         "q8 (ms)", "q8 GB/s", "torch bf16 (ms)", "torch fp32 (ms)", "fp16 / best torch",
                         "q8 / best torch"], rows))

    # GEMM
    rows = []
    n_rows = SHAPES["gemm_rows"]
    for name in SHAPES["gemm_shapes"]:
        s = SHAPES["linear"][name]
        gflop = 2 * n_rows * s["out"] * s["in"] / 1e9
        o1, o2 = r.ours("GemmBenchmark.gemm", shape=name, threads=1), r.ours("GemmBenchmark.gemm", shape=name, threads=2)
        bf16, fp32 = r.theirs(f"gemm/{name}/bf16"), r.theirs(f"gemm/{name}/fp32")
        rate = lambda v: f"{gflop / (v / 1e3):.0f}" if v else "—"  # noqa: E731
        rr = ratio(best(o1, o2), best(bf16, fp32))
        chart_rows.append(("GEMM (160 rows)", f"{s['out']}x{s['in']}", rr))
        rows.append([f"{s['out']} x {s['in']} ({s['weight']})", f"{gflop:.1f}", ms(o1), ms(o2), rate(best(o1, o2)),
                     f"{ms(bf16)} ({rate(bf16)})", f"{ms(fp32)} ({rate(fp32)})", fmt_ratio(rr)])
    sections.append(f"### GEMM: a {n_rows}-row prefill through an fp16 weight\n\n`GemmBenchmark` (the panel path: fp16 "
                    "widened per 16-row panel, 4 x 4 register tiles). PyTorch: `F.linear` with bf16 and fp32 weights; "
                    "GFLOP/s in parentheses.\n\n" + table(
                        ["weight [out x in]", "GFLOP", "ours 1 thr (ms)", "ours 2 thr (ms)", "ours GFLOP/s",
                         "torch bf16 (ms, GFLOP/s)", "torch fp32 (ms, GFLOP/s)", "ours / best torch"], rows))

    # Convolutions
    rows = []
    total = {"ours": 0.0, "fp32": 0.0, "cl": 0.0, "bf16": 0.0}
    for name, c in SHAPES["conv"].items():
        o = c["size"] // c["stride"]
        gflop = 2 * o * o * c["out"] * c["in"] * c["kernel"] ** 2 / 1e9
        ours = r.ours("ConvBenchmark.conv", shape=name, threads=2)
        fp32, cl, bf16 = (r.theirs(f"conv/{name}/{v}") for v in ("fp32", "fp32_channels_last", "bf16"))
        rr = ratio(ours, best(fp32, cl, bf16))
        chart_rows.append(("Convolution", name.lower(), rr))
        rows.append([name.lower(), f"{c['in']}->{c['out']} k{c['kernel']} s{c['stride']} @{c['size']}", f"{gflop:.2f}", ms(ours),
                     f"{gflop / (ours / 1e3):.0f}" if ours else "—", ms(fp32), ms(cl), ms(bf16), fmt_ratio(rr)])
    sections.append("### Convolutions of RN50x16 (one of each kind, 2 threads)\n\n`ConvBenchmark`: BatchNorm folded, fp32 "
                    "weights with bias, im2col + panel GEMM. PyTorch: `nn.Conv2d` with bias (oneDNN), batch 1.\n\n" + table(
                        ["conv", "shape", "GFLOP", "ours (ms)", "ours GFLOP/s", "torch fp32", "torch fp32 channels_last",
                         "torch bf16", "ours / best torch"], rows))

    # Attention
    rows = []
    for name, c in SHAPES["attention"]["cases"].items():
        ours = r.ours("AttentionBenchmark.attention", attention=name, threads=2)
        fp32, bf16 = r.theirs(f"attention/{name}/fp32"), r.theirs(f"attention/{name}/bf16")
        rr = ratio(ours, best(fp32, bf16))
        chart_rows.append(("Attention", name.lower(), rr))
        rows.append([name.lower(), c["rows"], c["start"] + c["rows"], ms(ours), ms(fp32), ms(bf16), fmt_ratio(rr)])
    sections.append("### Attention (16 heads x 256, 2 threads)\n\n`AttentionBenchmark` (`Backend.attention`: scores, "
                    "causal softmax, weighted values; q and the cache in fp32). PyTorch: the same in matmuls, scores in "
                    "fp32 as Hugging Face's GPT-J, probabilities times values in fp32 or bf16.\n\n" + table(
                        ["case", "query rows", "keys", "ours (ms)", "torch fp32 (ms)", "torch bf16 (ms)", "ours / best torch"],
                        rows))

    # Elementwise
    rows = []
    for op, bench, entry in (("LayerNorm(4096)", "layerNorm", "layernorm"), ("RoPE on q", "rope", "rope"),
                             ("gelu_new on [rows, 16384]", "gelu", "gelu")):
        for n in SHAPES["elementwise"]["rows"]:
            ours = r.ours(f"ElementwiseBenchmark.{bench}", backend="cpu", rows=n)
            ref = r.ours(f"ElementwiseBenchmark.{bench}", backend="reference", rows=n)
            theirs = r.theirs(f"{entry}/{n}/fp32")
            rr = ratio(ours, theirs)
            chart_rows.append(("Row-wise", f"{bench} x{n}", rr))
            rows.append([op, n, ms(ours), ms(ref), ms(theirs), fmt_ratio(rr)])
    sections.append("### Row-wise kernels (one thread in both backends)\n\n`ElementwiseBenchmark`; PyTorch fp32 "
                    "(`nn.LayerNorm`, the rotate-every-two RoPE in tensor ops, `F.gelu(approximate='tanh')`).\n\n" + table(
                        ["op", "rows", "cpu backend (ms)", "reference backend (ms)", "torch fp32 (ms)", "ours / torch"], rows))

    # Stages
    rows = []
    enc = r.ours("ImageEncodeBenchmark.encode", threads=2)
    tv = {v: r.theirs(f"stage/image_encode/{v}") for v in ("fp32", "fp32_channels_last", "bf16")}
    rr = ratio(enc, best(*tv.values()))
    chart_rows.append(("Stage", "image encode", rr))
    rows.append(["image prefix: RN50x16 + proj + LayerNorm, 384x384", ms(enc), ms(tv["fp32"]), ms(tv["fp32_channels_last"]),
                 ms(tv["bf16"]), fmt_ratio(rr)])
    prompt = SHAPES["stages"]["prompt"]
    for label, bench, entry in (("one GPT-J block, 160-token prefill", "GptjBlockBenchmark.prefill160", f"block_prefill_{prompt}"),
                                ("one GPT-J block, one decode step (160 cached)", "GptjBlockBenchmark.decodeStepAfter160",
                                 f"block_decode_{prompt}")):
        ours = r.ours(bench, threads=2)
        fp32, bf16 = r.theirs(f"stage/{entry}/fp32"), r.theirs(f"stage/{entry}/bf16")
        rr = ratio(ours, best(fp32, bf16))
        chart_rows.append(("Stage", label.replace("one GPT-J block, ", "block "), rr))
        rows.append([label, ms(ours), ms(fp32), "—", ms(bf16), fmt_ratio(rr)])
    prefill = r.ours("GptjBlockBenchmark.prefill160", threads=2)
    decode = r.ours("GptjBlockBenchmark.decodeStepAfter160", threads=2)
    head = best(r.ours("GemvBenchmark.gemv", shape="LM_HEAD", threads=1, weights="fp16"),
                r.ours("GemvBenchmark.gemv", shape="LM_HEAD", threads=2, weights="fp16"))
    estimate = ""
    if enc and prefill and decode and head:
        first = enc + 28 * prefill + head
        per_token = 28 * decode + head
        estimate = (f"\n\nFrom these, a whole MAGMA generation (28 blocks) on this machine would take about "
                    f"**{first / 1e3:.1f} s to the first token** (image prefix + 28 block prefills + LM head) and "
                    f"**{per_token / 1e3:.1f} s per further token** (28 block decode steps + the LM-head GEMV), i.e. "
                    f"{28 * 2 * (4 * 4096 * 4096 + 2 * 16384 * 4096 + 2 * 1024 * 4096) / 1e9 + 2 * 50400 * 4096 / 1e9:.1f} GB "
                    "of fp16 weights read per token.")
    sections.append("### Stages (2 threads)\n\n`ImageEncodeBenchmark`, `GptjBlockBenchmark` (one block with its adapter at "
                    "full size, random fp16 weights; the decode step is single-shot: 8 steps per iteration after an "
                    "untimed 160-row prefill, so the cache holds 160 to 167 positions). PyTorch: eager modules built from "
                    "SPEC.md (CLIP from `tools/fixtures/magma_reference.py`, BatchNorm unfused), `torch.inference_mode()`.\n\n"
                    + table(["stage", "ours (ms)", "torch fp32 (ms)", "torch fp32 channels_last (ms)", "torch bf16 (ms)",
                             "ours / best torch"], rows) + estimate)

    draw(chart_rows, chart)
    chart_link = os.path.relpath(chart, doc.parent)
    generated = ("### The run\n\n" + run_table(m, t, results) + f"\n\n![ours / PyTorch per benchmark]({chart_link})\n\n"
                 "Times are medians of single calls in milliseconds. Ratios are ours / PyTorch's fastest variant: "
                 "**bold at or above 1x** (PyTorch faster); below 1x magma-java is faster.\n\n" + "\n\n".join(sections))
    splice(doc, generated)
    print(f"wrote {doc} and {chart}")


def run_table(m, t, results):
    rel = os.path.relpath(results, REPO)
    blas = ", ".join(Path(b).name for b in t.get("blas", [])) or "unknown"
    omp = m.get("pytorch_env", {}).get("OMP_WAIT_POLICY", "unset")
    return table(["", ""], [
        ["when", f"{m.get('started', '?')} to {m.get('finished', '?')}, commit `{m.get('commit', '?')}`"],
        ["CPU", f"{m.get('cpu', '?')}, {m.get('cores', '?')} cores (a VM), AVX-512{' with BF16' if m.get('avx512_bf16') else ''}, "
                f"{m.get('memory_gib', '?')} GiB"],
        ["load average (1, 5, 15 min)", f"before {fmt_load(m.get('load_average_before'))}; after the JMH runs "
                                        f"{fmt_load(m.get('load_average_after_jmh'))}; at the end {fmt_load(m.get('load_average_after'))}"],
        ["Java", f"{m.get('java', '?')}, JMH 1.37"],
        ["PyTorch", f"{t.get('torch', '?')}, {t.get('threads', '?')} threads, oneDNN {'on' if t.get('mkldnn') else 'off'}, "
                    f"BLAS `{blas}`, `OMP_WAIT_POLICY={omp}`"],
        ["raw results", f"[`{rel}/`](../{rel}/)"],
    ])


def fmt_load(load):
    return "—" if not load else ", ".join(f"{v:.1f}" for v in load)


BEGIN = "<!-- BEGIN GENERATED by tools/bench/compare.py: edits here are overwritten -->"
END = "<!-- END GENERATED -->"


def splice(doc, generated):
    """Replaces the generated block of doc (the prose around it is kept), or starts a new doc."""
    block = f"{BEGIN}\n\n{generated}\n\n{END}"
    if doc.exists() and BEGIN in doc.read_text():
        text = doc.read_text()
        text = text[:text.index(BEGIN)] + block + text[text.index(END) + len(END):]
    else:
        text = f"# Performance\n\n{block}\n"
    doc.write_text(text)


def draw(chart_rows, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [row for row in chart_rows if row[2] is not None]
    fig, ax = plt.subplots(figsize=(9, 0.28 * len(rows) + 1.6))
    labels = [f"{g}: {label}" for g, label, _ in rows]
    values = [v for _, _, v in rows]
    groups = sorted({g for g, _, _ in rows}, key=[g for g, _, _ in rows].index)
    colours = dict(zip(groups, plt.cm.tab10.colors))
    y = list(range(len(rows)))[::-1]
    ax.barh(y, values, color=[colours[g] for g, _, _ in rows])
    ax.set_xscale("log")
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_yticks(y)
    ax.set_yticklabels(labels, fontsize=7)
    ax.set_xlabel("time ours / time PyTorch's best variant (log scale; < 1: magma-java faster)")
    ax.set_title("magma-java vs PyTorch 1.13 on the same 2-core CPU (medians, shared machine: rough)", fontsize=9)
    for yi, v in zip(y, values):
        ax.text(v, yi, f" {v:.0f}x" if v >= 10 else f" {v:.2f}x", va="center", fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, required=True, help="folder with (or for) jmh-*.json, pytorch.json, machine.json")
    parser.add_argument("--run", action="store_true", help="run the benchmarks first (takes about an hour on 2 loaded cores)")
    parser.add_argument("--openblas", type=Path, help="folder with OpenBLAS's libblas.so.3 for PyTorch's fp32 (tools/bench/fetch-openblas.sh)")
    parser.add_argument("--omp-wait-policy", default="PASSIVE", help="OMP_WAIT_POLICY for PyTorch: PASSIVE (the default, for a shared machine), ACTIVE, or 'default' to leave it unset")
    parser.add_argument("--jmh-args", default="", help="extra JMH arguments, e.g. '-wi 5 -i 10' (longer) or '-wi 1 -i 1 -r 1' (a smoke test)")
    parser.add_argument("--torch-args", default="", help="extra pytorch_baseline.py arguments, e.g. '--time 10'")
    parser.add_argument("--doc", type=Path, default=REPO / "docs/performance.md")
    parser.add_argument("--chart", type=Path, default=REPO / "docs/performance.png")
    args = parser.parse_args()
    results = args.results.resolve()
    if args.run:
        run(results, args.openblas, args.omp_wait_policy, shlex.split(args.jmh_args), shlex.split(args.torch_args))
    report(results, args.doc, args.chart)


if __name__ == "__main__":
    sys.exit(main())
