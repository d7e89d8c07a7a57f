#!/usr/bin/python3
"""Tabulates tools/bench/onednn-builds.sh's results (docs/nd4j.md, "Which build, measured").

    /usr/bin/python3 tools/bench/onednn-builds-table.py [magma-bench/target/onednn-builds]

One row per benchmark (and shape), one column per configuration, in a fixed order: the builds from
the most demanding, then the imitated older CPUs, then pure Java. Each round gives a median time of
single calls (JMH sample mode: on a shared machine, stalls of other processes inflate means much
more than medians). A cell shows the lowest of the rounds' medians (other processes only ever add
time, and on a shared 2-core machine a round often lands in minutes when another process holds a
core, doubling every time), its GFLOP/s, its ratio to the first configuration's lowest, and every
round's median, round 1 first.
"""

import json
import re
import statistics
import sys
from collections import defaultdict
from pathlib import Path

folder = Path(sys.argv[1] if len(sys.argv) > 1 else "magma-bench/target/onednn-builds")
FLOPS = {  # per call: GEMM 2 * 160 * in * out; convolutions 2 * out * in * k * k * outSize^2
    "gemm ATTENTION": 2 * 160 * 4096 * 4096, "gemm MLP_UP": 2 * 160 * 4096 * 16384, "gemm MLP_DOWN": 2 * 160 * 16384 * 4096,
    "conv STEM2": 2 * 48 * 48 * 9 * 192 * 192, "conv LAYER1_3X3": 2 * 96 * 96 * 9 * 96 * 96,
    "conv LAYER3_3X3": 2 * 384 * 384 * 9 * 24 * 24, "conv LAYER4_1X1_OUT": 2 * 768 * 3072 * 12 * 12,
}

ORDER = ["onednn-avx512", "onednn-avx2", "onednn", "onednn-avx2-AVX2", "onednn-AVX", "onednn-SSE41", "off"]
medians = defaultdict(dict)  # (round, config) -> {row: median ms}
files = []
for f in folder.glob("*.json"):
    m = re.fullmatch(r"(\d+)-(.+)\.json", f.name)
    if m and f.stat().st_size > 0:
        files.append((int(m.group(1)), m.group(2), f))
configs = sorted({c for _, c, _ in files}, key=lambda c: (ORDER.index(c) if c in ORDER else len(ORDER), c))
for rnd, config, f in sorted(files, key=lambda t: t[0]):
    for r in json.loads(f.read_text()):
        name = r["benchmark"].rsplit(".", 1)[1] + (" " + r["params"]["shape"] if "shape" in r["params"] else "")
        medians[(rnd, config)][name] = r["primaryMetric"]["scorePercentiles"]["50.0"]

rows = []
for values in medians.values():
    rows += [n for n in values if n not in rows]
print("| " + " | ".join(["median ms per call: best round (all rounds)"] + configs) + " |")
print("|" + "---|" * (len(configs) + 1))
for row in rows:
    cells = [row]
    best = {c: min((v[row] for (_, c2), v in medians.items() if c2 == c and row in v), default=None) for c in configs}
    for config in configs:
        times = [v[row] for (_, c), v in medians.items() if c == config and row in v]
        if not times:
            cells.append("")
            continue
        cell = f"**{min(times):.1f}**"
        if row in FLOPS:
            cell += f" ({FLOPS[row] / min(times) / 1e6:.0f} GF/s)"
        if config != configs[0] and best[configs[0]]:
            cell += f" x{min(times) / best[configs[0]]:.2f}"
        if len(times) > 1:
            cell += " (" + ", ".join(f"{t:.0f}" if t >= 100 else f"{t:.1f}" for t in times) + ")"
        cells.append(cell)
    print("| " + " | ".join(cells) + " |")
print(f"\n{len({rnd for rnd, _ in medians})} round(s). Best round: the lowest of the rounds' medians (other processes only ever"
      f" add time); x: that relative to {configs[0]}'s; in parentheses every round's median, round 1 first.")
