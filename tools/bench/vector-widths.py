#!/usr/bin/python3
"""The pure-Java kernels at three vector widths, one JMH run each, and a table of the ratios.

    /usr/bin/python3 tools/bench/vector-widths.py --run --results tools/bench/results/NAME
    /usr/bin/python3 tools/bench/vector-widths.py --results tools/bench/results/NAME   # table only

Widths: the machine's own (512 bits here), 256 bits as an AVX2 CPU runs (-XX:UseAVX=2: no
AVX-512 instruction at all) and 128 bits as NEON (-XX:MaxVectorSize=16). oneDNN is off
(-Dmagma.onednn=off) so that prefill GEMMs run the pure-Java panels, the path of every machine
oneDNN does not cover; decode GEMVs are pure Java anyway. --run writes jmh-<width>.json per width
and machine.json (load averages before and after each width) into the results folder; the table
(markdown, stdout) is made from those files alone. Times are JMH sample-mode medians (single-shot
iterations' median for the decode step).
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGE = "io.github.magmajava.bench."
BASE_FLAGS = ("--add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xbatch "
              "-XX:+UseTransparentHugePages -Dmagma.onednn=off")
WIDTHS = {
    "default": "",
    "avx2": "-XX:UseAVX=2",
    "128": "-XX:MaxVectorSize=16",
}
BENCHMARKS = "MemoryBandwidth|GemvBenchmark|GemmBenchmark|GptjBlockBenchmark"
UNIT_MS = {"ms/op": 1.0, "s/op": 1000.0, "us/op": 1e-3}
# [out, in] of the LinearShape values.
SHAPES = {"ATTENTION": (4096, 4096), "MLP_UP": (16384, 4096), "MLP_DOWN": (4096, 16384), "LM_HEAD": (50400, 4096)}


def run(results, include, extra):
    results.mkdir(parents=True, exist_ok=True)
    subprocess.run([str(REPO / "tools/mvn"), "-q", "-B", "-DskipTests", "-pl", "magma-bench", "-am", "package"],
                   check=True, cwd=REPO)
    java = subprocess.run([str(REPO / "tools/find-jdk")], check=True, capture_output=True, text=True).stdout.strip()
    machine = {"cpu": cpu_name(), "python_platform": platform.platform(), "loadavg": {}}
    for width, flags in WIDTHS.items():
        before = os.getloadavg()
        cmd = [java + "/bin/java", "-jar", str(REPO / "magma-bench/target/benchmarks.jar"), include,
               "-p", "threads=2", *extra, "-jvmArgsAppend", f"{BASE_FLAGS} {flags}".strip(),
               "-rf", "json", "-rff", str(results / f"jmh-{width}.json")]
        print("+", " ".join(cmd), flush=True)
        subprocess.run(cmd, check=True, cwd=REPO)
        machine["loadavg"][width] = {"before": before, "after": os.getloadavg()}
    (results / "machine.json").write_text(json.dumps(machine, indent=2) + "\n")


def cpu_name():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def medians(path):
    out = {}
    for b in json.loads(path.read_text()):
        pm = b["primaryMetric"]
        scale = UNIT_MS[pm["scoreUnit"]]
        if b["mode"] == "sample":
            median = pm["scorePercentiles"]["50.0"]
        else:
            median = statistics.median(v for fork in pm["rawData"] for v in fork)
        params = b.get("params", {})
        label = b["benchmark"].removeprefix(PACKAGE) + "".join(
            f" {v}" for k, v in sorted(params.items()) if k != "threads")
        out[label] = (median * scale, params)
    return out


def throughput(label, ms, params):
    """GB/s for bandwidth-bound rows, GFLOP/s for GEMMs, else ''."""
    if label.startswith("MemoryBandwidth"):
        return f"{(512 << 20) / ms / 1e6:.1f} GB/s"
    if label.startswith("GemvBenchmark"):
        out, inp = SHAPES[params["shape"]]
        per_weight = 2 if params["weights"] == "fp16" else 1 + 2 / 32
        return f"{out * inp * per_weight / ms / 1e6:.1f} GB/s"
    if label.startswith("GemmBenchmark"):
        out, inp = SHAPES[params["shape"]]
        return f"{2 * 160 * out * inp / ms / 1e6:.0f} GFLOP/s"
    return ""


def table(results):
    runs = {w: medians(results / f"jmh-{w}.json") for w in WIDTHS if (results / f"jmh-{w}.json").exists()}
    if "default" not in runs:
        sys.exit(f"{results}: no jmh-default.json; run with --run first")
    widths = [w for w in WIDTHS if w in runs]
    head = "| benchmark (2 threads) | " + " | ".join(
        f"{w} ms" + ("" if w == "default" else f" | {w} speed vs default") for w in widths) + " |"
    print(head)
    print("|" + "---|" * (1 + len(widths) + (len(widths) - 1)))
    for label, (ms, params) in runs["default"].items():
        cells = [f"{ms:.2f} ({throughput(label, ms, params)})" if throughput(label, ms, params) else f"{ms:.2f}"]
        for w in widths[1:]:
            hit = runs[w].get(label)
            if hit is None:
                cells += ["—", "—"]
                continue
            t = throughput(label, hit[0], hit[1])
            cells.append(f"{hit[0]:.2f}" + (f" ({t})" if t else ""))
            # For times, speed relative to default: default time / this time (1.00 = as fast).
            cells.append(f"{ms / hit[0]:.2f}")
        print(f"| {label} | " + " | ".join(cells) + " |")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", action="store_true", help="run JMH at every width first")
    ap.add_argument("--results", type=Path, required=True, help="folder for the JSON files")
    ap.add_argument("--include", default=BENCHMARKS, help=f"JMH benchmark regexp (default {BENCHMARKS})")
    ap.add_argument("--jmh-args", default="", help="more JMH arguments, e.g. '-wi 1 -i 1' for a smoke run")
    args = ap.parse_args()
    if args.run:
        run(args.results, args.include, args.jmh_args.split())
    table(args.results)


if __name__ == "__main__":
    main()
