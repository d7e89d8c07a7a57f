#!/usr/bin/python3
"""PyTorch CPU timings of the shapes and stages magma-bench times, for docs/performance.md.

Run with Debian's torch 1.13 (/usr/bin/python3):

    /usr/bin/python3 tools/bench/pytorch_baseline.py OUT.json [--only REGEX] [--threads 2]

Shapes come from tools/bench/shapes.json (the Java enums are tested against it). Every entry is
timed call by call: warm-up calls for --warmup seconds (at least one), then calls for --time
seconds (at least --min-calls); the JSON keeps the median, mean and minimum in milliseconds.

Variants: bf16 (oneDNN with AVX512-BF16 where the CPU has it), fp32 (whatever BLAS torch loads:
Debian's default libblas3 is the unoptimised netlib reference; compare.py can point
LD_LIBRARY_PATH at OpenBLAS, and the JSON records which library was loaded), fp32 channels_last
for convolutions. torch has no float16 matmul on the CPU: the fp16 GEMV entry records the error.
The models mirror /work/shared/SPEC.md (CLIP modules from tools/fixtures/magma_reference.py).
"""

import argparse
import json
import math
import os
import platform
import re
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "fixtures"))
import magma_reference  # noqa: E402  (CLIP ModifiedResNet and ImagePrefix as in the parity fixtures)

SHAPES = json.loads((HERE / "shapes.json").read_text())
MASKED = -1e9


def measure(fn, warmup_s, time_s, min_calls):
    fn()
    start = time.perf_counter()
    while time.perf_counter() - start < warmup_s:
        fn()
    times = []
    start = time.perf_counter()
    while time.perf_counter() - start < time_s or len(times) < min_calls:
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return {"median_ms": statistics.median(times), "mean_ms": statistics.fmean(times), "min_ms": min(times),
            "calls": len(times)}


def loaded_blas():
    """The BLAS libraries mapped into this process (Debian's torch links whatever libblas.so.3 resolves to)."""
    libs = set()
    with open("/proc/self/maps") as maps:
        for line in maps:
            parts = line.split()
            if len(parts) >= 6 and re.search(r"blas|mkl", parts[-1]):
                libs.add(parts[-1])
    return sorted(libs)


# ----------------------------------------------------------------------------------------------
# GPT-J block with MAGMA's adapter (SPEC.md), attention scores in fp32 as Hugging Face's GPT-J

class Rotary(nn.Module):
    """GPT-J's rotate_every_two on the first `dims` dims of every head, tables in fp32."""

    def __init__(self, dims=64, positions=2048, base=10000.0):
        super().__init__()
        self.dims = dims
        inv_freq = 1.0 / base ** (torch.arange(0, dims, 2, dtype=torch.float64) / dims)
        angles = torch.outer(torch.arange(positions, dtype=torch.float64), inv_freq)
        self.register_buffer("sin", angles.sin().float(), persistent=False)
        self.register_buffer("cos", angles.cos().float(), persistent=False)

    def forward(self, x, start):
        """x [T, heads, head_dim] -> fp32, rows at positions start.."""
        x = x.float()
        t = x.shape[0]
        sin = self.sin[start:start + t, None, :]
        cos = self.cos[start:start + t, None, :]
        rot, rest = x[..., :self.dims], x[..., self.dims:]
        even, odd = rot[..., 0::2], rot[..., 1::2]
        rotated = torch.stack((even * cos - odd * sin, odd * cos + even * sin), dim=-1).flatten(-2)
        return torch.cat((rotated, rest), dim=-1)


class GptjBlock(nn.Module):
    def __init__(self, d=4096, heads=16, rotary=64, mlp=16384, bottleneck=1024, positions=2048, base=10000.0):
        super().__init__()
        self.heads, self.head_dim = heads, d // heads
        self.rope = Rotary(rotary, positions, base)
        self.ln_1 = nn.LayerNorm(d, eps=1e-5)
        self.q_proj = nn.Linear(d, d, bias=False)
        self.k_proj = nn.Linear(d, d, bias=False)
        self.v_proj = nn.Linear(d, d, bias=False)
        self.out_proj = nn.Linear(d, d, bias=False)
        self.c_fc = nn.Linear(d, mlp)
        self.c_proj = nn.Linear(mlp, d)
        self.down = nn.Linear(d, bottleneck)
        self.up = nn.Linear(bottleneck, d)
        with torch.no_grad():
            for p in self.parameters():
                if p.dim() == 2:
                    p.normal_(0, 0.02)
                elif p is not self.ln_1.weight:
                    p.normal_(0, 0.002)

    def forward(self, x, past=None):
        t = x.shape[0]
        start = 0 if past is None else past[0].shape[0]
        h = self.ln_1(x)
        q = self.rope(self.q_proj(h).view(t, self.heads, self.head_dim), start)
        k = self.rope(self.k_proj(h).view(t, self.heads, self.head_dim), start).to(x.dtype)
        v = self.v_proj(h).view(t, self.heads, self.head_dim)
        if past is not None:
            k = torch.cat((past[0], k), dim=0)
            v = torch.cat((past[1], v), dim=0)
        attn = attention(q, k, v, start)
        m = self.c_proj(F.gelu(self.c_fc(h), approximate="tanh"))
        m = m + self.up(torch.relu(self.down(m)))
        return x + self.out_proj(attn) + m, (k, v)


