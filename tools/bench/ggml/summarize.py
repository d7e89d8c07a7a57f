#!/usr/bin/env python3
"""Summarizes a tools/bench/ggml/compare.sh results directory: summary.md and summary.json.

    /usr/bin/python3 tools/bench/ggml/summarize.py DIR

Per side: the median over the rounds (not the best) of load s, prefill s (160 positions), decode
tok/s and s/token, weight GB/s (bytes read per decode token / s per token), and every round.
"""
import json
import os
import statistics
import sys

SIDES = ["ggml-f16", "magma-fp16", "ggml-q8_0", "magma-q8"]
FIELDS = [  # key, header, format
    ("loadSeconds", "load s", "%.2f"),
    ("prefillSeconds", "prefill s", "%.2f"),
    ("prefillTokensPerSecond", "prefill tok/s", "%.1f"),
    ("decodeTokensPerSecond", "decode tok/s", "%.3f"),
    ("decodeSecondsPerToken", "s/token", "%.3f"),
    ("decodeWeightGBps", "weight GB/s", "%.1f"),
    ("decodeWeightBytesPerToken", "GB/token", None),
]


def row(d):
    """The common fields of one run's JSON (ggml_run.py's or magma bench --json's)."""
    r = {k: d.get(k) for k, _, _ in FIELDS}
    if r["decodeSecondsPerToken"] is None and d.get("decodeTokensPerSecond"):
        r["decodeSecondsPerToken"] = 1 / d["decodeTokensPerSecond"]
    r["prefillTokens"] = d.get("prefillTokens", d.get("promptTokens"))
    r["imageEncodeSeconds"] = d.get("imageEncodeSeconds")
    r["readBandwidthGBps"] = d.get("readBandwidthGBps")
    return r


def fmt(v, f):
    if v is None:
        return "-"
    if f is None:
        return "%.2f" % (v / 1e9)
    return f % v


def main():
    out = sys.argv[1]
    runs = [json.loads(line) for line in open(os.path.join(out, "runs.jsonl")) if line.strip()]
    for r in runs:
        path = os.path.join(out, r["json"])
        r["result"] = None
        if r["rc"] == 0 and os.path.exists(path):
            try:
                r["result"] = row(json.load(open(path)))
            except ValueError:
                pass
    sides = [s for s in SIDES if any(r["side"] == s for r in runs)]
    medians = {}
    for s in sides:
        ok = [r["result"] for r in runs if r["side"] == s and r["result"]]
        m = {"runs": len(ok), "failed": sum(1 for r in runs if r["side"] == s and not r["result"])}
        for k in [f[0] for f in FIELDS] + ["imageEncodeSeconds", "readBandwidthGBps", "prefillTokens"]:
            vals = [x[k] for x in ok if x.get(k) is not None]
            m[k] = statistics.median(vals) if vals else None
        medians[s] = m
    setup = open(os.path.join(out, "setup.txt")).read() if os.path.exists(os.path.join(out, "setup.txt")) else ""
    json.dump({"setup": setup, "medians": medians, "runs": runs}, open(os.path.join(out, "summary.json"), "w"), indent=2)

    md = ["# magma-java against ggml's GPT-J example", "", "```", setup.rstrip(), "```", ""]
    n = max((m["runs"] for m in medians.values()), default=0)
    md.append("Median of %d round(s) per side (every round below). 160 positions: magma 144 image + 16 prompt tokens"
              " (image encode not included in prefill); ggml a 160-token text prompt. Decode: one token at a time"
              " after them. GB/token: weights read per decode token (MAGMA's GPT-J carries adapters; the token"
              " embedding counts one row)." % n)
    md.append("")
    md.append("| side | " + " | ".join(h for _, h, _ in FIELDS) + " | runs |")
    md.append("|---" * (len(FIELDS) + 2) + "|")
    for s in sides:
        m = medians[s]
        md.append("| %s | %s | %d%s |" % (s, " | ".join(fmt(m[k], f) for k, _, f in FIELDS), m["runs"],
                                         " (%d failed)" % m["failed"] if m["failed"] else ""))
    md.append("")
    for a, b in (("magma-fp16", "ggml-f16"), ("magma-q8", "ggml-q8_0")):
        if a in medians and b in medians and medians[a]["decodeTokensPerSecond"] and medians[b]["decodeTokensPerSecond"]:
            ma, mb = medians[a], medians[b]
            md.append("- %s / %s: decode tok/s x%.2f, weight GB/s x%.2f, prefill time x%.2f, load time x%.2f"
                      % (a, b, ma["decodeTokensPerSecond"] / mb["decodeTokensPerSecond"],
                         ma["decodeWeightGBps"] / mb["decodeWeightGBps"],
                         ma["prefillSeconds"] / mb["prefillSeconds"], ma["loadSeconds"] / mb["loadSeconds"]))
    extra = [s for s in sides if s.startswith("magma") and medians[s]["imageEncodeSeconds"] is not None]
    for s in extra:
        md.append("- %s: image encode %.2f s (not in prefill), read bandwidth measured by bench %.1f GB/s"
                  % (s, medians[s]["imageEncodeSeconds"], medians[s]["readBandwidthGBps"] or float("nan")))
    md += ["", "## Every round", "",
           "| round | side | start (UTC) | load avg before | load avg after | " + " | ".join(h for _, h, _ in FIELDS[:-1]) + " |",
           "|---" * (5 + len(FIELDS) - 1) + "|"]
    for r in runs:
        res = r["result"]
        cells = [fmt(res[k], f) if res else ("failed (exit %d)" % r["rc"] if k == "loadSeconds" else "-") for k, _, f in FIELDS[:-1]]
        md.append("| %d | %s | %s | %s | %s | %s |" % (r["round"], r["side"], r["start"], r["loadBefore"], r["loadAfter"],
                                                       " | ".join(cells)))
    md += ["", "## Commands", ""]
    seen = set()
    for r in runs:
        c = " ".join(r["command"])
        if (r["side"], c) not in seen:
            seen.add((r["side"], c))
            md.append("- %s: `%s`" % (r["side"], c))
    open(os.path.join(out, "summary.md"), "w").write("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
