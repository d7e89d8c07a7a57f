#!/usr/bin/env python3
"""Issue 12's comparison (us, PyTorch, ggml on one machine) from one results folder: a markdown
table on stdout and docs/performance-round2.png.

    /usr/bin/python3 tools/bench/round2.py tools/bench/results/2026-12-05-round2

The folder holds what the commands in docs/performance.md ("Round 2") write: ggml-*/
(tools/bench/ggml/compare.sh; every round of every such folder counts), bench-exact.json and bench-fast.json (./magma bench
--json), pytorch-stages.json and pytorch-lm-head.json (tools/bench/pytorch_baseline.py --only 'stage',
--only 'gemv/LM_HEAD'), and
jmh-stages-exact.json / jmh-stages-fast.json (GptjBlockBenchmark.prefill160, ImageEncodeBenchmark).
Needs matplotlib (Debian: python3-matplotlib).
"""
import json
import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LAYERS = 28


def load(path):
    return json.loads(Path(path).read_text())


def jmh_median_ms(path, name):
    for b in load(path):
        if b["benchmark"].endswith(name):
            p = b["primaryMetric"]
            median = p["scorePercentiles"]["50.0"]
            return median / 1000 if p["scoreUnit"] == "us/op" else median
    raise KeyError(name)


def torch_ms(results, key):
    return results["results"][key]["median_ms"]


def main():
    folder = Path(sys.argv[1])
    pt = load(folder / "pytorch-stages.json")
    if (folder / "pytorch-lm-head.json").exists():
        pt["results"].update(load(folder / "pytorch-lm-head.json")["results"])
    exact = load(folder / "bench-exact.json")
    fast = load(folder / "bench-fast.json")
    # compare.sh runs: every round of every ggml-* folder (a later --rounds run adds to the earlier)
    rounds = {}
    for run in sorted(folder.glob("ggml-*/r*-*.json")):
        side = run.stem.split("-", 1)[1]
        rounds.setdefault(side, []).append(load(run))
    ggml = {side: {key: statistics.median(r[key] for r in runs) for key in ("decodeTokensPerSecond", "prefillSeconds",
                                                                             "decodeWeightGBps", "loadSeconds")}
            | {"rounds": len(runs)} for side, runs in rounds.items()}
    for side, m in sorted(ggml.items()):
        print(f"{side}: median of {m['rounds']} rounds: decode {m['decodeTokensPerSecond']:.3f} tok/s, "
              f"{m['decodeWeightGBps']:.1f} GB/s, prefill {m['prefillSeconds']:.2f} s, load {m['loadSeconds']:.2f} s")

    # PyTorch's first token: image prefix + 28 block prefills + the LM head on the last row.
    torch_ttft = {dt: (torch_ms(pt, f"stage/image_encode/{dt}") + LAYERS * torch_ms(pt, f"stage/block_prefill_160/{dt}")
                       + torch_ms(pt, f"gemv/LM_HEAD/{dt}")) / 1000 for dt in ("bf16", "fp32")}
    torch_decode = {dt: 1000 / (LAYERS * torch_ms(pt, f"stage/block_decode_160/{dt}") + torch_ms(pt, f"gemv/LM_HEAD/{dt}"))
                    for dt in ("bf16", "fp32")}
    block = {
        "ours exact": jmh_median_ms(folder / "jmh-stages-exact.json", "prefill160"),
        "ours fast": jmh_median_ms(folder / "jmh-stages-fast.json", "prefill160"),
        "torch fp32": torch_ms(pt, "stage/block_prefill_160/fp32"),
        "torch bf16": torch_ms(pt, "stage/block_prefill_160/bf16"),
    }
    encoder = {
        "ours exact": jmh_median_ms(folder / "jmh-stages-exact.json", "ImageEncodeBenchmark.encode"),
        "ours fast": jmh_median_ms(folder / "jmh-stages-fast.json", "ImageEncodeBenchmark.encode"),
        "torch fp32": torch_ms(pt, "stage/image_encode/fp32"),
        "torch bf16": torch_ms(pt, "stage/image_encode/bf16"),
    }

    rows = [
        ("time to first token, s (image + 160 positions + LM head)",
         [fast["timeToFirstTokenSeconds"], exact["timeToFirstTokenSeconds"], torch_ttft["bf16"], torch_ttft["fp32"],
          ggml.get("ggml-f16", {}).get("prefillSeconds")]),
        ("decode fp16 (ours) / bf16 / f16, tok/s",
         # decode is the same in both precisions: the fp16 figure is compare.sh's median
         [None, ggml.get("magma-fp16", {}).get("decodeTokensPerSecond"), torch_decode["bf16"],
          torch_decode["fp32"], ggml.get("ggml-f16", {}).get("decodeTokensPerSecond")]),
        ("decode q8 / q8_0, tok/s",
         [None, ggml.get("magma-q8", {}).get("decodeTokensPerSecond"), None, None,
          ggml.get("ggml-q8_0", {}).get("decodeTokensPerSecond")]),
        ("one block, 160-row prefill, ms", [block["ours fast"], block["ours exact"], block["torch bf16"], block["torch fp32"], None]),
        ("image prefix, ms (JMH steady)", [encoder["ours fast"], encoder["ours exact"], encoder["torch bf16"], encoder["torch fp32"],
                                           None]),
    ]
    heads = ["ours fast", "ours exact", "PyTorch bf16", "PyTorch fp32", "ggml (no image, no adapters)"]
    print("| | " + " | ".join(heads) + " |")
    print("|---" * (len(heads) + 1) + "|")
    for name, values in rows:
        print("| " + name + " | " + " | ".join("-" if v is None else f"{v:.3g}" for v in values) + " |")
    print()
    print(f"PyTorch first token bf16 {torch_ttft['bf16']:.2f} s, fp32 {torch_ttft['fp32']:.2f} s; ours fast "
          f"{fast['timeToFirstTokenSeconds']:.2f} s = {fast['timeToFirstTokenSeconds'] / torch_ttft['bf16']:.2f}x bf16; "
          f"block exact / torch fp32 = {block['ours exact'] / block['torch fp32']:.2f}; "
          f"encoder fast / torch bf16 = {encoder['ours fast'] / encoder['torch bf16']:.2f}")
    chart(rows, heads, REPO / "docs/performance-round2.png")


def chart(rows, heads, out):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    picked = [rows[0], rows[1], rows[2]]
    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    colors = ["#1f77b4", "#6baed6", "#d62728", "#ff9896", "#2ca02c"]
    for ax, (name, values) in zip(axes, picked):
        xs = [i for i, v in enumerate(values) if v is not None]
        ax.bar(range(len(xs)), [values[i] for i in xs], color=[colors[i] for i in xs])
        ax.set_xticks(range(len(xs)))
        ax.set_xticklabels([heads[i].replace(" (", "\n(").replace(" ", "\n", 1) for i in xs], fontsize=8)
        ax.set_title(name, fontsize=9)
        for j, i in enumerate(xs):
            ax.text(j, values[i], f"{values[i]:.2f}", ha="center", va="bottom", fontsize=8)
    fig.suptitle("magma-java vs PyTorch vs ggml, full-size MAGMA / GPT-J 6B, 2 threads, one run (lower TTFT, higher tok/s is better)",
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    print(f"chart: {out}")


if __name__ == "__main__":
    sys.exit(main())