def attention(q, k, v, start):
    """q [T, H, D] (rows at positions start..), k/v [P, H, D]; scores and softmax in fp32, masked to -1e9 then / sqrt(D)."""
    t, heads, hd = q.shape
    p = k.shape[0]
    scores = torch.matmul(q.float().transpose(0, 1), k.float().permute(1, 2, 0))  # [H, T, P]
    allowed = torch.ones(t, p, dtype=torch.bool).tril(diagonal=start)
    scores = scores.masked_fill(~allowed, MASKED) / math.sqrt(hd)
    probs = torch.softmax(scores, dim=-1).to(v.dtype)
    return torch.matmul(probs, v.transpose(0, 1)).transpose(0, 1).reshape(t, heads * hd)


# ----------------------------------------------------------------------------------------------

def image_prefix(memory_format=torch.contiguous_format, dtype=torch.float32):
    visual = {"layers": [6, 8, 18, 8], "width": 96, "imageResolution": 384}
    prefix = magma_reference.ImagePrefix(visual, 4096).eval()
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, m in prefix.enc.named_modules():
            if isinstance(m, nn.Conv2d):
                fan_in = m.weight[0].numel()
                gain = 0.2 if name.endswith("conv3") else 1.0  # as magma-bench: residual branches start small
                m.weight.copy_(torch.randn(m.weight.shape, generator=gen) * gain * math.sqrt(2.0 / fan_in))
        prefix.proj.weight.normal_(0, 1 / math.sqrt(prefix.proj.in_features), generator=gen)
    return prefix.to(dtype=dtype, memory_format=memory_format)


def encode(prefix, image):
    """The image prefix as magma_reference.image_forward computes it, without saving intermediates."""
    enc = prefix.enc
    x = enc.stem(image)
    for stage in enc.stages():
        x = stage(x)
    tokens = x[0].flatten(1).T  # [C, g, g] -> [g*g, C], token h*g + w
    return F.layer_norm(prefix.proj(tokens), (4096,), prefix.ln.weight, prefix.ln.bias, 1e-5)


def cases(dtypes):
    """(id, description, factory returning the function to time) for every entry."""
    out = []
    d = SHAPES["elementwise"]["d"]
    lin = SHAPES["linear"]

    def linear_case(name, rows, dtype):
        def make():
            w = torch.randn(lin[name]["out"], lin[name]["in"]).mul_(0.02).to(dtype)
            x = torch.rand(rows, lin[name]["in"]).mul_(2).sub_(1).to(dtype)
            return lambda: F.linear(x, w)
        return make

    for name in lin:
        for dt in dtypes:
            out.append((f"gemv/{name}/{dt}", f"F.linear 1 x {lin[name]['in']} by {lin[name]['out']} x {lin[name]['in']}",
                        linear_case(name, SHAPES["gemv_rows"], DTYPES[dt])))
    out.append(("gemv/ATTENTION/fp16", "F.linear in float16", linear_case("ATTENTION", 1, torch.float16)))
    for name in SHAPES["gemm_shapes"]:
        for dt in dtypes:
            out.append((f"gemm/{name}/{dt}", f"F.linear {SHAPES['gemm_rows']} rows", linear_case(name, SHAPES["gemm_rows"], DTYPES[dt])))

    for name, c in SHAPES["conv"].items():
        for variant in ("fp32", "fp32_channels_last", "bf16"):
            def make(c=c, variant=variant):
                dtype = torch.bfloat16 if variant == "bf16" else torch.float32
                fmt = torch.channels_last if variant == "fp32_channels_last" else torch.contiguous_format
                conv = nn.Conv2d(c["in"], c["out"], c["kernel"], c["stride"], c["kernel"] // 2).eval().to(dtype=dtype, memory_format=fmt)
                x = torch.rand(1, c["in"], c["size"], c["size"]).to(dtype=dtype, memory_format=fmt)
                return lambda: conv(x)
            out.append((f"conv/{name}/{variant}", "nn.Conv2d with bias, batch 1", make))

    att = SHAPES["attention"]
    for name, c in att["cases"].items():
        for dt in dtypes:
            def make(c=c, dt=dt):
                dtype = DTYPES[dt]
                p = c["start"] + c["rows"]
                q = torch.rand(c["rows"], att["heads"], att["head_dim"])
                k = torch.rand(p, att["heads"], att["head_dim"]).to(dtype)
                v = torch.rand(p, att["heads"], att["head_dim"]).to(dtype)
                return lambda: attention(q, k, v, c["start"])
            out.append((f"attention/{name}/{dt}", "scores and softmax in fp32 (as HF GPT-J), probs @ v in dtype", make))

    e = SHAPES["elementwise"]
    rotary = Rotary(e["rotary_dim"], 2048, float(e["rotary_base"]))
    for rows in e["rows"]:
        def make_ln(rows=rows):
            x, ln = torch.rand(rows, d), nn.LayerNorm(d, eps=1e-5)
            return lambda: ln(x)

        def make_rope(rows=rows):
            q = torch.rand(rows, e["heads"], e["head_dim"])
            start = 160 if rows == 1 else 0
            return lambda: rotary(q, start)

        def make_gelu(rows=rows):
            x = torch.rand(rows, e["mlp"])
            return lambda: F.gelu(x, approximate="tanh")
        out += [(f"layernorm/{rows}/fp32", "nn.LayerNorm(4096)", make_ln),
                (f"rope/{rows}/fp32", "rotate_every_two on q [rows, 16, 256], rotary 64", make_rope),
                (f"gelu/{rows}/fp32", "F.gelu(approximate='tanh') on [rows, 16384]", make_gelu)]

    def make_membw():
        x = torch.ones(SHAPES["memory_bandwidth_bytes"] // 4)
        return lambda: x.sum()
    out.append(("membw/fp32", "torch.sum over a 512 MiB float32 tensor", make_membw))

    for variant in ("fp32", "fp32_channels_last", "bf16"):
        def make(variant=variant):
            dtype = torch.bfloat16 if variant == "bf16" else torch.float32
            fmt = torch.channels_last if variant == "fp32_channels_last" else torch.contiguous_format
            prefix = image_prefix(fmt, dtype)
            size = SHAPES["stages"]["image_resolution"]
            image = torch.rand(1, 3, size, size).mul_(2).sub_(1).to(dtype=dtype, memory_format=fmt)
            return lambda: encode(prefix, image)
        out.append((f"stage/image_encode/{variant}", "CLIP RN50x16 (eager, BatchNorm unfused) + proj + LayerNorm, 384x384, batch 1", make))

    prompt = SHAPES["stages"]["prompt"]
    for dt in dtypes:
        def make_prefill(dt=dt):
            blk = GptjBlock().eval().to(DTYPES[dt])
            x = torch.rand(prompt, 4096).mul_(2).sub_(1).to(DTYPES[dt])
            return lambda: blk(x)

        def make_decode(dt=dt):
            blk = GptjBlock().eval().to(DTYPES[dt])
            x = torch.rand(prompt, 4096).mul_(2).sub_(1).to(DTYPES[dt])
            _, past = blk(x)
            token = torch.rand(1, 4096).mul_(2).sub_(1).to(DTYPES[dt])
            return lambda: blk(token, past)
        out += [(f"stage/block_prefill_{prompt}/{dt}", "one GPT-J block + adapter, 160 rows, empty cache", make_prefill),
                (f"stage/block_decode_{prompt}/{dt}", "one GPT-J block + adapter, 1 row against 160 cached positions", make_decode)]
    return out


DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="JSON file to write")
    parser.add_argument("--only", help="regex on entry ids, e.g. 'gemv|stage'")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--warmup", type=float, default=2.0, help="warm-up seconds per entry")
    parser.add_argument("--time", type=float, default=4.0, help="measured seconds per entry")
    parser.add_argument("--min-calls", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    result = {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "blas": loaded_blas(),
        "mkldnn": torch.backends.mkldnn.is_available(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability() if hasattr(torch.backends, "cpu") else None,
        "machine": platform.processor() or platform.machine(),
        "load_average_before": os.getloadavg(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "settings": {"warmup_s": args.warmup, "time_s": args.time, "min_calls": args.min_calls},
        "results": {},
    }
    with torch.inference_mode():
        for entry, description, make in cases(list(DTYPES)):
            if args.only and not re.search(args.only, entry):
                continue
            try:
                timing = measure(make(), args.warmup, args.time, args.min_calls)
            except RuntimeError as e:
                result["results"][entry] = {"description": description, "error": str(e).splitlines()[0]}
                print(f"{entry:45s} not supported: {str(e).splitlines()[0]}", flush=True)
                continue
            result["results"][entry] = {"description": description} | timing
            print(f"{entry:45s} median {timing['median_ms']:10.3f} ms  min {timing['min_ms']:10.3f} ms  ({timing['calls']} calls)",
                  flush=True)
    result["load_average_after"] = os.getloadavg()
    result["blas"] = loaded_blas()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
